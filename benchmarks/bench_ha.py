"""Benchmark: time to notify ServiceDown on the HA local stack, healthy and with failures.

Each round starts a fresh ``llmmon up --ha`` stack (two Prometheus replicas, three
Alertmanager peers, test profile: 1s scrape and evaluation, ``for`` 1s, the local stack's
group_wait, ``--cluster.peer-timeout=2s``), waits until the cluster has settled, applies the scenario's
failure, stops the router and measures:

- **to notify**: router stopped → the ServiceDown notification reaches the sink
  (``critical-alerts``);
- **after firing**: the alert's firing time in Prometheus (``activeAt`` + ``for``, the
  earliest replica) → the notification: what Alertmanager and its cluster add;
- the peer that sent it, and how many firing notifications the group got within
  ``2 × peer timeout + group_interval + 3s`` (one means deduplicated).

Failures take out the peer at position 0 of the cluster's notification order (the one that
would send first) or the last one, at the moment of the fault or 30 s before it (by then
gossip has declared a stopped peer dead and the order has moved on), or 1 s before the group
falls due (too late for gossip: the next peer waits one peer timeout, the worst case). A fresh stack per
round: a second outage of the same group in one stack meets peers out of step (see
``tests/test_live_ha.py``). Prints a table; asserts nothing.

Run: ``python -m benchmarks.bench_ha [--rounds R]`` (about 40 s per scenario and round).
"""

from __future__ import annotations

import argparse
import calendar
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from alerts.alertmanager import CRITICAL
from alerts.model import duration_seconds
from benchmarks.timing import Spread, load, machine, table
from foundation import alert_names as names
from llmmon.localstack.api import Prometheus
from llmmon.localstack.configs import PROFILES, ha_timings
from llmmon.localstack.ha import (
    HA_ALERTMANAGERS,
    ha_stack,
    notification_order,
    notifications,
    pause,
    per_group,
    resume,
    wait_for_cluster,
)
from llmmon.localstack.httpjson import is_ok, wait_until
from llmmon.localstack.stack import LocalStack

PROFILE = PROFILES["test"]
WAIT = 120
TIMINGS = ha_timings(PROFILE.peer_timeout_s, HA_ALERTMANAGERS)
GROUP_INTERVAL_S = duration_seconds(TIMINGS.group_interval)
DUPLICATE_WINDOW_S = (HA_ALERTMANAGERS - 1) * PROFILE.peer_timeout_s + GROUP_INTERVAL_S + 3
#: Long enough for gossip to declare a stopped peer dead (suspicion timeout with three members).
EARLY_S = 30
GROUP_WAIT_S = duration_seconds(TIMINGS.group_wait)
BEFORE_DUE_S = 1.0


@dataclass(frozen=True)
class Failure:
    """What to break: ``prometheus`` replicas and the peers at ``positions`` of the notification order."""

    positions: tuple[int, ...] = ()
    how: str = "kill"  # kill | stop
    prometheus: tuple[str, ...] = ()
    early_s: float = 0.0
    #: Break only this long before the group falls due (``activeAt`` + ``for`` + group_wait), once
    #: the alert fires: too late for gossip to declare the peer dead first (the worst case).
    before_due_s: float | None = None


SCENARIOS: dict[str, Failure] = {
    "healthy": Failure(),
    "prometheus-0 + first peer SIGKILLed at the fault": Failure((0,), "kill", ("prometheus-0",)),
    "first peer SIGSTOPped at the fault": Failure((0,), "stop"),
    f"first peer SIGSTOPped {EARLY_S} s before": Failure((0,), "stop", early_s=EARLY_S),
    "last peer SIGSTOPped at the fault": Failure((HA_ALERTMANAGERS - 1,), "stop"),
    f"first peer SIGSTOPped {BEFORE_DUE_S:g} s before the group is due": Failure((0,), "stop", before_due_s=BEFORE_DUE_S),
}


@dataclass(frozen=True)
class Outcome:
    to_notify: float
    after_firing: float
    sender: str
    position: int
    firing_notifications: int


def _rfc3339(text: str) -> float:
    whole, _, fraction = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float(f"0.{fraction or 0}")


