"""``llmmon up`` / ``llmmon fault`` as a user runs them: start, inject, stop, nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmmon.cli import main
from llmmon.localstack.httpjson import get_json, is_ok, wait_until
from llmmon.localstack.processes import pid_alive
from llmmon.localstack.state import StackState

PORT_FLAGS = ["--router-port", "0", "--prometheus-port", "0", "--alertmanager-port", "0"]


@contextlib.contextmanager
def _up(workdir: Path, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """``llmmon up`` in a subprocess; killed (whole group) if the test ends with it running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmmon.cli", "up", "--profile", "test", "--workdir", str(workdir), *PORT_FLAGS, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _fault(workdir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["fault", "--workdir", str(workdir), *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.live
def test_up_runs_faults_and_stops_cleanly_on_sigterm(tmp_path, capsys):
    with _up(tmp_path) as proc:
        wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, 90, "state.json")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        state = StackState.read(tmp_path)
        assert set(state.pids) == {"alertmanager", "prometheus", "router"}
        assert get_json(f"{state.prometheus_url}/api/v1/status/config")["status"] == "success"

        shown = _fault(tmp_path, capsys, "error-burst", "--rate", "0.5", "--backend", "vllm")
        assert shown["backends"]["vllm"]["error_rate"] == 0.5
        assert _fault(tmp_path, capsys, "show")["backends"]["openai"]["error_rate"] == 0.0
        assert _fault(tmp_path, capsys, "outage")["backends"]["openai"]["outage"] is True
        assert _fault(tmp_path, capsys, "clear")["backends"]["openai"]["outage"] is False

        # Each fault replaces the last one; a restarted router gets back the faults it had.
        assert _fault(tmp_path, capsys, "slow", "--latency-ms", "20", "--backend", "vllm")["backends"]["openai"][
            "outage"] is False
        old_router = state.pids["router"]
        assert _fault(tmp_path, capsys, "router-down") == {"router": "stopped", "faults_kept": True}
        assert not pid_alive(old_router)
        assert "router" not in StackState.read(tmp_path).pids
        restarted = _fault(tmp_path, capsys, "router-up")
        new_router = restarted["pid"]
        assert pid_alive(new_router) and StackState.read(tmp_path).pids["router"] == new_router
        assert restarted["faults"]["backends"]["vllm"]["latency_ms"] == 20
        assert _fault(tmp_path, capsys, "show")["backends"]["vllm"]["latency_ms"] == 20

        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "prometheus" in out and "stopped" in out
    assert [pid for pid in [*state.pids.values(), new_router] if pid_alive(pid)] == []
    assert not (tmp_path / "state.json").exists()


@pytest.mark.live
def test_children_die_with_up_even_when_it_is_killed_with_sigkill(tmp_path):
    with _up(tmp_path) as proc:
        wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, 90, "state.json")
        pids = list(StackState.read(tmp_path).pids.values())
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup code runs: PR_SET_PDEATHSIG must do it
        proc.wait()
        wait_until(lambda: not [pid for pid in pids if pid_alive(pid)], 30, "children to exit")


@pytest.mark.live
def test_up_for_seconds_prints_urls_and_status_then_exits(tmp_path):
    with _up(tmp_path, "--for", "6") as proc:
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    for word in ("router", "prometheus", "alertmanager", "webhook sink", "targets up", "firing:", "requests"):
        assert word in out, out
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", out)]
    assert len(pids) == 3 and [pid for pid in pids if pid_alive(pid)] == []


def test_fault_without_a_stack_says_how_to_start_one(tmp_path, capsys):
    assert main(["fault", "--workdir", str(tmp_path), "show"]) == 1
    assert "llmmon up --workdir" in capsys.readouterr().err


def test_up_names_the_debian_package_when_a_binary_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["up", "--workdir", str(tmp_path / "w"), "--for", "1"]) == 1
    assert "apt-get install prometheus" in capsys.readouterr().err


@pytest.mark.live
def test_up_restarts_a_killed_child_and_gives_up_on_one_that_keeps_crashing(tmp_path):
    """Issue 14: after kill -9 of its Prometheus, up restarted nothing and exited 0."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = busy.getsockname()[1]
        with _up(tmp_path, "--prometheus-port", str(busy_port)) as proc:
            wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, 90, "state.json")
            first = StackState.read(tmp_path).pids["prometheus"]
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: StackState.read(tmp_path).pids.get("prometheus") not in (None, first), 60,
                       "a new prometheus pid in state.json")
            second = StackState.read(tmp_path).pids["prometheus"]
            assert pid_alive(second)
            wait_until(lambda: is_ok(f"{StackState.read(tmp_path).prometheus_url}/-/ready"), 60, "prometheus ready")
            # A config Prometheus refuses: every restart exits at once, so up must give up and stop all.
            (tmp_path / "prometheus.yml").write_text("scrape_configs: 7\n")
            os.kill(second, signal.SIGKILL)
            out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert f"note: port {busy_port} for prometheus is taken; using " in out
    assert f"prometheus (pid {first}) exited (killed by SIGKILL); restarting it in 0.5s (restart 1 of at most 5)" in out
    assert re.search(r"prometheus restarted \(pid \d+\)", out)
    assert re.search(r"llmmon up: prometheus exited \(exit code \d+\) after 5 restarts in a row; stopped everything; "
                     r"its log: .*prometheus\.log", out)
    assert not (tmp_path / "state.json").exists()
    assert not pid_alive(second)


@pytest.mark.live
def test_a_second_up_in_the_same_workdir_is_refused_and_a_stale_state_is_replaced(tmp_path):
    with _up(tmp_path) as proc:
        wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, 90, "state.json")
        second = subprocess.run([sys.executable, "-m", "llmmon.cli", "up", "--workdir", str(tmp_path), *PORT_FLAGS,
                                 "--for", "1"], capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and f"a stack already runs in {tmp_path}" in second.stderr
        assert StackState.read(tmp_path).up_pid == proc.pid  # the running stack's file is untouched
        os.kill(proc.pid, signal.SIGKILL)  # leaves a stale state.json behind
        proc.wait()
    with _up(tmp_path, "--for", "3") as proc:
        out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"note: removed a stale {tmp_path / 'state.json'} (the llmmon up that wrote it, pid " in out
