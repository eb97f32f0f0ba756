"""Backends and GPUs: the serving engines behind the router's backends, and their GPUs.

Per engine (the router backend it serves) and model: waiting and running requests, KV-cache usage,
preemptions, the engine's TTFT and inter-token latency beside the router's own view of the same
backend, queue time, prompt vs generation tokens and the prefix-cache hit ratio, all from the
recording rules of ``alerts.engine_recording`` (every engine kind read into one series per engine
and model). Per GPU (DCGM exporter): utilisation, memory used and free, temperature, power, XID
errors. The router dashboards' backend panels (QoS) and model panels (Model Performance) link here.
"""

from __future__ import annotations

from grafanalib import core as g
from grafanalib import formatunits as units

from alerts import recording as r
from alerts.scrape_jobs import ENGINE_JOBS
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.alert_colours import alert_steps
from dashboards.base import dashboard, drilldown
from dashboards.variables import ENV, Variable
from foundation import alert_names as n
from foundation import engine_metrics as m

BACKEND = Variable("backend", "Backend (engine)",
                   f'label_values(up{{job=~"{ENGINE_JOBS}", env=~"$env"}}, backend)')
#: Drill-down from the router dashboards' backend and model panels (keeps the time range and variables).
LINK = drilldown("Engines and GPUs behind the backends", uids.BACKENDS)
BY_BACKEND = (("backend", "backend"),)
ENGINE = "{{backend}} {{model_name}}"
GPU = "{{node}} gpu {{gpu}}"
KV_STEPS = alert_steps(n.ENGINE_KV_CACHE_NEAR_FULL, yellow=0.8)
TEMPERATURE_STEPS = alert_steps(n.GPU_TOO_HOT, yellow=75)


def rule(name: str, **equal: str) -> str:
    return q.rule(name, BY_BACKEND, **equal)


def gpu(metric: m.SourceMetric) -> str:
    """A DCGM exporter series, filtered by env (a GPU belongs to a node, not to a backend)."""
    return f'{metric.name}{{env=~"$env"}}'


def _engines() -> list[g.Panel]:
    p95 = {"quantile": "0.95"}
    return [
        p.row("Engines, per backend and model (recording rules: all pods)"),
        p.timeseries("Requests running and waiting by engine and model",
                     p.Query(rule(r.ENGINE_RUNNING), f"{ENGINE} running"),
                     p.Query(rule(r.ENGINE_WAITING), f"{ENGINE} waiting"),
                     unit="short", description=q.rule_note(r.ENGINE_RUNNING)),
        p.timeseries("KV-cache usage by engine and model (fullest pod)",
                     p.Query(rule(r.ENGINE_KV_CACHE_USAGE), ENGINE), unit=p.RATIO, max_value=1,
                     thresholds=KV_STEPS, description=q.rule_note(r.ENGINE_KV_CACHE_USAGE)),
        p.timeseries("Preemptions by engine and model", p.Query(rule(r.ENGINE_PREEMPTION_RATE), ENGINE),
                     unit="ops", description=q.rule_note(r.ENGINE_PREEMPTION_RATE)),
        p.timeseries("Engine queue time p95", p.Query(rule(r.ENGINE_QUEUE_TIME_QUANTILE, **p95), ENGINE),
                     unit="s", description=q.rule_note(r.ENGINE_QUEUE_TIME_QUANTILE)),
        p.timeseries("Time to first token p95: engine and router",
                     p.Query(rule(r.ENGINE_TTFT_QUANTILE, **p95), f"{ENGINE} (engine)"),
                     p.Query(rule(r.BACKEND_TTFT_QUANTILE, **p95), "{{backend}} (router)"),
                     unit="s", description=q.rule_note(r.ENGINE_TTFT_QUANTILE)),
        p.timeseries("Inter-token latency p95: engine and router",
                     p.Query(rule(r.ENGINE_ITL_QUANTILE, **p95), f"{ENGINE} (engine)"),
                     p.Query(rule(r.BACKEND_TPOT_QUANTILE, **p95), "{{backend}} (router)"),
                     unit="s", description=q.rule_note(r.ENGINE_ITL_QUANTILE)),
        p.timeseries("Tokens per second, prompt and generation",
                     p.Query(rule(r.ENGINE_TOKENS_RATE), f"{ENGINE} {{{{token_type}}}}"),
                     unit=p.TOKENS_PER_SECOND, description=q.rule_note(r.ENGINE_TOKENS_RATE)),
        p.timeseries("Prefix-cache hit ratio", p.Query(rule(r.ENGINE_PREFIX_CACHE_HIT_RATIO), ENGINE),
                     unit=p.RATIO, max_value=1, description=q.rule_note(r.ENGINE_PREFIX_CACHE_HIT_RATIO)),
    ]


