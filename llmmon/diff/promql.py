"""PromQL compared by its syntax tree: layout never counts, a changed threshold is named as one.

``changes(old, new)`` returns nothing when two expressions parse to the same tree (however
they are indented, parenthesised or their label matchers ordered), ``threshold: > 0.1 →
> 0.2`` when only the constant side of a comparison moved, and the whole expression otherwise.
"""

from __future__ import annotations

from typing import Any

import promql_parser as pp

from llmmon.diff.model import Detail

COMPARISONS = frozenset({">", "<", ">=", "<=", "==", "!="})
ERASED = "§"


def parse(expr: str) -> Any | None:
    try:
        return pp.parse(expr)
    except (ValueError, RuntimeError):
        return None  # not PromQL we can read (e.g. a Go template): compared as text


def one_line(expr: str) -> str:
    return " ".join(expr.split())


def is_constant(node: Any) -> bool:
    if isinstance(node, pp.NumberLiteral):
        return True
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr):
        return is_constant(node.expr)
    if isinstance(node, pp.BinaryExpr):
        return is_constant(node.lhs) and is_constant(node.rhs)
    return False


def _threshold_side(node: Any) -> str | None:
    """'rhs'/'lhs' when ``node`` compares an expression with a constant."""
    if not (isinstance(node, pp.BinaryExpr) and str(node.op) in COMPARISONS):
        return None
    if is_constant(node.rhs) and not is_constant(node.lhs):
        return "rhs"
    if is_constant(node.lhs) and not is_constant(node.rhs):
        return "lhs"
    return None


def _selector(node: Any) -> str:
    matchers = sorted(f"{m.name}{m.op}{m.value!r}" for m in node.matchers.matchers)
    ors = sorted(str(group) for group in node.matchers.or_matchers)
    return f"{node.name}{matchers}{ors}@{node.at}offset{node.offset}"


def shape(node: Any, erase_thresholds: bool = False) -> str:
    """A canonical rendering of the tree: parentheses that change nothing are gone."""
    def s(child: Any) -> str:
        return shape(child, erase_thresholds)

    if isinstance(node, pp.ParenExpr):
        return s(node.expr)
    if isinstance(node, pp.BinaryExpr):
        side = _threshold_side(node) if erase_thresholds else None
        lhs = ERASED if side == "lhs" else s(node.lhs)
        rhs = ERASED if side == "rhs" else s(node.rhs)
        return f"({lhs} {node.op} {node.modifier or ''} {rhs})"
    if isinstance(node, pp.AggregateExpr):
        param = s(node.param) if node.param is not None else ""
        return f"{node.op}[{node.modifier or ''}]({param};{s(node.expr)})"
    if isinstance(node, pp.Call):
        return f"{node.func.name}({';'.join(map(s, node.args))})"
    if isinstance(node, pp.MatrixSelector):
        return f"{s(node.vector_selector)}[{node.range}]"
    if isinstance(node, pp.VectorSelector):
        return _selector(node)
    if isinstance(node, pp.SubqueryExpr):
        return f"{s(node.expr)}[{node.range}:{node.step}]@{node.at}offset{node.offset}"
    if isinstance(node, pp.UnaryExpr):
        return f"-({s(node.expr)})"
    if isinstance(node, pp.NumberLiteral):
        return repr(float(node.val))
    return str(node)  # StringLiteral and anything newer: its own printing


def canonical(expr: str) -> str:
    ast = parse(expr)
    return one_line(expr) if ast is None else shape(ast)


def thresholds(expr: str) -> list[str]:
    """``["> 0.1"]``: each comparison against a constant, in reading order."""
    found: list[str] = []

    def visit(node: Any) -> None:
        side = _threshold_side(node)
        if side == "rhs":
            found.append(f"{node.op} {node.rhs}")
        elif side == "lhs":
            found.append(f"{_MIRROR.get(str(node.op), str(node.op))} {node.lhs}")

    ast = parse(expr)
    if ast is not None:
        pp.walk(ast, pre_visit=visit)
    return found


#: ``0.5 < x`` reads as ``x > 0.5``.
_MIRROR = {">": "<", "<": ">", ">=": "<=", "<=": ">="}


def changes(old: str, new: str, field: str = "expr") -> list[Detail]:
    if canonical(old) == canonical(new):
        return []
    a, b = parse(old), parse(new)
    if a is not None and b is not None and shape(a, True) == shape(b, True):
        before, after = thresholds(old), thresholds(new)
        pairs = [(x, y) for x, y in zip(before, after, strict=True) if x != y]
        return [Detail("threshold", _unique(x for x, _ in pairs), _unique(y for _, y in pairs))]
    return [Detail(field, one_line(old), one_line(new))]


def _unique(items: Any) -> str:
    return ", ".join(dict.fromkeys(items))
