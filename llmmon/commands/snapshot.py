"""Draw every rendered dashboard as a PNG from a running Prometheus (a preview, not a Grafana).

    llmmon snapshot --workdir out/up --range 30m --out snapshots    (the stack of llmmon up)
    llmmon snapshot --prometheus http://127.0.0.1:9090 --env prod --range 1h
    llmmon snapshot --prometheus URL --diff OLD_DIR NEW_DIR         changed dashboards, before | after

Panels sit on the dashboard's grid; time series are lines with legends, stats big numbers
coloured by their thresholds, values in the panel's unit; a panel whose queries return
nothing is drawn as "No data". Exit code: 0 drawn, 1 some panel's query failed, 2 error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.settings import SettingsError, available_envs, load_settings
from llmmon.commands.up import DEFAULT_WORKDIR
from llmmon.diff.documents import DASHBOARD, DiffInputError, load_tree, parse_file
from llmmon.localstack.api import Prometheus
from llmmon.localstack.httpjson import is_ok
from llmmon.localstack.state import NoStack, StackState
from llmmon.render import collect


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    source = p.add_mutually_exclusive_group()
    source.add_argument("--workdir", type=Path, help=f"workdir of a running llmmon up (default: {DEFAULT_WORKDIR})")
    source.add_argument("--prometheus", metavar="URL", help="Prometheus to query instead of a local stack's")
    p.add_argument("--env", help=f"render this env's dashboards: one of {', '.join(available_envs())} "
                   "(default: the local stack's env, else dev)")
    p.add_argument("--render", type=Path, metavar="DIR", help="draw the dashboards of this render folder instead")
    p.add_argument("--diff", nargs=2, type=Path, metavar=("OLD", "NEW"),
                   help="draw the dashboards that differ between two render folders, before and after side by side")
    p.add_argument("--out", type=Path, default=Path("snapshots"), help="folder for the PNGs (default: snapshots)")
    p.add_argument("--range", default="1h", help="time range ending at --end (default: 1h)")
    p.add_argument("--end", help="end of the range: unix seconds or ISO 8601, UTC unless it says (default: now)")
    p.add_argument("--width", type=int, default=1600, help="image width in pixels (default: 1600)")


def run(args: argparse.Namespace) -> int:
    from llmmon.snapshot.data import Window, fetch, scrape_interval_s  # matplotlib: extra "review"
    from llmmon.snapshot.figure import draw_dashboard, save, side_by_side

    try:
        url, stack_env = _prometheus(args)
        if not is_ok(f"{url}/-/ready", timeout=5):
            raise RuntimeError(f"no ready Prometheus at {url}")
        prometheus = Prometheus(url)
        window = Window.ending(_end(args.end), args.range, scrape_interval_s(prometheus))
        failed = 0

        def draw(dashboard: Mapping[str, Any], note: str) -> Any:
            nonlocal failed
            drawing = draw_dashboard(dashboard, lambda panel: fetch(prometheus, dashboard, panel, window), window,
                                     args.width, f"{note}   {url}")
            failed += sum(state == "error" for state in drawing.panels.values())
            return drawing

        if args.diff:
            old, new = (_dashboards(load_tree(folder)) for folder in args.diff)
            from llmmon.diff.dashboards import dashboard_changes

            changed = [uid for uid in new if uid in old and dashboard_changes(old[uid], new[uid])]
            for uid in changed:
                path = side_by_side(draw(old[uid], str(args.diff[0])), draw(new[uid], str(args.diff[1])),
                                    args.out / f"{uid}.diff.png", (f"before: {args.diff[0]}", f"after: {args.diff[1]}"))
                print(f"{path}  (changed)")
            for uid in (u for u in new if u not in old):
                print(f"{save(draw(new[uid], str(args.diff[1])), args.out / f'{uid}.png')}  (added)")
            if not changed and not any(u not in old for u in new):
                print("no dashboard differs")
        else:
            env = args.env or stack_env or "dev"
            source = load_tree(args.render) if args.render else _rendered(env)
            for uid, dashboard in _dashboards(source).items():
                drawing = draw(dashboard, f"env {env}" if not args.render else str(args.render))
                path = save(drawing, args.out / f"{uid}.png")
                empty = [t for t, s in drawing.panels.items() if s == "no data"]
                print(f"{path}  {len(drawing.panels)} panels" + (f", no data: {', '.join(empty)}" if empty else ""))
    except (NoStack, DiffInputError, SettingsError, ValueError, RuntimeError, OSError) as exc:
        print(f"llmmon snapshot: {exc}", file=sys.stderr)
        return 2
    if failed:
        print(f"llmmon snapshot: {failed} panel queries failed (drawn as 'Query error')", file=sys.stderr)
    return 1 if failed else 0


def _prometheus(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.prometheus:
        return args.prometheus.rstrip("/"), None
    state = StackState.read(args.workdir or DEFAULT_WORKDIR)
    return state.prometheus_url, state.env


def _end(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()  # pictures are in UTC


def _rendered(env: str) -> dict[str, Any]:
    return {path: parse_file(path, content.encode()) for path, content in collect(load_settings(env)).items()
            if path.endswith(".json")}


def _dashboards(tree: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(d.content.get("uid") or Path(d.path).stem): d.content for d in tree.values() if d.kind == DASHBOARD}
