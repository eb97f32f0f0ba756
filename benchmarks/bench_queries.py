"""Benchmark: dashboard query time over 7 days of backfilled data, with and without recording rules.

1. Every catalog metric's history (``backfill.py``) → ``promtool tsdb create-blocks-from openmetrics``.
2. A real Prometheus serves those blocks; the env's recording rules are backfilled with
   ``promtool tsdb create-blocks-from rules`` layer by layer (a rule that reads another
   recorded series needs that series' blocks loaded first), then Prometheus restarts with all blocks.
3. Each dashboard query that reads a recording rule runs as a 7-day range query twice: as
   written, and with the recorded names expanded into their expressions (``inline_rules.py``).
Prints per-query median times and the ratio (inlined / recorded).
Run: ``python -m benchmarks.bench_queries [--days 7] [--env dev]`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

from benchmarks.backfill import Shape, write_file
from benchmarks.inline_rules import NotInlinable, RecordingRule, inline, uses_rules
from benchmarks.timing import machine, measure, median_ms, table
from dashboards.queries import all_queries
from foundation.promql_names import metric_names, rules_in
from foundation.settings import Settings, load_settings
from llmmon.checkers import require
from llmmon.localstack.api import Prometheus
from llmmon.localstack.httpjson import wait_ready
from llmmon.localstack.ports import HOST, free_port
from llmmon.localstack.processes import Supervisor
from llmmon.render import collect, write

SCRAPE_STEP = 120  # seconds between backfilled samples
RULE_EVAL = "300s"  # evaluation interval of the backfilled recording rules
QUERY_STEP = "10m"  # a 7-day Grafana panel is ~1000 points wide
RATE_INTERVAL = "10m"  # what Grafana's $__rate_interval is at that step
QUERY_TIMEOUT = "120s"  # Prometheus gives up on a query after this (Grafana's default is 30s)


def recording_rules(settings: Settings, out: Path) -> list[dict[str, object]]:
    write(collect(settings), out)
    return [r for r in rules_in(sorted((out / "prometheus" / "rules").rglob("*.yml"))) if "record" in r]


def layers(rules: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Rules grouped so that each layer reads only raw series and earlier layers' records."""
    recorded = {str(r["record"]) for r in rules}
    done: set[str] = set()
    remaining, out = list(rules), []
    while remaining:
        layer = [r for r in remaining if metric_names(str(r["expr"])) & recorded <= done]
        if not layer:
            raise RuntimeError(f"recording rules with a dependency cycle: {[r['record'] for r in remaining]}")
        out.append(layer)
        done |= {str(r["record"]) for r in layer}
        remaining = [r for r in remaining if r not in layer]
    return out


class TSDBServer:
    """A Prometheus serving a TSDB directory, restartable after new blocks are added."""

    def __init__(self, work: Path, tsdb: Path) -> None:
        self.work, self.tsdb = work, tsdb
        self.supervisor = Supervisor(work / "logs", stop_timeout=30)
        self.config = work / "prometheus.yml"
        self.config.write_text("global: {evaluation_interval: 1m}\nscrape_configs: []\n")
        self.url = ""

    def start(self) -> Prometheus:
        address = f"{HOST}:{free_port()}"
        child = self.supervisor.start("prometheus", [
            require("prometheus"), f"--config.file={self.config}", f"--storage.tsdb.path={self.tsdb}",
            f"--web.listen-address={address}", "--storage.tsdb.retention.time=30d", "--query.timeout=10m",
        ])
        wait_ready(f"http://{address}/-/ready", 600, child)
        self.url = f"http://{address}"
        return Prometheus(self.url)

    def stop(self) -> None:
        self.supervisor.stop_all()


def backfill_rules(server: TSDBServer, rule_layers: list[list[dict[str, object]]], start: int, end: int) -> None:
    for i, layer in enumerate(rule_layers):
        rule_file = server.work / f"rules-layer-{i}.yml"
        rule_file.write_text(yaml.safe_dump({"groups": [{"name": f"layer-{i}", "rules": layer}]}, sort_keys=True))
        blocks = server.work / f"rule-blocks-{i}"
        subprocess.run([
            require("promtool"), "tsdb", "create-blocks-from", "rules", f"--url={server.url}", "--quiet",
            f"--start={start}", f"--end={end}", f"--output-dir={blocks}", f"--eval-interval={RULE_EVAL}",
            str(rule_file),
        ], check=True, capture_output=True, timeout=3600)
        server.stop()
        for block in blocks.iterdir():
            shutil.move(str(block), server.tsdb / block.name)
        server.start()


