"""Benchmark: dashboard query time over 7 days of backfilled data, with and without recording rules.

1. Every catalog metric's history (``backfill.py``), written as one OpenMetrics file per day and
   turned into blocks by ``promtool tsdb create-blocks-from openmetrics``.
2. A real Prometheus serves those blocks and evaluates the env's recording rules over the whole
   history, layer by layer (a rule that reads another recorded series needs that layer's
   blocks first): one range query per rule at the rule interval, which is exactly what
   ``promtool tsdb create-blocks-from rules`` runs, per 2-hour block. Its rule importer writes
   one block per rule per 2 hours (4,452 blocks here, and 5 minutes of fsyncs), so the results
   are written as OpenMetrics and imported together with the raw history instead: 84 two-hour
   blocks holding both, as a live Prometheus would have them.
3. Each dashboard query that reads a recording rule runs as a 7-day range query as written and
   with the recorded names expanded into their expressions (``inline_rules.py``), interleaved:
   every round runs both, in alternating order, so a burst of load from another job hits both.
   Compaction is off while it measures (2-hour blocks throughout), so no background work
   competes with the queries.
Prints the median time of each side with its min–max over the rounds, the ratio per query,
whether both sides return the same points, and the geometric mean of the ratios, with the
machine's load before and after.
Run: ``python -m benchmarks.bench_queries [--days 7] [--env dev] [--rounds 5]`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from benchmarks.backfill import ChunkedOpenMetrics, Shape, openmetrics_file, write_files
from benchmarks.inline_rules import NotInlinable, RecordingRule, inline, uses_rules
from benchmarks.timing import Spread, geomean, interleaved, load, machine, ratio, seconds, table
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
RULE_EVAL = 300  # seconds between evaluations of the backfilled recording rules
BLOCK = 7200  # Prometheus' block range: the history starts and ends on one
DAY = 86_400  # one OpenMetrics file per day of history
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
    """A Prometheus serving a TSDB directory (compaction off), restartable after new blocks are added."""

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
            # Equal min and max block ranges: the backfilled 2-hour blocks are never compacted, so
            # no compaction runs in the background while queries are timed.
            "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
        ])
        wait_ready(f"http://{address}/-/ready", 600, child)
        self.url = f"http://{address}"
        return Prometheus(self.url, http_timeout=600)

    def stop(self) -> None:
        self.supervisor.stop_all()


def import_days(days: list[list[Path]], tsdb: Path, scratch: Path) -> None:
    """``promtool tsdb create-blocks-from openmetrics`` once per day, from that day's parts."""
    for i, parts in enumerate(days):
        whole = openmetrics_file(parts, scratch / f"import-{i:03d}.om")
        subprocess.run([require("promtool"), "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(whole),
                        str(tsdb)], check=True, capture_output=True, timeout=3600)
        whole.unlink()


def _labels(labels: dict[str, str]) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in sorted(labels.items())) + "}"


def evaluate_layer(prom: Prometheus, layer: list[dict[str, object]], folder: Path, prefix: str,
                   start: int, end: int) -> list[Path]:
    """Every rule of ``layer`` evaluated at every rule interval of the history, as OpenMetrics day parts."""
    by_record: dict[str, list[dict[str, object]]] = defaultdict(list)
    for rule in layer:
        by_record[str(rule["record"])].append(rule)
    out = ChunkedOpenMetrics(folder, prefix, start, end, DAY)
    try:
        for record, rules in sorted(by_record.items()):
            out.write(f"# TYPE {record} gauge\n")
            for rule in rules:
                static = {str(k): str(v) for k, v in dict(rule.get("labels") or {}).items()}  # type: ignore[call-overload]
                for series in prom.query_range(str(rule["expr"]), start, end - RULE_EVAL, f"{RULE_EVAL}s"):
                    labels = {k: v for k, v in series["metric"].items() if k != "__name__"} | static
                    text = f"{record}{_labels(labels)}"
                    for t, value in series["values"]:
                        out.write(f"{text} {value} {int(t)}\n")
    finally:
        out.close()
    return out.paths


