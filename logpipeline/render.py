"""Artifacts this package contributes to ``llmmon render``.

``logstash/`` (pipeline + settings), ``filebeat/filebeat.yml``, ``kibana/*.ndjson`` and
``elasticsearch/`` (ILM policy + index template, applied by the stack before Logstash starts).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from foundation.settings import Settings
from logpipeline import elasticsearch, filebeat, kibana, logstash


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    return {
        f"logstash/{logstash.PIPELINE_PATH}": logstash.pipeline(settings).render(),
        "logstash/logstash.yml": _yaml(logstash.logstash_yml()),
        "logstash/pipelines.yml": _yaml(logstash.pipelines_yml()),
        "filebeat/filebeat.yml": _yaml(filebeat.filebeat_config(settings)),
        kibana.NDJSON_PATH: kibana.ndjson(settings),
        elasticsearch.ILM_POLICY_PATH: _json(elasticsearch.ilm_policy(settings)),
        elasticsearch.INDEX_TEMPLATE_PATH: _json(elasticsearch.index_template(settings)),
    }
