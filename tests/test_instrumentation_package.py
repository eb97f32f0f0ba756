"""app_instrumentation installs into a router on its own: its own pyproject, its own small wheel."""

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import app_instrumentation

PACKAGE_DIR = Path(app_instrumentation.__file__).parent


def test_wheel_holds_only_the_instrumentation_and_its_runtime_deps(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(PACKAGE_DIR, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
         str(source)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = email.message_from_string(zf.read(next(n for n in names if n.endswith("METADATA"))).decode())
    modules = {n for n in names if not n.startswith("llm_router_instrumentation-")}
    assert modules == {f"app_instrumentation/{p.relative_to(PACKAGE_DIR).as_posix()}" for p in PACKAGE_DIR.rglob("*.py")}
    requires = sorted(metadata.get_all("Requires-Dist"))
    base = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("<")[0] for r in base] == ["prometheus-client", "psutil"]
    extras = {r.split("extra ==")[1].strip().strip('"') for r in requires if "extra ==" in r}
    assert extras == {"tracing", "fast-json", "litellm"}
    optional = {r.split(";")[0].strip() for r in requires if "extra ==" in r}
    assert {r for r in optional if "opentelemetry" not in r and "orjson" not in r} == {
        "litellm!=1.82.7,!=1.82.8,>=1.83"}, optional


def test_root_project_and_instrumentation_agree_on_runtime_deps():
    import tomllib

    root = tomllib.loads((PACKAGE_DIR.parent / "pyproject.toml").read_text())["project"]
    own = tomllib.loads((PACKAGE_DIR / "pyproject.toml").read_text())["project"]
    assert root["dependencies"] == own["dependencies"]
    for extra in ("tracing", "fast-json", "litellm"):
        assert root["optional-dependencies"][extra] == own["optional-dependencies"][extra]


def test_litellm_pin_never_allows_the_malicious_releases():
    import tomllib

    from packaging.requirements import Requirement

    for path in (PACKAGE_DIR.parent / "pyproject.toml", PACKAGE_DIR / "pyproject.toml"):
        (pin,) = tomllib.loads(path.read_text())["project"]["optional-dependencies"]["litellm"]
        spec = Requirement(pin).specifier
        assert not spec.contains("1.82.7") and not spec.contains("1.82.8") and not spec.contains("1.82.6"), path
        assert spec.contains("1.83.0") and spec.contains("1.110.2"), path
