"""Restart crashed children with exponential backoff, or give up when one keeps crashing.

``llmmon up`` calls ``Restarter.check()`` from its main loop. A child that exits without
being asked to (``Supervisor.stop`` removes it first, so ``router-down`` is not a crash) is
restarted after 0.5 s, 1 s, 2 s ...; after ``max_restarts`` crashes with less than
``stable_after`` seconds of uptime between them, ``GaveUp`` says which child, why and where
its log is, and the caller stops everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llmmon.localstack.processes import Child, Supervisor


class GaveUp(RuntimeError):
    pass


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    max_restarts: int = 5
    #: Uptime after which a child counts as healthy again (its crash count starts over).
    stable_after: float = 60.0

    def delay(self, restarts: int) -> float:
        return self.first * self.factor**restarts


class Restarter:
    def __init__(self, supervisor: Supervisor, say: Callable[[str], None], backoff: Backoff = Backoff(),
                 on_restart: Callable[[Child], None] = lambda child: None) -> None:
        self.supervisor = supervisor
        self.say = say
        self.on_restart = on_restart
        self.backoff = backoff
        self._crashes: dict[str, int] = {}
        self._due: dict[str, float] = {}  # name -> when to restart it

    def check(self) -> list[str]:
        """Notice crashes, restart what is due; returns the names restarted now."""
        now = time.monotonic()
        for child in self.supervisor.children():
            if child.alive() or child.name in self._due:
                continue
            crashes = self._crashes.get(child.name, 0) if now - child.started_at < self.backoff.stable_after else 0
            if crashes >= self.backoff.max_restarts:
                raise GaveUp(f"{child.name} exited ({child.exit_reason()}) after {crashes} restarts in a row; "
                             f"stopped everything; its log: {child.log_path}")
            delay = self.backoff.delay(crashes)
            self._crashes[child.name] = crashes + 1
            self._due[child.name] = now + delay
            self.say(f"{child.name} (pid {child.pid}) exited ({child.exit_reason()}); restarting it in {delay:g}s "
                     f"(restart {crashes + 1} of at most {self.backoff.max_restarts}); its log: {child.log_path}")
        restarted = []
        for name, when in sorted(self._due.items()):
            if now < when:
                continue
            del self._due[name]
            current = self.supervisor.get(name)
            if current is None or current.alive():
                continue  # stopped on purpose (router-down) or already started again (router-up)
            self.supervisor.stop(name)  # reap the dead group before reusing the name
            child = self.supervisor.start(name, current.argv)  # same command, same port
            self.on_restart(child)
            self.say(f"{name} restarted (pid {child.pid})")
            restarted.append(name)
        return restarted
