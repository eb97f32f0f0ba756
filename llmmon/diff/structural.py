"""Field-by-field comparison of parsed documents (YAML/JSON values), for any artifact.

Mappings are compared key by key; lists of mappings that carry a name-like key are matched
by that key (so inserting an item does not shift every later one); other lists compare
as one value. Paths are dotted (``spec.containers[prometheus].image``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmmon.diff.model import Detail, show

#: Keys that name an item inside a list, in order of preference.
IDENTITY_KEYS = ("name", "id", "uid", "job_name", "alert", "record", "refId", "containerPort", "mountPath", "key")
#: Longest value shown inline; longer ones are cut (the reviewer reads the source for the rest).
MAX_SHOWN = 160


def identity_key(*sides: list[Any]) -> str | None:
    """A key naming every item of each list uniquely (within its own list), if there is one."""
    items = [i for side in sides for i in side]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in IDENTITY_KEYS:
        if all(all(i.get(key) is not None for i in side) and len({show(i[key]) for i in side}) == len(side)
               for side in sides):
            return key
    return None


def leaves(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, old, new) for every differing leaf; a missing side is ``None``."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from leaves(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return
    if isinstance(old, list) and isinstance(new, list):
        key = identity_key(old, new)
        if key is not None:
            olds = {show(i[key]): i for i in old}
            news = {show(i[key]): i for i in new}
            for name in [*olds, *(n for n in news if n not in olds)]:
                yield from leaves(olds.get(name), news.get(name), f"{path}[{name}]")
            return
    yield path, old, new


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    text = " ".join(text.split()) if "\n" in text and len(text) > limit else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def details(old: Any, new: Any, prefix: str = "", limit: int = 12) -> list[Detail]:
    """Leaf differences as details, at most ``limit`` (then one line counting the rest)."""
    found = list(leaves(old, new, prefix))
    out = [Detail(path or "(value)", None if a is None else clip(show(a)), None if b is None else clip(show(b)))
           for path, a, b in found[:limit]]
    if len(found) > limit:
        out.append(Detail(f"… and {len(found) - limit} more fields"))
    return out


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, leaf) for one value, with the same paths as ``leaves``."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            yield from flatten(value[key], f"{path}.{key}" if path else str(key))
        return
    if isinstance(value, list):
        key = identity_key(value)
        if key is not None:
            for item in value:
                yield from flatten(item, f"{path}[{show(item[key])}]")
            return
    yield path, value
