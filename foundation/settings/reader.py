"""Typed access to one section of raw stack config, with errors that name key and env.

Section parsers (``alerting.py``, ``cluster.py``, ...) read their keys through a
:class:`Reader`, so every missing or malformed key fails the same, specific way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from foundation.settings.errors import SettingsError

T = TypeVar("T")
_MISSING = object()
DURATION_RE = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


class Reader:
    """A view of a mapping at a dotted path (``alerting.thresholds``) inside one env's config."""

    def __init__(self, env: str, data: Mapping[str, Any], path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise SettingsError(env, path or "<root>", f"expected a mapping, got {type(data).__name__}")
        self.env, self.data, self.path = env, data, path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> SettingsError:
        return SettingsError(self.env, self.key(name), problem)

    def _get(self, name: str, default: Any, expected: type | tuple[type, ...], what: str) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(name, f"missing; expected {what}")
            return default
        # bool is an int in Python; never accept it where a number is expected.
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in _as_tuple(expected)):
            raise self.error(name, f"expected {what}, got {type(value).__name__} {value!r}")
        return value

    def str(self, name: str, default: Any = _MISSING) -> str:
        return self._get(name, default, str, "a string")

    def int(self, name: str, default: Any = _MISSING, minimum: int | None = None) -> int:
        value = self._get(name, default, int, "an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected an integer >= {minimum}, got {value}")
        return value

    def number(self, name: str, default: Any = _MISSING) -> float:
        return float(self._get(name, default, (int, float), "a number"))

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        return self._get(name, default, bool, "true or false")

    def duration(self, name: str, default: Any = _MISSING) -> str:
        value = self.str(name, default)
        if not DURATION_RE.match(value):
            raise self.error(name, f"expected a Prometheus duration like 30s, 5m or 1h30m, got {value!r}")
        return value

    def str_list(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._get(name, default, (list, tuple), "a list of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{name}[{i}]", f"expected a string, got {type(item).__name__}")
        return tuple(value)

    def choice(self, name: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.str(name, default)
        if value not in choices:
            raise self.error(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def section(self, name: str, required: bool = False) -> Reader:
        value = self._get(name, _MISSING if required else {}, Mapping, "a mapping")
        return Reader(self.env, value, self.key(name))

    def sections(self, name: str) -> dict[str, Reader]:
        """A mapping of named sub-mappings, e.g. per-alert overrides, in sorted order."""
        outer = self.section(name)
        return {k: outer.section(k, required=True) for k in sorted(outer.data)}

    def reject_unknown(self, known: set[str] | frozenset[str]) -> None:
        """Typos must not be silently ignored."""
        for name in sorted(self.data):
            if name not in known:
                raise self.error(name, f"unknown key; expected one of {', '.join(sorted(known))}")

    def parse(self, name: str, parser: Callable[[Reader], T], required: bool = False) -> T:
        return parser(self.section(name, required))


def _as_tuple(t: type | tuple[type, ...]) -> tuple[type, ...]:
    return t if isinstance(t, tuple) else (t,)
