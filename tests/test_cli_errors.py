"""Every traceback issue 14 measured is now one line saying what is wrong and what to do, and a non-zero exit.

Each case runs the real ``llmmon`` command in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from llmmon.localstack.state import StackState
from llmmon.render import RenderError, check_target

LLMMON = [sys.executable, "-m", "llmmon.cli"]


def one_line_error(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``llmmon ARGS``; it must fail with exactly one line on stderr (returned) and no traceback."""
    proc = subprocess.run([*LLMMON, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"llmmon {args[0]}: "), lines[0]
    return lines[0]


# --- render -----------------------------------------------------------------------------------
def test_render_into_a_file(tmp_path):
    (tmp_path / "f").write_text("mine")
    assert "is a file, not a folder" in one_line_error("render", "--env", "dev", "--out", str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "mine"


def test_render_into_an_unwritable_path(tmp_path):
    (tmp_path / "f").write_text("mine")
    line = one_line_error("render", "--env", "dev", "--out", str(tmp_path / "f" / "sub"))
    assert "cannot write the render" in line and "--out" in line
    assert "cannot write the render" in one_line_error("render", "--env", "dev", "--out", "/proc/llmmon-x")


def test_render_into_the_filesystem_root_or_home_is_refused(tmp_path):
    # Proved in-process first: with a broken guard the command below would write into /.
    with pytest.raises(RenderError):
        check_target(Path("/"))
    assert "filesystem root" in one_line_error("render", "--env", "dev", "--out", "/")
    home = tmp_path / "home"
    home.mkdir()
    line = one_line_error("render", "--env", "dev", "--out", str(home), env={"HOME": str(home)})
    assert "your home folder" in line and "llmmon-out" in line
    assert list(home.iterdir()) == []


# --- up ---------------------------------------------------------------------------------------
def test_up_with_an_unusable_workdir():
    line = one_line_error("up", "--workdir", "/proc/llmmon-x", "--for", "1")
    assert "cannot use --workdir /proc/llmmon-x" in line


@pytest.mark.parametrize("args, words", [
    (["--for", "-5"], "above 0"),
    (["--for", "0"], "above 0"),
    (["--router-port", "99999"], "expected 0 (any free port) to 65535"),
    (["--traffic", "-1"], "must be a number >= 0"),
])
def test_up_refuses_bad_numbers_before_starting_anything(tmp_path, args, words):
    assert words in one_line_error("up", "--workdir", str(tmp_path), *args)
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


# --- fault ------------------------------------------------------------------------------------
def test_fault_with_a_stale_state_file(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    StackState("dev", "test", "http://127.0.0.1:9", "http://127.0.0.1:9", "http://127.0.0.1:9",
               "http://127.0.0.1:9", "http://127.0.0.1:9/control", str(tmp_path / "n.jsonl"),
               pids={"prometheus": gone.pid, "router": gone.pid}, up_pid=gone.pid).write(tmp_path)
    for action in ("show", "error-burst", "router-down"):
        line = one_line_error("fault", "--workdir", str(tmp_path), action)
        assert f"stale {tmp_path / 'state.json'}" in line and f"pid {gone.pid}" in line
        assert f"llmmon up --workdir {tmp_path}" in line


def test_fault_with_a_live_state_whose_router_does_not_answer(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    StackState("dev", "test", url, url, url, url, f"{url}/control", str(tmp_path / "n.jsonl"),
               pids={"router": os.getpid()}, up_pid=os.getpid()).write(tmp_path)
    line = one_line_error("fault", "--workdir", str(tmp_path), "show")
    assert f"no answer from {url}" in line and "router-up" in line


@pytest.mark.parametrize("args, words", [
    (["error-burst", "--rate", "7"], "7 is not a share: expected a number from 0 to 1"),
    (["slow", "--latency-ms", "-3"], "must be a number >= 0"),
])
def test_fault_refuses_bad_numbers(tmp_path, args, words):
    assert words in one_line_error("fault", "--workdir", str(tmp_path), *args)


# --- router -----------------------------------------------------------------------------------
def test_router_on_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error("router", "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in line and "--port 0" in line


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_router_on_an_impossible_port(port):
    assert "--port" in one_line_error("router", "--port", port)


def test_router_config_that_does_not_exist(tmp_path):
    line = one_line_error("router", "--port", "0", "--config", str(tmp_path / "nope.toml"))
    assert "bad --config" in line and "no such file" in line


@pytest.mark.parametrize(("env", "words"), [
    ({"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "10%"},
     "bad environment: OTEL_TRACES_SAMPLER_ARG='10%': the parentbased_traceidratio sampler needs a ratio between 0 and 1"),
    ({"LOG_LEVEL_ACCESS": "loud"}, "bad environment: log level of the access stream (LOG_LEVEL_ACCESS)"),
])
def test_router_with_a_malformed_variable(env, words):
    assert words in one_line_error("router", "--port", "0", env=env)


@pytest.mark.live
def test_router_whose_reader_goes_away_stops_with_one_line(tmp_path):
    """``llmmon router | head -1``: the reader leaves after one line."""
    proc = subprocess.Popen([*LLMMON, "router", "--port", "0", "--traffic", "20"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline()
        proc.stdout.close()
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert "llmmon router: stopped: its output was closed by the reader (broken pipe)" in err.splitlines()

