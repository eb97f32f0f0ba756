"""Regenerate the vendored standard definitions from checkouts of their upstream repositories.

    python -m foundation.standards.vendor ecs ECS_FLAT_YML --ref v9.4.0 --commit SHA
    python -m foundation.standards.vendor semconv SEMCONV_MODEL_DIR --ref v1.41.1 --commit SHA

``ECS_FLAT_YML`` is ``generated/ecs/ecs_flat.yml`` of elastic/ecs at the release tag; the
subset written is every ECS field ``app_instrumentation.logs_fields`` declares. The semconv
subset is the ``gen_ai.*`` attribute registry plus the other attributes our spans carry.
The ecs-logging ``spec/spec.json`` is copied verbatim (see README.md).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from app_instrumentation import logs_fields
from foundation.standards import ECS_FIELDS_PATH, SEMCONV_PATH

#: Attributes outside ``gen_ai.*`` that our spans (server and inference) and span events use.
SEMCONV_OTHER_ATTRIBUTES = (
    "client.address", "error.type", "exception.message", "exception.stacktrace", "exception.type",
    "http.request.method", "http.response.status_code", "http.route", "network.protocol.version",
    "server.address", "server.port", "url.path", "url.query", "url.scheme", "user_agent.original",
)


def ecs_subset(flat: Mapping[str, Any], names: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        spec = flat[name]
        entry: dict[str, Any] = {"type": spec["type"]}
        if spec.get("normalize"):
            entry["normalize"] = list(spec["normalize"])
        if "ignore_above" in spec:
            entry["ignore_above"] = spec["ignore_above"]
        if spec.get("multi_fields"):
            entry["multi_fields"] = [{"name": m["name"], "type": m["type"]} for m in spec["multi_fields"]]
        if spec.get("allowed_values"):
            entry["allowed_values"] = {
                v["name"]: sorted(v.get("expected_event_types", [])) for v in spec["allowed_values"]
            }
        out[name] = entry
    return out


def ecs_field_names() -> list[str]:
    return [f.path for f in logs_fields.FIELDS if not f.custom]


def _semconv_type(raw: Any) -> Any:
    if isinstance(raw, Mapping):  # an enum: keep the well-known values
        return {"enum": sorted(str(m["value"]) for m in raw.get("members", []))}
    return raw


def semconv_subset(model_dir: Path) -> dict[str, dict[str, Any]]:
    attributes: dict[str, dict[str, Any]] = {}
    for path in sorted(model_dir.rglob("registry.yaml")):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            for attr in group.get("attributes", []):
                name = attr.get("id")
                if name and (name.startswith("gen_ai.") or name in SEMCONV_OTHER_ATTRIBUTES):
                    attributes[name] = {
                        "type": _semconv_type(attr["type"]),
                        "stability": attr.get("stability", ""),
                        "source": str(path.relative_to(model_dir.parent)),
                    }
    missing = sorted(set(SEMCONV_OTHER_ATTRIBUTES) - set(attributes))
    if missing:
        raise SystemExit(f"not in the registry: {missing}")
    return dict(sorted(attributes.items()))


def _write(path: Path, header: str, body: Mapping[str, Any]) -> None:
    text = yaml.safe_dump(dict(body), sort_keys=False, default_flow_style=False, width=110)
    path.write_text(header + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("standard", choices=("ecs", "semconv"))
    parser.add_argument("source", type=Path, help="ecs_flat.yml, or the semantic-conventions model/ directory")
    parser.add_argument("--ref", required=True, help="release tag, e.g. v9.4.0")
    parser.add_argument("--commit", required=True, help="commit of that tag")
    args = parser.parse_args(argv)
    if args.standard == "ecs":
        flat = yaml.safe_load(args.source.read_text())
        header = (f"# Vendored subset of elastic/ecs {args.ref} (commit {args.commit}),\n"
                  "# generated/ecs/ecs_flat.yml: the ECS fields the router's logs use. Apache-2.0.\n"
                  "# Regenerate: python -m foundation.standards.vendor ecs ECS_FLAT_YML --ref ... --commit ...\n")
        body = {"ecs_version": args.ref.lstrip("v"), "source": f"elastic/ecs@{args.ref}:generated/ecs/ecs_flat.yml",
                "fields": ecs_subset(flat, ecs_field_names())}
        _write(ECS_FIELDS_PATH, header, body)
    else:
        header = (f"# Vendored subset of open-telemetry/semantic-conventions {args.ref} (commit {args.commit}):\n"
                  "# the gen_ai attribute registry (model/gen-ai/registry.yaml) and the other attributes our\n"
                  "# spans carry. Apache-2.0. Regenerate: python -m foundation.standards.vendor semconv MODEL_DIR ...\n")
        body = {"semconv_version": args.ref.lstrip("v"), "source": f"open-telemetry/semantic-conventions@{args.ref}",
                "attributes": semconv_subset(args.source)}
        _write(SEMCONV_PATH, header, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
