"""The one-line live status: targets up, firing alerts, request rate, notifications received."""

from __future__ import annotations

from typing import Any

from app_instrumentation.catalog import HTTP_REQUESTS
from llmmon.localstack.api import Prometheus, firing_names


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
