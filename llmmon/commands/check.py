"""Render one environment, then run every offline checker over the result.

Checkers: promtool check rules / check config / test rules, amtool check-config,
kubernetes-validate --strict and checkov (zero failed checks) on ``kubernetes/``, the
Prometheus Operator objects against the vendored CRD schemas (strict), and a
PromQL check that every metric a rule or dashboard query names exists (catalog, recording
rule or known external metric). Then it lists placeholder values (example.com) still in the
env: a warning, a failure with --strict. Prints each check as it finishes and a summary table
(the first failing line of each failed check, its whole output below); exits non-zero when
any check fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from alerts.prometheus_config import with_file_discovery
from foundation.settings import Settings, available_envs, load_settings
from llmmon import name_checks, placeholders
from llmmon.checkers import (
    CheckResult,
    amtool_check_config,
    checkov_scan,
    kubernetes_manifests,
    kubernetes_validate,
    operator_crd_validate,
    promtool_check_config,
    promtool_check_rules,
    promtool_test_rules,
)
from llmmon.command_errors import CommandError, os_problem
from llmmon.render import RenderError, collect, write

#: Used when ``cluster.kubernetesVersion`` is not set for the environment.
DEFAULT_KUBERNETES_VERSION = "1.30.0"

Check = Callable[[], CheckResult]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help=f"environment: one of {', '.join(available_envs())}")
    p.add_argument("--out", type=Path, help="render into this directory and keep it (default: a temporary one)")
    p.add_argument("--strict", action="store_true",
                   help="fail when the env still holds placeholder values (example.com hosts, addresses, URLs)")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.env)
    if args.out is not None:
        return check_render(settings, args.out, args.strict)
    tmp = Path(tempfile.mkdtemp(prefix=f"llmmon-check-{args.env}-"))
    try:
        return check_render(settings, tmp, args.strict, kept=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_render(settings: Settings, out: Path, strict: bool = False, kept: bool = True) -> int:
    where = str(out) if kept else "a temporary folder"
    progress(f"rendering env {settings.env!r} into {where}")
    try:
        write(collect(settings), out)
    except RenderError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write the render: {os_problem(exc)}; pass a folder you can write to "
                           "with --out") from None
    results = run_checks(settings, out, on_result=lambda i, n, r, s: progress(
        f"[{i}/{n}] {r.name}: {status(r)} ({s:.1f}s)"))
    results.append(placeholder_check(settings.env, out, strict))
    print(summary_table(results, out))
    for result in results:
        if not result.ok or result.warning:
            print(f"\n--- {result.name} ---\n{relative(result.output, out)}", file=sys.stderr)
    failed = sum(not r.ok for r in results)
    warned = [r for r in results if r.ok and r.warning]
    note = f"; {len(warned)} warning(s): {', '.join(r.name for r in warned)}" if warned else ""
    kept_note = f"render kept in {out}" if kept else "render removed; keep it with --out DIR"
    print(f"\n{len(results) - failed}/{len(results)} checks passed for env {settings.env!r}{note} ({kept_note})")
    return 1 if failed else 0


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def placeholder_check(env: str, out: Path, strict: bool) -> CheckResult:
    name = "placeholders (example.com)"
    found = placeholders.report(env, out)
    if not found:
        return CheckResult(name, True, "none")
    detail = (f"{len(found)} placeholder value(s), first {found[0]}; set real ones in Pulumi.{env}.yaml"
              f"{'' if strict else ' (--strict fails on them)'}\n" + "\n".join(map(str, found)))
    return CheckResult(name, not strict, detail, warning=not strict)


def run_checks(settings: Settings, out: Path,
               on_result: Callable[[int, int, CheckResult, float], None] | None = None) -> list[CheckResult]:
    """Every check, in order; ``on_result(i, n, result, seconds)`` after each one (progress)."""
    chosen = checks(settings, out)
    results = []
    for i, (name, check) in enumerate(chosen, 1):
        started = time.monotonic()
        results.append(_guarded(name, check))
        if on_result is not None:
            on_result(i, len(chosen), results[-1], time.monotonic() - started)
    return results


def checks(settings: Settings, out: Path) -> list[tuple[str, Check]]:
    rules = _files(out / "prometheus" / "rules", ("yml", "yaml"))
    rule_tests = _files(out / "prometheus" / "tests", ("yml", "yaml"))
    manifests = _files(out / "kubernetes", ("yml", "yaml", "json"))
    operator = [*_files(out / "prometheus" / "operator", ("yml", "yaml")), *manifests]
    version = getattr(settings.cluster, "kubernetes_version", None) or DEFAULT_KUBERNETES_VERSION
    return [
        ("promtool check rules", lambda: _need(rules, "rule files under prometheus/rules/")
         or promtool_check_rules(rules)),
        ("promtool check config", lambda: _check_prometheus_config(_exists(out / "prometheus" / "prometheus.yml"))),
        ("promtool test rules", lambda: _need(rule_tests, "rule tests under prometheus/tests/")
         or promtool_test_rules(rule_tests)),
        ("amtool check-config", lambda: amtool_check_config(_exists(out / "alertmanager" / "alertmanager.yml"))),
        (f"kubernetes-validate {version}", lambda: _need(manifests, "manifests under kubernetes/")
         or kubernetes_validate(kubernetes_manifests(manifests), version)),
        ("Prometheus Operator CRD schemas", lambda: operator_crd_validate(operator)),
        ("checkov (kubernetes)", lambda: _need(manifests, "manifests under kubernetes/")
         or checkov_scan(out / "kubernetes").result()),
        ("PromQL metric names (rules)", lambda: name_checks.check_rules(rules)),
        ("PromQL metric names (dashboards)", lambda: name_checks.check_dashboards(settings, rules)),
    ]


def _check_prometheus_config(path: Path) -> CheckResult:
    """Debian's promtool lacks Kubernetes discovery: check a sibling copy whose jobs read file_sd instead."""
    try:
        stripped = with_file_discovery(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, TypeError, AttributeError):
        return promtool_check_config(path)  # malformed: let promtool say what is wrong
    copy = path.with_name(".promtool-" + path.name)  # same folder: relative rule_files still resolve
    try:
        copy.write_text(yaml.safe_dump(stripped))
        return promtool_check_config(copy)
    finally:
        copy.unlink(missing_ok=True)


