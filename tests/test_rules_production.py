"""Production scenarios for the prod rules, run by ``promtool test rules``: who pages, who does not.

The generated suites (``alerts.ruletests``) put every alert on both sides of its threshold,
floor and ``for``; these hand-written cases replay what the production review found: a client
error storm, a busy router with a handful of errors, a near-idle router with one error, a
backend failure storm, a router that stops finishing inferences, several router pods with some
down, exporter series of pods that are not the router's.

Each case checks which of the alerts it names fire, through the ``ALERTS`` series Prometheus
writes (``alertstate="firing"``), so it does not have to restate every annotation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.render import rule_files
from foundation.settings import load_settings
from llmmon.checkers import promtool_test_rules, require

POD = 'instance="10.1.0.4:9090", job="llm-router", namespace="llm-router-prod", pod="router-a", node="node-a"'
FAILURE = f'llm_router_errors_total{{{POD}, type="backend_error", component="llm_router", severity="error"}}'
SUCCESS = (f'llm_router_inference_total{{{POD}, model="llama-3-8b", strategy="balanced", status="success", '
           'cached="false"}')
ERROR = SUCCESS.replace('status="success"', 'status="error"')
PAGING = ("HighErrorRate", "CriticalErrorRate", "HighClientErrorRate", "AvailabilitySLOBurnRatePage",
          "AvailabilitySLOBurnRateTicket")


def per_minute(per_second: float, minutes: int = 30) -> str:
    return f"0+{per_second * 60:g}x{minutes}"


def firing(names: tuple[str, ...], expected: dict[str, int], at: str) -> dict[str, Any]:
    """``promql_expr_test``: of ``names``, exactly ``expected`` (name -> number of alerts) fire at ``at``."""
    return {"expr": f'count by (alertname) (ALERTS{{alertstate="firing", alertname=~"{"|".join(names)}"}})',
            "eval_time": at,
            "exp_samples": [{"labels": f'{{alertname="{n}"}}', "value": v} for n, v in sorted(expected.items())]}


def run(tmp_path: Path, input_series: list[tuple[str, str]], checks: list[dict[str, Any]], env: str = "prod") -> None:
    require("promtool")
    tmp_path.mkdir(parents=True, exist_ok=True)
    files = rule_files(load_settings(env))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    suite = {"rule_files": sorted(files), "evaluation_interval": "1m",
             "tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in input_series],
                        "promql_expr_test": checks}]}
    (tmp_path / "case.test.yml").write_text(yaml.safe_dump(suite, sort_keys=False))
    result = promtool_test_rules([tmp_path / "case.test.yml"])
    assert result.ok, result.output


def test_a_client_error_storm_pages_nobody(tmp_path):
    """Invalid requests (even ones a router files as severity=error), cache errors and backend attempts
    that retries fixed, at 10x the real traffic: no error alert, no SLO alert; the client alert opens a ticket."""
    api = f"llm_router_errors_total{{{POD}, type=\"validation_error\", component=\"api\""
    run(tmp_path, [
        (f'{api}, severity="warning"}}', per_minute(5)),
        (f'{api}, severity="error"}}', per_minute(1)),
        (f'llm_router_errors_total{{{POD}, type="backend_error", component="backend", severity="warning"}}',
         per_minute(2)),
        (f'llm_router_errors_total{{{POD}, type="cache_error", component="cache", severity="warning"}}',
         per_minute(1)),
        (SUCCESS, per_minute(1)),
        (ERROR, per_minute(0)),
    ], [firing(PAGING, {"HighClientErrorRate": 1}, "25m")])


@pytest.mark.parametrize(("failures_per_s", "expected"), [
    (0.3, {}),                                            # 0.3 %: above the seed's 0.1/s, a handful at 100/s
    (4.5, {}),                                            # 4.5 %: just short of the warning's 5 %
    (6, {"HighErrorRate": 1}),                            # 6 %
    (19, {"HighErrorRate": 1}),                           # 19 %: just short of the page's 20 %
    (25, {"HighErrorRate": 1, "CriticalErrorRate": 1}),   # a backend failure storm
])
def test_a_busy_router_pages_on_a_share_of_failures(tmp_path, failures_per_s, expected):
    run(tmp_path, [(FAILURE, per_minute(failures_per_s)), (ERROR, per_minute(failures_per_s)),
                   (SUCCESS, per_minute(100 - failures_per_s))],
        [firing(("HighErrorRate", "CriticalErrorRate"), expected, "25m")])


def test_a_near_idle_router_does_not_page_on_one_error(tmp_path):
    """Two requests in ten minutes, one failed: 50 % of inferences, far below the 0.1/s floor."""
    run(tmp_path, [(FAILURE, "0x12 1x18"), (ERROR, "0x12 1x18"), (SUCCESS, "0x5 1x24")],
        [firing(("HighErrorRate", "CriticalErrorRate"), {}, f"{m}m") for m in (13, 15, 20)])


STALL_BUSY = f"llm_router_inferences_in_progress{{{POD}}}"
DURATION = 'llm_router_inference_duration_seconds_bucket{%s, model="llama-3-8b", strategy="balanced", le="%s"}'


def latency_series(slow_from: int, stop_at: int, minutes: int = 40) -> list[tuple[str, str]]:
    """10 inferences/s, all under 10s until ``slow_from``, all over 120s after, none finishing from
    ``stop_at`` (80 stay in progress throughout)."""
    fast, slow = slow_from * 600, (stop_at - slow_from) * 600
    under = f"0+600x{slow_from} {fast}x{minutes - slow_from}"  # le="10" to le="120": no slow one fits
    every = f"0+600x{stop_at} {fast + slow}x{minutes - stop_at}"  # le="+Inf" and the inference counter
    return [*((DURATION % (POD, le), under) for le in ("10", "60", "120")), (DURATION % (POD, "+Inf"), every),
            (SUCCESS, every), (STALL_BUSY, f"80x{minutes}")]


def test_a_stalled_router_keeps_its_latency_alerts_and_raises_the_stall_alert(tmp_path):
    """The slow fault of the README: first every inference takes longer than 120s, then none finishes
    (clients time out). The p95 turns into nothing, yet the latency alerts stay firing, minute after
    minute, and RouterStalled joins them once a whole window went by without a finished inference."""
    names = ("HighResponseTime", "CriticalResponseTime", "RouterStalled")
    latency = {"HighResponseTime": 1, "CriticalResponseTime": 1}
    # Slow from minute 10 (high p95 from 11, warning's 'for' 3m), none finished since minute 15.
    checks = [firing(names, {"CriticalResponseTime": 1}, "12m")]
    checks += [firing(names, latency, f"{m}m") for m in range(15, 21)]  # 20: the last finished one left the window
    checks += [firing(names, {**latency, "RouterStalled": 1}, f"{m}m") for m in range(21, 40)]  # stalled + 'for'
    run(tmp_path, latency_series(slow_from=10, stop_at=15), checks)


def test_an_idle_router_is_not_stalled(tmp_path):
    """Nothing in progress, nothing finishing: no traffic is not a stall and has no latency."""
    run(tmp_path, [(SUCCESS, "0+600x10 6000x30"), (STALL_BUSY, "0x40")],
        [firing(("HighResponseTime", "CriticalResponseTime", "RouterStalled"), {}, f"{m}m") for m in (20, 30, 39)])


def test_a_young_router_is_not_stalled_before_a_whole_window(tmp_path):
    """A pod that appears at minute 5, busy, finishing nothing: not stalled while younger than the
    window (5m), stalled once a whole window went by (plus the rule's 'for')."""
    names = ("RouterStalled", "CriticalResponseTime")
    run(tmp_path, [(SUCCESS, "_x5 0x30"), (STALL_BUSY, "_x5 3x30")],
        [*(firing(names, {}, f"{m}m") for m in (5, 7, 9, 10)),
         firing(names, {"RouterStalled": 1, "CriticalResponseTime": 1}, "12m")])


def up(pod: int, value: int) -> tuple[str, str]:
    labels = POD.replace('pod="router-a"', f'pod="router-{pod}"').replace("10.1.0.4", f"10.1.0.{pod}")
    return (f"up{{{labels}}}", f"{value}x10")


def test_service_down_fires_per_pod_and_instances_down_past_half(tmp_path):
    """One of two pods down: one ServiceDown naming that pod, and half down is not "most"; three of
    four down: three ServiceDown and RouterInstancesDown."""
    run(tmp_path / "half", [up(1, 0), up(2, 1)],
        [firing(("ServiceDown", "RouterInstancesDown"), {"ServiceDown": 1}, "5m"),
         {"expr": 'ALERTS{alertname="ServiceDown", alertstate="firing"}', "eval_time": "5m",
          "exp_samples": [{"labels": 'ALERTS{alertname="ServiceDown", alertstate="firing", instance="10.1.0.1:9090", '
                                     'job="llm-router", namespace="llm-router-prod", node="node-a", pod="router-1", '
                                     'service="llm-router", severity="critical", signal="service_down"}',
                           "value": 1}]}])
    run(tmp_path / "most", [up(1, 0), up(2, 0), up(3, 0), up(4, 1)],
        [firing(("ServiceDown", "RouterInstancesDown"), {"ServiceDown": 3, "RouterInstancesDown": 1}, "5m")])


def test_no_router_target_at_all_is_all_down(tmp_path):
    """A selector that matches no pod leaves no ``up`` series: monitoring is blind, which must page."""
    run(tmp_path, [('up{instance="10.9.0.1:9100", job="node-exporter"}', "_x2 1x10")],
        [firing(("ServiceDown", "RouterInstancesDown"), {}, "2m"),  # Prometheus just started: no up at all yet
         firing(("ServiceDown", "RouterInstancesDown"), {"RouterInstancesDown": 1}, "5m")])


KSM = 'job="kube-state-metrics", instance="kube-state-metrics:8080", uid="1f2e"'


def test_exporter_alerts_only_watch_router_pods(tmp_path):
    """Another namespace's crash-looping, OOM-killed pod on a node under pressure: nothing fires;
    the same on the router pod and its node: each fires."""
    router_up = f"up{{{POD}}}"
    series = [(router_up, "1x30")]
    for pod, ns, node in (("router-a", "llm-router-prod", "node-a"), ("web-0", "shop", "node-z")):
        container = f'{KSM}, namespace="{ns}", pod="{pod}", container="main"'
        series += [
            (f"kube_pod_container_status_restarts_total{{{container}}}", "0+1x30"),
            (f'kube_pod_container_status_last_terminated_reason{{{container}, reason="OOMKilled"}}', "1x30"),
            (f'kube_node_status_condition{{{KSM}, node="{node}", condition="DiskPressure", status="true"}}', "1x30"),
        ]
    names = ("RouterPodRestarting", "RouterOOMKilled", "RouterNodePressure")
    which = {"expr": 'count by (alertname, pod, node) (ALERTS{alertstate="firing", alertname=~"Router.*"})',
             "eval_time": "25m",
             "exp_samples": [{"labels": '{alertname="RouterNodePressure", node="node-a"}', "value": 1},
                             {"labels": '{alertname="RouterOOMKilled", pod="router-a"}', "value": 1},
                             {"labels": '{alertname="RouterPodRestarting", pod="router-a"}', "value": 1}]}
    run(tmp_path, series, [firing(names, {name: 1 for name in names}, "25m"), which])


TOKENS = f'llm_router_tokens_generated_total{{{POD}, model="llama-3-8b", strategy="balanced"}}'


@pytest.mark.parametrize(("served_per_s", "expected"), [
    (0.4, {}),                           # a quiet night: few tokens because few requests
    (0.6, {"LowTokenGeneration": 1}),    # enough requests that 5 tokens/s means slow generation
])
def test_low_token_generation_is_armed_by_traffic_not_by_one_request(tmp_path, served_per_s, expected):
    """Both sides of the 0.5 inferences/s guard, at 5 tokens/s (half the seed's 10 tokens/s)."""
    run(tmp_path, [(TOKENS, per_minute(5)), (SUCCESS, per_minute(served_per_s))],
        [firing(("LowTokenGeneration",), expected, "25m")])


def span_series(pod: int, ended_per_s: float, exported_per_s: float) -> list[tuple[str, str]]:
    """One router pod's span counters: ``exported_per_s`` reach the collector, the rest fail."""
    target = (f'instance="10.1.0.{pod}:9090", job="llm-router", namespace="llm-router-prod", '
              f'pod="router-{pod}", node="node-a"')
    exported = "llm_router_trace_spans_exported_total{" + target
    return [(f"llm_router_trace_spans_ended_total{{{target}}}", per_minute(ended_per_s)),
            (f'{exported}, outcome="success"}}', per_minute(exported_per_s)),
            (f'{exported}, outcome="failure"}}', per_minute(ended_per_s - exported_per_s))]


@pytest.mark.parametrize(("lonely_exports", "others_export", "expected"), [
    (1.0, True, {}),                         # every pod exports everything
    (0.0, True, {"TraceSpansLost": 1}),      # one quiet pod of four exports nothing: 97 % of the fleet's spans
    (0.0, False, {"TraceSpansLost": 4}),     # the collector is down: every pod fires
])
def test_trace_spans_lost_fires_for_the_pod_that_loses_them(tmp_path, lonely_exports, others_export, expected):
    """Three pods ending 10 spans/s and a fourth ending 1/s (it just started, on a node whose
    network policy blocks the collector): summed over the fleet 30 of 31 spans/s are exported,
    yet that pod's traces are all gone."""
    series = span_series(4, 1, lonely_exports)
    for pod in (1, 2, 3):
        series += span_series(pod, 10, 10 if others_export else 0)
    checks = [firing(("TraceSpansLost",), expected, "25m")]
    if expected == {"TraceSpansLost": 1}:
        checks.append({"expr": 'count by (pod) (ALERTS{alertname="TraceSpansLost", alertstate="firing"})',
                       "eval_time": "25m", "exp_samples": [{"labels": '{pod="router-4"}', "value": 1}]})
    run(tmp_path, series, checks)
