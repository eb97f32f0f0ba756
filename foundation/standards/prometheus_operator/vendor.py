"""Regenerate the vendored CRD schemas from a clone of prometheus-operator/prometheus-operator.

    python -m foundation.standards.prometheus_operator.vendor GIT_DIR --ref v0.93.0

Reads ``example/prometheus-operator-crd/monitoring.coreos.com_<plural>.yaml`` at the tag with
``git show`` and writes each served version's ``openAPIV3Schema`` (PodMonitor, ServiceMonitor and
PrometheusRule ``v1``, AlertmanagerConfig ``v1alpha1``) to ``v<version>/<plural>.json`` with every
``description`` text removed (they are documentation, most of the bytes, and no constraint), plus
``v<version>/SOURCE.json``: tag, commit and the sha256 of each upstream file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from foundation.standards.prometheus_operator import KINDS, schema_path

CRD_DIR = "example/prometheus-operator-crd"


class _Loader(yaml.SafeLoader):
    """The CRDs hold a bare ``=`` (an enum value), which PyYAML reads as its ``value`` tag."""


_Loader.add_constructor("tag:yaml.org,2002:value", _Loader.construct_yaml_str)


def without_descriptions(schema: Any, field_names: bool = False) -> Any:
    """Drop the ``description`` keyword, never a field called ``description`` (``properties`` keys)."""
    if isinstance(schema, dict):
        return {k: without_descriptions(v, k == "properties") for k, v in schema.items()
                if field_names or k != "description"}
    if isinstance(schema, list):
        return [without_descriptions(v) for v in schema]
    return schema


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, text=True,
                          check=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path, help="a prometheus-operator clone's .git directory (or bare repo)")
    parser.add_argument("--ref", required=True, help="release tag, e.g. v0.93.0")
    args = parser.parse_args(argv)
    version = args.ref.lstrip("v")
    files = {}
    for (api_version, _kind), plural in sorted(KINDS.items()):
        path = f"{CRD_DIR}/monitoring.coreos.com_{plural}.yaml"
        text = _git(args.git_dir, "show", f"{args.ref}:{path}")
        files[path] = hashlib.sha256(text.encode()).hexdigest()
        crd = yaml.load(text, _Loader)
        served = {v["name"]: v for v in crd["spec"]["versions"]}
        schema = without_descriptions(served[api_version.rpartition("/")[2]]["schema"]["openAPIV3Schema"])
        out = schema_path(version, plural)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    commit = _git(args.git_dir, "rev-list", "-n", "1", args.ref).strip()
    source = {"repository": "prometheus-operator/prometheus-operator", "tag": args.ref, "commit": commit,
              "license": "Apache-2.0", "sha256": files}
    schema_path(version, "SOURCE").write_text(json.dumps(source, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
