"""Every panel query returns data from a real Prometheus holding one sample series per catalog label set.

Offline and cheap: a tiny TSDB is built with ``promtool tsdb create-blocks-from openmetrics``
from series generated out of the catalog (every enum value, one value for open labels) and
every recording rule's name and kept labels, then ``prometheus`` serves it on a free loopback port. This
catches what a parser cannot: vector matching that drops every series, a label filter that
can never match, a function applied to the wrong type. The live test against the example
router (other engineer's) covers real label values.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from alerts import recording
from app_instrumentation import catalog
from app_instrumentation.catalog import Kind, MetricSpec
from dashboards.queries import all_queries, legend_labels
from foundation import engine_metrics, exporter_metrics
from llmmon.checkers import require
from llmmon.localstack.ports import HOST, free_port

pytestmark = pytest.mark.live

STEP_S = 15
POINTS = 40  # 10 minutes of samples
#: A router pod as the router job labels its target (see ``alerts.prometheus_config``).
TARGET = {"job": "llm-router", "instance": "127.0.0.1:9", "namespace": "x", "pod": "x", "container": "x", "node": "x"}


def label_sets(spec: MetricSpec) -> Iterator[dict[str, str]]:
    """Every combination of enum values; open-ended labels get one value."""
    choices = [spec.enums.get(label, ("x",)) for label in spec.labels]
    for values in itertools.product(*choices):
        yield {**TARGET, **dict(zip(spec.labels, values, strict=True))}


def fmt(name: str, labels: dict[str, str], value: float, ts: int) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}} {value:g} {ts}"


def family(spec: MetricSpec, start: int) -> list[str]:
    family_name = spec.base_name
    lines = [f"# TYPE {family_name} {spec.kind.value}"]
    for labels in label_sets(spec):
        for i in range(POINTS):
            ts = start + i * STEP_S
            if spec.kind is Kind.COUNTER:
                lines.append(fmt(spec.name, labels, i * 3, ts))
            elif spec.kind is Kind.GAUGE:
                lines.append(fmt(spec.name, labels, start if spec is catalog.PROCESS_START_TIME else 1, ts))
            else:
                for j, le in enumerate([*map(str, spec.buckets or ()), "+Inf"]):
                    lines.append(fmt(spec.bucket, {**labels, "le": le}, i * (j + 1), ts))
                lines.append(fmt(spec.sum, labels, i * 0.5, ts))
                lines.append(fmt(spec.count, labels, i * (len(spec.buckets or ()) + 1), ts))
    return lines


def rule_label_values(name: str, label: str) -> tuple[str, ...]:
    """Values a recorded series' label takes: recorded quantiles, the rule's window, the catalog's enums."""
    if label == "quantile":
        return recording.QUANTILES
    if label == "sloth_window":
        return (name.rsplit("ratio_rate", 1)[1],)
    return tuple(sorted({v for spec in catalog.METRICS for v in spec.enums.get(label, ())})) or ("x",)


def rule_label_sets(name: str) -> Iterator[dict[str, str]]:
    """Label sets of a recording rule's output, from ``recording.kept_labels``: per SLO for SLO rules."""
    kept = recording.kept_labels(name)
    ids = [dict(zip(recording.SLO_LABELS, (f"{recording.SLO_SERVICE}-{slo}", recording.SLO_SERVICE, slo), strict=True))
           for slo in recording.SLO_NAMES] if "sloth_slo" in kept else [{}]
    others = sorted(kept - set(recording.SLO_LABELS))
    for slo_ids in ids:
        for values in itertools.product(*(rule_label_values(name, label) for label in others)):
            yield {**slo_ids, **dict(zip(others, values, strict=True))}


def rule_series(name: str, start: int) -> list[str]:
    lines = [f"# TYPE {name} gauge"]
    for labels in rule_label_sets(name):
        lines += [fmt(name, labels, 0.01, start + i * STEP_S) for i in range(POINTS)]
    return lines