def _firing_at(stack: LocalStack) -> float:
    """When ServiceDown started firing: the earliest replica's ``activeAt`` plus ``for``."""
    times = []
    for url in stack.state.prometheus_urls:
        if not is_ok(f"{url}/-/ready", timeout=1):
            continue
        for group in Prometheus(url).rule_groups():
            for rule in group["rules"]:
                for alert in rule.get("alerts", []):
                    if rule["name"] == names.SERVICE_DOWN and alert["state"] == "firing":
                        times.append(_rfc3339(alert["activeAt"]) + float(rule.get("duration", 0)))
    return min(times)


def _fired(stack: LocalStack) -> bool:
    try:
        _firing_at(stack)
    except ValueError:  # min() of no firing alert yet
        return False
    return True


def _break(stack: LocalStack, failure: Failure, order: list[str]) -> list[int]:
    """Apply ``failure``; the PIDs left stopped (to resume at the end)."""
    stopped = []
    for name in failure.prometheus:
        os.kill(stack.state.processes[name], signal.SIGKILL)
    for position in failure.positions:
        pid = stack.state.processes[order[position]]
        if failure.how == "kill":
            os.kill(pid, signal.SIGKILL)
        else:
            pause(pid)
            stopped.append(pid)
    return stopped


def one_round(failure: Failure) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="bench-ha-") as tmp:
        stack = ha_stack(Path(tmp))
        stack.start()
        stopped: list[int] = []
        try:
            wait_for_cluster(stack.state.alertmanager_urls, HA_ALERTMANAGERS, WAIT)
            urls = dict(zip(stack.alertmanager_names, stack.state.alertmanager_urls, strict=True))
            order = notification_order(urls)
            if failure.before_due_s is None:
                stopped = _break(stack, failure, order)
                time.sleep(failure.early_s)
            stack.router_down()
            fault = time.time()
            if failure.before_due_s is not None:
                wait_until(lambda: _fired(stack), WAIT, "ServiceDown firing in Prometheus")
                time.sleep(max(0.0, _firing_at(stack) + GROUP_WAIT_S - failure.before_due_s - time.time()))
                stopped = _break(stack, failure, order)

            def found() -> list:
                return [n for n in notifications(stack.sink.records(), names.SERVICE_DOWN, CRITICAL)
                        if n.status == "firing"]

            wait_until(lambda: bool(found()), WAIT, "ServiceDown delivered")
            first = found()[0]
            firing_at = _firing_at(stack)
            time.sleep(DUPLICATE_WINDOW_S)
            counts = per_group(found(), "firing")
            return Outcome(first.received_at - fault, first.received_at - firing_at, first.sender,
                           order.index(first.sender), max(counts.values()))
        finally:
            for pid in stopped:
                resume(pid)
            stack.stop()


def run(rounds: int) -> dict[str, list[Outcome]]:
    """Scenarios in an order rotated every round (interleaved, like the other benchmarks)."""
    results: dict[str, list[Outcome]] = {name: [] for name in SCENARIOS}
    names_ = list(SCENARIOS)
    for r in range(rounds):
        shift = r % len(names_)
        for name in names_[shift:] + names_[:shift]:
            results[name].append(one_round(SCENARIOS[name]))
            print(f"  round {r + 1}/{rounds}: {name}: {results[name][-1]}", flush=True)
    return results


def report(results: dict[str, list[Outcome]]) -> str:
    rows = []
    for name, outcomes in results.items():
        rows.append([
            name,
            Spread(tuple(o.to_notify for o in outcomes)).text(1, " s"),
            Spread(tuple(o.after_firing for o in outcomes)).text(1, " s"),
            ", ".join(sorted({str(o.position) for o in outcomes})),
            ", ".join(str(o.firing_notifications) for o in outcomes),
        ])
    return table(["scenario", "to notify", "after firing", "sender's position", "firing notifications"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine())
    print(f"before: {load()}")
    print(f"test profile: group_wait {TIMINGS.group_wait}, group_interval {GROUP_INTERVAL_S:g}s, peer timeout "
          f"{PROFILE.peer_timeout_s}s, Prometheus->Alertmanager timeout {PROFILE.notify_timeout}, "
          f"resend delay {PROFILE.ha_resend_delay}", flush=True)
    results = run(args.rounds)
    print(f"after: {load()}")
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
