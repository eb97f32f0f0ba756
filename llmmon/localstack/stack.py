"""Start, watch and stop the local stack: router + traffic, Prometheus, Alertmanager, webhook sink."""

from __future__ import annotations

import dataclasses
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmmon.checkers import require
from llmmon.example_router.faults import restore_bodies
from llmmon.localstack.api import Alertmanager, Prometheus
from llmmon.localstack.httpjson import get_json, is_ok, send_json, wait_ready, wait_until
from llmmon.localstack.ports import HOST, is_free, pick_port
from llmmon.localstack.processes import Child, Supervisor
from llmmon.localstack.restarts import Backoff, Restarter
from llmmon.localstack.state import StackState
from llmmon.localstack.status import ha_summary, status_line
from llmmon.localstack.webhook import WebhookSink

PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"  # the Debian package's daemon name


@dataclass(frozen=True)
class Endpoints:
    """Where each component listens; what the configuration builder needs to know.

    With ``--ha`` the builder is asked once per replica: ``prometheus`` (or ``alertmanager``) is
    then that replica's address and ``replica`` its name (``prometheus-1``, ``alertmanager-0``).
    """

    router: str  # host:port
    prometheus: str
    alertmanager: str
    webhook_url: str  # base URL of the sink
    #: Every Alertmanager of the cluster (each Prometheus notifies all); empty: just ``alertmanager``.
    alertmanagers: tuple[str, ...] = ()
    #: Name of the replica being configured (None: a single Prometheus and Alertmanager).
    replica: str | None = None

    @property
    def all_alertmanagers(self) -> tuple[str, ...]:
        return self.alertmanagers or (self.alertmanager,)


class ConfigBuilder(Protocol):
    """Produces the local configuration from the rendered artifacts (see ``configs.py``)."""

    def rule_files(self, workdir: Path) -> list[Path]: ...

    def prometheus_yml(self, endpoints: Endpoints, rule_files: list[Path]) -> str: ...

    def alertmanager_yml(self, endpoints: Endpoints) -> str: ...


@dataclass
class StackOptions:
    workdir: Path
    env: str = "dev"
    profile: str = "default"
    traffic_rps: float = 5.0
    #: Preferred ports (None: any free one); busy ones are replaced by free ones.
    router_port: int | None = 8080
    prometheus_port: int | None = 9090
    alertmanager_port: int | None = 9093
    sink_port: int | None = None
    ready_timeout: float = 60.0
    #: Extra prometheus flags (the test profile shortens the alert resend delay).
    prometheus_flags: list[str] = field(default_factory=list)
    #: High availability (``--ha``): Prometheus replicas with the same rules, and an Alertmanager
    #: cluster gossiping on loopback; 1 and 1 is the single stack.
    prometheus_replicas: int = 1
    alertmanager_peers: int = 1
    #: Extra flags of clustered Alertmanagers (the test profile shortens the peer timeout).
    cluster_flags: list[str] = field(default_factory=list)
    #: Delays before restarting a crashed child, and when to give up.
    restart_backoff: Backoff = field(default_factory=Backoff)
    #: Command that runs the router; "{port}" and "{rps}" are substituted.
    router_argv: list[str] = field(default_factory=lambda: [
        sys.executable, "-m", "llmmon.cli", "router", "--host", HOST, "--port", "{port}", "--traffic", "{rps}",
    ])


