"""Grafana datasources with fixed uids, and the provisioning files that create them.

Dashboards reference datasources by uid (never by name or a ``${DS_...}`` input), so the
same JSON works in every environment; provisioning creates exactly these uids.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.settings import Settings

#: Where the stack mounts the rendered ``grafana/dashboards/*.json`` inside Grafana.
DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards"

PROMETHEUS_UID = "prometheus"
ELASTICSEARCH_UID = "elasticsearch"
TRACING_UID = "tracing"

PROMETHEUS_REF: dict[str, str] = {"type": "prometheus", "uid": PROMETHEUS_UID}


@dataclass(frozen=True)
class Endpoints:
    """In-cluster URLs of the backends (service names in Grafana's own namespace)."""

    prometheus: str = "http://prometheus:9090"
    elasticsearch: str = "http://elasticsearch:9200"
    tracing: str = "http://jaeger-query:16686"
    #: Elasticsearch index pattern the log pipeline writes to.
    log_index: str = "llm-router-logs-*"

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        """Log store and index from the logging section; the rest are in-cluster service names."""
        return cls(
            elasticsearch=settings.logging.elasticsearch_hosts[0],
            log_index=f"{settings.logging.alias(settings.env)}-*",
        )


def datasources(endpoints: Endpoints, scrape_interval: str) -> dict[str, object]:
    """``provisioning/datasources`` document (Grafana's ``apiVersion: 1`` format)."""
    return {
        "apiVersion": 1,
        "deleteDatasources": [],
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": PROMETHEUS_UID,
                "access": "proxy",
                "url": endpoints.prometheus,
                "isDefault": True,
                "editable": False,
                "jsonData": {
                    "httpMethod": "POST",
                    # $__rate_interval is derived from this; it must equal the scrape interval.
                    "timeInterval": scrape_interval,
                    "exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": TRACING_UID}],
                },
            },
            {
                "name": "Elasticsearch",
                "type": "elasticsearch",
                "uid": ELASTICSEARCH_UID,
                "access": "proxy",
                "url": endpoints.elasticsearch,
                "editable": False,
                "jsonData": {
                    "index": endpoints.log_index,
                    "timeField": "@timestamp",
                    "logMessageField": "message",
                    "logLevelField": "log.level",
                    # ECS trace.id in a log line opens the trace in the tracing datasource.
                    "dataLinks": [{"field": "trace.id", "datasourceUid": TRACING_UID, "url": "${__value.raw}"}],
                },
            },
            {
                "name": "Jaeger",
                "type": "jaeger",
                "uid": TRACING_UID,
                "access": "proxy",
                "url": endpoints.tracing,
                "editable": False,
                "jsonData": {
                    "tracesToLogsV2": {"datasourceUid": ELASTICSEARCH_UID, "filterByTraceID": True},
                },
            },
        ],
    }


def dashboard_provider(folder: str) -> dict[str, object]:
    """``provisioning/dashboards`` document: load every JSON file under the mount."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "llm-router",
                "orgId": 1,
                "folder": folder,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_MOUNT, "foldersFromFilesStructure": False},
            }
        ],
    }
