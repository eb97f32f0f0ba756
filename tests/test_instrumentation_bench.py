"""The benchmark command runs and prints its table (no timing assertions: numbers depend on the machine)."""

import pytest

from benchmarks import bench_instrumentation


def test_benchmark_prints_a_ratio_table(capsys):
    assert bench_instrumentation.main(["--number", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("collector.on_complete", "bare labels() calls", "bare pre-bound children", "us/inference"):
        assert row in out


@pytest.mark.live
def test_observability_benchmark_prints_its_table(capsys):
    """Starts real router processes; asserts the table is printed, never a timing."""
    from benchmarks import bench_observability

    args = ["--seconds", "0.5", "--warmup", "0.2", "--rounds", "1", "--connections", "2"]
    assert bench_observability.main(args) == 0
    out = capsys.readouterr().out
    for row in ("metrics only", "default logs, no tracing", "every request traced", "10% of requests traced",
                "log lines / inference", "router CPU us/req"):
        assert row in out
