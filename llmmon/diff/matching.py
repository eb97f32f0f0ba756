"""Pairing the items of two renders: by exact identity first, then by a looser one.

An alert whose labels changed, a panel whose title changed, a Job whose hash suffix changed
are still the same thing: when exactly one unmatched item on each side shares the loose
key, they are paired as a change instead of a removal plus an addition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Pairing(Generic[K, V]):
    pairs: list[tuple[V, V]]
    removed: list[V]
    added: list[V]


def pair(old: Mapping[K, V], new: Mapping[K, V], loose: Callable[[K, V], Hashable] | None = None) -> Pairing[K, V]:
    """Items of ``old`` and ``new`` keyed by identity, in a stable order (old's, then new's).

    ``loose(key, item)`` is the fallback identity for the items left unmatched.
    """
    pairs = [(old[k], new[k]) for k in old if k in new]
    removed_keys = [k for k in old if k not in new]
    added_keys = [k for k in new if k not in old]
    if loose is not None:
        by_old: dict[Hashable, list[K]] = defaultdict(list)
        by_new: dict[Hashable, list[K]] = defaultdict(list)
        for k in removed_keys:
            by_old[loose(k, old[k])].append(k)
        for k in added_keys:
            by_new[loose(k, new[k])].append(k)
        for lk, olds in by_old.items():
            news = by_new.get(lk, [])
            if len(olds) == 1 and len(news) == 1:
                pairs.append((old[olds[0]], new[news[0]]))
                removed_keys.remove(olds[0])
                added_keys.remove(news[0])
    return Pairing(pairs, [old[k] for k in removed_keys], [new[k] for k in added_keys])
