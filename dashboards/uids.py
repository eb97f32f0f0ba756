"""Fixed dashboard uids (a cross-team contract: alerts link to ``/d/<uid>``)."""

from __future__ import annotations

OVERVIEW = "llm-router-overview"
MODEL_PERFORMANCE = "llm-model-performance"
SYSTEM = "llm-router-system"
QOS = "llm-qos"
SLO = "llm-slo"
BACKENDS = "llm-backends"
ALL: tuple[str, ...] = (OVERVIEW, MODEL_PERFORMANCE, SYSTEM, QOS, SLO, BACKENDS)


def dashboard_path(uid: str) -> str:
    """Grafana path of a dashboard (alerts put ``<grafana url><path>`` in ``dashboard_url``)."""
    if uid not in ALL:
        raise ValueError(f"unknown dashboard uid {uid!r}; known: {', '.join(ALL)}")
    return f"/d/{uid}"