class LocalStack:
    def __init__(self, options: StackOptions, configs: ConfigBuilder) -> None:
        self.options = options
        self.configs = configs
        self.workdir = options.workdir.resolve()
        self.supervisor = Supervisor(self.workdir / "logs")
        self.sink: WebhookSink | None = None
        self.endpoints: Endpoints | None = None
        self.state: StackState | None = None
        self._commands: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
        self._serving = False
        #: Child name -> the URL that answers 200 once it is ready.
        self._ready: dict[str, str] = {}
        #: The router's injected faults while it is down (restored by router_up).
        self._faults: dict[str, Any] | None = None
        #: What the user should know about the start (a preferred port that was taken, a stale state.json).
        self.notes: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> StackState:
        for binary in (PROMETHEUS, ALERTMANAGER):
            require(binary)  # MissingTool names the Debian package
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StackState:
        o, w = self.options, self.workdir
        w.mkdir(parents=True, exist_ok=True)
        stale = StackState.claim(w)
        if stale:
            self.notes.append(stale)
        shutil.rmtree(w / "data", ignore_errors=True)  # fresh TSDB: no alerts from a previous run
        self.sink = WebhookSink(w / "notifications.jsonl", pick_port(o.sink_port) if o.sink_port else 0, control={
            "router-down": lambda: self._in_main_thread(self.router_down),
            "router-up": lambda: self._in_main_thread(self.router_up),
        }).start()
        taken: set[int] = {self.sink.port}
        router = self._port("router", o.router_port, taken)
        proms = [self._port(name, o.prometheus_port if i == 0 else None, taken)
                 for i, name in enumerate(self.prometheus_names)]
        ams = [self._port(name, o.alertmanager_port if i == 0 else None, taken)
               for i, name in enumerate(self.alertmanager_names)]
        self.endpoints = e = Endpoints(
            router=f"{HOST}:{router}", prometheus=f"{HOST}:{proms[0]}", alertmanager=f"{HOST}:{ams[0]}",
            webhook_url=self.sink.url, alertmanagers=tuple(f"{HOST}:{p}" for p in ams) if self.ha else (),
        )
        rules = self.configs.rule_files(w)
        gossip = [pick_port(None, taken=taken) for _ in ams] if len(ams) > 1 else []
        children = [self._start_alertmanager(i, name, port, gossip) for i, (name, port) in
                    enumerate(zip(self.alertmanager_names, ams, strict=True))]
        children.append(self._start_router())
        children += [self._start_prometheus(name, port, rules) for name, port in
                     zip(self.prometheus_names, proms, strict=True)]
        self._ready["router"] = f"http://{e.router}/health/live"
        for child in children:
            wait_ready(self._ready[child.name], o.ready_timeout, child)
        prometheus_urls = [f"http://{HOST}:{p}" for p in proms]
        alertmanager_urls = [f"http://{HOST}:{p}" for p in ams]
        processes = self.pids()
        self.state = StackState(
            env=o.env, profile=o.profile,
            prometheus_url=prometheus_urls[0], alertmanager_url=alertmanager_urls[0],
            router_url=f"http://{e.router}", webhook_url=self.sink.url, control_url=f"{self.sink.url}/control",
            notifications_file=str(self.sink.path), pids=processes, processes=processes,
            prometheus_urls=prometheus_urls, alertmanager_urls=alertmanager_urls,
            started_at=time.time(), up_pid=os.getpid(),
        )
        self.state.write(w)
        return self.state

    @property
    def ha(self) -> bool:
        return self.options.prometheus_replicas > 1 or self.options.alertmanager_peers > 1

    def _names(self, base: str, count: int) -> list[str]:
        return [f"{base}-{i}" for i in range(count)] if self.ha else [base]

    @property
    def prometheus_names(self) -> list[str]:
        return self._names("prometheus", self.options.prometheus_replicas)

    @property
    def alertmanager_names(self) -> list[str]:
        return self._names("alertmanager", self.options.alertmanager_peers)

    def _port(self, name: str, preferred: int | None, taken: set[int]) -> int:
        port = pick_port(preferred, taken=taken)
        if preferred and port != preferred:
            self.notes.append(f"port {preferred} for {name} is taken; using {port} instead")
        return port

    def _start_alertmanager(self, index: int, name: str, port: int, gossip: list[int]) -> Child:
        """One Alertmanager; in a cluster it gossips on its own loopback port with every other peer."""
        assert self.endpoints is not None
        w, address = self.workdir, f"{HOST}:{port}"
        replica = dataclasses.replace(self.endpoints, alertmanager=address, replica=name if self.ha else None)
        config = w / ("alertmanager.yml" if not self.ha else f"{name}.yml")
        config.write_text(self.configs.alertmanager_yml(replica))
        if gossip:
            cluster = [f"--cluster.listen-address={HOST}:{gossip[index]}",
                       f"--cluster.advertise-address={HOST}:{gossip[index]}",
                       *(f"--cluster.peer={HOST}:{p}" for i, p in enumerate(gossip) if i != index),
                       *self.options.cluster_flags]
        else:
            cluster = ["--cluster.listen-address="]  # no gossip: a single local instance
        self._ready[name] = f"http://{address}/-/ready"
        return self.supervisor.start(name, [
            require(ALERTMANAGER), f"--config.file={config}", f"--storage.path={w / 'data' / name}",
            f"--web.listen-address={address}", *cluster,
        ])

    def _start_prometheus(self, name: str, port: int, rules: list[Path]) -> Child:
        """One Prometheus; HA replicas differ only in their ``prometheus_replica`` label and port."""
        assert self.endpoints is not None
        w, address = self.workdir, f"{HOST}:{port}"
        replica = dataclasses.replace(self.endpoints, prometheus=address, replica=name if self.ha else None)
        config = w / ("prometheus.yml" if not self.ha else f"{name}.yml")
        config.write_text(self.configs.prometheus_yml(replica, rules))
        self._ready[name] = f"http://{address}/-/ready"
        return self.supervisor.start(name, [
            require(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={w / 'data' / name}",
            f"--web.listen-address={address}", "--web.enable-lifecycle", *self.options.prometheus_flags,
        ])

    def restart(self, name: str) -> Child:
        """Start a stopped or killed child again with its command (same ports, data and peers)."""
        child = self.supervisor.get(name)
        if child is None:
            raise KeyError(f"no child named {name}")
        self.supervisor.stop(name)  # reap the dead group before reusing the name
        fresh = self.supervisor.start(name, child.argv)
        wait_ready(self._ready[name], self.options.ready_timeout, fresh)
        self._write_pids()
        return fresh

    def stop(self) -> None:
        self.supervisor.stop_all()
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        if self.state is not None:  # never another stack's file (start() refused to share a workdir)
            StackState.remove(self.workdir)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the router, which faults stop and start -------------------------------------------
    def _start_router(self) -> Child:
        assert self.endpoints is not None
        port = self.endpoints.router.rsplit(":", 1)[1]
        argv = [a.format(port=port, rps=self.options.traffic_rps) for a in self.options.router_argv]
        return self.supervisor.start("router", argv)

    def router_down(self) -> dict[str, Any]:
        # The injected faults describe the backends, not the process: keep them for router_up.
        self._faults = self._router_faults()
        self.supervisor.stop("router")
        self._write_pids()
        return {"router": "stopped", "faults_kept": self._faults is not None}

    def router_up(self) -> dict[str, Any]:
        assert self.endpoints is not None
        child = self.supervisor.get("router")
        if child is None or not child.alive():
            port = int(self.endpoints.router.rsplit(":", 1)[1])
            # The port was ours a moment ago; wait for the kernel to release it.
            wait_until(lambda: is_free(port), 10, f"port {port} to be free")
            child = self._start_router()
        wait_ready(f"http://{self.endpoints.router}/health/live", self.options.ready_timeout, child)
        self._write_pids()
        reply: dict[str, Any] = {"router": "running", "pid": child.pid}
        if self._faults is not None:
            for method, body in restore_bodies(self._faults):
                send_json(method, self._faults_url, body)
            reply["faults"], self._faults = self._router_faults(), None
        return reply

    @property
    def _faults_url(self) -> str:
        assert self.endpoints is not None
        return f"http://{self.endpoints.router}/admin/faults"

    def _router_faults(self) -> dict[str, Any] | None:
        """The router's injected faults; None when it has no fault injection (any other router)."""
        try:
            return dict(get_json(self._faults_url))
        except (OSError, RuntimeError, ValueError):
            return None

    def _write_pids(self) -> None:
        if self.state is not None:
            processes = self.pids()
            self.state = dataclasses.replace(self.state, pids=processes, processes=processes)
            self.state.write(self.workdir)

    def pids(self) -> dict[str, int]:
        return {c.name: c.pid for c in self.supervisor.children() if c.alive()}

    # -- watching --------------------------------------------------------------------------
    @property
    def prometheus(self) -> Prometheus:
        assert self.state is not None
        return Prometheus(self.state.prometheus_url)

    @property
    def alertmanager(self) -> Alertmanager:
        assert self.state is not None
        return Alertmanager(self.state.alertmanager_url)

    def status(self) -> str:
        """The status line, read from the first Prometheus that is ready (HA: one may be down)."""
        assert self.state is not None
        urls = self.state.prometheus_urls
        prom = next((Prometheus(u) for u in urls if is_ok(f"{u}/-/ready", timeout=1)), Prometheus(urls[0]))
        line = status_line(prom, self.sink.records() if self.sink else [])
        return f"{line} | {ha_summary(urls, self.state.alertmanager_urls)}" if self.ha else line

    def serve(self, seconds: float | None, on_tick: Callable[[str], None], tick: float = 2.0,
              say: Callable[[str], None] | None = None) -> None:
        """Run control commands in this (main) thread, restart crashed children and report status
        until ``seconds`` pass; ``GaveUp`` when a child keeps crashing (the caller stops everything).

        Children must be started from the main thread: PR_SET_PDEATHSIG fires when the
        *thread* that forked them ends, so a request thread must not start the router.
        """
        deadline = None if seconds is None else time.monotonic() + seconds
        restarter = Restarter(self.supervisor, say or on_tick, self.options.restart_backoff,
                              on_restart=lambda child: self._write_pids())
        self._serving = True
        try:
            next_tick = 0.0
            while deadline is None or time.monotonic() < deadline:
                restarter.check()
                try:
                    fn, reply = self._commands.get(timeout=0.2)
                except queue.Empty:
                    pass
                else:
                    try:
                        reply.put(fn())
                    except Exception as exc:  # noqa: BLE001 - handed back to the requester
                        reply.put(exc)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + tick
                    try:
                        on_tick(self.status())
                    except (OSError, RuntimeError) as exc:
                        reason = getattr(exc, "reason", None) or exc
                        on_tick(f"status unavailable: Prometheus does not answer ({reason})")
        finally:
            self._serving = False

    def _in_main_thread(self, fn: Callable[[], Any]) -> Any:
        if threading.current_thread() is threading.main_thread():
            return fn()
        if not self._serving:
            raise RuntimeError("the stack is not serving control commands")
        reply: queue.Queue[Any] = queue.Queue()
        self._commands.put((fn, reply))
        result = reply.get(timeout=self.options.ready_timeout + 15)
        if isinstance(result, Exception):
            raise result
        return result
