"""Imports flow one way: import-linter's contracts in pyproject.toml hold, and they can break.

The contracts are checked by the real tool (``lint-imports``). The second test copies the
project's packages into a temporary folder, adds one forbidden import at a time and requires
the tool to report that contract broken, so a contract that silently stopped matching
anything (a renamed package, a typo in a layer) fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("benchmarks", "llmmon", "stack", "dashboards", "logpipeline", "alerts", "foundation", "app_instrumentation")
LAYERS = "Layers: tools > stack"
ACYCLIC = "No import cycle"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.argv = ['lint-imports', '--no-cache']; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("layering")
    shutil.copy(ROOT / "pyproject.toml", dst)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dst / package, ignore=shutil.ignore_patterns("__pycache__", "*.toml"))
    return dst


@pytest.mark.parametrize(("module", "line", "broken"), [
    # settings reading a domain package (the upward import this layering removed)
    ("foundation/settings/errors.py", "from alerts import render", LAYERS),
    # a domain package reading the CLI's render orchestration (stack/build.py once did)
    ("stack/build.py", "from llmmon import render", LAYERS),
    # the router's instrumentation must import nothing of the infrastructure code
    ("app_instrumentation/catalog.py", "from foundation import alert_names", LAYERS),
    # dashboards and logpipeline are independent siblings
    ("logpipeline/kibana.py", "from dashboards import uids", LAYERS),
    # the cycle logs -> errors -> logs, even when only for type checking
    ("app_instrumentation/errors.py", "if TYPE_CHECKING:\n    from app_instrumentation.logs import StructuredLogger", ACYCLIC),
])
def test_a_forbidden_import_breaks_its_contract(copy: Path, module: str, line: str, broken: str) -> None:
    path = copy / module
    original = path.read_text()
    try:
        path.write_text(original + "\nfrom typing import TYPE_CHECKING  # noqa: E402\n" + line + "  # noqa\n")
        result = lint_imports(copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    report = " ".join(result.stdout.split())
    assert f"{broken}" in report and "1 kept, 1 broken" in report, report[-2000:]
    name_end = report.index(broken)
    assert "BROKEN" in report[name_end:name_end + 200], report[-2000:]