def prepare(work: Path, server: TSDBServer, settings: Settings, days: float, label_sets: int) -> dict[str, object]:
    """Backfill raw history and recording rules into ``work/tsdb`` (once: reused when already there)."""
    marker = work / "prepared.json"
    if marker.exists():
        server.start()
        return dict(json.loads(marker.read_text()))
    rules = recording_rules(settings, work / "render")
    end = (int(time.time()) // BLOCK - 2) * BLOCK  # whole blocks, older than the head block
    start = end - int(days * DAY) // BLOCK * BLOCK
    shape = Shape(tuple(settings.router.models), tuple(settings.router.backends),
                  tuple(settings.router.strategies), label_sets)
    parts, scratch = work / "parts", work / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    samples, raw = write_files(parts, shape, start, end, SCRAPE_STEP, DAY)
    building = TSDBServer(work, work / "tsdb-build")
    import_days([[p] for p in raw], building.tsdb, scratch)
    t_raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    recorded: list[list[Path]] = []
    try:
        for i, layer in enumerate(layers(rules)):
            prom = building.start()
            recorded.append(evaluate_layer(prom, layer, parts, f"rules-{i}", start, end))
            building.stop()
            import_days([[p] for p in recorded[-1]], building.tsdb, scratch)
    finally:
        building.stop()
    shutil.rmtree(building.tsdb)
    # Raw and recorded series of one day in one file: one block per 2 hours holds both.
    import_days([[raw[d], *(layer[d] for layer in recorded)] for d in range(len(raw))], server.tsdb, scratch)
    shutil.rmtree(parts)
    server.start()
    info = {"start": start, "end": end, "days": days, "samples": samples, "rules": rules,
            "raw_s": t_raw, "rules_s": time.perf_counter() - t0}
    marker.write_text(json.dumps(info))
    return info


def compare(prom: Prometheus, pairs: list[tuple[str, str, str]], start: int, end: int, rounds: int,
            ) -> tuple[list[tuple[object, ...]], list[Spread]]:
    """Rows (name, series, with ms, without ms, ratio) for (name, recorded query, inlined query) pairs,
    and the ratio of each query over the rounds.

    Constant expressions are left out. An inlined query Prometheus gives up on after ``QUERY_TIMEOUT``
    is shown as ``> timeout`` (its ratio as a lower bound, kept out of the mean).
    """
    def run(expr: str) -> Callable[[], float]:
        def timed() -> float:
            try:
                return seconds(lambda: prom.query_range(expr, start, end, QUERY_STEP, timeout=QUERY_TIMEOUT))
            except RuntimeError as exc:
                if '"errorType":"timeout"' not in str(exc) and "timeout" not in str(exc):
                    raise
                return float("inf")

        return timed

    rows: list[tuple[object, ...]] = []
    ratios: list[Spread] = []
    for name, recorded, raw in pairs:
        if not metric_names(raw):
            continue  # a constant (objective, budget): nothing for a recording rule to save
        result = prom.query_range(recorded, start, end, QUERY_STEP, timeout=QUERY_TIMEOUT)
        spread = interleaved({"with": run(recorded), "without": run(raw)}, rounds)
        with_ms, without_ms = spread["with"].scaled(1000), spread["without"].scaled(1000)
        if float("inf") in without_ms.values:
            rows.append((name[:72], len(result), with_ms.text(1), f"> {QUERY_TIMEOUT}", "lower bound", "?"))
            continue
        same = differences(result, prom.query_range(raw, start, end, QUERY_STEP, timeout=QUERY_TIMEOUT))
        r = ratio(without_ms, with_ms)
        ratios.append(r)
        rows.append((name[:72], len(result), with_ms.text(1), without_ms.text(1), r.text(1, "x"), same))
    return rows, ratios


def differences(recorded: list[dict[str, object]], raw: list[dict[str, object]]) -> str:
    """Whether both sides return the same series and values ("yes"), else how many points differ:
    a speed-up only counts when the recording rule answers the same question."""
    def points(result: list[dict[str, object]]) -> dict[tuple[str, float], float]:
        out = {}
        for series in result:
            labels = json.dumps({k: v for k, v in dict(series["metric"]).items() if k != "__name__"}, sort_keys=True)  # type: ignore[call-overload]
            for t, v in series["values"]:  # type: ignore[attr-defined]
                out[(labels, float(t))] = float(v)
        return out

    a, b = points(recorded), points(raw)
    differ = sum(1 for k in a.keys() | b.keys()
                 if k not in a or k not in b or not (math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12)
                                                     or math.isnan(a[k]) and math.isnan(b[k])))
    return "yes" if not differ else f"{differ} of {len(a.keys() | b.keys())} points differ"


