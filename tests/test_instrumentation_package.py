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
    assert modules == {f"app_instrumentation/{p.name}" for p in PACKAGE_DIR.glob("*.py")}
    requires = sorted(metadata.get_all("Requires-Dist"))
    base = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("<")[0] for r in base] == ["prometheus-client", "psutil"]
    extras = {r.split("extra ==")[1].strip().strip('"') for r in requires if "extra ==" in r}
    assert extras == {"tracing", "fast-json"}
    assert all("opentelemetry" in r or "orjson" in r for r in requires if "extra ==" in r)


def test_root_project_and_instrumentation_agree_on_runtime_deps():
    import tomllib

    root = tomllib.loads((PACKAGE_DIR.parent / "pyproject.toml").read_text())["project"]
    own = tomllib.loads((PACKAGE_DIR / "pyproject.toml").read_text())["project"]
    assert root["dependencies"] == own["dependencies"]
    for extra in ("tracing", "fast-json"):
        assert root["optional-dependencies"][extra] == own["optional-dependencies"][extra]
