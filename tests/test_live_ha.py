"""High availability on real processes: two Prometheus replicas and a three-peer Alertmanager cluster.

One HA stack (test profile: ``--cluster.peer-timeout=2s``, ``group_interval`` 5s) is shared by the module and driven
in-process without ``llmmon up``'s supervisor, so a killed or stopped process stays down until
the test restarts it. Each failure drill takes out the peer at position 0 of the cluster's
notification order (the one that would send first: the worst one to lose) and Prometheus
replica 0, takes the router down, and requires ServiceDown to reach ``critical-alerts``
exactly once per alert group, from a surviving peer. No assertion is on time: each wait is
bounded, and after a delivery the test waits out every later peer's turn for a duplicate.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.alertmanager import CRITICAL, WATCHDOG
from alerts.prometheus_config import REPLICA_LABEL
from foundation import alert_names as names
from llmmon.localstack.configs import PROFILES
from llmmon.localstack.ha import (
    ha_stack,
    notification_order,
    notifications,
    pause,
    per_group,
    resume,
    wait_for_cluster,
)
from llmmon.localstack.httpjson import get_json, is_ok, send_json, wait_until
from llmmon.localstack.processes import pid_alive
from llmmon.localstack.stack import LocalStack
from llmmon.localstack.state import StackState

pytestmark = pytest.mark.live

WAIT = 90
PEER_TIMEOUT_S = PROFILES["test"].peer_timeout_s
#: After a delivery, how long a duplicate could still come: the last peer's turn, a group
#: interval (ha_timings), plus slack.
DUPLICATE_WINDOW_S = 2 * PEER_TIMEOUT_S + (2 * PEER_TIMEOUT_S + 1) + 3


@contextlib.contextmanager
def running(local: LocalStack) -> Iterator[LocalStack]:
    local.start()
    try:
        wait_for_cluster(local.state.alertmanager_urls, 3, WAIT)
        yield local
    finally:
        started = local.supervisor.started_pids()
        for pid in started:  # a test that failed mid-drill may leave a peer stopped
            if pid_alive(pid):
                os.kill(pid, signal.SIGCONT)
        local.stop()
        assert [pid for pid in started if pid_alive(pid)] == []


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running(ha_stack(tmp_path_factory.mktemp("ha"))) as local:
        yield local


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalStack]:
    """A stack of its own: after an alert resolves, Prometheus re-sends it as resolved for 15
    minutes and each peer rebuilds its group whenever that arrives, so a second outage of the
    same alert group in one stack would meet peers out of step (the race of Alertmanager issue
    4008, which the README reports); a drill measures one incident."""
    with running(ha_stack(tmp_path)) as local:
        yield local


def urls(stack: LocalStack, kind: str) -> dict[str, str]:
    names_ = stack.prometheus_names if kind == "prometheus" else stack.alertmanager_names
    return dict(zip(names_, getattr(stack.state, f"{kind}_urls"), strict=True))


def all_replicas_notify_every_peer(stack: LocalStack, replicas: dict[str, str], peers: int) -> None:
    def seen() -> bool:
        for url in replicas.values():
            try:
                if len(get_json(f"{url}/api/v1/alertmanagers", timeout=2)["data"]["activeAlertmanagers"]) != peers:
                    return False
            except (OSError, RuntimeError):
                return False
        return True

    wait_until(seen, WAIT, f"{len(replicas)} Prometheus replicas to notify {peers} Alertmanagers")


def notified(stack: LocalStack, alertname: str, status: str) -> list:
    return [n for n in notifications(stack.sink.records(), alertname, CRITICAL) if n.status == status]


def incident(stack: LocalStack, alertname: str, start, end, down: set[str]) -> tuple[list, list]:
    """``start()`` until ``alertname`` is delivered to critical-alerts, then ``end()`` until it
    resolves; every notification of the incident, after waiting out the later peers' turns."""
    before = len(notified(stack, alertname, "firing")), len(notified(stack, alertname, "resolved"))
    start()
    wait_until(lambda: len(notified(stack, alertname, "firing")) > before[0], WAIT, f"{alertname} delivered")
    time.sleep(DUPLICATE_WINDOW_S)
    end()
    wait_until(lambda: len(notified(stack, alertname, "resolved")) > before[1], WAIT, f"{alertname} resolved")
    time.sleep(DUPLICATE_WINDOW_S)
    firing, resolved = notified(stack, alertname, "firing")[before[0]:], notified(stack, alertname, "resolved")[before[1]:]
    assert not {n.sender for n in firing + resolved} & down, "a downed peer cannot have sent"
    return firing, resolved


def router_outage(stack: LocalStack, down: set[str]) -> tuple[list, list]:
    return incident(stack, names.SERVICE_DOWN, stack.router_down, stack.router_up, down)


def once_per_group(firing: list, resolved: list) -> None:
    assert list(per_group(firing, "firing").values()) == [1], firing
    assert list(per_group(resolved, "resolved").values()) == [1], resolved


