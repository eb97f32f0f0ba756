"""A small model of the Logstash config language, rendered deterministically.

Conditions keep the ``Field`` objects they test, so the pipeline can list every field
path it reads (the log contract test compares that list with real log lines).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from app_instrumentation.logs_fields import Field

Value = str | int | float | bool | list["Value"] | dict[str, "Value"]
INDENT = "  "


def literal(value: Value) -> str:
    """Logstash literal: strings double-quoted (JSON escaping is valid), arrays, hashes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "{ " + " ".join(f"{literal(k)} => {literal(v)}" for k, v in value.items()) + " }"


# --- conditions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Exists:
    field: Field
    negate: bool = False

    def render(self) -> str:
        return f"!{self.field.ref}" if self.negate else self.field.ref

    @property
    def fields(self) -> tuple[Field, ...]:
        return (self.field,)


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str
    value: str | float | int

    def render(self) -> str:
        return f"{self.field.ref} {self.op} {literal(self.value)}"

    @property
    def fields(self) -> tuple[Field, ...]:
        return (self.field,)


@dataclass(frozen=True)
class Raw:
    """A condition on non-ECS plumbing (Filebeat's ``[fields]``, ``[tags]``, ``[message]`` regex)."""

    text: str

    def render(self) -> str:
        return self.text

    @property
    def fields(self) -> tuple[Field, ...]:
        return ()


Condition = Exists | Compare | Raw


# --- statements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plugin:
    name: str
    options: tuple[tuple[str, Value], ...] = ()
    #: ECS fields this plugin reads (sources of copies) and writes.
    reads: tuple[Field, ...] = ()
    writes: tuple[Field, ...] = ()

    def lines(self, depth: int) -> Iterator[str]:
        pad = INDENT * depth
        if not self.options:
            yield f"{pad}{self.name} {{}}"
            return
        yield f"{pad}{self.name} {{"
        for key, value in self.options:
            yield f"{pad}{INDENT}{key} => {literal(value)}"
        yield f"{pad}}}"


@dataclass(frozen=True)
class Comment:
    text: str

    def lines(self, depth: int) -> Iterator[str]:
        yield f"{INDENT * depth}# {self.text}"


@dataclass(frozen=True)
class If:
    """``if`` / ``else if`` chain with an optional ``else``."""

    branches: tuple[tuple[Condition, tuple[Statement, ...]], ...]
    otherwise: tuple[Statement, ...] = ()

    def lines(self, depth: int) -> Iterator[str]:
        pad = INDENT * depth
        for i, (condition, body) in enumerate(self.branches):
            yield f"{pad}{'if' if i == 0 else '} else if'} {condition.render()} {{"
            for statement in body:
                yield from statement.lines(depth + 1)
        if self.otherwise:
            yield f"{pad}}} else {{"
            for statement in self.otherwise:
                yield from statement.lines(depth + 1)
        yield f"{pad}}}"


Statement = Plugin | Comment | If


@dataclass(frozen=True)
class Pipeline:
    inputs: tuple[Statement, ...]
    filters: tuple[Statement, ...]
    outputs: tuple[Statement, ...]
    header: tuple[str, ...] = field(default=())

    def render(self) -> str:
        out = [f"# {line}" for line in self.header]
        for section, body in (("input", self.inputs), ("filter", self.filters), ("output", self.outputs)):
            out.append(f"{section} {{")
            for statement in body:
                out.extend(statement.lines(1))
            out.append("}")
        return "\n".join(out) + "\n"

    def walk(self) -> Iterator[Statement | Condition]:
        stack: list[Statement | Condition] = [*self.inputs, *self.filters, *self.outputs]
        while stack:
            node = stack.pop(0)
            yield node
            if isinstance(node, If):
                for condition, body in node.branches:
                    stack.extend([condition, *body])
                stack.extend(node.otherwise)

    def fields_read(self) -> set[Field]:
        """ECS fields the pipeline tests or copies from: the logger must produce them."""
        out: set[Field] = set()
        for node in self.walk():
            if isinstance(node, Exists | Compare):
                out.update(node.fields)
            elif isinstance(node, Plugin):
                out.update(node.reads)
        return out

    def fields_written(self) -> set[Field]:
        return {f for node in self.walk() if isinstance(node, Plugin) for f in node.writes}
