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
import urllib.error
from typing import Any

from llmmon.command_errors import CommandError, non_negative, share
from llmmon.commands.up import add_workdir_argument
from llmmon.localstack.httpjson import get_json, send_json
from llmmon.localstack.state import NoStack, StackState

ACTIONS = ("error-burst", "slow", "stall", "outage", "router-down", "router-up", "clear", "show")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_workdir_argument(p)
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("--rate", type=share, default=0.5, help="error-burst: share of requests that fail (0..1)")
    p.add_argument("--latency-ms", type=non_negative, default=5000, help="slow: extra backend latency in milliseconds")
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
    except NoStack as exc:  # none, or a stale state.json whose llmmon up is gone
        raise CommandError(str(exc)) from None
    try:
        reply = _send(state, args)
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", None) or exc
        router = args.action not in ("router-down", "router-up")
        hint = ("is the router down? (llmmon fault router-up starts it)" if router
                else "is llmmon up still running?")
        raise CommandError(f"no answer from {state.router_url if router else state.control_url} ({reason}); "
                           f"{hint}") from None
    except RuntimeError as exc:  # an HTTP error status: the router or llmmon up refused the request
        raise CommandError(f"{args.action} refused: {exc}") from None
    print(json.dumps(reply, indent=2, sort_keys=True))
    return 0


def _send(state: StackState, args: argparse.Namespace) -> Any:
    faults = f"{state.router_url}/admin/faults"
    if args.action in ("router-down", "router-up"):
        return send_json("POST", f"{state.control_url}/{args.action}", timeout=90)
    if args.action == "clear":
        return send_json("DELETE", faults)
    if args.action == "show":
        return get_json(faults)
    return send_json("PUT", faults, fault_body(args.action, args.rate, args.latency_ms, args.backend))
