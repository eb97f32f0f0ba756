"""``DIR/state.json``: how other commands (``llmmon fault``, people, tests) find a running stack."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "state.json"


class NoStack(RuntimeError):
    pass


@dataclass(frozen=True)
class StackState:
    env: str
    profile: str
    prometheus_url: str
    alertmanager_url: str
    router_url: str
    webhook_url: str
    control_url: str
    notifications_file: str
    pids: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0

    def write(self, workdir: Path) -> Path:
        path = workdir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)  # atomic: a reader never sees half a file
        return path

    @staticmethod
    def remove(workdir: Path) -> None:
        """A stopped stack leaves no state behind: its URLs would point at nothing."""
        (workdir / STATE_FILE).unlink(missing_ok=True)

    @classmethod
    def read(cls, workdir: Path) -> StackState:
        path = workdir / STATE_FILE
        if not path.is_file():
            raise NoStack(f"no running stack: {path} does not exist (start one with: llmmon up --workdir {workdir})")
        return cls(**json.loads(path.read_text()))
