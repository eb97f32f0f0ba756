"""The README's fault drill, run exactly as written: its commands and its table are read from README.md.

``llmmon up --profile test`` and every ``llmmon fault`` line of the section "Watch an alert fire
and resolve" run as subprocesses, in order, with two additions a test needs: ``--workdir`` (a
temporary folder, not the user's) and free ports. After each command the test waits until what
the table's row says has happened: each alert of "delivered" reached that receiver, each of
"inhibited" sat suppressed in Alertmanager and was never delivered during the step, each of
"resolved" has its resolved notification. A README edit that changes a command or a promise
changes this test with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from foundation import alert_names
from foundation.settings import PROJECT_DIR
from llmmon.localstack.api import Alertmanager, Prometheus, firing_names
from llmmon.localstack.httpjson import NotReady, wait_until
from llmmon.localstack.processes import pid_alive
from llmmon.localstack.state import StackState
from llmmon.localstack.webhook import read_notifications

pytestmark = pytest.mark.live

SECTION = "### Watch an alert fire and resolve"
PORT_FLAGS = ["--router-port", "0", "--prometheus-port", "0", "--alertmanager-port", "0"]
#: Ceiling of one step's wait; steps take 10 to 40 seconds idle, but on a loaded 2-core machine
#: an SLO page's resolve after ``slow`` took over 150 s once (a ceiling only: a pass never waits it).
STEP_WAIT = 300


@dataclass
class Step:
    command: list[str]
    delivered: dict[str, str] = field(default_factory=dict)  # alert -> receiver
    inhibited: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def section(readme: str) -> str:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start)
    return readme[start:end]


def alerts_in(cell: str) -> list[str]:
    names = re.findall(r"\b[A-Z][A-Za-z]+\b", cell)
    unknown = [n for n in names if n not in KNOWN_ALERTS]
    assert not unknown, f"README drill table names unknown alerts {unknown}"
    return names


def deliveries(cell: str) -> dict[str, str]:
    """``A, B → `receiver`; C → `other` `` -> {A: receiver, B: receiver, C: other}."""
    out = {}
    for part in filter(str.strip, cell.split(";")):
        names, receiver = part.split("→")
        out |= {name: receiver.strip().strip("`") for name in alerts_in(names)}
    return out


def drill(readme: str) -> tuple[list[str], list[Step]]:
    """(the ``llmmon up`` command, the steps) as the README's drill section writes them."""
    text = section(readme)
    up = re.search(r"with `(llmmon up [^`]+)` running", text)
    assert up, "the drill must say which `llmmon up` command it runs against"
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block
    commands = [shlex.split(line.split("#")[0]) for line in block.group(1).splitlines()
                if line.startswith("llmmon fault ")]
    rows = [row for row in text.splitlines() if row.startswith("| `")]
    steps = []
    for command, row in zip(commands, rows, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0].strip("`") == " ".join(command[2:]), f"table row {cells[0]} does not match {command}"
        steps.append(Step(command, deliveries(cells[1]), alerts_in(cells[2]), alerts_in(cells[3])))
    return shlex.split(up.group(1)), steps


KNOWN_ALERTS = {*alert_names.THRESHOLD_ALERTS, alert_names.WATCHDOG,
                *(f"{slo}SLOBurnRate{kind}" for slo in ("Availability", "TTFTLatency") for kind in ("Page", "Ticket"))}


def test_the_drill_parses_and_a_mismatched_row_is_refused():
    readme = (PROJECT_DIR / "README.md").read_text()
    up, steps = drill(readme)
    assert up[:3] == ["llmmon", "up", "--profile"] and len(steps) >= 5
    assert steps[0].delivered["CriticalErrorRate"] == "critical-alerts" and "HighErrorRate" in steps[0].inhibited
    with pytest.raises(AssertionError, match="does not match"):
        drill(readme.replace("llmmon fault stall\n", "llmmon fault stall --rate 1\n", 1))


