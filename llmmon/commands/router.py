"""Run the example LLM router: an instrumented TRAFFIC SOURCE with simulated backends, not a real router.

Serves POST /api/generate (JSON: prompt, model, strategy, max_tokens, stream), /metrics,
/metrics/json, /health, /health/live, /health/ready and fault injection at /admin/faults
(GET shows, POST sets e.g. {"error_rate": 0.5, "backends": ["vllm"]} or {"outage": ["*"]},
DELETE clears). With --traffic RPS it also generates its own request mix, which drives every
metric family (cache hits, retries, fallbacks, rate limits, errors, streaming).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from llmmon.command_errors import CommandError, non_negative, os_problem, port_number
from llmmon.example_router.config import ConfigError, RouterConfig, load_config

if TYPE_CHECKING:
    import uvicorn

#: Printed once the socket is bound; scripts and tests read the URL from this line.
LISTENING = "llmmon router: listening on"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = (
        "examples:\n"
        "  llmmon router --port 8080 --traffic 5\n"
        "  curl -s localhost:8080/metrics | promtool check metrics\n"
        "  curl -s -XPOST localhost:8080/admin/faults -d '{\"error_rate\": 0.5}'\n"
    )
    p.add_argument("--port", type=port_number, required=True, help="TCP port to listen on (0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--traffic", type=non_negative, default=0.0, metavar="RPS",
                   help="generate this many requests per second against itself (default: %(default)s, off)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="router config, JSON (.json) or TOML: models, backends (latency_ms, tokens_per_second, "
                        "error_rate, rate_limit_rpm, usd_per_million_*), strategies, limits")
    p.add_argument("--litellm", action="store_true",
                   help="serve a real litellm.Router (mock answers, nothing leaves the machine) behind the same API, "
                        "measured by app_instrumentation.integrations.litellm")
    p.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                   help="once started, freeze the startup heap out of Python's full garbage collections "
                        "(app_instrumentation.runtime.freeze_startup_heap; default: on)")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn log level (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import uvicorn  # the router extra; imported here so `llmmon --help` works without it

    if args.litellm:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's price table offline
        from llmmon.litellm_router.app import create_app
    else:
        from llmmon.example_router.app import create_app

    try:
        config = load_config(args.config) if args.config else RouterConfig()
    except (OSError, ConfigError) as exc:
        raise CommandError(f"bad --config: {os_problem(exc) if isinstance(exc, OSError) else exc}", 2) from None
    sock = listen(args.host, args.port)  # before any work: a busy port is one line, not a crashed startup
    from app_instrumentation.logs_wiring import Observability

    # ECS logs on stdout, OTel spans (OTLP when OTEL_EXPORTER_OTLP_* is set), Sentry when SENTRY_DSN is set.
    try:
        obs = Observability.from_env()
    except ValueError as exc:  # a malformed LOG_*/OTEL_*/SENTRY_* variable: its name and what was expected
        sock.close()
        raise CommandError(f"bad environment: {exc}", 2) from None
    app = create_app(config, traffic_rps=args.traffic, observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, lifespan="on", access_log=False))
    try:
        asyncio.run(serve(server, sock, freeze_heap=args.gc_freeze))
    finally:
        sock.close()
        obs.shutdown()
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket for uvicorn, or a CommandError saying why not and what to do."""
    try:
        family, kind, proto = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][:3]
    except socket.gaierror as exc:
        raise CommandError(f"cannot listen on --host {host}: {exc.strerror}", 2) from None
    # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto is
    # IPPROTO_TCP. Without it, keep-alive clients wait ~40 ms per response (Nagle + delayed ACK).
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is not busy
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = "pick another with --port PORT, or --port 0 for any free one"
        raise CommandError(f"cannot listen on {host}:{port}: {os_problem(exc)}; {hint}", 2) from None
    return sock


async def serve(server: uvicorn.Server, sock: socket.socket, freeze_heap: bool = False) -> None:
    """Serve on ``sock``, printing one ``listening on`` line with the real port (``--port 0`` picks one).
    ``freeze_heap``: once started (models loaded), keep the startup heap out of full collections."""
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if server.started:
        if freeze_heap:
            from app_instrumentation.runtime import freeze_startup_heap

            freeze_startup_heap()
        host, port = sock.getsockname()[:2]
        try:
            print(f"{LISTENING} http://{host}:{port}", flush=True)
        except BrokenPipeError:  # `llmmon router | head -1`: nobody reads stdout any more
            server.should_exit = True
            await task
            raise
    await task
