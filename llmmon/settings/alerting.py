"""Settings section placeholder: extended by the issue that owns this section."""

from __future__ import annotations

from dataclasses import dataclass

from llmmon.settings.reader import Reader


@dataclass(frozen=True)
class AlertingSettings:
    @classmethod
    def parse(cls, r: Reader) -> AlertingSettings:
        r.reject_unknown(frozenset())
        return cls()
