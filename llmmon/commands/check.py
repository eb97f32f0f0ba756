"""Render one environment, then run every offline checker over the result.

Checkers: promtool check rules / check config / test rules, amtool check-config,
kubernetes-validate --strict and checkov (zero failed checks) on ``kubernetes/``, and a
PromQL check that every metric a rule or dashboard query names exists (catalog, recording
rule or known external metric).
Prints a summary table; exits non-zero when any check fails.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from alerts.prometheus_config import with_file_discovery
from foundation.settings import Settings, available_envs, load_settings
from llmmon import name_checks
from llmmon.checkers import (
    CheckResult,
    amtool_check_config,
    checkov_scan,
    kubernetes_validate,
    promtool_check_config,
    promtool_check_rules,
    promtool_test_rules,
)
from llmmon.render import collect, write

#: Used when ``cluster.kubernetesVersion`` is not set for the environment.
DEFAULT_KUBERNETES_VERSION = "1.30.0"

Check = Callable[[], CheckResult]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help=f"environment: one of {', '.join(available_envs())}")
    p.add_argument("--out", type=Path, help="render into this directory and keep it (default: a temporary one)")


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.env)
    if args.out is not None:
        return check_render(settings, args.out)
    tmp = Path(tempfile.mkdtemp(prefix=f"llmmon-check-{args.env}-"))
    try:
        return check_render(settings, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_render(settings: Settings, out: Path) -> int:
    write(collect(settings), out)
    results = run_checks(settings, out)
    print(summary_table(results))
    for result in results:
        if not result.ok:
            print(f"\n--- {result.name} ---\n{result.output}", file=sys.stderr)
    failed = sum(not r.ok for r in results)
    print(f"\n{len(results) - failed}/{len(results)} checks passed for env {settings.env!r} ({out})")
    return 1 if failed else 0


def run_checks(settings: Settings, out: Path) -> list[CheckResult]:
    return [_guarded(name, check) for name, check in checks(settings, out)]


def checks(settings: Settings, out: Path) -> list[tuple[str, Check]]:
    rules = _files(out / "prometheus" / "rules", ("yml", "yaml"))
    rule_tests = _files(out / "prometheus" / "tests", ("yml", "yaml"))
    manifests = _files(out / "kubernetes", ("yml", "yaml", "json"))
    version = getattr(settings.cluster, "kubernetes_version", None) or DEFAULT_KUBERNETES_VERSION
    return [
        ("promtool check rules", lambda: _need(rules, "rule files under prometheus/rules/")
         or promtool_check_rules(rules)),
        ("promtool check config", lambda: _check_prometheus_config(_exists(out / "prometheus" / "prometheus.yml"))),
        ("promtool test rules", lambda: _need(rule_tests, "rule tests under prometheus/tests/")
         or promtool_test_rules(rule_tests)),
        ("amtool check-config", lambda: amtool_check_config(_exists(out / "alertmanager" / "alertmanager.yml"))),
        (f"kubernetes-validate {version}", lambda: _need(manifests, "manifests under kubernetes/")
         or kubernetes_validate(manifests, version)),
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


def summary_table(results: list[CheckResult]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
    for r in results:
        first = next((line for line in r.output.splitlines() if line.strip()), "")
        lines.append(f"{r.name:<{width}}  {'ok' if r.ok else 'FAIL':<6}  {first[:100]}")
    return "\n".join(lines)
