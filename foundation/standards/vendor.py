"""Regenerate the vendored standard definitions from checkouts of their upstream repositories.

    python -m foundation.standards.vendor ecs ECS_FLAT_YML --ref v9.4.0 --commit SHA
    python -m foundation.standards.vendor semconv SEMCONV_MODEL_DIR --ref v1.41.1 --commit SHA
    python -m foundation.standards.vendor thanos THANOS_CHECKOUT --ref v0.42.4 --commit SHA

``ECS_FLAT_YML`` is ``generated/ecs/ecs_flat.yml`` of elastic/ecs at the release tag; the
subset written is every ECS field ``app_instrumentation.logs_fields`` declares. The semconv
subset is the ``gen_ai.*`` attribute registry plus the other attributes our spans carry.
The ecs-logging ``spec/spec.json`` is copied verbatim (see README.md). The Thanos subset is
every flag each component's ``--help`` lists in ``docs/components/<component>.md``, the
object store types of ``docs/storage.md`` and the keys of the Querier's endpoint config
(``cmd/thanos/endpointset.go``): what the stack passes to the Thanos image is checked against it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from app_instrumentation import logs_fields
from foundation.standards import ECS_FIELDS_PATH, SEMCONV_PATH, THANOS_PATH

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


THANOS_COMPONENTS = ("sidecar", "query", "store", "compact")
_FLAG = re.compile(r"^\s{2,6}(?:-\w, )?--(?:\[no-\])?([a-z0-9][a-z0-9.-]*)")
_YAML_TAG = re.compile(r'yaml:"([a-z_]+)"')


def thanos_subset(checkout: Path) -> dict[str, Any]:
    """Flags per component (from the ``--help`` blocks the docs embed), object store types, and the
    endpoint config's YAML keys."""
    flags = {}
    for component in THANOS_COMPONENTS:
        text = (checkout / "docs" / "components" / f"{component}.md").read_text()
        block = text.split(f'mdox-exec="thanos {component} --help"', 1)[1].split("```", 1)[0]
        flags[component] = sorted({m.group(1) for line in block.splitlines() if (m := _FLAG.match(line))})
    storage = (checkout / "docs" / "storage.md").read_text()
    types = sorted(set(re.findall(r"^type: ([A-Z0-9]+)\s*$", storage, flags=re.M)))
    endpointset = (checkout / "cmd" / "thanos" / "endpointset.go").read_text()
    struct = endpointset.split("type endpointSettings struct", 1)[1].split("}", 1)[0]
    config = endpointset.split("type EndpointConfig struct", 1)[1].split("}", 1)[0]
    return {"flags": flags, "objstore_types": types,
            "endpoint_config": {"top": sorted(_YAML_TAG.findall(config)), "endpoint": sorted(_YAML_TAG.findall(struct))}}


def _write(path: Path, header: str, body: Mapping[str, Any]) -> None:
    text = yaml.safe_dump(dict(body), sort_keys=False, default_flow_style=False, width=110)
    path.write_text(header + text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("standard", choices=("ecs", "semconv", "thanos"))
    parser.add_argument("source", type=Path,
                        help="ecs_flat.yml, the semantic-conventions model/ directory, or a thanos-io/thanos checkout")
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
    elif args.standard == "thanos":
        header = (f"# Vendored subset of thanos-io/thanos {args.ref} (commit {args.commit}): the flags each\n"
                  "# component's --help lists (docs/components/*.md), object store types (docs/storage.md) and\n"
                  "# the Querier's endpoint config keys (cmd/thanos/endpointset.go). Apache-2.0.\n"
                  "# Regenerate: python -m foundation.standards.vendor thanos CHECKOUT --ref ... --commit ...\n")
        body = {"thanos_version": args.ref.lstrip("v"), "source": f"thanos-io/thanos@{args.ref}",
                **thanos_subset(args.source)}
        _write(THANOS_PATH, header, body)
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
