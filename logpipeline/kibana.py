"""Kibana saved objects (ndjson import format): the data view and the saved searches.

Searches are built from ``logs_fields`` objects so the contract test can check that
every column and query field exists in real log lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app_instrumentation import logs_fields as F
from app_instrumentation.logs_fields import Field, Stream
from foundation.settings import Settings

NDJSON_PATH = "kibana/llm-router-logs.ndjson"
CORE_MIGRATION_VERSION = "8.8.0"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


@dataclass(frozen=True)
class SavedSearch:
    id: str
    title: str
    description: str
    #: KQL ``field : "value"`` clauses joined with ``and``.
    query: tuple[tuple[Field, str], ...]
    columns: tuple[Field, ...]
    sort: tuple[tuple[Field, str], ...]

    @property
    def fields(self) -> set[Field]:
        return {f for f, _ in self.query} | set(self.columns) | {f for f, _ in self.sort}

    def kql(self) -> str:
        return " and ".join(f"{f.path} : {json.dumps(v)}" for f, v in self.query)


SEARCHES: tuple[SavedSearch, ...] = (
    SavedSearch(
        id="llm-router-errors-by-fingerprint",
        title="LLM router: errors by fingerprint",
        description="Error stream grouped by error.grouping_key (same exception site, same key).",
        query=((F.EVENT_DATASET, Stream.ERROR.dataset),),
        columns=(F.ERROR_GROUPING_KEY, F.ERROR_CODE, F.ERROR_TYPE, F.ERROR_MESSAGE, F.GEN_AI_REQUEST_MODEL, F.TRACE_ID),
        sort=((F.ERROR_GROUPING_KEY, "asc"), (F.TIMESTAMP, "desc")),
    ),
    SavedSearch(
        id="llm-router-slow-inferences",
        title="LLM router: slow inferences",
        description="Inferences the pipeline categorised as slow (seed threshold: over 10 s).",
        query=((F.EVENT_ACTION, F.Action.INFERENCE_COMPLETE.value), (F.PERFORMANCE_CATEGORY, "slow")),
        columns=(F.GEN_AI_REQUEST_MODEL, F.INFERENCE_LATENCY_MS, F.INFERENCE_BACKEND, F.INFERENCE_STRATEGY,
                 F.GEN_AI_OUTPUT_TOKENS, F.INFERENCE_ID, F.TRACE_ID),
        sort=((F.INFERENCE_LATENCY_MS, "desc"),),
    ),
)


def data_view_id(settings: Settings) -> str:
    return settings.logging.alias(settings.env)


def data_view(settings: Settings) -> dict[str, Any]:
    alias = settings.logging.alias(settings.env)
    return {
        "attributes": {
            "fieldAttrs": "{}",
            "fieldFormatMap": "{}",
            "fields": "[]",
            "name": f"LLM router logs ({settings.env})",
            "runtimeFieldMap": "{}",
            "sourceFilters": "[]",
            "timeFieldName": F.TIMESTAMP.path,
            "title": f"{alias}-*",
            "typeMeta": "{}",
        },
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": data_view_id(settings),
        "managed": False,
        "references": [],
        "type": "index-pattern",
        "typeMigrationVersion": "8.0.0",
    }


def saved_search(settings: Settings, search: SavedSearch) -> dict[str, Any]:
    source = {"query": {"query": search.kql(), "language": "kuery"}, "filter": [], "indexRefName": INDEX_REF}
    return {
        "attributes": {
            "columns": [f.path for f in search.columns],
            "description": search.description,
            "grid": {},
            "hideChart": False,
            "isTextBasedQuery": False,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, sort_keys=True)},
            "sort": [[f.path, order] for f, order in search.sort],
            "timeRestore": False,
            "title": search.title,
        },
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": f"{search.id}-{settings.env}",
        "managed": False,
        "references": [{"id": data_view_id(settings), "name": INDEX_REF, "type": "index-pattern"}],
        "type": "search",
        "typeMigrationVersion": "8.0.0",
    }


def saved_objects(settings: Settings) -> list[dict[str, Any]]:
    return [data_view(settings), *(saved_search(settings, s) for s in SEARCHES)]


def ndjson(settings: Settings) -> str:
    return "".join(json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n" for obj in saved_objects(settings))


def fields_referenced() -> set[Field]:
    return {F.TIMESTAMP} | {f for s in SEARCHES for f in s.fields}