def exporter_family(metric: exporter_metrics.ExporterMetric, start: int) -> list[str]:
    """An exporter's series about the router pod of TARGET (its namespace/pod/container/node)."""
    lines = [f"# TYPE {metric.name.removesuffix('_total') if metric.kind == 'counter' else metric.name} {metric.kind}"]
    choices = [metric.values.get(label, (TARGET.get(label, "x"),)) for label in metric.labels]
    for values in itertools.product(*choices):
        labels = {"job": metric.job, "instance": f"{metric.job}:1", **dict(zip(metric.labels, values, strict=True))}
        lines += [fmt(metric.name, labels, i * 3 if metric.kind == "counter" else 1, start + i * STEP_S)
                  for i in range(POINTS)]
    return lines


def engine_family(metric: engine_metrics.SourceMetric, start: int) -> list[str]:
    """An engine's or the DCGM exporter's series, with the labels their scrape jobs add."""
    labels = {**TARGET, "job": metric.source, "backend": "x", "model_name": "x", "gpu": "0",
              **{label: "x" for label in metric.labels if label not in ("gpu", "node")}}
    base = metric.name.removesuffix("_total") if metric.kind == "counter" else metric.name
    lines = [f"# TYPE {base} {metric.kind}"]
    for i in range(POINTS):
        ts = start + i * STEP_S
        if metric.kind == "histogram":
            bounds = [*map(str, metric.buckets or (1.0,)), "+Inf"]
            lines += [fmt(metric.bucket, {**labels, "le": le}, i * (j + 1), ts) for j, le in enumerate(bounds)]
            lines += [fmt(metric.sum, labels, i * 0.5, ts), fmt(metric.count, labels, i * len(bounds), ts)]
        else:
            lines.append(fmt(metric.name, labels, i * 3 if metric.kind == "counter" else 0.5, ts))
    return lines


def openmetrics(start: int) -> str:
    lines = [line for spec in catalog.METRICS for line in family(spec, start)]
    lines += [line for metric in exporter_metrics.METRICS for line in exporter_family(metric, start)]
    lines += [line for metric in engine_metrics.METRICS for line in engine_family(metric, start)]
    lines += ["# TYPE up gauge", *(fmt("up", TARGET, 1, start + i * STEP_S) for i in range(POINTS))]
    engine = {**TARGET, "job": "engine-x", "backend": "x"}
    lines += [fmt("up", engine, 1, start + i * STEP_S) for i in range(POINTS)]
    lines += [line for name in sorted(recording.ALL_RULE_NAMES) for line in rule_series(name, start)]
    return "\n".join([*lines, "# EOF", ""])


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(base URL, evaluation time) of a Prometheus serving the generated TSDB."""
    promtool, binary = require("promtool"), require("prometheus")
    root = tmp_path_factory.mktemp("prom")
    start = (int(time.time()) // 3600 - 2) * 3600  # whole hours: one block, well in the past
    (root / "data.om").write_text(openmetrics(start))
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(root / "data.om"), str(root / "tsdb")],
                   check=True, capture_output=True, timeout=120)
    (root / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    log = (root / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={root / 'prometheus.yml'}", f"--storage.tsdb.path={root / 'tsdb'}",
         f"--web.listen-address={HOST}:{port}", "--storage.tsdb.retention.time=100y"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"prometheus did not start:\n{(root / 'prometheus.log').read_text()}") from None
                time.sleep(0.2)
        yield base, start + (POINTS - 1) * STEP_S
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_every_panel_query_returns_data(prometheus):
    base, at = prometheus
    failures = []
    for query in all_queries(rate_interval="2m"):
        params = urllib.parse.urlencode({"query": query.expr, "time": at})
        answer = get_json(f"{base}/api/v1/query?{params}")
        if answer.get("status") != "success" or not answer["data"]["result"]:
            failures.append(f"{query.dashboard_uid} / {query.panel_title}: {query.expr} -> {answer}")
            continue
        for series in answer["data"]["result"]:
            missing = legend_labels(query.legend) - set(series["metric"])
            if missing:
                failures.append(f"{query.dashboard_uid} / {query.panel_title}: legend {query.legend!r} "
                                f"names {sorted(missing)}, absent from {series['metric']}")
                break
    assert failures == []


def test_the_check_fails_for_a_series_that_is_not_there(prometheus):
    base, at = prometheus
    params = urllib.parse.urlencode({"query": 'sum(rate(llm_router_inference_total{status="timeout"}[2m]))',
                                     "time": at})
    assert get_json(f"{base}/api/v1/query?{params}")["data"]["result"] == []