def _guarded(name: str, check: Check) -> CheckResult:
    """A crashed or missing checker is a failed check with its reason, never a traceback."""
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - reported in the table, the other checks still run
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")
    return CheckResult(name, result.ok, result.output)


def _files(folder: Path, exts: Iterable[str]) -> list[Path]:
    return sorted(p for ext in exts for p in folder.rglob(f"*.{ext}")) if folder.is_dir() else []


def _need(paths: list[Path], what: str) -> CheckResult | None:
    return None if paths else CheckResult(what, False, f"nothing to check: no {what} in the render")


def _exists(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} was not rendered")
    return path


def status(result: CheckResult) -> str:
    return "FAIL" if not result.ok else "warn" if result.warning else "ok"


def relative(text: str, out: Path | None) -> str:
    """Tool output with the render folder's prefix removed: paths read as ``prometheus/rules/x.yml``."""
    if out is None:
        return text
    for prefix in {f"{out}/", f"{out.resolve()}/"}:
        text = text.replace(prefix, "")
    return text


#: A line that says what is wrong (promtool, amtool, kubernetes-validate, our own checks).
_PROBLEM = re.compile(r"error|fail|invalid|unknown|not found|no such|does not|could not|nothing to check|"
                      r"placeholder|unexpected|cannot|missing", re.I)


def detail(result: CheckResult, out: Path | None = None) -> str:
    """One line for the table: the first line saying what failed, else what was checked."""
    text = relative(result.output, out)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not result.ok or result.warning:
        told = [line for line in lines if _PROBLEM.search(line) and line.rstrip(":") != "FAILED"]
        return (told or lines or ["failed without saying why"])[0]
    rules = [int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", text)]
    if "valid prometheus config file syntax" in text:
        return "valid config" + (f"; {len(rules)} rule files, {sum(rules)} rules" if rules else "")
    if rules:
        return f"{sum(rules)} rules in {len(rules)} files"
    if tests := text.count("Unit Testing:"):
        return f"{tests} test files, every test passed"
    if objects := len(re.findall(r" passed for resource ", text)):
        return f"{objects} objects valid"
    if found := re.findall(r"^ - (.+)$", text, re.M):
        return "found " + ", ".join(found)
    return next((line for line in lines if not line.startswith(("Checking", "INFO"))), "ok")


def summary_table(results: list[CheckResult], out: Path | None = None) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
    for r in results:
        lines.append(f"{r.name:<{width}}  {status(r):<6}  {detail(r, out)[:110]}")
    return "\n".join(lines)
