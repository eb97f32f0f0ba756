"""The request schema of the example router: every body is decoded and checked here, before any work.

Two layers, both raising ``InvalidRequest`` (HTTP status, field, one-line message):

- ``decode_json``: the bytes must be UTF-8 JSON (RFC 8259) nested at most ``MAX_DEPTH``
  deep, with finite numbers, no repeated key and no lone surrogate in any string (such a
  string cannot be encoded, hashed or logged). Refusals are 400s.
- ``parse_generate``: the ``POST /api/generate`` schema (``GENERATE``). A field's type is
  checked before its value is compared with anything, so a list or an object never reaches a
  set lookup. Refusals are 422s naming the field.

Nothing a client sends can make these raise anything else, which is what keeps a hostile
body a 4xx on a connection that stays open (see ``tests/test_router_input.py``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine import GenerateRequest

MAX_BODY_BYTES = 1 << 20
#: Deeper bodies are refused before parsing (none of the schemas nests at all).
MAX_DEPTH = 32
DEFAULT_MAX_TOKENS = 64
#: Longest message or field name echoed back to a client.
MAX_ECHO = 200


def one_line(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` as one printable, encodable line of at most ``limit`` characters."""
    flat = " ".join(text.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def shown(value: Any, limit: int = 60) -> str:
    """A client's value quoted in a message: repr escapes newlines and surrogates."""
    if isinstance(value, list | dict):
        return f"a JSON {'array' if isinstance(value, list) else 'object'}"
    return one_line(repr(value), limit)


class InvalidRequest(ValueError):
    """A refused body: ``status`` 400 (not acceptable JSON), 413 (too large) or 422 (schema)."""

    error_type = "validation_error"

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        self.field = one_line(field, 64) or repr(field)  # a key may be "" or blank
        self.message = one_line(message)
        self.status = status
        super().__init__(f"{self.field}: {self.message}")


# --- layer 1: bytes -> JSON value -------------------------------------------------------------

#: A JSON string token; possessive quantifiers keep the scan linear on any input.
_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


class _Refused(ValueError):
    """Raised from inside ``json.loads`` hooks; becomes a 400."""


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:20]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _Refused(f"key {shown(key)} appears twice")
        obj[key] = value
    return obj


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every (path, string) in a decoded value, keys included (depth is already bounded)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            yield inner, key
            yield from _strings(item, inner)


def decode_json(raw: bytes) -> Any:
    """The JSON value of a request body, or ``InvalidRequest`` (400) saying what is wrong with it."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest("body", f"larger than {MAX_BODY_BYTES} bytes", 413)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("body", f"not UTF-8: {exc.reason} at byte {exc.start}", 400) from None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise InvalidRequest("body", f"nested {depth} levels deep; at most {MAX_DEPTH} allowed", 400)
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique_keys)
    except _Refused as exc:
        raise InvalidRequest("body", str(exc), 400) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; an integer with too many digits
        raise InvalidRequest("body", f"not valid JSON: {exc}", 400) from None
    for path, string in _strings(value, ""):
        if not string.isascii():
            try:
                string.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidRequest(path or "body", f"not valid Unicode: lone surrogate {shown(string[exc.start])}"
                                     f" at character {exc.start}", 400) from None
    return value


# --- layer 2: JSON value -> GenerateRequest ----------------------------------------------------

Check = Callable[[Any, RouterConfig], "str | None"]
_KIND_NAMES = {str: "a string", int: "an integer", bool: "true or false"}


def _accept(value: Any, config: RouterConfig) -> str | None:
    return None


@dataclass(frozen=True)
class Field:
    """One body field: its JSON type (checked first), its default (None: required) and a value check."""

    name: str
    kind: type
    default: Callable[[RouterConfig], Any] | None = None
    check: Check = _accept

    def parse(self, body: dict[str, Any], config: RouterConfig) -> Any:
        if self.name not in body:
            if self.default is None:
                raise InvalidRequest(self.name, f"required: {_KIND_NAMES[self.kind]}")
            return self.default(config)
        value = body[self.name]
        # bool is an int in Python: never accept true where a number is expected.
        if not isinstance(value, self.kind) or (isinstance(value, bool) and self.kind is not bool):
            raise InvalidRequest(self.name, f"expected {_KIND_NAMES[self.kind]}, got {shown(value)}")
        problem = self.check(value, config)
        if problem:
            raise InvalidRequest(self.name, problem)
        return value


def _prompt(value: str, config: RouterConfig) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > config.max_prompt_chars:
        return f"longer than {config.max_prompt_chars} characters"
    return None


def _one_of(what: str, choices: Callable[[RouterConfig], Collection[str]]) -> Check:
    def check(value: str, config: RouterConfig) -> str | None:
        known = choices(config)
        return None if value in known else f"unknown {what} {shown(value)}; known: {', '.join(known)}"

    return check


def _max_tokens(value: int, config: RouterConfig) -> str | None:
    ok = 1 <= value <= config.max_tokens_limit
    return None if ok else f"expected an integer from 1 to {config.max_tokens_limit}, got {shown(value)}"


GENERATE: tuple[Field, ...] = (
    Field("prompt", str, check=_prompt),
    Field("model", str, lambda c: c.model_names[0], _one_of("model", lambda c: c.model_names)),
    Field("strategy", str, lambda c: c.default_strategy, _one_of("strategy", lambda c: sorted(c.strategies))),
    # An omitted max_tokens never exceeds the router's own limit (a limit below the default is valid config).
    Field("max_tokens", int, lambda c: min(DEFAULT_MAX_TOKENS, c.max_tokens_limit), _max_tokens),
    Field("stream", bool, lambda c: False),
)
FIELDS = frozenset(f.name for f in GENERATE)


def parse_generate(body: Any, config: RouterConfig) -> GenerateRequest:
    """A decoded ``/api/generate`` body as a request, or ``InvalidRequest`` naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequest("body", f"expected a JSON object, got {shown(body)}", 400)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], f"unknown field; expected some of {', '.join(sorted(FIELDS))}")
    values = {f.name: f.parse(body, config) for f in GENERATE}
    return GenerateRequest(**values)
