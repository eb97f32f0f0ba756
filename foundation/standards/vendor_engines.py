"""Regenerate ``engine_metrics.yml``: the metrics each serving engine and the DCGM exporter export,
read from their own source, so ``foundation.engine_metrics`` can be pinned against it.

    python -m foundation.standards.vendor_engines vllm SRC_DIR --version 0.33.0 --origin "PyPI sdist"
    python -m foundation.standards.vendor_engines sglang SRC_DIR --version 0.5.23 --origin "PyPI wheel"
    python -m foundation.standards.vendor_engines tgi GIT_CHECKOUT --version v3.3.7+1 --origin "commit ..."
    python -m foundation.standards.vendor_engines dcgm GIT_CHECKOUT --version 4.5.3-4.8.2+1 --origin "commit ..."

Each run replaces one source's entry (``vllm`` and ``vllm@<version>`` keep several vLLM releases).
What is read: vLLM ``vllm/v1/metrics/loggers.py`` (+ ``buckets.py``) and SGLang
``sglang/srt/observability/metrics_collector.py`` as Python syntax trees (every
``Gauge``/``Counter``/``Histogram`` created with a literal ``name=``; counters exposed with
prometheus_client's ``_total``), TGI's Rust ``metrics::counter!/gauge!/histogram!`` calls (its
exporter, metrics-exporter-prometheus, adds no ``_total``), and the DCGM exporter's
``etc/default-counters.csv`` (the fields it exports by default) and its label template.
"""

from __future__ import annotations

import argparse
import ast
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from foundation.standards import ENGINE_METRICS_PATH

KINDS = {"gauge": "gauge", "counter": "counter", "histogram": "histogram"}
#: prometheus_client classes (and the vLLM loggers' class attributes that hold them).
PY_KINDS = {"Gauge": "gauge", "Counter": "counter", "Histogram": "histogram",
            "_gauge_cls": "gauge", "_counter_cls": "counter", "_histogram_cls": "histogram"}
#: Labels the DCGM exporter's render template puts on every GPU field (rendermetrics), plus the
#: pod the GPU is assigned to (its Kubernetes mapping) and the driver-version label field.
DCGM_LABELS = ("DCGM_FI_DRIVER_VERSION", "UUID", "container", "device", "gpu", "hostname", "modelName", "namespace",
               "pci_bus_id", "pod")


def _exposed(name: str, kind: str) -> str:
    """The family name prometheus_client exposes: counters always end in ``_total``."""
    return f"{name.removesuffix('_total')}_total" if kind == "counter" else name


