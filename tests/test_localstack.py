"""The local stack's machinery: ports, supervision without orphans, webhook sink, start/stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from llmmon.checkers import MissingTool
from llmmon.localstack.httpjson import NotReady, send_json, wait_until
from llmmon.localstack.ports import HOST, is_free, pick_port
from llmmon.localstack.processes import Supervisor, pid_alive
from llmmon.localstack.restarts import Backoff, GaveUp, Restarter
from llmmon.localstack.stack import Endpoints, LocalStack, StackOptions
from llmmon.localstack.state import NoStack, StackRunning, StackState, StaleStack
from llmmon.localstack.status import targets_summary
from llmmon.localstack.webhook import WebhookSink, delivered, read_notifications


def test_busy_preferred_port_is_replaced_by_a_free_one():
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()
        busy = s.getsockname()[1]
        assert not is_free(busy)
        port = pick_port(busy)
        assert port != busy and is_free(port)


def test_pick_port_never_hands_out_the_same_port_twice():
    taken: set[int] = set()
    first = pick_port(None, taken=taken)
    assert pick_port(first, taken=taken) != first


def _grandchild_script(pidfile: Path) -> list[str]:
    # A child that starts its own child and ignores SIGTERM: the group must still die.
    code = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    return [sys.executable, "-c", code]


def test_stop_kills_the_whole_group_even_when_sigterm_is_ignored(tmp_path):
    sup = Supervisor(tmp_path / "logs", stop_timeout=1.0)
    pidfile = tmp_path / "grandchild.pid"
    child = sup.start("stubborn", _grandchild_script(pidfile))
    wait_until(lambda: pidfile.exists() and pidfile.read_text() != "", 20, "grandchild pid")
    grandchild = int(pidfile.read_text())
    assert pid_alive(child.pid) and pid_alive(grandchild)
    sup.stop_all()
    assert not pid_alive(child.pid)
    assert not pid_alive(grandchild)


def test_supervisor_refuses_to_start_a_running_name_twice(tmp_path):
    sup = Supervisor(tmp_path / "logs", stop_timeout=1.0)
    try:
        sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        with pytest.raises(RuntimeError, match="already running"):
            sup.start("sleeper", [sys.executable, "-c", "pass"])
    finally:
        sup.stop_all()


def test_readiness_wait_fails_fast_with_the_log_when_the_child_exits(tmp_path):
    sup = Supervisor(tmp_path / "logs")
    child = sup.start("crasher", [sys.executable, "-c", "print('boom: bad flag'); raise SystemExit(3)"])
    with pytest.raises(NotReady, match="(?s)crasher exited with code 3.*boom: bad flag"):
        wait_until(lambda: False, 30, "never", child=child)
    sup.stop_all()


def test_webhook_sink_records_each_notification_as_a_json_line(tmp_path):
    sink = WebhookSink(tmp_path / "n.jsonl", control={"ping": lambda: {"pong": True}}).start()
    try:
        notification = {"receiver": "critical-alerts", "status": "firing",
                        "alerts": [{"status": "firing", "labels": {"alertname": "ServiceDown"}}]}
        send_json("POST", sink.receiver_url("critical-alerts"), notification)
        assert send_json("POST", f"{sink.url}/control/ping") == {"pong": True}
        records = read_notifications(tmp_path / "n.jsonl")
        assert [r["payload"] for r in records] == [notification]
        assert records == sink.records()
        assert len(delivered(records, "ServiceDown", receiver="critical-alerts")) == 1
        assert delivered(records, "ServiceDown", status="resolved") == []
        assert delivered(records, "ServiceDown", receiver="warning-alerts") == []
    finally:
        sink.stop()


def _state(**fields: object) -> StackState:
    return StackState("dev", "test", "http://p", "http://a", "http://r", "http://w", "http://w/control", "n",
                      **fields)


def test_state_file_round_trip_and_missing_stack_message(tmp_path):
    with pytest.raises(NoStack, match="llmmon up --workdir"):
        StackState.read(tmp_path)
    state = _state(pids={"prometheus": os.getpid()}, up_pid=os.getpid())
    state.write(tmp_path)
    assert StackState.read(tmp_path) == state
    assert json.loads((tmp_path / "state.json").read_text())["prometheus_url"] == "http://p"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_state_file_whose_processes_are_gone_is_stale(tmp_path):
    dead = _dead_pid()
    _state(pids={"prometheus": dead, "router": dead}, up_pid=dead).write(tmp_path)
    with pytest.raises(StaleStack, match=f"stale .*state.json: the llmmon up that wrote it \\(pid {dead}\\) is not"):
        StackState.read(tmp_path)
    assert StackState.read(tmp_path, live=False).up_pid == dead
    # Written before up_pid existed: stale when none of the children runs.
    _state(pids={"prometheus": dead}).write(tmp_path)
    with pytest.raises(StaleStack, match="none of its processes runs any more"):
        StackState.read(tmp_path)
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StaleStack, match="unreadable"):
        StackState.read(tmp_path)


def test_a_new_stack_removes_a_stale_state_file_but_never_shares_a_live_workdir(tmp_path):
    dead = _dead_pid()
    _state(pids={"prometheus": dead}, up_pid=dead).write(tmp_path)
    assert f"pid {dead}, is gone" in StackState.claim(tmp_path)
    assert not (tmp_path / "state.json").exists()
    assert StackState.claim(tmp_path) is None
    _state(pids={"prometheus": os.getpid()}, up_pid=os.getpid()).write(tmp_path)
    with pytest.raises(StackRunning, match=f"already runs in .*pid {os.getpid()}"):
        StackState.claim(tmp_path)
    assert (tmp_path / "state.json").exists()


def test_restarter_restarts_a_killed_child_with_backoff_and_says_so(tmp_path):
    sup = Supervisor(tmp_path / "logs", stop_timeout=1.0)
    said: list[str] = []
    restarted: list[int] = []
    keeper = Restarter(sup, said.append, Backoff(first=0.05), on_restart=lambda child: restarted.append(child.pid))
    try:
        first = sup.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
        assert keeper.check() == []
        os.kill(first.pid, signal.SIGKILL)
        first.proc.wait()
        wait_until(lambda: keeper.check() == ["sleeper"], 20, "the restart")
        second = sup.get("sleeper")
        assert second is not None and second.alive() and second.pid != first.pid
        assert restarted == [second.pid]
        assert said[0].startswith(f"sleeper (pid {first.pid}) exited (killed by SIGKILL); restarting it in 0.05s")
        assert said[1] == f"sleeper restarted (pid {second.pid})"
        sup.stop("sleeper")  # stopped on purpose: never restarted
        assert keeper.check() == [] and sup.get("sleeper") is None
    finally:
        sup.stop_all()


def test_restarter_gives_up_on_a_child_that_keeps_crashing(tmp_path):
    sup = Supervisor(tmp_path / "logs", stop_timeout=1.0)
    said: list[str] = []
    keeper = Restarter(sup, said.append, Backoff(first=0.01, max_restarts=3))
    try:
        sup.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
        with pytest.raises(GaveUp, match=r"crasher exited \(exit code 3\) after 3 restarts in a row; stopped "
                                         r"everything; its log: .*crasher\.log"):
            wait_until(lambda: bool(keeper.check() and False), 30, "giving up")
        delays = [re.search(r"restarting it in ([\d.]+)s \(restart (\d) of at most 3\)", line) for line in said
                  if "exited" in line]
        assert [(m.group(1), m.group(2)) for m in delays if m] == [("0.01", "1"), ("0.02", "2"), ("0.04", "3")]
        assert sum("restarted" in line for line in said) == 3
    finally:
        sup.stop_all()


def test_targets_not_scraped_yet_are_pending_not_down():
    targets = [{"health": "up", "labels": {"job": "prometheus"}}, {"health": "unknown", "labels": {"job": "llm-router"}},
               {"health": "down", "labels": {"job": "node"}}]
    assert targets_summary(targets) == "targets up 1/3 (down: node; pending: llm-router)"
    assert targets_summary(targets[:1]) == "targets up 1/1"


def test_missing_binary_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool, match="apt-get install prometheus"):
        LocalStack(StackOptions(workdir=tmp_path), _MinimalConfigs()).start()


class _MinimalConfigs:
    """Just enough configuration to exercise process handling (the real one is tested live)."""

    def rule_files(self, workdir: Path) -> list[Path]:
        return []

    def prometheus_yml(self, endpoints: Endpoints, rule_files: list[Path]) -> str:
        return (f"global: {{scrape_interval: 1s}}\nalerting: {{alertmanagers: [{{static_configs: "
                f"[{{targets: ['{endpoints.alertmanager}']}}]}}]}}\nscrape_configs:\n"
                f"  - job_name: self\n    static_configs: [{{targets: ['{endpoints.prometheus}']}}]\n")

    def alertmanager_yml(self, endpoints: Endpoints) -> str:
        return (f"route: {{receiver: sink}}\nreceivers:\n  - name: sink\n"
                f"    webhook_configs: [{{url: '{endpoints.webhook_url}/alerts/sink'}}]\n")


def _static_router(tmp_path: Path) -> list[str]:
    # A static file server answering /health/live stands in for the router process here.
    (tmp_path / "www" / "health").mkdir(parents=True)
    (tmp_path / "www" / "health" / "live").write_text("ok")
    return [sys.executable, "-m", "http.server", "--bind", HOST, "--directory", str(tmp_path / "www"), "{port}"]


@pytest.mark.live
def test_stack_starts_picks_free_ports_and_leaves_no_process_behind(tmp_path):
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        options = StackOptions(workdir=tmp_path / "w", router_argv=_static_router(tmp_path),
                               prometheus_port=busy_port, router_port=None, alertmanager_port=None)
        stack = LocalStack(options, _MinimalConfigs())
        with stack:
            state = StackState.read(tmp_path / "w")
            assert state.prometheus_url != f"http://{HOST}:{busy_port}"
            assert set(state.pids) == {"alertmanager", "prometheus", "router"}
            wait_until(lambda: any(a for a in stack.prometheus.alertmanagers()), 30, "alertmanager discovered")
            stack.router_down()
            assert "router" not in StackState.read(tmp_path / "w").pids
            stack.router_up()
            assert "router" in StackState.read(tmp_path / "w").pids
            started = stack.supervisor.started_pids()
            assert "targets up" in stack.status()
        assert started and not [pid for pid in started if pid_alive(pid)]
        assert not (tmp_path / "w" / "state.json").exists()


def test_failed_start_stops_what_was_started(tmp_path):
    options = StackOptions(workdir=tmp_path / "w", router_argv=[sys.executable, "-c", "raise SystemExit(1)"],
                           router_port=None, prometheus_port=None, alertmanager_port=None, ready_timeout=20)
    stack = LocalStack(options, _MinimalConfigs())
    with pytest.raises(NotReady, match="router exited"):
        stack.start()
    assert stack.supervisor.started_pids()
    assert not [pid for pid in stack.supervisor.started_pids() if pid_alive(pid)]
