"""What the HA local stack (``llmmon up --ha``) lets tests and benchmarks observe and break.

Alertmanager peers deduplicate by taking turns: the peer at position ``i`` in the cluster's
order (peer names, sorted) waits ``i × --cluster.peer-timeout`` after the group is due, then
sends only if the notification log gossiped by the others shows no earlier send. So the
peer at position 0 is the one whose loss delays a notification, and the one a failure
drill should take out. Each peer posts to its own path on the sink (``/alerts/<peer>``),
so a record tells which peer sent it.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foundation.settings import load_settings
from llmmon.localstack.configs import PROFILES, LocalConfigs
from llmmon.localstack.httpjson import get_json, wait_until
from llmmon.localstack.stack import LocalStack, StackOptions
from llmmon.localstack.status import cluster_view

#: ``llmmon up --ha``: the replica counts prod deploys (cluster.prometheus.replicas, cluster.alertmanager.replicas).
HA_PROMETHEUS, HA_ALERTMANAGERS = 2, 3


def peer_name(alertmanager_url: str) -> str:
    """The gossip name (a ULID drawn at start) of the Alertmanager at ``alertmanager_url``."""
    return str(get_json(f"{alertmanager_url}/api/v2/status", timeout=5)["cluster"]["name"])


def notification_order(alertmanagers: dict[str, str]) -> list[str]:
    """Process names (``alertmanager-2``, ...) in the order the peers take turns to notify."""
    names = {peer_name(url): process for process, url in alertmanagers.items()}
    return [names[n] for n in sorted(names)]


def wait_for_cluster(alertmanager_urls: list[str], size: int, timeout: float) -> None:
    """Until every given Alertmanager is settled and sees a cluster of ``size`` peers (itself
    included). A peer that has not settled yet may decide on a group state older than what
    the others have sent since (it syncs the notification log when it settles)."""
    def formed() -> bool:
        views = [cluster_view(u) for u in alertmanager_urls]
        return all(v is not None and v[0] == "ready" and len(v[1]) == size for v in views)

    wait_until(formed, timeout, f"{len(alertmanager_urls)} Alertmanagers settled in a cluster of {size}")


def sender(record: dict[str, Any]) -> str:
    """The peer that sent a sink record (its path ``/alerts/<peer>``)."""
    return str(record.get("path", "")).rpartition("/")[2]


@dataclass(frozen=True)
class Notification:
    group: str
    status: str
    sender: str
    received_at: float


def notifications(records: list[dict[str, Any]], alertname: str, receiver: str) -> list[Notification]:
    """Every notification to ``receiver`` whose group holds ``alertname``, in arrival order."""
    out = []
    for record in records:
        payload = record.get("payload") or {}
        names = {a.get("labels", {}).get("alertname") for a in payload.get("alerts", [])}
        if payload.get("receiver") == receiver and alertname in names:
            out.append(Notification(str(payload.get("groupKey")), str(payload.get("status")), sender(record),
                                    float(record["received_at"])))
    return out


def per_group(found: list[Notification], status: str) -> dict[str, int]:
    """How many ``status`` notifications each group got (exactly-once means all ones)."""
    counts: dict[str, int] = {}
    for n in found:
        if n.status == status:
            counts[n.group] = counts.get(n.group, 0) + 1
    return counts


def process_state(pid: int) -> str:
    """The kernel's one-letter state of ``pid`` (``S`` sleeping, ``T`` stopped, ...); ``?`` if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def pause(pid: int, timeout: float = 10) -> None:
    """A network-style fault: SIGSTOP, until every thread has stopped (it then holds its sockets
    open and answers nothing; the kernel still accepts connections into its backlog)."""
    os.kill(pid, signal.SIGSTOP)
    wait_until(lambda: process_state(pid) in ("T", "t", "?"), timeout, f"pid {pid} to stop")


def resume(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)


def ha_stack(workdir: Path, env: str = "dev", profile: str = "test", traffic_rps: float = 5.0) -> LocalStack:
    """An ``llmmon up --ha`` stack (not started) on free ports, as the tests and benchmarks drive it:
    in-process, with no supervisor loop, so a killed process stays down until ``restart``."""
    p = PROFILES[profile]
    options = StackOptions(
        workdir=workdir, env=env, profile=profile, traffic_rps=traffic_rps,
        router_port=None, prometheus_port=None, alertmanager_port=None,
        prometheus_flags=list(p.prometheus_args(ha=True)), cluster_flags=list(p.cluster_flags),
        prometheus_replicas=HA_PROMETHEUS, alertmanager_peers=HA_ALERTMANAGERS,
    )
    return LocalStack(options, LocalConfigs(load_settings(env), p))
