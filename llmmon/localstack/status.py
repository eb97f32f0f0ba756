"""The one-line live status: targets up, firing alerts, request rate, notifications received."""

from __future__ import annotations

from typing import Any

from app_instrumentation.catalog import HTTP_REQUESTS
from llmmon.localstack.api import Prometheus, firing_names
from llmmon.localstack.httpjson import get_json, is_ok


def targets_summary(targets: list[dict[str, Any]]) -> str:
    """``targets up 1/3 (down: a; pending: b)``. Prometheus reports a target it has not scraped
    yet with health ``unknown``: that one is pending, not down."""
    by_state: dict[str, list[str]] = {"up": [], "down": [], "pending": []}
    for t in targets:
        health = t.get("health", "unknown")
        by_state["pending" if health == "unknown" else "up" if health == "up" else "down"].append(
            t.get("labels", {}).get("job", "?"))
    others = "; ".join(f"{state}: {', '.join(sorted(jobs))}" for state, jobs in by_state.items()
                       if jobs and state != "up")
    return f"targets up {len(by_state['up'])}/{len(targets)}" + (f" ({others})" if others else "")


def status_line(prom: Prometheus, notifications: list[dict[str, Any]]) -> str:
    targets = prom.targets()
    rate = prom.value(f"sum(rate({HTTP_REQUESTS.name}[1m]))")
    firing = firing_names(prom.alerts(state="firing"))
    return (
        f"{targets_summary(targets)}"
        f" | firing: {', '.join(firing) if firing else 'none'}"
        f" | requests {rate:.1f}/s | notifications {len(notifications)}"
    )


def cluster_view(alertmanager_url: str, timeout: float = 1.0) -> tuple[str, list[str]] | None:
    """(``ready``/``settling``, names of the peers it sees, itself included) of one Alertmanager;
    None if it does not answer. A peer notifies only once settled (its state synced)."""
    try:
        cluster = get_json(f"{alertmanager_url}/api/v2/status", timeout=timeout)["cluster"]
        return str(cluster.get("status")), sorted(p["name"] for p in cluster.get("peers") or [])
    except (OSError, RuntimeError, ValueError, KeyError):
        return None


def ha_summary(prometheus_urls: list[str], alertmanager_urls: list[str]) -> str:
    """``prometheus 2/2 ready | alertmanager 3/3 answering, cluster of 3``: what an HA stack has left.

    The cluster size is the largest peer list an answering Alertmanager reports (a killed or
    stopped peer drops out of it once gossip declares it dead)."""
    ready = sum(is_ok(f"{u}/-/ready", timeout=1) for u in prometheus_urls)
    views = [view[1] for u in alertmanager_urls if (view := cluster_view(u)) is not None]
    size = max((len(v) for v in views), default=0)
    return (f"prometheus {ready}/{len(prometheus_urls)} ready | alertmanager {len(views)}/{len(alertmanager_urls)} "
            f"answering, cluster of {size}")
