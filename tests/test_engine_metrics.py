"""The engine and GPU series the project reads exist upstream, under these names, types, labels, buckets.

``foundation/standards/engine_metrics.yml`` lists what each project exports, read from its own source
by ``foundation/standards/vendor_engines.py``; the versions below are what these lists came from.
A renamed metric in ``foundation.engine_metrics`` (or a rename upstream, after a re-vendor) fails here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from foundation import engine_metrics as e
from foundation.standards import engine_metrics_reference
from foundation.standards.vendor_engines import python_metrics, tgi

#: Source list -> the release it was read from (the README's versions).
VERSIONS = {"vllm": "0.33.0", "vllm@0.10.2": "0.10.2", "sglang": "0.5.23", "tgi": "v3.3.7+1 (Cargo 3.3.6-dev0)",
            "dcgm": "4.5.3-4.8.2+1"}
#: vLLM's current names hold from 0.10.2 on: every vLLM metric we read must be in both lists.
VLLM_RELEASES = ("vllm", "vllm@0.10.2")


def upstream(source: str) -> dict:
    return engine_metrics_reference()[source]["metrics"]


def test_the_lists_come_from_the_stated_releases():
    ref = engine_metrics_reference()
    assert {k: v["version"] for k, v in ref.items()} == VERSIONS
    assert all(v["origin"] and v["metrics"] for v in ref.values())


def pinned(metric: e.SourceMetric, source: str) -> list[str]:
    """What differs between our declaration and the upstream list (empty: they agree)."""
    found = upstream(source).get(metric.name)
    if found is None:
        return [f"{metric.name} is not exported by {source} {VERSIONS[source]}"]
    problems = []
    if found["type"] != metric.kind:
        problems.append(f"{metric.name}: {source} says {found['type']}, we say {metric.kind}")
    missing = set(metric.labels) - set(found.get("labels", metric.labels))
    if missing:
        problems.append(f"{metric.name}: {source} has no label(s) {sorted(missing)}")
    if metric.buckets and found.get("buckets") and tuple(found["buckets"]) != metric.buckets:
        problems.append(f"{metric.name}: buckets differ from {source}'s")
    return problems


@pytest.mark.parametrize("metric", e.METRICS, ids=[m.name for m in e.METRICS])
def test_every_declared_series_is_exported_upstream_as_declared(metric):
    sources = VLLM_RELEASES if metric.source == e.VLLM else (metric.source,)
    assert [p for source in sources for p in pinned(metric, source)] == []


def test_vllm_histograms_carry_the_upstream_buckets():
    """The local stack's simulated engine exposes these buckets: they must be vLLM's own."""
    for metric in (e.VLLM_TTFT, e.VLLM_ITL, e.VLLM_QUEUE_TIME, e.VLLM_E2E):
        assert tuple(upstream("vllm")[metric.name]["buckets"]) == metric.buckets


def test_the_renamed_vllm_metrics_are_gone_and_a_rename_breaks_the_pin():
    old = ("vllm:gpu_cache_usage_perc", "vllm:gpu_prefix_cache_hits_total", "vllm:time_per_output_token_seconds")
    assert all(name in upstream("vllm@0.10.2") for name in old)  # still there, deprecated, in 0.10.2
    assert not any(name in upstream("vllm") for name in old)  # removed by 0.33.0
    renamed = dataclasses.replace(e.VLLM_KV_CACHE_USAGE, name="vllm:gpu_cache_usage_perc")
    assert pinned(renamed, "vllm") == ["vllm:gpu_cache_usage_perc is not exported by vllm 0.33.0"]
    assert pinned(dataclasses.replace(e.VLLM_PREEMPTIONS, kind="gauge"), "vllm")


def test_every_engine_kind_maps_its_signals_to_its_own_series():
    for kind in e.KINDS.values():
        for field in dataclasses.fields(kind):
            metric = getattr(kind, field.name)
            if isinstance(metric, e.SourceMetric):
                assert metric.source == kind.name, (kind.name, field.name)
    assert e.KINDS[e.TGI].preemptions is None and e.KINDS[e.TGI].kv_capacity is e.TGI_MAX_BATCH_TOKENS


def test_the_extractors_read_what_the_upstream_code_declares(tmp_path: Path):
    """The vendoring script on a miniature of each source style."""
    (tmp_path / "loggers.py").write_text(
        'labelnames = ["model_name", "engine"]\n'
        'FAM_BUCKETS = (0.1, 1.0)\n'
        'b = histogram_buckets("fam", overrides=None)\n'
        'self._counter_cls(name="vllm:num_preemptions", documentation="", labelnames=labelnames)\n'
        'self._histogram_cls(name="vllm:x_seconds", buckets=[0.5, 2], labelnames=labelnames + ["reason"])\n'
        'Gauge(name="other:metric", labelnames=[])\n')
    found = python_metrics(tmp_path / "loggers.py", "vllm:")
    assert found == {"vllm:num_preemptions_total": {"type": "counter", "labels": ["engine", "model_name"]},
                     "vllm:x_seconds": {"type": "histogram", "labels": ["engine", "model_name", "reason"],
                                        "buckets": [0.5, 2.0]}}
    (tmp_path / "queue.rs").write_text('metrics::counter!("tgi_request_failure", "err" => "dropped").increment(1);\n'
                                       'metrics::gauge!("tgi_queue_size").set(1.0);\n')
    assert tgi(tmp_path) == {"tgi_queue_size": {"type": "gauge", "labels": []},
                             "tgi_request_failure": {"type": "counter", "labels": ["err"]}}
