"""Score the env's alerting rules on a library of simulated production days.

    llmmon alert-quality --env prod                       the env's own rules
    llmmon alert-quality --env prod --rules DIR           a proposed set of rule files instead
    llmmon alert-quality --env prod --json scorecard.json

Each scenario (steady traffic, a diurnal cycle, a rolling restart, a client error storm, a
backend outage, latency creeping up, a router outage, a stall, a memory leak, a cache
collapse, an idle night, a failure storm, a slow SLO burn) is a fleet of router pods scraped
at the env's interval and evaluated by promtool with Prometheus' own rule engine. Exit code 0
when every scenario passes, 1 when an alert fired in a healthy scenario, paged where nobody
should be woken, or missed the incident it is meant for; 2 on error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from foundation.settings import available_envs, load_settings
from llmmon.alert_quality import report
from llmmon.alert_quality.run import score
from llmmon.alert_quality.scenarios import SCENARIOS
from llmmon.command_errors import CommandError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--env", required=True, help=f"environment: one of {', '.join(available_envs())}")
    p.add_argument("--rules", type=Path, metavar="DIR", help="score the *.yml rule files in DIR instead of the env's")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the scorecard as JSON to FILE")
    p.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS], metavar="NAME",
                   help="only this scenario (repeatable)")
    p.add_argument("--format", choices=("text", "markdown"), default="text")


def run(args: argparse.Namespace) -> int:
    if args.rules is not None and not args.rules.is_dir():
        raise CommandError(f"--rules {args.rules}: not a folder of rule files", 2)
    chosen = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    card = score(load_settings(args.env), args.rules, chosen)
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(card.to_json(), indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise CommandError(f"cannot write --json {args.json}: {exc.strerror}", 2) from None
    sys.stdout.write(report.markdown(card) if args.format == "markdown" else report.text(card))
    return 0 if card.ok else 1
