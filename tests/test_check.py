"""``llmmon check``: every offline checker over a render; a corrupted artifact fails it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_instrumentation.catalog import ERRORS, INFERENCE_DURATION
from foundation import promql_names
from foundation.settings import load_settings
from llmmon import name_checks
from llmmon.checkers import CheckResult
from llmmon.cli import main
from llmmon.commands import check
from llmmon.render import collect, write


def test_metric_names_are_found_everywhere_in_the_ast():
    expr = (f'histogram_quantile(0.9, sum by (le) (rate({INFERENCE_DURATION.bucket}[5m]))) '
            f'/ on() group_left max_over_time({{__name__="{ERRORS.name}"}}[10m:1m]) + -abs(job:x:rate5m)')
    assert promql_names.metric_names(expr) == {INFERENCE_DURATION.bucket, ERRORS.name, "job:x:rate5m"}


def test_unknown_metric_and_syntax_error_are_reported_with_their_place():
    problems = promql_names.unknown_names(
        [("Good", f"rate({ERRORS.name}[5m])"), ("Typo", "rate(llm_router_errors_totl[5m])"),
         ("Broken", "sum(rate("), ("Recorded", "job:x:rate5m > 1"), ("External", 'up{job="llm-router"} == 0')],
        recorded={"job:x:rate5m"},
    )
    assert len(problems) == 2
    assert problems[0].startswith("Typo: unknown metric(s) llm_router_errors_totl")
    assert problems[1].startswith("Broken: does not parse")


def test_rule_check_reads_rule_files(tmp_path):
    rules = tmp_path / "r.yml"
    rules.write_text(f"groups:\n- name: g\n  rules:\n  - record: job:e:rate5m\n    expr: sum(rate({ERRORS.name}[5m]))\n"
                     "  - alert: A\n    expr: job:e:rate5m > 1 and nope_metric > 0\n")
    result = name_checks.check_rules([rules])
    assert not result.ok and "A: unknown metric(s) nope_metric" in result.output
    rules.write_text(rules.read_text().replace(" and nope_metric > 0", ""))
    assert name_checks.check_rules([rules]).ok


def test_summary_table_marks_failures():
    table = check.summary_table([CheckResult("promtool check rules", True, "SUCCESS: 3 rules found"),
                                 CheckResult("amtool check-config", False, "\nerror: bad route\nmore")])
    lines = table.splitlines()
    assert lines[2].split()[3] == "ok" and "SUCCESS: 3 rules found" in lines[2]
    assert "FAIL" in lines[3] and "error: bad route" in lines[3]


def test_nothing_rendered_is_a_failure_not_a_pass(tmp_path):
    results = check.run_checks(load_settings("dev"), tmp_path)
    assert results and not any(r.ok for r in results if "PromQL" not in r.name)


@pytest.fixture(scope="module")
def good_render(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render")
    write(collect(load_settings("dev")), out)
    return out


def _failed(out: Path, only: str = "") -> set[str]:
    """Names of the failing checks (those whose name starts with ``only``)."""
    chosen = [(name, fn) for name, fn in check.checks(load_settings("dev"), out) if name.startswith(only)]
    assert chosen
    return {name for name, fn in chosen if not check._guarded(name, fn).ok}


def test_good_render_passes_every_check(good_render, capsys):
    assert _failed(good_render) == set()
    assert main(["check", "--env", "dev"]) == 0
    assert "checks passed" in capsys.readouterr().out


def _copy(src: Path, dst: Path) -> Path:
    write({str(p.relative_to(src)): p.read_text() for p in src.rglob("*") if p.is_file()}, dst)
    return dst


@pytest.mark.parametrize("glob, corrupt, failing", [
    ("prometheus/rules/*.yml", lambda s: s.replace("expr:", "expr: sum(", 1), "promtool check rules"),
    ("prometheus/prometheus.yml", lambda s: s + "\nscrape_configs: 7\n", "promtool check config"),
    ("alertmanager/alertmanager.yml", lambda s: s.replace("receiver:", "receiver: nobody-", 1), "amtool check-config"),
    ("kubernetes/*.yaml", lambda s: s.replace("metadata:\n", "metadata:\n  bogusField: 1\n", 1), "kubernetes-validate"),
])
def test_a_corrupted_artifact_fails_the_check(good_render, tmp_path, glob, corrupt, failing):
    out = _copy(good_render, tmp_path / "render")
    target = sorted(out.glob(glob))[0]
    target.write_text(corrupt(target.read_text()))
    assert _failed(good_render, failing) == set()
    assert _failed(out, failing)


def test_cli_exit_code_is_non_zero_on_failure(good_render, tmp_path, monkeypatch, capsys):
    out = _copy(good_render, tmp_path / "render")
    rules = sorted((out / "prometheus" / "rules").glob("*.yml"))[0]
    monkeypatch.setattr(check, "write", lambda artifacts, out_dir: rules.write_text("groups: [[["))
    assert main(["check", "--env", "dev", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "promtool check rules" in captured.err