def _gpus() -> list[g.Panel]:
    return [
        p.row("GPUs (DCGM exporter)"),
        p.timeseries("GPU utilisation", p.Query(gpu(m.GPU_UTIL), GPU), unit=units.PERCENT_FORMAT, max_value=100),
        p.timeseries("GPU memory used and free",
                     p.Query(f"{gpu(m.GPU_FB_USED)} * {m.MIB}", f"{GPU} used"),
                     p.Query(f"{gpu(m.GPU_FB_FREE)} * {m.MIB}", f"{GPU} free"), unit="bytes",
                     description="vLLM preallocates --gpu-memory-utilization (0.9) of it: high use is normal."),
        p.timeseries("GPU temperature", p.Query(gpu(m.GPU_TEMP), GPU), unit=units.CELSUIS,
                     thresholds=TEMPERATURE_STEPS),
        p.timeseries("GPU power draw", p.Query(gpu(m.GPU_POWER), GPU), unit=units.WATT),
        p.timeseries("GPU XID errors (last code)", p.Query(gpu(m.GPU_XID), GPU), unit="none", width=24,
                     thresholds=p.steps("green", (1, "red")),
                     description="0: none. Any other value is the last XID error's code (GPUXidErrors)."),
    ]


def build() -> g.Dashboard:
    up = f'up{{job=~"{ENGINE_JOBS}", env=~"$env", backend=~"$backend"}}'
    return dashboard(
        uids.BACKENDS,
        "Backends and GPUs",
        "The serving engines behind the router's backends (vLLM, SGLang, TGI) and their GPUs (DCGM).",
        [
            p.stat("Engine pods up", q.agg("sum", up), unit="short", thresholds=p.steps("red", (1, "green")),
                   description="Scrape targets of the engines' jobs that answer (EngineDown)."),
            p.stat("Fullest KV cache", q.agg("max", rule(r.ENGINE_KV_CACHE_USAGE)), unit=p.RATIO, max_value=1,
                   thresholds=KV_STEPS, description=q.rule_note(r.ENGINE_KV_CACHE_USAGE)),
            p.stat("Requests waiting", q.agg("sum", rule(r.ENGINE_WAITING)), unit="short",
                   thresholds=alert_steps(n.ENGINE_WAITING_QUEUE, yellow=1), description=q.rule_note(r.ENGINE_WAITING)),
            p.stat("Preemptions per second", q.agg("sum", rule(r.ENGINE_PREEMPTION_RATE)), unit="ops",
                   thresholds=alert_steps(n.ENGINE_PREEMPTION_STORM, yellow=0.1),
                   description=q.rule_note(r.ENGINE_PREEMPTION_RATE)),
            p.stat("GPUs reporting", q.agg("count", gpu(m.GPU_UTIL)), unit="short",
                   thresholds=p.steps("red", (1, "green"))),
            p.stat("Hottest GPU", q.agg("max", gpu(m.GPU_TEMP)), unit=units.CELSUIS, thresholds=TEMPERATURE_STEPS),
            *_engines(),
            *_gpus(),
        ],
        variables=(ENV, BACKEND),
    )
