"""Thin wrappers over the real tools that consume our artifacts.

Tests and ``llmmon check`` both call these; nothing here imitates a tool, it only runs it
and reports what it said. A missing binary is a clear error naming the Debian package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: binary -> Debian package that provides it.
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


class MissingTool(RuntimeError):
    pass


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    output: str
    #: Passed, but with something to fix before production (shown as "warn").
    warning: bool = False

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise AssertionError(f"{self.name} failed:\n{self.output}")


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        package = PACKAGES.get(binary, binary)
        raise MissingTool(f"{binary} not found on PATH; install it with: apt-get install {package}")
    return path


def run_tool(name: str, argv: Sequence[str], timeout: float = 120, stdin: str | None = None) -> CheckResult:
    exe = argv[0] if argv[0] == sys.executable else require(argv[0])
    proc = subprocess.run(
        [exe, *argv[1:]], capture_output=True, text=True, timeout=timeout, input=stdin, check=False
    )
    return CheckResult(name, proc.returncode == 0, (proc.stdout + proc.stderr).strip())


def promtool_check_rules(paths: Sequence[Path]) -> CheckResult:
    return run_tool("promtool check rules", ["promtool", "check", "rules", *map(str, paths)])


def promtool_test_rules(paths: Sequence[Path]) -> CheckResult:
    return run_tool("promtool test rules", ["promtool", "test", "rules", *map(str, paths)])


def promtool_check_config(path: Path) -> CheckResult:
    return run_tool("promtool check config", ["promtool", "check", "config", str(path)])


def promtool_service_discovery(config: Path, job: str, timeout: str = "1s") -> list[dict[str, dict[str, str]]]:
    """``promtool check service-discovery``: each discovered target's labels before (``discoveredLabels``)
    and after relabelling (``labels``, empty when a rule dropped it), as Prometheus computes them."""
    result = run_tool("promtool check service-discovery",
                      ["promtool", "check", "service-discovery", f"--timeout={timeout}", str(config), job])
    if not result.ok:
        raise AssertionError(f"{result.name} failed:\n{result.output}")
    text = result.output  # the JSON report, with promtool's log lines around it
    return list(json.JSONDecoder().raw_decode(text, text.index("["))[0])


def promtool_check_metrics(exposition: str) -> CheckResult:
    """promtool exits 0 on lint warnings too; any output line is treated as a failure."""
    result = run_tool("promtool check metrics", ["promtool", "check", "metrics"], stdin=exposition)
    return CheckResult(result.name, result.ok and not result.output, result.output)


def amtool_check_config(path: Path) -> CheckResult:
    return run_tool("amtool check-config", ["amtool", "check-config", str(path)])


def amtool_route(path: Path, labels: dict[str, str], expect_receivers: Sequence[str]) -> CheckResult:
    """``amtool config routes test --verify.receivers``: labels must route to exactly these receivers."""
    argv = [
        "amtool", "config", "routes", "test", f"--config.file={path}",
        f"--verify.receivers={','.join(expect_receivers)}",
        *(f"{k}={v}" for k, v in sorted(labels.items())),
    ]
    return run_tool(f"amtool routes test {labels}", argv)


def kubernetes_validate(paths: Sequence[Path], kubernetes_version: str) -> CheckResult:
    argv = [
        sys.executable, "-m", "kubernetes_validate", "--strict",
        "--kubernetes-version", kubernetes_version, *map(str, paths),
    ]
    return run_tool("kubernetes-validate --strict", argv, timeout=600)


def operator_objects(paths: Sequence[Path]) -> list[tuple[Path, dict]]:
    """Every Prometheus Operator object (``monitoring.coreos.com``) in the YAML files, with its file."""
    import yaml

    from foundation.standards.prometheus_operator import is_operator_object

    return [(path, doc) for path in paths for doc in yaml.safe_load_all(path.read_text()) if is_operator_object(doc)]


def kubernetes_manifests(paths: Sequence[Path]) -> list[Path]:
    """The files kubernetes-validate can check: those holding any object of Kubernetes' own kinds."""
    import yaml

    from foundation.standards.prometheus_operator import is_operator_object

    return [p for p in paths if any(d and not is_operator_object(d) for d in yaml.safe_load_all(p.read_text()))]


def operator_crd_validate(paths: Sequence[Path]) -> CheckResult:
    """Every ``monitoring.coreos.com`` object against the vendored CRD schemas of each supported release."""
    from foundation.standards.prometheus_operator import SUPPORTED_VERSIONS, validate

    found = operator_objects(paths)
    problems = [f"{path.name}: {problem}" for path, obj in found for problem in validate(obj)]
    name = f"Prometheus Operator CRDs (v{', v'.join(SUPPORTED_VERSIONS)})"
    if not found:
        return CheckResult(name, False, "nothing to check: no monitoring.coreos.com objects")
    if problems:
        return CheckResult(name, False, f"{len(problems)} schema error(s):\n" + "\n".join(problems))
    kinds = sorted({str(o["kind"]) for _, o in found})
    return CheckResult(name, True, f"{len(found)} objects valid ({', '.join(kinds)})")


#: checkov, the Kubernetes manifest scanner of the CI gate, lives in its own virtual environment
#: (installed into the project's it would downgrade ``packaging``); ``scripts/install`` creates it.
CHECKOV_VERSION = "3.3.30"


def checkov_venv() -> Path:
    """``$LLMMON_TOOLS_DIR`` or the user's cache dir, one folder per checkov version."""
    root = os.environ.get("LLMMON_TOOLS_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm-router-monitoring")
    return Path(root) / f"checkov-{CHECKOV_VERSION}"


def checkov_binary() -> str:
    path = checkov_venv() / "bin" / "checkov"
    if not path.is_file():
        raise MissingTool(f"checkov {CHECKOV_VERSION} not found at {path}; run scripts/install "
                          "(it creates that virtual environment)")
    return str(path)


@dataclass(frozen=True)
class CheckovFinding:
    check_id: str
    resource: str
    file: str
    #: The skip annotation's reason (skipped checks only).
    reason: str | None = None


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[CheckovFinding]
    skipped: list[CheckovFinding]
    output: str

    def result(self) -> CheckResult:
        lines = [f"passed {self.passed}, failed {len(self.failed)}, skipped {len(self.skipped)} (annotated)"]
        lines += [f"FAILED {f.check_id} {f.resource} ({f.file})" for f in self.failed]
        return CheckResult(f"checkov {CHECKOV_VERSION} (kubernetes)", not self.failed and self.passed > 0, "\n".join(lines))


def checkov_scan(directory: Path) -> CheckovReport:
    """``checkov -d DIR --framework kubernetes``; skips only from the objects' own annotations."""
    argv = [checkov_binary(), "-d", str(directory), "--framework", "kubernetes", "--output", "json",
            "--skip-download"]  # no platform API: check ids and annotations only
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    try:
        data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"checkov printed no JSON (exit {proc.returncode}): {proc.stderr[-2000:]}") from exc
    reports = data if isinstance(data, list) else [data]
    passed, failed, skipped = 0, [], []
    for report in reports:
        results = report.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        failed += [CheckovFinding(r["check_id"], r["resource"], r["file_path"]) for r in results.get("failed_checks") or []]
        skipped += [CheckovFinding(r["check_id"], r["resource"], r["file_path"],
                                   (r.get("check_result") or {}).get("suppress_comment"))
                    for r in results.get("skipped_checks") or []]
    return CheckovReport(passed, failed, skipped, proc.stderr.strip())
