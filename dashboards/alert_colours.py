"""Panel colours at the thresholds where alerts fire, read from the alert specs, so that a new
default threshold moves the panels too. Defaults, not an env's overrides: one dashboard JSON
serves every env."""

from __future__ import annotations

from alerts.definitions import BY_NAME
from dashboards import panels as p


def threshold(alert: str, scale: float = 1) -> float:
    """The alert's default threshold times ``scale`` (the panel's unit per the alert's unit)."""
    value = BY_NAME[alert].threshold
    if value is None:
        raise ValueError(f"alert {alert} has no threshold to colour a panel by")
    return value * scale


def alert_steps(red: str, yellow: str | float, scale: float = 1) -> list[dict[str, object]]:
    """Green, then yellow from ``yellow`` (a value, or the threshold of the warning alert it
    names), then red from the threshold of the alert ``red`` names."""
    warn = threshold(yellow, scale) if isinstance(yellow, str) else yellow
    return p.steps("green", (warn, "yellow"), (threshold(red, scale), "red"))


def below_steps(alert: str, scale: float = 1) -> list[dict[str, object]]:
    """For a panel where low is bad: red below the threshold of the alert ``alert`` names (which
    fires under it), green from it."""
    return p.steps("red", (threshold(alert, scale), "green"))
