"""The benchmark command runs and prints its table (no timing assertions: numbers depend on the machine)."""

from benchmarks import bench_instrumentation


def test_benchmark_prints_a_ratio_table(capsys):
    assert bench_instrumentation.main(["--number", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for row in ("collector.on_complete", "bare labels() calls", "bare pre-bound children", "us/inference"):
        assert row in out
