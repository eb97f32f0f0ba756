"""PromQL builders: every dashboard query is assembled here from catalog specs.

Selectors get the dashboard's template-variable matchers automatically, but only for
labels the series really has (``model`` only on metrics that carry it), so a panel never
filters on a label that cannot match. Histograms are always summed ``by (le, ...)``
before ``histogram_quantile``: per-series quantiles cannot be averaged afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alerts import recording
from alerts.definitions import ROUTER_JOB
from alerts.promql import share_or_zero
from app_instrumentation.catalog import MetricSpec
from foundation.exporter_metrics import ExporterMetric

#: Grafana's rate window: at least four scrape intervals, follows the zoom level.
RATE_WINDOW = "$__rate_interval"

#: Target labels every scraped series has (``env`` only where a relabel/federation adds it;
#: the ``=~"$env"`` matcher with the ``.*`` All value also matches series without it).
ENV_FILTER = ("env", "env")
TARGET_FILTERS: tuple[tuple[str, str], ...] = (ENV_FILTER, ("instance", "instance"))
#: Metric labels filtered by a dashboard variable when the metric has that label.
METRIC_FILTERS: tuple[tuple[str, str], ...] = (("model", "model"),)


def _matchers(variables: Iterable[tuple[str, str]], equal: Mapping[str, str],
              regex: Mapping[str, str] | None = None) -> str:
    parts = [f'{label}=~"${var}"' for label, var in variables]
    parts += [f'{k}="{v}"' for k, v in sorted(equal.items())]
    parts += [f'{k}=~"{v}"' for k, v in sorted((regex or {}).items())]
    return "{" + ", ".join(parts) + "}"


def series(spec: MetricSpec, sample: str | None = None, **equal: str) -> str:
    """Instant selector of one sample name of ``spec`` (default: its PromQL name)."""
    unknown = sorted(set(equal) - set(spec.labels))
    if unknown:
        raise ValueError(f"{spec.name} has no label(s) {unknown}")
    variables = [*TARGET_FILTERS, *((label, var) for label, var in METRIC_FILTERS if label in spec.labels)]
    return (sample or spec.name) + _matchers(variables, equal)


def exporter(metric: ExporterMetric, regex: Mapping[str, str] | None = None, **equal: str) -> str:
    """Selector of an exporter's series: filtered by ``env`` only (its ``instance`` is the exporter's)."""
    unknown = sorted((set(equal) | set(regex or {})) - set(metric.labels))
    if unknown:
        raise ValueError(f"{metric.name} has no label(s) {unknown}")
    return metric.name + _matchers([ENV_FILTER], equal, regex)


def of_router_pods(expr: str, on: Iterable[str] = ("namespace", "pod")) -> str:
    """``expr`` restricted to the router's pods (or their nodes): joined with the router job's targets,
    which carry ``namespace``/``pod``/``container``/``node``, filtered by the instance variable."""
    return f"{expr} and on ({', '.join(on)}) up{_matchers(TARGET_FILTERS, {'job': ROUTER_JOB})}"


def rule(name: str, variables: Iterable[tuple[str, str]] = (), **equal: str) -> str:
    """Selector of a recording rule. Rules are aggregated across instances, so ``env``, the
    metric filters for labels the rule keeps (``model``) and the given (label, variable) pairs
    filter it, never ``instance``. Refuses a label the rule does not keep and a quantile it
    does not record."""
    kept = recording.kept_labels(name)
    variables = [*variables, *((label, var) for label, var in METRIC_FILTERS if label in kept)]
    unknown = sorted(({label for label, _ in variables} | set(equal)) - kept)
    if unknown:
        raise ValueError(f"recording rule {name} keeps no label(s) {unknown}; it keeps {sorted(kept)}")
    if "quantile" in equal and equal["quantile"] not in recording.QUANTILES:
        raise ValueError(f"recording rule {name} records quantiles {recording.QUANTILES}, not {equal['quantile']!r}")
    return name + _matchers([ENV_FILTER, *variables], equal)


def rule_note(name: str) -> str:
    """Description of a panel that reads recording rule ``name``."""
    if name in recording.ENGINE_RULE_NAMES:
        return f"Every pod of each engine, from the recording rule {name} (5m windows)."
    return f"All router instances, from the recording rule {name} (5m windows); the instance filter does not apply."


def agg(op: str, inner: str, by: Iterable[str] = ()) -> str:
    """``op by (labels) (inner)``, or ``op(inner)`` without labels."""
    labels = ", ".join(by)
    return f"{op} by ({labels}) ({inner})" if labels else f"{op}({inner})"


def over_window(fn: str, spec: MetricSpec, sample: str | None = None, **equal: str) -> str:
    """``fn(selector[window])`` for a range function such as rate or increase."""
    return f"{fn}({series(spec, sample, **equal)}[{RATE_WINDOW}])"


def rate(spec: MetricSpec, sample: str | None = None, **equal: str) -> str:
    return over_window("rate", spec, sample, **equal)


def sum_rate(spec: MetricSpec, by: Iterable[str] = (), sample: str | None = None, **equal: str) -> str:
    """Per-second rate summed (over instances and every label not in ``by``)."""
    return agg("sum", rate(spec, sample, **equal), by)


def quantile(q: float, spec: MetricSpec, by: Iterable[str] = (), **equal: str) -> str:
    """q-quantile of a histogram, buckets aggregated first (``sum by (le, ...)``)."""
    return f"histogram_quantile({q}, {sum_rate(spec, ('le', *by), spec.bucket, **equal)})"


def mean(spec: MetricSpec, by: Iterable[str] = (), **equal: str) -> str:
    """Mean observation of a histogram: rate of _sum over rate of _count."""
    by = tuple(by)
    return ratio(sum_rate(spec, by, spec.sum, **equal), sum_rate(spec, by, spec.count, **equal))


def ratio(numerator: str, denominator: str) -> str:
    """Share of two aggregates with the same labels (0..1, NaN while the denominator is 0)."""
    return f"{numerator} / {denominator}"


def ratio_or_zero(part: str, whole: str) -> str:
    """``part / whole`` reading 0 where ``part`` has no series yet (no error so far), NaN when idle."""
    return share_or_zero(part, whole)


def share(spec: MetricSpec, part: dict[str, str], by: Iterable[str] = (), sample: str | None = None) -> str:
    """Fraction of ``spec``'s rate whose labels equal ``part`` (e.g. status=error); 0 before the first one."""
    by = tuple(by)
    return ratio_or_zero(sum_rate(spec, by, sample, **part), sum_rate(spec, by, sample))


def scaled(expr: str, factor: float) -> str:
    return f"({expr}) * {factor:g}"
