"""``DIR/state.json``: how other commands (``llmmon fault``, people, tests) find a running stack."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmmon.localstack.processes import pid_alive

STATE_FILE = "state.json"


class NoStack(RuntimeError):
    pass


class StaleStack(NoStack):
    """state.json is there but the ``llmmon up`` that wrote it is gone (killed with SIGKILL, a reboot)."""


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
    #: The ``llmmon up`` process (0 in files written before it was recorded).
    up_pid: int = 0
    #: Every Prometheus / Alertmanager of the stack (``--ha``: two and three; else one each).
    prometheus_urls: list[str] = field(default_factory=list)
    alertmanager_urls: list[str] = field(default_factory=list)
    #: Running child name -> PID (``prometheus-0``, ``alertmanager-2``, ``router``, ...); ``pids``
    #: holds the same map for readers written before ``processes`` existed.
    processes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Files and callers that know only one of the names get the other filled in.
        object.__setattr__(self, "processes", dict(self.processes or self.pids))
        object.__setattr__(self, "pids", dict(self.processes))
        object.__setattr__(self, "prometheus_urls", list(self.prometheus_urls or [self.prometheus_url]))
        object.__setattr__(self, "alertmanager_urls", list(self.alertmanager_urls or [self.alertmanager_url]))

    def is_live(self) -> bool:
        """Its ``llmmon up`` and at least one of its children still run (dead PIDs: a stale file)."""
        return (not self.up_pid or pid_alive(self.up_pid)) and any(pid_alive(p) for p in self.processes.values())

    def stale_reason(self, workdir: Path) -> str:
        who = (f"the llmmon up that wrote it (pid {self.up_pid}) is not running any more" if self.up_pid
               else "none of its processes runs any more")
        return f"stale {workdir / STATE_FILE}: {who}; start a stack with: llmmon up --workdir {workdir}"

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
    def read(cls, workdir: Path, live: bool = True) -> StackState:
        """The running stack's state; ``NoStack`` (one line) when there is none, ``StaleStack`` when
        the file outlived its stack (with ``live=False``, the file as it is)."""
        path = workdir / STATE_FILE
        if not path.is_file():
            raise NoStack(f"no running stack: {path} does not exist (start one with: llmmon up --workdir {workdir})")
        try:
            state = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise StaleStack(f"unreadable {path} ({type(exc).__name__}: {exc}); "
                             f"start a stack with: llmmon up --workdir {workdir}") from None
        if live and not state.is_live():
            raise StaleStack(state.stale_reason(workdir))
        return state

    @classmethod
    def claim(cls, workdir: Path) -> str | None:
        """Before a new stack starts in ``workdir``: ``StackRunning`` if one runs there; a stale
        state.json is removed and described (a line for the user), else None."""
        path = workdir / STATE_FILE
        if not path.is_file():
            return None
        try:
            state: StackState | None = cls.read(workdir, live=False)
        except StaleStack:  # unreadable
            state = None
        if state is not None and state.is_live():
            raise StackRunning(f"a stack already runs in {workdir} (llmmon up pid {state.up_pid or '?'}, "
                               f"{state.prometheus_url}); stop it first, or pass another --workdir")
        cls.remove(workdir)
        pid = f"pid {state.up_pid}" if state is not None and state.up_pid else "pid unknown"
        return f"removed a stale {path} (the llmmon up that wrote it, {pid}, is gone)"


class StackRunning(RuntimeError):
    """Another ``llmmon up`` uses this workdir."""