def _literal(node: ast.AST | None, names: dict[str, Any]) -> Any:
    """A literal list/tuple/string, a name bound to one, or ``base + [extra]``; None otherwise."""
    if node is None:
        return None
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        return None if left is None or right is None else [*left, *right]
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(e, names) if isinstance(e, ast.Name | ast.Starred) else _const(e) for e in node.elts]
        flat: list[Any] = []
        for item in items:
            if item is None:
                return None
            flat.extend(item if isinstance(item, list) else [item])
        return flat
    if isinstance(node, ast.Starred):
        return _literal(node.value, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "keys":
        return _literal(node.func.value, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list" and node.args:
        return _literal(node.args[0], names)
    value = _const(node)
    return value


def _const(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None


def _bindings(tree: ast.AST, extra: dict[str, Any]) -> dict[str, Any]:
    """Simple ``name = <literal>`` assignments (and dict literals: their keys), file-wide."""
    names = dict(extra)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for target in targets:
                if not isinstance(target, ast.Name) or value is None:
                    continue
                if isinstance(value, ast.Dict):
                    names.setdefault(target.id, [_const(k) for k in value.keys if k is not None])
                elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                        and value.func.id == "histogram_buckets" and value.args:
                    family = _const(value.args[0])
                    if isinstance(family, str):
                        names.setdefault(target.id, extra.get(f"{family.upper()}_BUCKETS"))
                else:
                    literal = _literal(value, names)
                    if literal is not None:
                        names.setdefault(target.id, literal)
    return names


def python_metrics(source: Path, prefix: str, extra: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    tree = ast.parse(source.read_text())
    names = _bindings(tree, extra or {})
    out: dict[str, dict[str, Any]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        kind = PY_KINDS.get(callee)
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        name = _const(kw["name"]) if "name" in kw else None
        if kind is None or not isinstance(name, str) or not name.startswith(prefix):
            continue
        entry: dict[str, Any] = {"type": kind}
        labels = _literal(kw.get("labelnames"), names)
        if labels is not None:
            entry["labels"] = sorted({str(label) for label in labels})
        buckets = _literal(kw.get("buckets"), names) if kind == "histogram" else None
        if buckets is not None:
            entry["buckets"] = [float(b) for b in buckets]
        out[_exposed(name, kind)] = entry
    return dict(sorted(out.items()))


def vllm(src: Path) -> dict[str, dict[str, Any]]:
    buckets_py = src / "vllm/v1/metrics/buckets.py"
    constants: dict[str, Any] = {}
    if buckets_py.is_file():
        for node in ast.parse(buckets_py.read_text()).body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(target, ast.Name) and target.id.endswith("_BUCKETS") and node.value is not None:
                constants[target.id] = list(_const(node.value) or [])
    loggers = src / "vllm/v1/metrics/loggers.py"
    return python_metrics(loggers if loggers.is_file() else src / "loggers.py", "vllm:", constants)


def sglang(src: Path) -> dict[str, dict[str, Any]]:
    return python_metrics(src / "sglang/srt/observability/metrics_collector.py", "sglang:")


TGI_CALL = re.compile(r'metrics::(counter|gauge|histogram)!\(\s*"(tgi_[a-z_]+)"((?:\s*,\s*"[a-z_]+"\s*=>[^,)]+)*)')


def tgi(src: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(src.rglob("*.rs")):
        for kind, name, rest in TGI_CALL.findall(path.read_text(errors="replace")):
            entry = out.setdefault(name, {"type": kind, "labels": []})
            entry["labels"] = sorted(set(entry["labels"]) | set(re.findall(r'"([a-z_]+)"\s*=>', rest)))
    return dict(sorted(out.items()))


def dcgm(src: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    with (src / "etc/default-counters.csv").open() as f:
        for row in csv.reader(line for line in f if line.strip() and not line.lstrip().startswith("#")):
            name, kind = row[0].strip(), row[1].strip()
            if kind in KINDS:
                out[name] = {"type": kind, "labels": list(DCGM_LABELS)}
    return dict(sorted(out.items()))


READERS = {"vllm": vllm, "sglang": sglang, "tgi": tgi, "dcgm": dcgm}


def update(document: dict[str, Any], source: str, version: str, origin: str, metrics: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("sources", {})[source] = {"version": version, "origin": origin, "metrics": metrics}
    document["sources"] = dict(sorted(document["sources"].items()))
    return document


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("engine", choices=sorted(READERS))
    p.add_argument("src", type=Path)
    p.add_argument("--version", required=True)
    p.add_argument("--origin", required=True, help="where the source came from (package file, tag and commit)")
    p.add_argument("--key", help="entry name (default: the engine; e.g. vllm@0.10.2 for an older release)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    document = yaml.safe_load(ENGINE_METRICS_PATH.read_text()) if ENGINE_METRICS_PATH.is_file() else {}
    update(document, args.key or args.engine, args.version, args.origin, READERS[args.engine](args.src))
    header = ("# Metrics exported by the serving engines and the DCGM exporter, read from their own source by\n"
              "# foundation/standards/vendor_engines.py (see README.md). Names, types, labels, buckets only.\n")
    ENGINE_METRICS_PATH.write_text(header + yaml.safe_dump(document, sort_keys=False, width=120))


def iter_metrics(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for source, entry in document["sources"].items():
        for name, spec in entry["metrics"].items():
            yield source, name, spec


if __name__ == "__main__":
    main()
