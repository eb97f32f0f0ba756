"""The benchmark commands run and print their tables (no timing assertions: numbers depend on the machine)."""

import pytest

from benchmarks import bench_instrumentation, timing


def test_benchmark_prints_a_ratio_table(capsys):
    assert bench_instrumentation.main(["--number", "50", "--rounds", "2"]) == 0
    out = capsys.readouterr().out
    for row in ("collector.on_complete", "bare labels() calls", "bare pre-bound children", "us/inference",
                "before: load average", "after:  load average", "2 interleaved rounds"):
        assert row in out


def test_interleaved_rounds_rotate_the_order_and_keep_every_value():
    calls: list[str] = []

    def variant(name: str, value: float):
        def run() -> float:
            calls.append(name)
            return value
        return run

    spreads = timing.interleaved({"a": variant("a", 1.0), "b": variant("b", 3.0), "c": variant("c", 2.0)}, 3,
                                 warmup=False)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # no variant always first
    assert spreads["b"].values == (3.0, 3.0, 3.0)
    assert timing.ratio(spreads["b"], spreads["a"]).text(1, "x") == "3.0x (3.0–3.0)"


def test_spread_text_is_median_then_min_max():
    assert timing.Spread((5.0, 9.0, 4.0, 6.0, 5.5)).text(2) == "5.50 (4.00–9.00)"
    assert timing.Spread((7.0,)).text(1, " ms") == "7.0 ms"


@pytest.mark.live
def test_observability_benchmark_prints_its_table(capsys):
    """Starts real router processes; asserts the table is printed, never a timing."""
    from benchmarks import bench_observability

    args = ["--seconds", "0.5", "--warmup", "0.2", "--rounds", "1", "--connections", "2"]
    assert bench_observability.main(args) == 0
    out = capsys.readouterr().out
    for row in ("metrics only", "default logs, no tracing", "every request traced", "10% of requests traced",
                "log lines / inference", "router CPU us/req", "every request traced, no log lines",
                "tracing floor: every request traced, spans discarded", "x metrics only; "):
        assert row in out
