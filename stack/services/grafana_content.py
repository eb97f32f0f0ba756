"""Grafana content as pure data: data sources, folder, dashboards and permissions.

Both delivery modes read it. Provisioning writes the data sources to a file in which secure
values are ``$__file{}`` references to files mounted in the Grafana pod; the Grafana provider
(``stack.grafana_api``) sends the same data sources through the API, with the secure values
taken from Pulumi secrets. Dashboards are the rendered JSON files, byte for byte.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboards.datasources import ELASTICSEARCH_UID, PROMETHEUS_UID, TRACING_UID
from dashboards.render import DASHBOARDS_DIR
from foundation.settings import Settings
from foundation.settings.grafana import TOKEN_SECRET, Grant
from stack.services import thanos
from stack.services.elasticsearch import CA_DIR, HTTPS_URL

#: The read-only Elasticsearch user the log data source signs in as (created by the ES setup job).
READER_USER = "grafana_reader"
READER_SECRET = "grafanaReaderPassword"
#: Where the in-cluster Grafana pod mounts its secrets.
SECRETS_DIR = "/etc/grafana/secrets"
#: Provisioning-file keys with no API counterpart.
PROVISIONING_ONLY = frozenset({"editable"})
#: The Thanos Querier, Grafana's Prometheus data source with ``metricsStore.mode: thanos``.
QUERIER_URL = f"http://{thanos.QUERY}:{thanos.HTTP.port}"
#: settings.grafana.datasourceUrls key -> data source uid.
UID_OF = {"prometheus": PROMETHEUS_UID, "elasticsearch": ELASTICSEARCH_UID, "tracing": TRACING_UID}


@dataclass(frozen=True)
class SecureValue:
    """One ``secureJsonData`` value: a Pulumi secret, or (``secret_key`` None) the ES CA certificate."""

    secret_key: str | None
    #: The file the in-cluster Grafana reads it from (provisioning's ``$__file{}``).
    file: str


@dataclass(frozen=True)
class DataSource:
    #: The provisioning entry without ``secureJsonData``.
    fields: dict[str, Any]
    secure: dict[str, SecureValue]

    @property
    def uid(self) -> str:
        return str(self.fields["uid"])

    @property
    def api_fields(self) -> dict[str, Any]:
        """The fields Grafana's API takes (``editable`` exists only for provisioned data sources)."""
        return {k: v for k, v in self.fields.items() if k not in PROVISIONING_ONLY}

    def provisioning_entry(self) -> dict[str, Any]:
        entry = copy.deepcopy(self.fields)
        if self.secure:
            entry["secureJsonData"] = {k: f"$__file{{{v.file}}}" for k, v in sorted(self.secure.items())}
        return entry


ES_SECURE = {
    "basicAuthPassword": SecureValue(READER_SECRET, f"{SECRETS_DIR}/es-reader-password"),
    "tlsCACert": SecureValue(None, f"{CA_DIR}/ca.crt"),
}


def datasources(settings: Settings, document: Mapping[str, Any]) -> list[DataSource]:
    """The rendered data sources as this env's Grafana reaches the backends.

    Prometheus is the Thanos Querier when the env runs Thanos, and in operator mode the cluster's
    (``cluster.operator.prometheusUrl``). Elasticsearch is reached over TLS as the read-only user.
    An external Grafana reaches every backend at the URL the settings give (in-cluster service
    names do not resolve there).
    """
    external = settings.grafana.datasource_urls
    operator = settings.cluster.operator
    out = []
    for ds in document.get("datasources", []):
        fields = copy.deepcopy(dict(ds))
        secure: dict[str, SecureValue] = {}
        if operator is not None and fields.get("uid") == PROMETHEUS_UID:
            fields["url"] = operator.prometheus_url  # operator mode: the cluster's Prometheus
        if fields.get("uid") == ELASTICSEARCH_UID:
            fields.update(url=HTTPS_URL, basicAuth=True, basicAuthUser=READER_USER)
            fields.setdefault("jsonData", {})["tlsAuthWithCACert"] = True
            secure = dict(ES_SECURE)
        if fields.get("uid") == PROMETHEUS_UID and settings.metrics_store.thanos_enabled and not external:
            # Both replicas deduplicated and the bucket's history, downsampled for long ranges.
            fields["url"] = QUERIER_URL
            fields.setdefault("jsonData", {})["prometheusType"] = "Thanos"
        for key, uid in UID_OF.items():
            if fields.get("uid") == uid and key in external:
                fields["url"] = external[key]
        out.append(DataSource(fields, secure))
    return out


def provisioning_document(settings: Settings, document: Mapping[str, Any]) -> dict[str, Any]:
    """The provisioning file the in-cluster Grafana reads (``delivery: provisioning``)."""
    doc = {k: v for k, v in document.items() if k != "datasources"}
    doc["datasources"] = [ds.provisioning_entry() for ds in datasources(settings, document)]
    return doc


@dataclass(frozen=True)
class Content:
    """Everything the Grafana provider creates for one env."""

    url: str
    #: ``admin`` (basic auth with ``grafanaAdminPassword``) or ``token`` (``grafanaApiToken``).
    auth: str
    folder_uid: str
    folder_title: str
    datasources: list[DataSource]
    #: Dashboard uid -> the rendered JSON text, exactly as ``llmmon render`` writes it.
    dashboards: dict[str, str]
    grants: tuple[Grant, ...]

    @property
    def auth_secret(self) -> str:
        return "grafanaAdminPassword" if self.auth == "admin" else TOKEN_SECRET

    def summary(self) -> dict[str, Any]:
        """What ``llmmon render`` shows of the API content (secure values named, never shown)."""
        return {
            "provider": {"url": self.url, "auth": self.auth, "authSecret": self.auth_secret},
            "folder": {"uid": self.folder_uid, "title": self.folder_title},
            "datasources": [
                {**ds.api_fields, "secureJsonData": {k: _describe(v) for k, v in sorted(ds.secure.items())}}
                if ds.secure else ds.api_fields
                for ds in self.datasources
            ],
            "dashboards": {uid: f"{DASHBOARDS_DIR}/{uid}.json" for uid in sorted(self.dashboards)},
            "permissions": [{g.kind: g.name, "permission": g.permission} for g in self.grants],
        }


def _describe(value: SecureValue) -> str:
    return f"<pulumi secret {value.secret_key}>" if value.secret_key else "<pulumi config grafanaElasticsearchCaCert>"


def content(settings: Settings, document: Mapping[str, Any], artifacts: Mapping[str, str]) -> Content:
    g = settings.grafana
    prefix = DASHBOARDS_DIR + "/"
    boards = {json.loads(text)["uid"]: text for p, text in artifacts.items()
              if p.startswith(prefix) and p.endswith(".json")}
    return Content(
        url=settings.grafana_url, auth=g.auth, folder_uid=g.folder_uid, folder_title=g.folder_title,
        datasources=datasources(settings, document), dashboards=dict(sorted(boards.items())), grants=g.grants,
    )
