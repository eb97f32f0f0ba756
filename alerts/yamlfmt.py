"""Deterministic YAML for rendered artifacts: key order as built, multi-line strings as blocks."""

from __future__ import annotations

from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: Any, sort_keys: bool = False) -> str:
    """YAML text; ``sort_keys=False`` keeps the builder's (fixed) order, lines are never wrapped."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=sort_keys, width=10_000, allow_unicode=True,
                     default_flow_style=False)
