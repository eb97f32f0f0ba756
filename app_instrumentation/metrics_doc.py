"""Generate ``docs/metrics.md`` from the catalog: every metric and its OpenTelemetry GenAI counterpart.

``python -m app_instrumentation.metrics_doc docs/metrics.md`` rewrites the file; a test
fails when the committed file and the catalog disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app_instrumentation import catalog
from app_instrumentation.catalog import MetricSpec

INTRO = f"""\
# Metrics of the LLM router

Generated from `app_instrumentation/catalog.py` by `python -m app_instrumentation.metrics_doc docs/metrics.md`;
do not edit by hand. Names keep the seed's `{catalog.PREFIX}` prefix and Prometheus conventions
(base units, counters end in `_total`). Where an OpenTelemetry GenAI semantic convention exists, the
metric measures the same thing, and the histograms added beyond the seed (TTFT, TPOT, backend request
duration) use the convention's explicit bucket advice, so a Prometheus series and an OTel instrument can
be compared or translated one to one.

## Mapping conventions

| Prometheus label | OpenTelemetry attribute | Notes |
| --- | --- | --- |
| `model` | `gen_ai.request.model` | requested model; allow-listed, anything else is `{catalog.OTHER}` |
| `backend` | `gen_ai.provider.name` (was `gen_ai.system`) | the backend/provider that served the call; allow-listed |
| `token_type` | `gen_ai.token.type` | `input` / `output`, as in `gen_ai.client.token.usage` |
| `status="error"` | `error.type` set | the OTel duration histograms record failures with `error.type` |
| `strategy`, `from_backend`, `to_backend` | none | router concepts; allow-listed |
| `route` | `http.route` | the route template, never the raw path; unknown paths are `{catalog.UNKNOWN_ROUTE}` |
| `method`, `status_code` | `http.request.method`, `http.response.status_code` | |

Differences worth knowing:

- OTel records token usage as a histogram per call (`gen_ai.client.token.usage`); here
  `{catalog.TOKENS.name}` is a counter (sum of that histogram), which is what rate and cost queries need.
- `{catalog.TIME_PER_OUTPUT_TOKEN.name}` follows `gen_ai.server.time_per_output_token`: decode time after
  the first token divided by (output tokens - 1); it is not recorded for single-token answers.
- Answers served from the response cache update the seed's inference metrics (with `cached="true"`) but
  not the backend-side ones (tokens_total, cost, TTFT, TPOT, backend_request_duration).
- The seed's buckets are kept for the seed's metrics so existing dashboards and alerts keep working.
- Process metrics come from prometheus_client's process collector with the `llm_router` namespace.

Label values are bounded: allow-listed labels map unknown values to `{catalog.OTHER}`, labels with a
closed set (listed below) do the same, and each metric holds at most a configured number of label sets
(overflow goes to an all-`{catalog.OTHER}` series and is counted in `{catalog.SERIES_OVERFLOW.name}`).

## Metrics
"""


def _buckets(spec: MetricSpec) -> str:
    return ", ".join(f"{b:g}" for b in spec.buckets) if spec.buckets else ""


def _values(spec: MetricSpec) -> str:
    closed = [f"`{label}`: {' '.join(values)}" for label, values in spec.enums.items()]
    allow = [f"`{label}`: allow-list" for label in spec.labels if label in catalog.ALLOW_LISTED_LABELS]
    return "; ".join(closed + allow)


def _row(spec: MetricSpec) -> str:
    labels = ", ".join(f"`{label}`" for label in spec.labels)
    otel = f"`{spec.otel}`" if spec.otel and "(" not in spec.otel else spec.otel
    cells = [f"`{spec.name}`", spec.kind.value, spec.unit, labels, _values(spec), _buckets(spec), otel, spec.help]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render() -> str:
    header = "| name | type | unit | labels | bounded values | buckets | OpenTelemetry | help |"
    lines = [INTRO, header, "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines.extend(_row(spec) for spec in catalog.METRICS)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv:
        Path(argv[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(argv[0]).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
