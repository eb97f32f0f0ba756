"""Score one env's alerting rules (or a proposed set) over the scenario library.

The rules are those ``llmmon render`` writes (or the ``*.yml`` files of ``--rules DIR``), but
Thanos' own (``thanos-alerts.yml``: the metrics store is not simulated):
alerting rules and the recording rules they read, in their groups and order; recording rules
no alert reads are left out (they change no alert, and cost evaluation time). Scenarios run
in parallel worker processes, each simulating its fleet and handing it to promtool.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerts import thanos
from alerts.definitions import SPECS
from alerts.groups import effective_threshold
from alerts.model import duration_seconds
from foundation.alert_names import HIGH_COST_BURN, WATCHDOG
from foundation.promql_names import metric_names
from foundation.settings import Settings
from llmmon.alert_quality.engine import evaluate
from llmmon.alert_quality.scenarios import SCENARIOS, Scenario, usd_per_call
from llmmon.alert_quality.score import AlertInfo, ScenarioResult, Scorecard, result
from llmmon.alert_quality.simulate import Simulation
from llmmon.diff.routing import Router
from llmmon.render import collect, write


@dataclass(frozen=True)
class RuleSet:
    """The rules to score, written to ``path``, and what the simulation must feed them."""

    path: Path
    alerts: dict[str, dict[str, str]]
    #: Raw metric names the kept rules read.
    wanted: frozenset[str]


def rule_set(rule_files: Iterable[Path], out: Path, only: frozenset[str] | None = None) -> RuleSet:
    """Alerting rules (``only`` these, when given) plus the recording rules they need
    (transitively), in one file at ``out``."""
    groups = [g for f in sorted(rule_files) for g in (yaml.safe_load(f.read_text()) or {}).get("groups", [])]
    if only is not None:
        groups = [{**g, "rules": [r for r in g.get("rules", []) if "record" in r or r.get("alert") in only]}
                  for g in groups]
    rules = [r for g in groups for r in g.get("rules", [])]
    recorded = {r["record"] for r in rules if "record" in r}
    needed: set[str] = set()
    frontier = [str(r["expr"]) for r in rules if "alert" in r]
    while frontier:
        for name in metric_names(frontier.pop()) & recorded - needed:
            needed.add(name)
            frontier += [str(r["expr"]) for r in rules if r.get("record") == name]
    kept = []
    for g in groups:
        keep = [r for r in g.get("rules", []) if "alert" in r or r.get("record") in needed]
        if keep:
            kept.append({**g, "rules": keep})
    out.write_text(yaml.safe_dump({"groups": kept}, sort_keys=False))
    names = {n for g in kept for r in g["rules"] for n in metric_names(str(r["expr"]))} - recorded
    alerts = {r["alert"]: {k: str(v) for k, v in (r.get("labels") or {}).items()} for g in kept for r in g["rules"]
              if "alert" in r}
    return RuleSet(out, alerts, frozenset(names))


def cost_budget(settings: Settings) -> float:
    """The env's hourly spend budget: its HighCostBurn threshold (the env's, even with ``--rules``)."""
    spec = next(s for s in SPECS if s.name == HIGH_COST_BURN)
    return float(effective_threshold(settings, spec) or 0.0)


def _route_group_waits(route: Mapping[str, Any], inherited: str = "30s") -> dict[str, str]:
    """Receiver -> group_wait of the first route naming it (children inherit their parent's)."""
    wait = str(route.get("group_wait", inherited))
    out = {str(route["receiver"]): wait} if "receiver" in route else {}
    for child in route.get("routes", []) or []:
        for receiver, value in _route_group_waits(child, wait).items():
            out.setdefault(receiver, value)
    return out


def alert_infos(alerts: Mapping[str, Mapping[str, str]], alertmanager_yml: Path,
                external_labels: Mapping[str, str]) -> dict[str, AlertInfo]:
    """Severity, receiver (asked of amtool) and that route's group_wait, per alert."""
    router = Router(alertmanager_yml, external_labels)
    names = sorted(alerts)
    receivers = router.receivers([router.labels_for(name, alerts[name]) for name in names])
    waits = _route_group_waits(yaml.safe_load(alertmanager_yml.read_text())["route"])
    out = {}
    for name, receiver in zip(names, receivers, strict=True):
        first = receiver.split(",")[0].strip()
        out[name] = AlertInfo(alerts[name].get("severity", ""), receiver, duration_seconds(waits.get(first, "30s")))
    return out


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    rules: RuleSet
    scrape_interval_s: int
    eval_interval_s: int
    namespace: str
    usd_per_call: float


def _run(job: _Job) -> tuple[Scenario, list]:
    timeline = Simulation(job.scenario.state, job.scenario.pods, job.scenario.duration_s, job.scrape_interval_s,
                          job.namespace, job.rules.wanted, job.usd_per_call).run()
    firings = evaluate([job.rules.path], timeline, sorted(set(job.rules.alerts) - {WATCHDOG}), job.eval_interval_s)
    return job.scenario, firings


def score(settings: Settings, rules_dir: Path | None = None, scenarios: Iterable[Scenario] = SCENARIOS,
          workers: int | None = None) -> Scorecard:
    """The env's scorecard; ``rules_dir`` scores those rule files instead of the env's own."""
    with tempfile.TemporaryDirectory(prefix="llmmon-alert-quality-") as tmp:
        render = Path(tmp) / "render"
        write(collect(settings), render)
        # Thanos' own alerts watch the metrics store, which no scenario simulates (its absent()
        # rules would fire in every one, as they would in the local stack, where Thanos does not
        # run either): their promtool suite tests them instead.
        rule_files = sorted(f for f in (rules_dir or render / "prometheus" / "rules").glob("*.yml")
                            if f.name != thanos.RULE_FILE)
        if not rule_files:
            raise FileNotFoundError(f"no rule files (*.yml) in {rules_dir}")
        rules = rule_set(rule_files, Path(tmp) / "scored-rules.yml")
        prometheus = yaml.safe_load((render / "prometheus" / "prometheus.yml").read_text())["global"]
        infos = alert_infos(rules.alerts, render / "alertmanager" / "alertmanager.yml",
                            prometheus.get("external_labels") or {})
        eval_s = int(duration_seconds(prometheus.get("evaluation_interval", "1m")))
        scrape_s = int(duration_seconds(settings.router.scrape_interval))
        cost = usd_per_call(cost_budget(settings))
        jobs = []
        for i, s in enumerate(scenarios):
            scored = rules if s.scored is None else rule_set(rule_files, Path(tmp) / f"scored-rules-{i}.yml", s.scored)
            jobs.append(_Job(s, scored, s.scrape_interval_s or scrape_s, s.eval_interval_s or eval_s,
                             settings.router.pod_namespaces[0], cost))
        # Longest first, so that the pool is not left waiting on one long scenario at the end.
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i].scenario.duration_s / jobs[i].scrape_interval_s)
        with ProcessPoolExecutor(max_workers=workers or min(len(jobs), os.cpu_count() or 1)) as pool:
            done = dict(zip(order, pool.map(_run, [jobs[i] for i in order]), strict=True))
    results: list[ScenarioResult] = [result(s, firings, infos, jobs[i].eval_interval_s)
                                     for i, (s, firings) in sorted(done.items())]
    return Scorecard(settings.env, results, infos)
