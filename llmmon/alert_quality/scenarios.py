"""The scenario library: healthy days the alerts must sleep through, and incidents they must catch.

Every scenario is a fleet of router pods over time (``PodState`` per pod and moment). An
incident names the alerts meant to catch it (``expect``: each must fire, the time to detect is
measured from ``incident_at_s``) and the alerts that may also fire as symptoms of the same
failure (``allow``). A healthy scenario expects nothing and allows nothing. ``pages`` is False
where the situation must never page (bad clients): a critical alert firing there is a false page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from foundation import alert_names as n
from llmmon.alert_quality.fleet import PodState, diurnal, ramp

HOUR = 3600
#: What a healthy pod looks like (per pod: three pods make 12 inferences/s).
BASE = PodState(rps=4.0, cache_hit_share=0.65)
#: The healthy fleet's hourly spend, as a share of the env's cost budget (the HighCostBurn
#: threshold): an env is sized for its traffic, so the healthy scenarios spend what the env
#: expects (its bursty peak stays near half the budget) and cost-runaway goes far beyond it.
BASE_SPEND_SHARE = 0.15
BASE_PODS = 3


def usd_per_call(budget_usd_per_hour: float) -> float:
    """What one model call costs so that ``BASE`` traffic spends ``BASE_SPEND_SHARE`` of the budget."""
    calls_per_hour = BASE.rps * BASE_PODS * (1 - BASE.cache_hit_share) * HOUR
    return budget_usd_per_hour * BASE_SPEND_SHARE / calls_per_hour
#: The SLO alerts, by the SLO they watch.
AVAILABILITY_PAGE, AVAILABILITY_TICKET = "AvailabilitySLOBurnRatePage", "AvailabilitySLOBurnRateTicket"
TTFT_PAGE, TTFT_TICKET = "TTFTLatencySLOBurnRatePage", "TTFTLatencySLOBurnRateTicket"
LATENCY_SYMPTOMS = frozenset({n.HIGH_RESPONSE_TIME, n.CRITICAL_RESPONSE_TIME, TTFT_PAGE, TTFT_TICKET})


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    duration_s: int
    state: Callable[[float, int], PodState]
    incident_at_s: int | None = None
    expect: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    #: False: nothing critical may fire (the situation is real, but nobody should be woken).
    pages: bool = True
    pods: int = BASE_PODS
    #: Only these alerts are scored (None: every alert). Long scenarios score the SLO alerts only.
    scored: frozenset[str] | None = None
    #: Scrape and evaluation intervals for scenarios too long for the env's own (None: the env's).
    scrape_interval_s: int | None = None
    eval_interval_s: int | None = None

    @property
    def healthy(self) -> bool:
        return self.incident_at_s is None


def _after(t: float, start: float, state: PodState, changed: PodState) -> PodState:
    return changed if t >= start else state


def _steady(t: float, pod: int) -> PodState:
    return BASE


def _diurnal(t: float, pod: int) -> PodState:
    """A working day compressed into 6 hours: night trough, morning climb, bursts at the peak."""
    rps = diurnal(t, 0.4, 7.0, period_s=6 * HOUR, peak_at_s=3 * HOUR)
    burst = 2.0 if int(t // 300) % 7 == 3 and 2 * HOUR < t < 4 * HOUR else 1.0  # 5-minute bursts
    return BASE.but(rps=rps * burst, queue=1.0 + 6.0 * (burst - 1.0))


def _rolling_restart(t: float, pod: int) -> PodState:
    """A deployment rolls: one pod at a time stops (20 s of failed scrapes) and a new pod takes over."""
    roll_at = HOUR + pod * 300
    if roll_at <= t < roll_at + 20:
        return BASE.but(down=True)
    return BASE.but(generation=1 if t >= roll_at + 20 else 0)


def _client_storm(t: float, pod: int) -> PodState:
    return _after(t, HOUR, BASE, BASE.but(client_errors_rps=15.0))


def _backend_outage(t: float, pod: int) -> PodState:
    """The secondary backend dies; the router falls back to the primary, nobody sees errors."""
    return _after(t, HOUR, BASE, BASE.but(backends_down=frozenset({"secondary"}), recovered_share=0.15))


def _latency_degradation(t: float, pod: int) -> PodState:
    """Latency creeps up over an hour, from 1.2 s to 40 s per inference (TTFT with it)."""
    latency = ramp(t, HOUR, 2 * HOUR, 1.2, 40.0)
    return BASE.but(latency_s=latency, ttft_s=ramp(t, HOUR, 2 * HOUR, 0.25, 4.0))


def _router_outage(t: float, pod: int) -> PodState:
    return _after(t, HOUR, BASE, BASE.but(down=True))


def _stall(t: float, pod: int) -> PodState:
    return _after(t, HOUR, BASE, BASE.but(stalled=True))


def _memory_leak(t: float, pod: int) -> PodState:
    """Pod 0 leaks 4 GiB an hour until the container's 8 GiB limit kills it."""
    if pod != 0 or t < HOUR:
        return BASE
    grown = 1.1e9 + (t - HOUR) * 4 * 2**30 / HOUR
    if grown >= 8 * 2**30:  # OOM-killed and restarted in place; the leak starts over
        since = (t - HOUR) - (8 * 2**30 - 1.1e9) / (4 * 2**30 / HOUR)
        return BASE.but(restarts=1, oom_killed=True, resident_memory_bytes=1.1e9 + since * 4 * 2**30 / HOUR)
    return BASE.but(resident_memory_bytes=grown)


