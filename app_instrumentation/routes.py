"""Route templates for HTTP metrics: ``/api/models/{model}``, never ``/api/models/llama-3-8b``.

A raw path as a label value is unbounded cardinality (ids, typos, scanners). Paths are
matched against templates (Starlette syntax: ``{name}``, ``{name:int}``, ``{name:path}``);
a path no template matches becomes ``catalog.UNKNOWN_ROUTE``. Templates come from an
explicit list (plain ASGI apps) and/or from Starlette routes (duck-typed: ``.path`` and,
for ``Mount``, ``.routes``), so this module does not import Starlette.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from app_instrumentation.catalog import UNKNOWN_ROUTE

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_CONVERTERS = {
    "str": r"[^/]+",
    "path": r".*",
    "int": r"[0-9]+",
    "float": r"[0-9]+(?:\.[0-9]+)?",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}
#: Distinct raw paths whose template is memoised (bounded: raw paths are attacker-controlled).
PATH_CACHE_SIZE = 2048


def compile_template(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    end = 0
    for match in _PARAM.finditer(template):
        converter = match.group(2) or "str"
        if converter not in _CONVERTERS:
            raise ValueError(f"route template {template!r}: unknown converter {converter!r}")
        parts.append(re.escape(template[end : match.start()]))
        parts.append(f"(?:{_CONVERTERS[converter]})")
        end = match.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts))


def starlette_templates(routes: Iterable[Any], prefix: str = "") -> list[str]:
    """Templates of Starlette ``Route``/``WebSocketRoute``/``Mount`` objects, in match order."""
    templates: list[str] = []
    for route in routes:
        path = getattr(route, "path", None)
        if path is None:  # Host and other routes without a path template
            continue
        children = getattr(route, "routes", None)
        if children is not None and hasattr(route, "app"):  # Mount
            nested = starlette_templates(children, prefix + path)
            templates.extend(nested or [f"{prefix}{path}/{{path:path}}"])
        else:
            templates.append(prefix + path)
    return templates


class RouteTemplates:
    """First matching template wins (the order a router matches in)."""

    def __init__(self, templates: Iterable[str] = (), routes: Iterable[Any] = ()) -> None:
        self.templates: tuple[str, ...] = tuple(dict.fromkeys([*templates, *starlette_templates(routes)]))
        self._exact = {t for t in self.templates if not _PARAM.search(t)}
        self._patterns = [(t, compile_template(t)) for t in self.templates if t not in self._exact]
        self.match = functools.lru_cache(maxsize=PATH_CACHE_SIZE)(self._match)

    def _match(self, path: str) -> str:
        if path in self._exact:
            return path
        for template, pattern in self._patterns:
            if pattern.fullmatch(path):
                return template
        return UNKNOWN_ROUTE


def route_template(path_or_scope: str | dict[str, Any], templates: RouteTemplates | Sequence[str]) -> str:
    """The template for a request path (or an ASGI scope); ``UNKNOWN_ROUTE`` if none matches."""
    if isinstance(path_or_scope, dict):
        path = path_or_scope.get("path", "")
    else:
        path = path_or_scope
    if not isinstance(templates, RouteTemplates):
        templates = RouteTemplates(templates)
    return templates.match(path)