def test_replicas_differ_only_by_their_label_and_the_cluster_deduplicates_them(stack):
    state = stack.state
    assert len(state.prometheus_urls) == 2 and len(state.alertmanager_urls) == 3
    assert set(state.processes) == {"router", "prometheus-0", "prometheus-1",
                                    "alertmanager-0", "alertmanager-1", "alertmanager-2"}
    labels = []
    for url in state.prometheus_urls:
        config = get_json(f"{url}/api/v1/status/config")["data"]["yaml"]
        labels.append(next(line.split(":")[1].strip() for line in config.splitlines()
                           if line.strip().startswith(f"{REPLICA_LABEL}:")))
        rules = get_json(f"{url}/api/v1/rules")["data"]["groups"]
        assert names.SERVICE_DOWN in {r["name"] for g in rules for r in g["rules"]}
    assert labels == ["prometheus-0", "prometheus-1"]
    all_replicas_notify_every_peer(stack, urls(stack, "prometheus"), 3)
    # Watchdog fires on both replicas and reaches all three peers: one notification (its repeat is 1m).
    wait_until(lambda: notifications(stack.sink.records(), names.WATCHDOG, WATCHDOG), WAIT, "Watchdog delivered")
    first = notifications(stack.sink.records(), names.WATCHDOG, WATCHDOG)[0].received_at
    time.sleep(DUPLICATE_WINDOW_S)
    within = [n for n in notifications(stack.sink.records(), names.WATCHDOG, WATCHDOG) if n.received_at - first < 55]
    assert len(within) == 1, within


def silence(alertmanager_url: str, alertname: str) -> str:
    now = time.time()
    body = {"matchers": [{"name": "alertname", "value": alertname, "isRegex": False}],
            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
            "createdBy": "test_live_ha", "comment": "created while a peer was down"}
    return str(send_json("POST", f"{alertmanager_url}/api/v2/silences", body)["silenceID"])


def test_killed_prometheus_and_first_peer_still_notify_once_then_the_cluster_heals(stack):
    ams = urls(stack, "alertmanager")
    order = notification_order(ams)
    first_peer, processes = order[0], dict(stack.state.processes)
    for name in ("prometheus-0", first_peer):
        os.kill(processes[name], signal.SIGKILL)
    wait_until(lambda: not pid_alive(processes["prometheus-0"]) and not pid_alive(processes[first_peer]), 30, "kills")
    firing, resolved = router_outage(stack, {first_peer})
    once_per_group(firing, resolved)
    assert firing[0].sender == order[1]  # the next peer in line took over

    # State created while the peer was down reaches it once it is back (gossip's full sync).
    silence_id = silence(ams[order[1]], "SomethingNoisy")
    for name in ("prometheus-0", first_peer):
        stack.restart(name)
    wait_for_cluster(stack.state.alertmanager_urls, 3, WAIT)
    all_replicas_notify_every_peer(stack, urls(stack, "prometheus"), 3)
    assert silence_id in {s["id"] for s in get_json(f"{ams[first_peer]}/api/v2/silences")}
    restarted = get_json(f"{stack.state.prometheus_urls[0]}/api/v1/alerts")["data"]["alerts"]
    assert names.WATCHDOG in {a["labels"]["alertname"] for a in restarted}


def test_after_a_restart_the_healed_cluster_notifies_once_even_with_a_stopped_peer(fresh_stack):
    """Kill and restart a Prometheus and a peer, then SIGSTOP the first peer in the (new) order:
    it keeps its sockets open but answers nothing (a network partition's symptom)."""
    stack = fresh_stack
    ams = urls(stack, "alertmanager")
    processes = dict(stack.state.processes)
    for name in ("prometheus-1", notification_order(ams)[0]):
        os.kill(processes[name], signal.SIGKILL)
        stack.supervisor.get(name).proc.wait()
        stack.restart(name)
    wait_for_cluster(stack.state.alertmanager_urls, 3, WAIT)
    all_replicas_notify_every_peer(stack, urls(stack, "prometheus"), 3)

    order = notification_order(ams)
    stopped = stack.state.processes[order[0]]
    pause(stopped)
    try:
        assert not is_ok(f"{ams[order[0]]}/-/healthy", timeout=1)
        firing, resolved = router_outage(stack, {order[0]})
    finally:
        resume(stopped)
    once_per_group(firing, resolved)
    assert firing[0].sender == order[1]
    wait_for_cluster(stack.state.alertmanager_urls, 3, WAIT)


def test_llmmon_up_ha_writes_every_url_and_process_and_restarts_a_killed_peer(tmp_path):
    """The command people run: state.json names all five servers; a SIGKILLed peer is restarted by
    the supervisor and rejoins; SIGTERM stops everything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmmon.cli", "up", "--ha", "--profile", "test", "--workdir", str(tmp_path),
         "--router-port", "0", "--prometheus-port", "0", "--alertmanager-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, WAIT, "state.json")
        state = StackState.read(tmp_path)
        document = json.loads((tmp_path / "state.json").read_text())
        assert len(document["prometheus_urls"]) == 2 and len(document["alertmanager_urls"]) == 3
        assert set(document["processes"]) == {"router", "prometheus-0", "prometheus-1",
                                              "alertmanager-0", "alertmanager-1", "alertmanager-2"}
        assert document["prometheus_url"] == document["prometheus_urls"][0]
        wait_for_cluster(state.alertmanager_urls, 3, WAIT)
        victim = state.processes["alertmanager-1"]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: StackState.read(tmp_path).processes.get("alertmanager-1") not in (None, victim), WAIT,
                   "a new alertmanager-1 in state.json")
        wait_for_cluster(state.alertmanager_urls, 3, WAIT)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, out
    assert f"alertmanager-1 (pid {victim}) exited (killed by SIGKILL); restarting it" in out
    assert "prometheus 2/2 ready | alertmanager 3/3 answering, cluster of 3" in out
    assert not (tmp_path / "state.json").exists()
    assert [pid for pid in [*state.processes.values()] if pid_alive(pid)] == []
