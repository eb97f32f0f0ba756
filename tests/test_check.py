"""``llmmon check``: every offline checker over a render; a corrupted artifact fails it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app_instrumentation.catalog import ERRORS, INFERENCE_DURATION
from foundation import promql_names
from foundation.settings import load_settings
from llmmon import name_checks, placeholders
from llmmon.checkers import CheckResult
from llmmon.cli import main
from llmmon.commands import check
from llmmon.render import MANIFEST, collect, write


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


def test_summary_table_marks_failures_with_their_first_failing_line(tmp_path):
    out = tmp_path / "render"
    failed = CheckResult("promtool check rules", False,
                         f"Checking {out}/prometheus/rules/a.yml\n  FAILED:\n"
                         f"{out}/prometheus/rules/a.yml: 5:11: group \"g\", rule 1, \"A\": could not parse expression\n"
                         f"{out}/prometheus/rules/a.yml: 17:11: rule 2: could not parse expression")
    table = check.summary_table([CheckResult("promtool check rules", True,
                                             f"Checking {out}/x.yml\n  SUCCESS: 3 rules found\n"),
                                 failed, CheckResult("amtool check-config", False, "\nerror: bad route\nmore")], out)
    lines = table.splitlines()
    assert lines[2].split()[3:] == ["ok", "3", "rules", "in", "1", "files"]
    assert lines[3].split()[3] == "FAIL"
    assert lines[3].endswith('prometheus/rules/a.yml: 5:11: group "g", rule 1, "A": could not parse expression')
    assert "FAIL" in lines[4] and lines[4].endswith("error: bad route")
    assert str(tmp_path) not in table


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
    captured = capsys.readouterr()
    assert "checks passed" in captured.out
    names = [name for name, _ in check.checks(load_settings("dev"), good_render)]
    for i, name in enumerate(names):
        assert f"[{i + 1}/{len(names)}] {name}: ok (" in captured.err  # progress while it runs
    # The temporary render is gone when the command ends: nothing may point into it.
    assert "llmmon-check-" not in captured.out + captured.err
    assert "render removed; keep it with --out DIR" in captured.out


def test_placeholders_warn_and_fail_with_strict(tmp_path, monkeypatch, capsys):
    """Issue 14: prod passed 7/7 with ten example.com values in it."""
    monkeypatch.setattr(check, "run_checks", lambda settings, out, on_result=None: [])  # only the placeholders
    assert main(["check", "--env", "prod", "--out", str(tmp_path / "r")]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^placeholders \(example\.com\) +warn +10 placeholder value\(s\)", captured.out, re.M)
    for key in ("alerting.runbookUrl = https://runbooks.example.com/llm-router",
                "alerting.smtp.smarthost = smtp.example.com:587",
                "alerting.receivers.critical-alerts.emails[0] = llm-router-oncall@example.com",
                "alerting.receivers.watchdog.webhookUrl = https://deadman.example.com/ping/llm-router-prod"):
        assert key in captured.err
    assert main(["check", "--env", "prod", "--out", str(tmp_path / "r"), "--strict"]) == 1
    assert re.search(r"^placeholders \(example\.com\) +FAIL ", capsys.readouterr().out, re.M)


def test_a_placeholder_from_a_default_names_the_rendered_file(tmp_path):
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  llm-router-monitoring:alerting:\n    smtp: {smarthost: 'mail.real.org:25', from: a@b.example}\n")
    explained = placeholders.in_config("x", tmp_path)
    assert [str(p) for p in explained] == ["alerting.smtp.from = a@b.example"]
    (tmp_path / "out" / "prometheus").mkdir(parents=True)
    (tmp_path / "out" / "prometheus" / "rules.yml").write_text(
        "runbook_url: https://runbooks.example.com/x\nfrom: a@b.example\nfile: notes.example.md x.test.yml\n")
    assert [(p.where.split(" ")[0], p.value) for p in placeholders.in_render("x", tmp_path / "out", explained)] == [
        ("prometheus/rules.yml", "runbooks.example.com")]


def _copy(src: Path, dst: Path) -> Path:
    write({str(p.relative_to(src)): p.read_text() for p in src.rglob("*") if p.is_file() and p.name != MANIFEST}, dst)
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