def prepare(work: Path, server: TSDBServer, settings: Settings, days: float, label_sets: int) -> dict[str, object]:
    """Backfill raw history and recording rules into ``work/tsdb`` (once: reused when already there)."""
    marker = work / "prepared.json"
    if marker.exists():
        server.start()
        return dict(json.loads(marker.read_text()))
    rules = recording_rules(settings, work / "render")
    end = (int(time.time()) // 3600 - 3) * 3600  # whole hours, older than the head block
    start = end - int(days * 86_400)
    shape = Shape(tuple(settings.router.models), tuple(settings.router.backends),
                  tuple(settings.router.strategies), label_sets)
    t0 = time.perf_counter()
    samples = write_file(work / "history.om", shape, start, end, SCRAPE_STEP)
    subprocess.run([require("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                    str(work / "history.om"), str(server.tsdb)], check=True, timeout=3600)
    (work / "history.om").unlink()
    t_raw = time.perf_counter() - t0
    server.start()
    t0 = time.perf_counter()
    backfill_rules(server, layers(rules), start, end)
    info = {"start": start, "end": end, "days": days, "samples": samples, "rules": rules,
            "raw_s": t_raw, "rules_s": time.perf_counter() - t0}
    marker.write_text(json.dumps(info))
    return info


def compare(prom: Prometheus, pairs: list[tuple[str, str, str]], start: int, end: int, repeat: int,
            ) -> tuple[list[tuple[object, ...]], list[float]]:
    """Rows (name, series, with ms, without ms, ratio) for (name, recorded query, inlined query) pairs.

    Constant expressions are left out. An inlined query Prometheus gives up on after ``QUERY_TIMEOUT`` is shown as ``> timeout``
    (its ratio as a lower bound, kept out of the mean).
    """
    def run(expr: str) -> list[dict[str, object]]:
        return prom.query_range(expr, start, end, QUERY_STEP, timeout=QUERY_TIMEOUT)

    rows, ratios = [], []
    for name, recorded, raw in pairs:
        if not metric_names(raw):
            continue  # a constant (objective, budget): nothing for a recording rule to save
        series = len(run(recorded))
        with_ms = median_ms(measure(lambda e=recorded: run(e), repeat))
        try:
            without_ms = median_ms(measure(lambda e=raw: run(e), repeat))
        except RuntimeError as exc:
            if '"errorType":"timeout"' not in str(exc):
                raise
            rows.append((name[:72], series, with_ms, f"> {QUERY_TIMEOUT}", f"> {_seconds(QUERY_TIMEOUT) * 1000 / with_ms:.0f}x"))
            continue
        ratios.append(without_ms / with_ms)
        rows.append((name[:72], series, with_ms, without_ms, f"{without_ms / with_ms:.1f}x"))
    return rows, ratios


def _seconds(duration: str) -> float:
    return float(duration.removesuffix("s"))


def _geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label-sets", type=int, default=8, help="label sets per metric family")
    parser.add_argument("--workdir", type=Path, help="keep the backfilled TSDB here and reuse it on the next run")
    args = parser.parse_args()
    settings = load_settings(args.env)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="llmmon-bench-queries-"))
    work.mkdir(parents=True, exist_ok=True)
    server = TSDBServer(work, work / "tsdb")
    try:
        info = prepare(work, server, settings, args.days, args.label_sets)
        rules = list(info["rules"])  # type: ignore[call-overload]
        start, end = int(info["start"]), int(info["end"])  # type: ignore[call-overload]
        prom = Prometheus(server.url, http_timeout=600)
        by_name: dict[str, list[RecordingRule]] = defaultdict(list)
        for r in rules:
            by_name[str(r["record"])].append(RecordingRule(str(r["record"]), str(r["expr"]), dict(r.get("labels") or {})))
        panels, skipped = [], []
        for query in all_queries(settings, rate_interval=RATE_INTERVAL):
            name = f"{query.dashboard_uid} / {query.panel_title}"
            if uses_rules(query.expr, by_name):
                try:
                    panels.append((name, query.expr, inline(query.expr, by_name, RULE_EVAL)))
                except NotInlinable as exc:
                    skipped.append(f"{name}: {exc}")
        # Every recorded name, as a panel reading it would: the record vs its expression.
        records = [(name, name, inline(name, by_name, RULE_EVAL)) for name in sorted(by_name)]
        panel_rows, panel_ratios = compare(prom, panels, start, end, args.repeat)
        record_rows, record_ratios = compare(prom, records, start, end, args.repeat)
        print(machine())
        print(f"data: {info['days']:g} days, {info['samples']} raw samples every {SCRAPE_STEP}s, "
              f"{len(rules)} recording rules backfilled every {RULE_EVAL} (backfill: raw {info['raw_s']:.0f}s, "
              f"rules {info['rules_s']:.0f}s); each query: range over the whole period, step {QUERY_STEP}, "
              f"median of {args.repeat}")
        header = ("query", "series", "with rules ms", "without rules ms", "ratio")
        print("\ndashboard panels that read recording rules:")
        print(table(header, panel_rows))
        print(f"geometric mean ratio (without / with): {_geomean(panel_ratios):.1f}x over {len(panel_ratios)} queries")
        print("\nevery recorded series (record name vs its expression):")
        print(table(header, record_rows))
        print(f"geometric mean ratio (without / with): {_geomean(record_ratios):.1f}x over {len(record_ratios)} rules")
        for line in skipped:
            print(f"not inlinable: {line}")
    finally:
        server.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
