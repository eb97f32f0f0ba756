"""Inject faults into a running ``llmmon up`` stack and watch the alerts fire and resolve.

error-burst / slow / stall / outage *replace* the example router's injected faults with their own
(``PUT /admin/faults``): each drill step shows one fault, never the sum of the previous ones.
router-down / router-up stop and restart the router process (via the ``llmmon up`` process,
which supervises it); the restarted router gets back the faults it had (a backend outage does
not end because the router restarted). clear removes every injected fault; show prints them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from llmmon.commands.up import add_workdir_argument
from llmmon.localstack.httpjson import get_json, send_json
from llmmon.localstack.state import NoStack, StackState

ACTIONS = ("error-burst", "slow", "stall", "outage", "router-down", "router-up", "clear", "show")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_workdir_argument(p)
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("--rate", type=float, default=0.5, help="error-burst: share of requests that fail (0..1)")
    p.add_argument("--latency-ms", type=float, default=5000, help="slow: extra backend latency in milliseconds")
    p.add_argument("--backend", action="append", default=None,
                   help="outage/slow/error-burst: backend(s) affected (repeatable; default: all)")


def fault_body(action: str, rate: float, latency_ms: float, backends: list[str] | None) -> dict[str, Any]:
    """The router's ``/admin/faults`` body for one action."""
    scope = {"backends": backends} if backends else {}
    if action == "error-burst":
        return {"error_rate": rate, **scope}
    if action == "slow":
        return {"latency_ms": latency_ms, **scope}
    if action == "outage":
        return {"outage": backends or ["*"]}
    if action == "stall":
        return {"stall": True}
    raise ValueError(f"{action} is not a router fault")


def run(args: argparse.Namespace) -> int:
    try:
        state = StackState.read(args.workdir)
    except NoStack as exc:
        print(f"llmmon fault: {exc}")
        return 1
    faults = f"{state.router_url}/admin/faults"
    if args.action in ("router-down", "router-up"):
        reply = send_json("POST", f"{state.control_url}/{args.action}", timeout=90)
    elif args.action == "clear":
        reply = send_json("DELETE", faults)
    elif args.action == "show":
        reply = get_json(faults)
    else:
        reply = send_json("PUT", faults, fault_body(args.action, args.rate, args.latency_ms, args.backend))
    print(json.dumps(reply, indent=2, sort_keys=True))
    return 0
