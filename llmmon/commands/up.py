"""Run the local stack: example router + traffic, Prometheus, Alertmanager, webhook sink.

The same rendered configuration as a cluster deploy, served by the real Prometheus and
Alertmanager from Debian on 127.0.0.1 (busy ports are replaced by free ones). Alertmanager's
receivers all point at a local webhook sink that appends every notification to
``DIR/notifications.jsonl``. ``DIR/state.json`` tells ``llmmon fault`` (and you) the URLs.
Ctrl-C, SIGTERM or the end of ``--for`` stop every process.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from foundation.settings import available_envs, load_settings
from llmmon.checkers import MissingTool
from llmmon.command_errors import CommandError, non_negative, os_problem, port_number, positive_seconds
from llmmon.localstack.configs import PROFILES, LocalConfigs
from llmmon.localstack.ha import HA_ALERTMANAGERS, HA_PROMETHEUS
from llmmon.localstack.httpjson import NotReady
from llmmon.localstack.processes import signals_interrupt
from llmmon.localstack.restarts import GaveUp
from llmmon.localstack.stack import LocalStack, StackOptions
from llmmon.localstack.state import StackRunning

DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "llmmon-up"
ROUTERS = ("example", "litellm")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="dev", help=f"environment to render: one of {', '.join(available_envs())}")
    p.add_argument("--for", dest="seconds", type=positive_seconds, metavar="SECONDS",
                   help="stop after this many seconds (default: run until Ctrl-C)")
    add_workdir_argument(p)
    p.add_argument("--profile", choices=sorted(PROFILES), default="default",
                   help="rules to load: 'default' = the env's rules; 'test' = short 'for'/intervals, "
                   "alerts fire within seconds (what the live tests use)")
    p.add_argument("--traffic", type=non_negative, default=5.0, metavar="RPS", help="generated requests per second")
    p.add_argument("--router", choices=ROUTERS, default="example",
                   help="traffic source: the simulated example router, or a real LiteLLM Router (mock answers) "
                   "measured by app_instrumentation.integrations.litellm")
    p.add_argument("--ha", action="store_true",
                   help=f"high availability: {HA_PROMETHEUS} Prometheus replicas (same rules, own prometheus_replica "
                   f"label) and a {HA_ALERTMANAGERS}-peer Alertmanager cluster gossiping on loopback")
    for name, default in (("router", 8080), ("prometheus", 9090), ("alertmanager", 9093)):
        p.add_argument(f"--{name}-port", type=port_number, default=default, metavar="PORT",
                       help=f"preferred {name} port on 127.0.0.1 (default {default}); if busy, or 0, a free one")


def add_workdir_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                   help=f"where configs, data, logs, notifications.jsonl and state.json go (default: {DEFAULT_WORKDIR})")


def usable_workdir(workdir: Path) -> Path:
    """``workdir``, created and writable, or a CommandError saying why not."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / ".llmmon-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise CommandError(f"cannot use --workdir {workdir}: {os_problem(exc)}; pass a folder you can write to") from None
    return workdir


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.env)
    usable_workdir(args.workdir)
    options = StackOptions(
        workdir=args.workdir, env=args.env, profile=args.profile, traffic_rps=args.traffic,
        router_port=args.router_port, prometheus_port=args.prometheus_port,
        alertmanager_port=args.alertmanager_port,
        prometheus_flags=list(PROFILES[args.profile].prometheus_args(args.ha)),
        cluster_flags=list(PROFILES[args.profile].cluster_flags),
        prometheus_replicas=HA_PROMETHEUS if args.ha else 1, alertmanager_peers=HA_ALERTMANAGERS if args.ha else 1,
    )
    if args.router == "litellm":
        options.router_argv.append("--litellm")
    # The example router simulates the engines and GPUs behind its backends; LiteLLM's mock answers have none.
    stack = LocalStack(options, LocalConfigs(settings, PROFILES[args.profile], engines=args.router == "example"))
    with signals_interrupt():
        return _run_stack(stack, args)


def _run_stack(stack: LocalStack, args: argparse.Namespace) -> int:
    try:
        state = stack.start()
    except (MissingTool, NotReady, StackRunning) as exc:
        print(f"llmmon up: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"llmmon up: {os_problem(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # start() already stopped what it had started
    show, say = _printer()
    code = 0
    try:
        print(f"env {args.env}, profile {args.profile}, workdir {args.workdir}")
        for note in stack.notes:
            print(f"  note: {note}")
        urls = {"router": state.router_url,
                **dict(zip(stack.prometheus_names, state.prometheus_urls, strict=True)),
                **dict(zip(stack.alertmanager_names, state.alertmanager_urls, strict=True))}
        for name, url in (*urls.items(), ("webhook sink", state.webhook_url)):
            pid = state.processes.get(name)
            print(f"  {name:<15}{url}" + (f"  (pid {pid})" if pid else ""))
        print(f"  notifications {state.notifications_file}\n"
              f"Inject faults with: llmmon fault --workdir {args.workdir} error-burst|slow|outage|router-down|"
              f"router-up|clear.  Ctrl-C stops everything.", flush=True)
        stack.serve(args.seconds, show, say=say)
    except KeyboardInterrupt:
        pass
    except GaveUp as exc:
        print(f"\nllmmon up: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        stack.stop()
        stopped = ", ".join(["router", *stack.prometheus_names, *stack.alertmanager_names, "webhook sink"])
        print(f"\nstopped: {stopped}", flush=True)
    return code


def _printer() -> tuple[Callable[[str], None], Callable[[str], None]]:
    """(status line, event line) writers: on a terminal the status line updates in place and an
    event (a restarted child) gets a line of its own above it; in a log every line is a line."""
    tty = sys.stdout.isatty()

    def show(line: str) -> None:
        print(f"\r\033[K{line}" if tty else line, end="" if tty else "\n", flush=True)

    def say(line: str) -> None:
        print(f"\r\033[K{line}" if tty else line, flush=True)

    return show, say
