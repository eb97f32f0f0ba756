"""Multiprocess mode: real worker processes write to PROMETHEUS_MULTIPROC_DIR, one scrape merges them."""

import os
import subprocess
import sys
import textwrap

from prometheus_client.multiprocess import mark_process_dead

from app_instrumentation import catalog
from app_instrumentation.multiprocess import merged_registry
from llmmon.checkers import promtool_check_metrics

WORKER = textwrap.dedent("""
    import os, sys
    from app_instrumentation.collector import MetricsCollector
    from app_instrumentation.events import InferenceContext, InferenceResult
    from app_instrumentation.labels import LabelPolicy
    from app_instrumentation.multiprocess import scrape_registry
    from prometheus_client import generate_latest

    n, queue, check_ok = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
    c = MetricsCollector(LabelPolicy.of(["m"], ["b"], ["s"]))
    for _ in range(n):
        c.on_complete(InferenceContext("m", "s"), InferenceResult("m", "b", 10, 0.5, 4, 0.1, 0.4, cost_usd=0.5))
    c.queue_size(queue)
    c.health_check("cache_round_trip", check_ok)
    c.backend_state("b", "healthy" if check_ok else "down")
    if len(sys.argv) > 4:  # this worker also answers the scrape
        sys.stdout.write(generate_latest(scrape_registry(c.registry)).decode())
    else:
        print(os.getpid())
""")


def worker(tmp_path, *args):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", WORKER, *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels)


def test_workers_merge_counters_histograms_and_gauges(tmp_path):
    pids = [int(worker(tmp_path, n, queue, ok)) for n, queue, ok in ((3, 5, "1"), (4, 7, "0"))]
    registry = merged_registry(str(tmp_path), process_namespace=None)
    labels = dict(model="m", strategy="s", status="success", cached="false")
    assert sample(registry, catalog.INFERENCE.name, **labels) == 7
    assert sample(registry, catalog.INFERENCE_DURATION.count, model="m", strategy="s") == 7
    assert sample(registry, catalog.COST.name, model="m", backend="b") == 3.5
    # livesum: queue sizes add up; livemin: a check failing in any worker fails.
    assert sample(registry, catalog.QUEUE_SIZE.name, queue_type="inference") == 12
    assert sample(registry, catalog.HEALTH_CHECK_UP.name, check="cache_round_trip") == 0
    assert sample(registry, catalog.BACKEND_UP.name, backend="b") == 0, "down if any live worker sees it down"

    mark_process_dead(pids[1], str(tmp_path))  # what gunicorn's child_exit hook does
    registry = merged_registry(str(tmp_path), process_namespace=None)
    assert sample(registry, catalog.QUEUE_SIZE.name, queue_type="inference") == 5
    assert sample(registry, catalog.HEALTH_CHECK_UP.name, check="cache_round_trip") == 1
    assert sample(registry, catalog.BACKEND_UP.name, backend="b") == 1
    assert sample(registry, catalog.INFERENCE.name, **labels) == 7  # counters keep dead workers' counts


def test_a_worker_scrape_shows_every_worker_and_passes_promtool(tmp_path):
    worker(tmp_path, 2, 1, "1")
    text = worker(tmp_path, 3, 1, "1", "scrape")
    assert 'llm_router_inference_total{cached="false",model="m",status="success",strategy="s"} 5.0' in text
    assert "llm_router_process_resident_memory_bytes" in text
    result = promtool_check_metrics(text)
    assert result.ok, result.output
