"""Read-only clients for the Prometheus and Alertmanager HTTP APIs (what tests and status use)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from llmmon.localstack.httpjson import get_json


@dataclass(frozen=True)
class Prometheus:
    url: str
    #: Seconds to wait for an answer (long range queries in benchmarks need more).
    http_timeout: float = 30.0

    def _get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        body = get_json(f"{self.url}{path}{query}", timeout=self.http_timeout)
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (scalars come back as one pseudo-sample)."""
        data = self._get("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def query_range(self, expr: str, start: float, end: float, step: str, timeout: str | None = None,
                    ) -> list[dict[str, Any]]:
        """Range query; ``timeout`` (e.g. "60s") lets Prometheus give up on an expensive one."""
        extra = {"timeout": timeout} if timeout else {}
        return list(self._get("/api/v1/query_range", query=expr, start=str(start), end=str(end), step=step,
                              **extra)["result"])

    def value(self, expr: str, default: float = 0.0) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else default

    def targets(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/targets", state="active")["activeTargets"])

    def alerts(self, state: str | None = None) -> list[dict[str, Any]]:
        alerts = self._get("/api/v1/alerts")["alerts"]
        return [a for a in alerts if state is None or a["state"] == state]

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/rules")["groups"])

    def alertmanagers(self) -> list[dict[str, Any]]:
        return list(self._get("/api/v1/alertmanagers")["activeAlertmanagers"])


@dataclass(frozen=True)
class Alertmanager:
    url: str

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds, with ``status.state`` active|suppressed and ``status.inhibitedBy``."""
        return list(get_json(f"{self.url}/api/v2/alerts", timeout=10))

    def status(self) -> dict[str, Any]:
        return dict(get_json(f"{self.url}/api/v2/status", timeout=10))


def firing_names(alerts: list[dict[str, Any]]) -> list[str]:
    return sorted({a["labels"]["alertname"] for a in alerts if a.get("state", "firing") == "firing"})
