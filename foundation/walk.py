"""Every string in a nested mapping/list tree, with its dotted path (``alerting.receivers[0].url``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from strings(item, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node