@contextlib.contextmanager
def running(argv: list[str], workdir: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "llmmon.cli", *argv[1:], "--workdir", str(workdir), *PORT_FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


def notifications(workdir: Path, since: float) -> list[tuple[str, str, str]]:
    """(receiver, alertname, status) of every alert in every notification received since ``since``."""
    return [(r["payload"]["receiver"], a["labels"]["alertname"], a["status"])
            for r in read_notifications(workdir / "notifications.jsonl") if r["received_at"] >= since
            for a in r["payload"]["alerts"]]


def last_status(workdir: Path, alertname: str) -> set[str]:
    """Statuses of ``alertname``'s alerts in the latest notification that mentions it."""
    latest: set[str] = set()
    for r in read_notifications(workdir / "notifications.jsonl"):
        statuses = {a["status"] for a in r["payload"]["alerts"] if a["labels"]["alertname"] == alertname}
        latest = statuses or latest
    return latest


def check_step(step: Step, workdir: Path, state: StackState, since: float) -> None:
    prom, am = Prometheus(state.prometheus_url), Alertmanager(state.alertmanager_url)
    suppressed: set[str] = set()

    def done() -> bool:
        seen = notifications(workdir, since)
        suppressed.update(a["labels"]["alertname"] for a in am.alerts()
                          if a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"])
        firing = set(firing_names(prom.alerts(state="firing")))
        return (all((receiver, name, "firing") in seen for name, receiver in step.delivered.items())
                and set(step.inhibited) <= suppressed
                and all(name not in firing and last_status(workdir, name) == {"resolved"} for name in step.resolved))

    try:
        wait_until(done, STEP_WAIT, f"{' '.join(step.command)}: {step}", interval=1)
    except NotReady as exc:  # say which promise was not kept, not only that one was not
        seen = notifications(workdir, since)
        missing = {"not delivered": [n for n, r in step.delivered.items() if (r, n, "firing") not in seen],
                   "not suppressed": sorted(set(step.inhibited) - suppressed),
                   "not resolved": [n for n in step.resolved if last_status(workdir, n) != {"resolved"}]}
        raise AssertionError(f"{exc}; {missing}") from None
    leaked = {(receiver, name) for receiver, name, status in notifications(workdir, since)
              if name in step.inhibited and status == "firing"}
    assert leaked == set(), f"{' '.join(step.command)}: inhibited alerts were delivered: {leaked}"


def test_the_readme_drill_does_what_the_readme_says(tmp_path):
    up, steps = drill((PROJECT_DIR / "README.md").read_text())
    workdir = tmp_path / "up"
    with running(up, workdir) as proc:
        wait_until(lambda: (workdir / "state.json").exists() or proc.poll() is not None, 90, "state.json")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        state = StackState.read(workdir)
        prom = Prometheus(state.prometheus_url)
        wait_until(lambda: prom.value('sum(up{job="llm-router"})') == 1 and prom.value(
            "sum(rate(llm_router_inference_total[10s]))") > 0, 60, "the router scraped and serving")
        for step in steps:
            since = time.time()
            fault = subprocess.run([sys.executable, "-m", "llmmon.cli", *step.command[1:], "--workdir", str(workdir)],
                                   capture_output=True, text=True, timeout=120)
            assert fault.returncode == 0, fault.stdout + fault.stderr
            check_step(step, workdir, StackState.read(workdir), since)
        pids = list(StackState.read(workdir).pids.values())
    assert [pid for pid in pids if pid_alive(pid)] == []


def test_a_leaked_inhibited_alert_fails_the_step(tmp_path):
    """The check itself: a warning delivered during its step is reported, not ignored."""
    (tmp_path / "notifications.jsonl").write_text(
        '{"received_at": 10, "payload": {"receiver": "warning-alerts", "alerts": '
        '[{"status": "firing", "labels": {"alertname": "HighErrorRate"}}]}}\n')
    leaked = {(r, n) for r, n, s in notifications(tmp_path, 5) if n in ["HighErrorRate"] and s == "firing"}
    assert leaked == {("warning-alerts", "HighErrorRate")}
    assert last_status(tmp_path, "HighErrorRate") == {"firing"}
    assert notifications(tmp_path, 11) == []
