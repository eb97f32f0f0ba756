"""Small PromQL builders shared by alerts, SLOs and recording rules (names from the catalog)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.utils import floatToGoString

from app_instrumentation.catalog import MetricSpec


def selector(name: str, matchers: Mapping[str, str] | None = None, regex: Mapping[str, str] | None = None,
             not_regex: Mapping[str, str] | None = None) -> str:
    parts = [f'{k}="{v}"' for k, v in sorted((matchers or {}).items())]
    parts += [f'{k}=~"{v}"' for k, v in sorted((regex or {}).items())]
    parts += [f'{k}!~"{v}"' for k, v in sorted((not_regex or {}).items())]
    return f"{name}{{{', '.join(parts)}}}" if parts else name


def one_of(values: Iterable[str]) -> str:
    """Regex matching exactly one of ``values`` (label values of the catalog: no regex metacharacters)."""
    return "|".join(values)


def rate_of(series: str, window: str) -> str:
    """``rate(series[window])``: per series, every label kept."""
    return f"rate({series}[{window}])"


def sum_rate_of(series: str, window: str, labels: Iterable[str] = ()) -> str:
    """``sum by (labels) (rate(series[window]))`` for a ready-made selector."""
    inner = rate_of(series, window)
    return f"sum{by(labels)} ({inner})" if by(labels) else f"sum({inner})"


def by(labels: Iterable[str]) -> str:
    labels = tuple(labels)
    return f" by ({', '.join(labels)})" if labels else ""


def sum_rate(name: str, window: str, labels: Iterable[str] = (), **matchers: str) -> str:
    """``sum by (labels) (rate(name{matchers}[window]))``: aggregated across instances."""
    return sum_rate_of(selector(name, matchers), window, labels)


def share_or_zero(part: str, whole: str) -> str:
    """``part / whole`` that reads 0, not nothing, where ``part`` has no series yet (no error so
    far): ``whole * 0`` fills the label sets ``part`` lacks. Both must aggregate by the same labels.
    Still nothing (NaN) when ``whole`` is 0: no traffic, no ratio."""
    return f"({part} or {whole} * 0)\n/\n{whole}"


def quantile(q: str, spec: MetricSpec, window: str, labels: Iterable[str] = ()) -> str:
    """Histogram quantile with the buckets summed across instances first (``le`` kept)."""
    return f"histogram_quantile({q}, {sum_rate(spec.bucket, window, ('le', *labels))})"


def le_regex(bound: float) -> str:
    """Matches the ``le`` label of ``bound`` however a client spelled it (``1`` or ``1.0``)."""
    spellings = sorted({floatToGoString(bound), f"{bound:g}"})
    return "|".join(s.replace(".", "\\\\.") for s in spellings)