#: The canary's share of a regular pod's traffic in span-loss: its spans are 2 % of the fleet's,
#: so its loss summed over the fleet stays well above TraceSpansLost's 95 % (noise included).
CANARY_TRAFFIC = 1 / 16


def _span_loss(t: float, pod: int) -> PodState:
    """Pod 0, a canary serving a sixteenth of a regular pod's traffic, can no longer reach the trace
    collector (its node's network policy): every span it exports fails; the others' export fine."""
    if pod != 0:
        return BASE
    canary = BASE.but(rps=BASE.rps * CANARY_TRAFFIC)
    return _after(t, HOUR, canary, canary.but(span_export_share=0.0))


def _cache_collapse(t: float, pod: int) -> PodState:
    return _after(t, HOUR, BASE, BASE.but(cache_hit_share=0.1))


def _idle_night(t: float, pod: int) -> PodState:
    """A quiet night: one request every few minutes per pod, and one of them fails."""
    return BASE.but(rps=0.005, failure_share=0.2 if HOUR <= t < HOUR + 600 else 0.0, client_errors_rps=0.001)


def _failure_storm(t: float, pod: int) -> PodState:
    """70 % of model calls fail after every fallback: a quarter of all requests (the rest are cache hits)."""
    return _after(t, HOUR, BASE, BASE.but(failure_share=0.7))


DAY = 24 * HOUR


