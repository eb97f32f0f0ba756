"""``promtool test rules`` suites generated from the env's typed thresholds.

For every threshold alert: a case that fires (expected labels and filled-in annotations),
one just on the quiet side of the threshold, one where the condition has held for one step
less than ``for`` (input steady at the threshold's edge, then firing: see ``Probe.edge``),
a zero-traffic case for alerts that read counters, and for alerts with a ``floor`` one case on
each side of it (share above the threshold, absolute rate just above or just below the floor). The SLO burn-rate
alerts get fire/quiet/idle cases per severity, Watchdog one firing case, and the recording
rules ``promql_expr_test`` cases with hand-computed values.

``rule_tests(settings)`` returns ``{file name: YAML}``, rendered under
``prometheus/tests/`` next to ``prometheus/rules/`` (the rule paths are relative).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import promql_parser
from prometheus_client.utils import floatToGoString

from alerts import recording as rec
from alerts.definitions import SPECS, AlertSpec
from alerts.groups import (
    ALERTS_FILE,
    RECORDING_FILE,
    SLO_FILE,
    alert_rule,
    describe,
    effective_floor,
    effective_for,
    effective_threshold,
    format_value,
    watchdog,
)
from alerts.model import AlertRule, duration_seconds, format_duration
from alerts.probes import INTERVAL_S, Scenario, Side, _counter, _gauge
from alerts.profiles import PROD
from alerts.slo import PAGE_WINDOWS, TICKET_WINDOWS, Slo, burn_rate_alerts, slos
from alerts.yamlfmt import dump
from app_instrumentation import catalog as c
from foundation.settings import Settings, SettingsError

RULE_FILES = tuple(f"../rules/{stem}.yml" for stem in (ALERTS_FILE, RECORDING_FILE, SLO_FILE))


def longest_window_s(expr: str) -> float:
    """Longest range selector in ``expr`` (seconds): how long until its rates are steady."""
    longest = 0.0

    def walk(node: Any) -> None:
        nonlocal longest
        rng = getattr(node, "range", None)
        if isinstance(rng, timedelta):
            longest = max(longest, rng.total_seconds())
        for attr in ("expr", "lhs", "rhs", "param", "vector_selector", "args"):
            child = getattr(node, attr, None)
            for sub in child if isinstance(child, list) else [child] if child is not None else []:
                walk(sub)

    walk(promql_parser.parse(expr))
    return longest


def _minutes(seconds: float) -> int:
    return math.ceil(seconds / INTERVAL_S)


def _expected(rule: AlertRule, spec: AlertSpec, scenario: Scenario, threshold: float | None,
              floor: float | None) -> dict[str, Any]:
    labels = {**dict(spec.probe.out_labels), **dict(rule.labels)}
    value = format_value(scenario.value, spec.value_format) if scenario.value is not None else ""
    annotations = {**dict(rule.annotations), "description": describe(spec, value, threshold, floor, labels)}
    return {"exp_labels": labels, "exp_annotations": annotations}


def _case(scenario: Scenario, eval_minutes: int, alertname: str, expected: list[dict[str, Any]],
          name: str) -> dict[str, Any]:
    return {
        "name": name,
        "interval": f"{INTERVAL_S}s",
        "input_series": scenario.input_series(),
        "alert_rule_test": [{"eval_time": f"{eval_minutes}m", "alertname": alertname, "exp_alerts": expected}],
    }


def _case_after(prefix: Scenario, at: int, scenario: Scenario, eval_minutes: int, alertname: str,
                name: str) -> dict[str, Any]:
    """A quiet case whose input follows ``prefix`` until step ``at``, then ``scenario``."""
    return {**_case(scenario, eval_minutes, alertname, [], name), "input_series": scenario.after(prefix, at)}


def threshold_alert_cases(settings: Settings, spec: AlertSpec) -> Iterator[dict[str, Any]]:
    rule = alert_rule(settings, spec, PROD)
    threshold = effective_threshold(settings, spec)
    floor = effective_floor(settings, spec)
    probe = spec.probe if floor is None else dataclasses.replace(spec.probe, floor=floor)
    for_s = duration_seconds(effective_for(settings, spec) or "0s")
    window_s = longest_window_s(rule.expr)
    window = _minutes(window_s)
    fire_at = window + probe.true_after(window) + _minutes(for_s) + 1
    steps = fire_at + 1
    try:
        fire = probe.build(threshold, Side.FIRE, steps)
    except ValueError as exc:  # e.g. a latency threshold no histogram bucket can exceed
        raise SettingsError(settings.env, f"alerting.overrides.{spec.name}.threshold", str(exc)) from exc
    yield _case(fire, fire_at, spec.name, [_expected(rule, spec, fire, threshold, floor)], f"{spec.name} fires")
    calm = probe.build(threshold, Side.CALM, steps)
    yield _case(calm, fire_at, spec.name, [], f"{spec.name} stays quiet just short of the threshold")
    if for_s >= INTERVAL_S / 2:
        # Steady just short of the threshold for a whole window, then FIRE: the condition turns
        # true ``true_after`` steps after the switch, and 'for' must hold the alert back until then + for.
        true_from = window + probe.true_after(window)
        yield _case_after(probe.build_edge(threshold, window, steps), window, fire, true_from + _minutes(for_s) - 1,
                          spec.name, f"{spec.name} does not fire before 'for' ({format_duration(for_s)})")
    if probe.reads_counters:
        idle = probe.build(threshold, Side.IDLE, steps)
        yield _case(idle, fire_at, spec.name, [], f"{spec.name} stays quiet without traffic")
    if floor is not None and threshold is not None:
        above = probe.floor_scenario(threshold, Side.FIRE, steps)
        yield _case(above, fire_at, spec.name, [_expected(rule, spec, above, threshold, floor)],
                    f"{spec.name} fires above the floor ({floor:g}/s)")
        below = probe.floor_scenario(threshold, Side.CALM, steps)
        yield _case(below, fire_at, spec.name, [], f"{spec.name} stays quiet below the floor ({floor:g}/s)")


def _slo_series(slo: Slo, error_ratio: float, steps: int) -> Scenario:
    """Series giving ``slo`` the wanted error ratio at 10 events/s (all zero when ratio < 0)."""
    rate = 0.0 if error_ratio < 0 else 10.0
    bad = max(error_ratio, 0.0) * rate
    labels = {"model": "llama-3-8b", "strategy": "balanced", "cached": "false"}
    if slo.name == rec.SLO_AVAILABILITY:
        series = (_counter(c.INFERENCE.name, {**labels, "status": "error"}, bad, steps),
                  _counter(c.INFERENCE.name, {**labels, "status": "success"}, rate - bad, steps))
    else:
        ttft, mb = c.TIME_TO_FIRST_TOKEN, {"model": "llama-3-8b", "backend": "vllm"}
        bound = slo.threshold_seconds or 0.0
        bounds = (*(ttft.buckets or ()), math.inf)
        series = tuple(_counter(ttft.bucket, {**mb, "le": floatToGoString(b)}, rate - bad if b <= bound else rate,
                                steps) for b in bounds)
        series += (_counter(ttft.count, mb, rate, steps),)
    return Scenario(series, None)


def slo_cases(settings: Settings) -> Iterator[dict[str, Any]]:
    a = settings.alerting
    at, steps = 10, 12
    for slo in slos(a):
        page, ticket = burn_rate_alerts(slo, a.grafana_url, a.runbook_url)
        for rule, windows in ((page, PAGE_WINDOWS), (ticket, TICKET_WINDOWS)):
            low = min(w.factor for w in windows) * slo.budget
            high = max(w.factor for w in windows) * slo.budget
            expected = [{"exp_labels": {**slo.labels, **dict(rule.labels)},
                         "exp_annotations": dict(rule.annotations)}]
            yield _case(_slo_series(slo, min(1.0, high * 1.5), steps), at, rule.alert, expected,
                        f"{rule.alert} fires when the budget burns fast")
            yield _case(_slo_series(slo, low * 0.9, steps), at, rule.alert, [],
                        f"{rule.alert} stays quiet below {min(w.factor for w in windows):g}x burn")
            yield _case(_slo_series(slo, -1, steps), at, rule.alert, [], f"{rule.alert} stays quiet without traffic")


def recording_cases(settings: Settings) -> dict[str, Any]:
    """Steady traffic with known values; every checked rule's result is computed by hand."""
    steps = 12
    ttft = next(s for s in slos(settings.alerting) if s.name == rec.SLO_TTFT_LATENCY)
    model = {"model": "llama-3-8b", "strategy": "balanced", "cached": "false"}
    series = [
        _counter(c.INFERENCE.name, {**model, "status": "success"}, 9, steps),
        _counter(c.INFERENCE.name, {**model, "status": "error"}, 1, steps),
        _counter(c.TOKENS_GENERATED.name, {"model": "llama-3-8b", "strategy": "balanced"}, 50, steps),
        _counter(c.CACHE_HITS.name, {"cache_type": "response"}, 3, steps),
        _counter(c.CACHE_MISSES.name, {"cache_type": "response"}, 1, steps),
        _counter(c.COST.name, {"model": "gpt-4o-mini", "backend": "openai"}, 0.25, steps),
        _counter(c.FALLBACKS.name, {"from_backend": "vllm", "to_backend": "openai", "reason": "error"}, 2, steps),
        # Every inference between 1s and 2s: p95 = 1 + 0.95 * (2 - 1).
        *(_counter(c.INFERENCE_DURATION.bucket, {"model": "llama-3-8b", "strategy": "balanced", "le": floatToGoString(b)},
                   10 if b >= 2 else 0, steps) for b in (*(c.INFERENCE_DURATION.buckets or ()), math.inf)),
        *_slo_series(ttft, 0.1, steps).series,  # one request in ten slower than the TTFT bound
    ]
    expectations = [
        (rec.INFERENCE_ERROR_RATIO, {}, 0.1),
        (rec.MODEL_INFERENCE_ERROR_RATIO, {"model": "llama-3-8b"}, 0.1),
        (rec.TOKENS_GENERATED_RATE, {}, 50),
        (rec.CACHE_HIT_RATIO, {"cache_type": "response"}, 0.75),
        (rec.MODEL_COST_PER_HOUR, {"model": "gpt-4o-mini"}, 900),
        (rec.FALLBACK_RATIO, {}, 0.2),
        (f'{rec.INFERENCE_LATENCY_QUANTILE}{{quantile="0.95"}}', {"quantile": "0.95"}, 1.95),
    ]
    for slo in slos(settings.alerting):
        expectations += [
            (f'{rec.SLI_ERROR_5M}{{sloth_slo="{slo.name}"}}', {**slo.labels, "sloth_window": "5m"}, 0.1),
            (f'{rec.SLO_OBJECTIVE}{{sloth_slo="{slo.name}"}}', slo.labels, slo.ratio),
        ]
    tests = []
    for expr, labels, value in expectations:
        name = expr.split("{")[0]
        body = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        tests.append({"expr": expr, "eval_time": "10m",
                      "exp_samples": [{"labels": f"{name}{{{body}}}", "value": value}]})
    return {"name": "recording rules", "interval": f"{INTERVAL_S}s",
            "input_series": Scenario(tuple(series), None).input_series(), "promql_expr_test": tests}


def watchdog_case(settings: Settings) -> dict[str, Any]:
    rule = watchdog(settings)
    return _case(Scenario((_gauge("up", {}, 1, 3),), None), 1, rule.alert,
                 [{"exp_labels": dict(rule.labels), "exp_annotations": dict(rule.annotations)}],
                 "Watchdog always fires")


def _suite(tests: list[dict[str, Any]]) -> str:
    return dump({"rule_files": list(RULE_FILES), "evaluation_interval": f"{INTERVAL_S}s", "tests": tests})


def rule_tests(settings: Settings) -> dict[str, str]:
    alert_tests = [case for spec in SPECS for case in threshold_alert_cases(settings, spec)]
    return {
        "llm-router-alerts.test.yml": _suite([*alert_tests, watchdog_case(settings)]),
        "llm-router-slo.test.yml": _suite(list(slo_cases(settings))),
        "llm-router-recording.test.yml": _suite([recording_cases(settings)]),
    }

