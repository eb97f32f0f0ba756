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
import sys
from pathlib import Path
from typing import TYPE_CHECKING

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
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on (0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--traffic", type=float, default=0.0, metavar="RPS",
                   help="generate this many requests per second against itself (default: %(default)s, off)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="router config, JSON (.json) or TOML: models, backends (latency_ms, tokens_per_second, "
                        "error_rate, rate_limit_rpm, usd_per_million_*), strategies, limits")
    p.add_argument("--litellm", action="store_true",
                   help="serve a real litellm.Router (mock answers, nothing leaves the machine) behind the same API, "
                        "measured by app_instrumentation.integrations.litellm")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug"),
                   help="uvicorn log level (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    import uvicorn  # the router extra; imported here so `llmmon --help` works without it

    if args.litellm:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's price table offline
        from llmmon.litellm_router.app import create_app
    else:
        from llmmon.example_router.app import create_app

    if args.traffic < 0:
        print("llmmon router: --traffic must be >= 0", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config else RouterConfig()
    except (OSError, ConfigError) as exc:
        print(f"llmmon router: bad --config: {exc}", file=sys.stderr)
        return 2
    from app_instrumentation.logs_wiring import Observability

    # ECS logs on stdout, OTel spans (OTLP when OTEL_EXPORTER_OTLP_* is set), Sentry when SENTRY_DSN is set.
    obs = Observability.from_env()
    app = create_app(config, traffic_rps=args.traffic, observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                                           lifespan="on", access_log=False))
    try:
        asyncio.run(serve(server))
    finally:
        obs.shutdown()
    return 0


async def serve(server: uvicorn.Server) -> None:
    """Serve, printing one ``listening on`` line with the real port (``--port 0`` picks a free one)."""
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    for listener in server.servers if server.started else ():
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            print(f"{LISTENING} http://{host}:{port}", flush=True)
    await task
