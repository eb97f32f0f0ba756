"""The one-line live status: targets up, firing alerts, request rate, notifications received."""

from __future__ import annotations

from typing import Any

from app_instrumentation.catalog import HTTP_REQUESTS
from llmmon.localstack.api import Prometheus, firing_names


def status_line(prom: Prometheus, notifications: list[dict[str, Any]]) -> str:
    targets = prom.targets()
    up = sum(1 for t in targets if t.get("health") == "up")
    down = sorted(t["labels"].get("job", "?") for t in targets if t.get("health") != "up")
    rate = prom.value(f"sum(rate({HTTP_REQUESTS.name}[1m]))")
    firing = firing_names(prom.alerts(state="firing"))
    return (
        f"targets up {up}/{len(targets)}{' (down: ' + ', '.join(down) + ')' if down else ''}"
        f" | firing: {', '.join(firing) if firing else 'none'}"
        f" | requests {rate:.1f}/s | notifications {len(notifications)}"
    )
