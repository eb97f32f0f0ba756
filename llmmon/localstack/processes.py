"""Child process supervision: own process group each, stopped terminate → kill, no orphans.

Each child runs in a new session so one ``killpg`` reaches its helpers too, and a terminal
Ctrl-C reaches only us: we stop the children in reverse start order. On Linux each child
also gets ``PR_SET_PDEATHSIG`` so it is terminated even when we are killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: atexit/signal handlers still stop the children


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_reason(self) -> str:
        """``exit code 3`` or ``killed by SIGKILL`` (after it has exited)."""
        code = self.proc.returncode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Supervisor:
    """Starts named children, logs each to ``log_dir/<name>.log``, stops them all reliably."""

    def __init__(self, log_dir: Path, stop_timeout: float = 10.0) -> None:
        self.log_dir = log_dir
        self.stop_timeout = stop_timeout
        self._children: dict[str, Child] = {}
        self._lock = threading.RLock()
        self._all_pids: set[int] = set()
        atexit.register(self.stop_all)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None) -> Child:
        with self._lock:
            if name in self._children and self._children[name].alive():
                raise RuntimeError(f"{name} is already running (pid {self._children[name].pid})")
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{name}.log"
            preexec = _die_with_parent if sys.platform.startswith("linux") else None
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **(env or {})},
                    start_new_session=True,
                    preexec_fn=preexec,  # noqa: PLW1509 - only calls prctl
                )
            child = Child(name, list(argv), log_path, proc)
            self._children[name] = child
            self._all_pids.add(proc.pid)
            return child

    def get(self, name: str) -> Child | None:
        return self._children.get(name)

    def children(self) -> list[Child]:
        return list(self._children.values())

    def started_pids(self) -> set[int]:
        """Every pid ever started here, also the ones already stopped (for leak checks)."""
        return set(self._all_pids)

    def stop(self, name: str) -> None:
        with self._lock:
            child = self._children.pop(name, None)
        if child is not None:
            terminate_group(child.proc, self.stop_timeout)

    def stop_all(self) -> None:
        with self._lock:
            names = list(reversed(self._children))
        for name in names:
            self.stop(name)


def terminate_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the child's process group, wait, then SIGKILL what is left; always reaps."""
    pgid = proc.pid  # start_new_session=True: the child leads its own group
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, timeout)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break  # whole group already gone
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(pgid):
            proc.poll()
            time.sleep(0.05)
        if not _group_alive(pgid):
            break
    proc.wait(timeout=timeout)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader still counts for killpg(0); reap it if it is ours and exited.
    return not _only_zombies(pgid)


def _only_zombies(pgid: int) -> bool:
    """True when every process left in the group is a zombie (exited, not reaped yet)."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return False
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            return False
    return True


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not Path("/proc").is_dir()
    return state != "Z"


@contextlib.contextmanager
def signals_interrupt(signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Inside the block, SIGTERM/SIGHUP raise KeyboardInterrupt like Ctrl-C, so one cleanup path stops all."""
    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in signums}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