def mean_ratio(ratios: list[Spread]) -> str:
    """Geometric mean of the median ratios, and of each round's ratios (its min–max)."""
    per_round = [geomean([r.values[i] for r in ratios]) for i in range(len(ratios[0].values))] if ratios else []
    return (f"{geomean([r.median for r in ratios]):.1f}x (rounds {min(per_round):.1f}–{max(per_round):.1f}x)"
            if per_round else "n/a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev")
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of every query (median, min–max)")
    parser.add_argument("--label-sets", type=int, default=8, help="label sets per metric family")
    parser.add_argument("--workdir", type=Path, help="keep the backfilled TSDB here and reuse it on the next run")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), load()
    settings = load_settings(args.env)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="llmmon-bench-queries-"))
    work.mkdir(parents=True, exist_ok=True)
    server = TSDBServer(work, work / "tsdb")
    try:
        info = prepare(work, server, settings, args.days, args.label_sets)
        rules = list(info["rules"])  # type: ignore[call-overload]
        # The last rule evaluation is one interval before the end: a query past it would find no
        # recorded sample there while the raw side still has one.
        start, end = int(info["start"]), int(info["end"]) - RULE_EVAL  # type: ignore[call-overload]
        prom = Prometheus(server.url, http_timeout=600)
        by_name: dict[str, list[RecordingRule]] = defaultdict(list)
        for r in rules:
            by_name[str(r["record"])].append(RecordingRule(str(r["record"]), str(r["expr"]), dict(r.get("labels") or {})))
        panels, skipped = [], []
        for query in all_queries(settings, rate_interval=RATE_INTERVAL):
            name = f"{query.dashboard_uid} / {query.panel_title}"
            if uses_rules(query.expr, by_name):
                try:
                    panels.append((name, query.expr, inline(query.expr, by_name, f"{RULE_EVAL}s")))
                except NotInlinable as exc:
                    skipped.append(f"{name}: {exc}")
        # Every recorded name, as a panel reading it would: the record vs its expression.
        records = [(name, name, inline(name, by_name, f"{RULE_EVAL}s")) for name in sorted(by_name)]
        panel_rows, panel_ratios = compare(prom, panels, start, end, args.rounds)
        record_rows, record_ratios = compare(prom, records, start, end, args.rounds)
        print(machine())
        print(f"before: {load_before}\nafter:  {load()}")
        print(f"data: {info['days']:g} days, {info['samples']} raw samples every {SCRAPE_STEP}s, "
              f"{len(rules)} recording rules evaluated every {RULE_EVAL}s (backfill: raw {info['raw_s']:.0f}s, "
              f"rules {info['rules_s']:.0f}s); each query: range over the whole period, step {QUERY_STEP}, "
              f"{args.rounds} interleaved rounds: median (min–max) ms")
        header = ("query", "series", "with rules ms", "without rules ms", "ratio", "same result")
        print("\ndashboard panels that read recording rules:")
        print(table(header, panel_rows))
        print(f"geometric mean ratio (without / with): {mean_ratio(panel_ratios)} over {len(panel_ratios)} queries")
        print("\nevery recorded series (record name vs its expression):")
        print(table(header, record_rows))
        print(f"geometric mean ratio (without / with): {mean_ratio(record_ratios)} over {len(record_ratios)} rules")
        for line in skipped:
            print(f"not inlinable: {line}")
        print(f"\ntotal time {time.perf_counter() - started:.0f}s")
    finally:
        server.stop()
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
