"""Rule profiles: the production timing, and a fast one for the local live stack.

Every rule builder takes a :class:`Profile` and asks it for each range window and ``for``
duration, so the test profile yields the *same* rules (same names, labels, thresholds and
expressions) with time compressed:

* ``PROD``: windows and ``for`` exactly as written (what ``llmmon render`` ships).
* ``TEST``: one minute becomes one second. ``for: 2m`` -> ``2s``, ``rate(x[5m])`` ->
  ``rate(x[10s])`` (windows never below 10s so a 1s scrape still gives several samples),
  SLO windows 5m/1h/30m/6h -> 10s/1m/30s/6m. Recording-rule names and ``sloth_window``
  labels keep their production spelling, so dashboards work unchanged.

Use it through ``alerts.groups.build_rule_groups(settings, profile="test")`` or
``alerts.render.rule_files(settings, profile="test")`` (relative path -> YAML text).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.model import duration_seconds, format_duration


@dataclass(frozen=True)
class Profile:
    name: str
    #: Real seconds per production second (1 for prod, 1/60 for the test profile).
    time_scale: float = 1.0
    #: Shortest range window after scaling.
    min_window_s: int = 10

    def window(self, prod: str) -> str:
        """Range window to use for a production window such as ``5m``."""
        if self.time_scale == 1:
            return prod
        return format_duration(max(self.min_window_s, round(duration_seconds(prod) * self.time_scale)))

    def for_(self, prod: str | None) -> str | None:
        """``for`` duration to use for a production ``for`` (``None``: fire immediately)."""
        if prod is None or self.time_scale == 1 or duration_seconds(prod) == 0:
            return prod
        return format_duration(max(1, round(duration_seconds(prod) * self.time_scale)))


PROD = Profile("prod")
TEST = Profile("test", time_scale=1 / 60)
PROFILES: dict[str, Profile] = {p.name: p for p in (PROD, TEST)}


def get_profile(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown rule profile {profile!r}; expected one of {', '.join(PROFILES)}") from None
