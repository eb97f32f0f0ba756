"""The local stack's configuration, built by the alerts package's own functions.

Nothing here writes Prometheus or Alertmanager YAML by hand: the alerts package renders the
rules (the env's, or its test profile with short ``for`` durations), the ``prometheus.yml``
with loopback targets, and the Alertmanager config with every receiver pointed at the sink.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from alerts import render as alerts_render
from alerts.alertmanager import LOCAL_TIMINGS, local_alertmanager_config
from alerts.prometheus_config import as_replica, prometheus_config
from alerts.scrape_jobs import DCGM_JOB, StaticTarget
from alerts.yamlfmt import dump
from foundation.settings import Settings
from foundation.settings.alerting import RoutingSettings
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine_sim import engine_pod
from llmmon.localstack.stack import Endpoints


@dataclass(frozen=True)
class Profile:
    name: str
    #: Scrape and rule evaluation interval; None keeps the env's.
    interval: str | None
    prometheus_flags: tuple[str, ...] = ()
    #: ``--ha``: how long each Alertmanager peer waits for the one before it to notify
    #: (``--cluster.peer-timeout``; Alertmanager's default is 15s).
    peer_timeout_s: int = 15
    #: ``--ha``: how long Prometheus waits for an Alertmanager to take a batch of alerts, and how
    #: often it re-sends firing alerts (None: Prometheus' defaults, 10s and 1m). Prometheus sends
    #: each batch to every Alertmanager and waits for the slowest (prometheus/prometheus#7676),
    #: so a stopped peer holds every refresh for the timeout; an alert not refreshed within
    #: 4 × the resend delay expires in the other peers. Production has 10s against 4 × 1m; the
    #: test profile keeps that order with 2s against 4 × 3s.
    notify_timeout: str | None = None
    ha_resend_delay: str | None = None

    @property
    def cluster_flags(self) -> tuple[str, ...]:
        return (f"--cluster.peer-timeout={self.peer_timeout_s}s",)

    def prometheus_args(self, ha: bool) -> tuple[str, ...]:
        if not ha or self.ha_resend_delay is None:
            return self.prometheus_flags
        kept = [f for f in self.prometheus_flags if not f.startswith(RESEND_DELAY)]
        return (*kept, f"{RESEND_DELAY}{self.ha_resend_delay}")


RESEND_DELAY = "--rules.alert.resend-delay="
PROFILES: dict[str, Profile] = {
    "default": Profile("default", None),
    # Alerts fire within seconds: 1s scrape/evaluation, firing alerts re-sent every second; an
    # Alertmanager peer waits 2s per position for the ones before it (see ha_timings).
    "test": Profile("test", "1s", (f"{RESEND_DELAY}1s",), peer_timeout_s=2, notify_timeout="2s",
                    ha_resend_delay="3s"),
}


def ha_timings(peer_timeout_s: int, peers: int) -> RoutingSettings:
    """The local timings for a cluster: ``group_interval`` longer than the last peer's wait.

    A peer decides whether to notify from the group as it was when its wait began; if
    ``group_interval`` were shorter than ``(peers - 1) × peer timeout``, a peer behind in line
    could still be waiting on an older group state when the peer before it has already sent a
    newer one, and send the older one after it (a firing notification after the resolved one:
    Alertmanager issue 4008). Production timings (5m against 2 × 15s) keep that order too.
    """
    return dataclasses.replace(LOCAL_TIMINGS, group_interval=f"{peer_timeout_s * (peers - 1) + 1}s")


def simulated_targets(settings: Settings, router: str, config: RouterConfig | None = None
                      ) -> dict[str, list[StaticTarget]]:
    """The example router's simulated engines and GPU nodes as the env's engine and DCGM jobs' targets:
    each engine of the env that the router simulates, and one DCGM exporter per simulated GPU node."""
    simulated = {b.name for b in (config or RouterConfig()).backends if b.engine}
    out = {e.job: [StaticTarget(router, f"/engines/{e.name}/metrics", engine_pod(e.name))]
           for e in settings.engines.engines if e.name in simulated}
    nodes = sorted(engine_pod(name)["node"] for name in simulated)
    if settings.dcgm.enabled and nodes:
        out[DCGM_JOB] = [StaticTarget(router, f"/dcgm/{node}/metrics", {"node": node}) for node in nodes]
    return out


class LocalConfigs:
    """``ConfigBuilder`` for ``LocalStack`` from the alerts package's render functions.

    ``engines``: scrape the example router's simulated engines and GPUs (False for a router that has none,
    such as the LiteLLM one: their jobs are left out rather than shown down)."""

    def __init__(self, settings: Settings, profile: Profile, engines: bool = True) -> None:
        self.settings = settings
        self.profile = profile
        self.engines = engines

    @property
    def rule_profile(self) -> str:
        """The alerts package's profile: production timing, or compressed for tests."""
        return "test" if self.profile.name == "test" else "prod"

    def rule_files(self, workdir: Path) -> list[Path]:
        folder = workdir / "rules"
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.yml"):
            stale.unlink()
        paths = []
        for name, text in alerts_render.rule_files(self.settings, profile=self.rule_profile).items():
            (folder / name).write_text(text)
            paths.append(folder / name)
        return paths

    def prometheus_yml(self, endpoints: Endpoints, rule_files: list[Path]) -> str:
        config = prometheus_config(
            self.settings, router_targets=[endpoints.router], alertmanagers=list(endpoints.all_alertmanagers),
            rule_files=[str(p) for p in rule_files], node_exporter_targets=[], kubernetes=False,
            self_target=endpoints.prometheus, interval=self.profile.interval,
            pod_job_targets=simulated_targets(self.settings, endpoints.router) if self.engines else {},
        )
        if endpoints.replica is None:
            return dump(config)
        if self.profile.notify_timeout:
            config["alerting"]["alertmanagers"][0]["timeout"] = self.profile.notify_timeout
        return dump(as_replica(config, endpoints.replica))

    def alertmanager_yml(self, endpoints: Endpoints) -> str:
        # Every peer posts to the same sink; the path names the peer that sent (who deduplicated).
        if endpoints.replica is None:
            return dump(local_alertmanager_config(self.settings, f"{endpoints.webhook_url}/alerts"))
        timings = ha_timings(self.profile.peer_timeout_s, len(endpoints.all_alertmanagers))
        return dump(local_alertmanager_config(self.settings, f"{endpoints.webhook_url}/alerts/{endpoints.replica}",
                                              timings))