def _healthy_month(t: float, pod: int) -> PodState:
    """Thirty ordinary days: a daily cycle, errors well inside the budget with a bad afternoon
    each week (0.4 % for two hours), a 10-minute deploy gone wrong every Tuesday (20 % failures,
    rolled back), and a TTFT that slows at each day's peak (still within its SLO)."""
    day_s = t % DAY
    week_day = int(t // DAY) % 7
    peak = diurnal(t, 0.0, 1.0)
    failures = 0.002 + (0.01 if week_day == 3 and 14 * HOUR <= day_s < 16 * HOUR else 0.0)
    if week_day == 1 and 10 * HOUR <= day_s < 10 * HOUR + 600:
        failures = 0.2 / (1 - BASE.cache_hit_share)
    return BASE.but(rps=0.1 + 0.4 * peak, failure_share=failures, ttft_s=0.2 + 0.12 * peak)


SLO_ALERTS = frozenset({AVAILABILITY_PAGE, AVAILABILITY_TICKET, TTFT_PAGE, TTFT_TICKET})


def _cost_runaway(t: float, pod: int) -> PodState:
    """A client loops on the most expensive model: ten times the usual spend per call."""
    return _after(t, HOUR, BASE, BASE.but(spend=10.0))


def _slow_burn(t: float, pod: int) -> PodState:
    """Errors at 4x the availability budget (2 % of inferences): a ticket, not a page."""
    return _after(t, HOUR, BASE, BASE.but(failure_share=0.02 / (1 - BASE.cache_hit_share)))


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("steady", "two hours of steady healthy traffic", 2 * HOUR, _steady),
    Scenario("diurnal", "a day's cycle (compressed to 6 h) with 5-minute bursts at twice the load", 6 * HOUR, _diurnal),
    Scenario("rolling-restart", "a rolling restart of the 3 router pods, 5 minutes apart", 2 * HOUR, _rolling_restart),
    Scenario("idle-night", "almost no traffic, and one failed request", 2 * HOUR, _idle_night),
    Scenario("client-error-storm", "15 invalid requests/s per pod (bad clients): a warning, never a page",
             2 * HOUR, _client_storm, HOUR, frozenset({n.HIGH_CLIENT_ERROR_RATE}), pages=False),
    Scenario("backend-outage", "a backend dies, fallbacks answer every request", 2 * HOUR, _backend_outage, HOUR,
             frozenset({n.BACKEND_DOWN}), frozenset({n.HIGH_FALLBACK_RATE, n.BACKEND_COOLING_DOWN}), pages=False),
    Scenario("latency-degradation", "inference latency creeps from 1.2 s to 40 s over an hour", 3 * HOUR,
             _latency_degradation, HOUR, frozenset({n.HIGH_RESPONSE_TIME, TTFT_PAGE}),
             LATENCY_SYMPTOMS | {n.LOW_TOKEN_GENERATION}),
    Scenario("router-outage", "every router pod stops answering scrapes", 2 * HOUR, _router_outage, HOUR,
             frozenset({n.SERVICE_DOWN, n.ROUTER_INSTANCES_DOWN})),
    Scenario("stall", "requests arrive, nothing completes", 2 * HOUR, _stall, HOUR,
             frozenset({n.ROUTER_STALLED}), LATENCY_SYMPTOMS | {n.LOW_TOKEN_GENERATION}),
    Scenario("memory-leak", "one pod leaks memory until it is OOM-killed", 3 * HOUR, _memory_leak, HOUR,
             frozenset({n.HIGH_MEMORY_USAGE, n.CRITICAL_MEMORY_USAGE, n.ROUTER_OOM_KILLED}),
             frozenset({n.ROUTER_POD_RESTARTING})),
    Scenario("span-loss", "a canary pod's spans all fail to export (2 % of the fleet's; the others' reach "
             "the collector)", 2 * HOUR, _span_loss, HOUR, frozenset({n.TRACE_SPANS_LOST}), pages=False,
             pods=BASE_PODS + 1),
    Scenario("cache-collapse", "the cache hit ratio drops from 65 % to 10 %", 2 * HOUR, _cache_collapse, HOUR,
             frozenset({n.LOW_CACHE_HIT_RATE}), frozenset({n.HIGH_COST_BURN})),
    Scenario("failure-storm", "70 % of model calls fail after every fallback (a quarter of all requests)", 2 * HOUR, _failure_storm, HOUR,
             frozenset({n.CRITICAL_ERROR_RATE, AVAILABILITY_PAGE}), frozenset({n.HIGH_ERROR_RATE, AVAILABILITY_TICKET})),
    Scenario("cost-runaway", "spend per model call jumps tenfold (a client looping on the biggest model)",
             3 * HOUR, _cost_runaway, HOUR, frozenset({n.HIGH_COST_BURN})),
    Scenario("healthy-month", "30 days of ordinary traffic, bad afternoons and one 10-minute bad deploy a week: "
             "no SLO ticket, no page (SLO alerts only, scraped every 2 minutes, evaluated every 5)",
             30 * DAY, _healthy_month, pods=1, scored=SLO_ALERTS, scrape_interval_s=120, eval_interval_s=300),
    Scenario("slow-burn", "2 % of inferences fail: the availability budget burns at 4x", 8 * HOUR, _slow_burn, HOUR,
             frozenset({AVAILABILITY_TICKET}), pages=False),
)
