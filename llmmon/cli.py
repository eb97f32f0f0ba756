"""``llmmon``: render, check and run the monitoring stack for the LLM router."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from foundation.settings import SettingsError
from llmmon.command_errors import CommandError

#: Subcommand name -> module with ``add_arguments(parser)`` and ``run(args) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("llmmon.commands.render", "render every artifact (Prometheus, Alertmanager, Grafana, Kubernetes, ELK) to files"),
    "check": ("llmmon.commands.check", "run every offline checker (promtool, amtool, kubernetes-validate, PromQL) over a render"),
    "router": ("llmmon.commands.router", "run the example LLM router, an instrumented traffic source"),
    "up": ("llmmon.commands.up", "run the local stack: router + traffic, Prometheus, Alertmanager, webhook sink"),
    "fault": ("llmmon.commands.fault", "inject a fault into a running local stack (error burst, slow, outage, router down/up)"),
    "diff": ("llmmon.commands.diff", "what changes for on-call between two renders or against a git revision"),
    "snapshot": ("llmmon.commands.snapshot", "draw every dashboard as a PNG from a running Prometheus"),
    "alert-quality": ("llmmon.commands.alert_quality",
                      "score the alerting rules on simulated healthy days and incidents (false pages, misses)"),
}


class Parser(argparse.ArgumentParser):
    """Usage mistakes are one line (what is wrong, where help is), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="llmmon",
        description="Observability as code for an LLM router. Every artifact is generated from "
        "Python and checked by the real tool that consumes it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=(module.__doc__ or help_text).strip())
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except (SettingsError, CommandError) as exc:
        print(f"llmmon {args.command}: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CommandError) else 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `llmmon ... | head -1`: the reader left. Say so once on stderr; stdout goes to /dev/null so
        # that the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"llmmon {args.command}: stopped: its output was closed by the reader (broken pipe)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
