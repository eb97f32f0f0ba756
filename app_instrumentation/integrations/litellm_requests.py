"""Client requests out of LiteLLM's attempts: one inference per request, retries and fallbacks between.

LiteLLM reports each attempt (first call, retry, fallback hop) on its own; the project's metrics count
a *request* once (``inference_total``), like the example router does. ``RequestTracker`` groups the
attempts of a request by LiteLLM's trace id:

- the first attempt starts the inference (observers' ``on_start``: span, "Inference started" log);
- a failed attempt is a backend failure at once (``backend_request_duration{status="error"}``,
  ``errors_total{component="backend"}``, ``rate_limited_total`` for a 429, the backend's state);
- the next attempt of the same request turns that failure into a retry (same model group) or a
  fallback (another group);
- a successful attempt completes the inference;
- a failed attempt that nothing follows fails the inference. LiteLLM's SDK has no request-level
  failure event, so the failure *settles* when no retry or fallback started within ``settle_seconds``
  (LiteLLM's default backoff is at most 8.75 s), or at once when the request is reported failed
  (``request_failed``: the Proxy's hook, or the caller's except block). LiteLLM may report the last
  attempt after the caller already saw the exception: a request reported failed waits
  ``LATE_ATTEMPT_SECONDS`` for it, so it is timed and attributed from its attempts.

State is bounded: at most ``max_in_flight`` requests are tracked and a request silent for
``stale_seconds`` (cancelled: LiteLLM reports nothing) is forgotten.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from app_instrumentation.catalog import ERROR_TYPES, OTHER
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import (
    CACHE_HIT_ATTRIBUTE,
    COMPLETION_ATTRIBUTE,
    PROMPT_ATTRIBUTE,
    PROVIDER_ATTRIBUTE,
    SERVER_ATTRIBUTE,
    InferenceContext,
    InferenceResult,
    ObserverSet,
)
from app_instrumentation.guard import guarded
from app_instrumentation.integrations.litellm_attempts import (
    Attempt,
    backend_name,
    error_type,
    reason,
    status_code,
)

DEFAULT_SETTLE_SECONDS = 10.0
LATE_ATTEMPT_SECONDS = 2.0
#: LiteLLM Router defaults: a deployment failing more than ``allowed_fails`` times is cooled down
#: (not sent traffic) for ``cooldown_time`` seconds. LiteLLM tells no callback about a cooldown.
ALLOWED_FAILS, COOLDOWN_TIME = 3, 5.0
#: A deployment shown cooling down with no failure for this many cooldown periods is shown degraded
#: again: LiteLLM routes to it anew (a failing one fails again within about one period).
COOLDOWN_PERIODS_SHOWN = 3
MAX_IN_FLIGHT = 10_000
STALE_SECONDS = 900.0
#: Call ids and closed trace ids remembered (an attempt reported twice is counted once).
REMEMBERED = 4096
COMPONENT_BACKEND, COMPONENT_API = "backend", "api"


@dataclass
class _Request:
    ctx: InferenceContext
    #: When the request's first attempt started (LiteLLM's ``start_time``).
    start: datetime | None
    #: Observers heard ``on_start`` (an attempt was seen, or the request is known to be an inference).
    announced: bool = True
    #: The last failed attempt, until a retry or fallback follows or the failure settles.
    failed: Attempt | None = None
    #: The failure the caller or the Proxy reported for the whole request.
    outcome: BaseException | None = None
    deadline: float = 0.0
    touched: float = 0.0
    #: LiteLLM call ids of its attempts (the Proxy's failure hook names the request by one).
    calls: list[str] = field(default_factory=list)
    #: ``Attempt.failure_key`` of the failed attempts already counted.
    failures: set[tuple[str | None, str | None, int]] = field(default_factory=set)
    #: The attempt under way (started, not reported ended).
    current: Attempt | None = None


class UnreportedFailure(Exception):
    """An attempt LiteLLM reported no failure event for (the Proxy logs only a request's first
    failure), known from the next attempt's ``previous_models``."""

    def __init__(self, error_type: str) -> None:
        super().__init__(f"attempt failed ({error_type}), not reported by LiteLLM")
        self.error_type = error_type


def tag_error_type(exc: BaseException, error: str) -> None:
    """Observers classify by an ``error_type`` attribute: give LiteLLM's exception the project's type."""
    if getattr(exc, "error_type", None) in ERROR_TYPES:
        return
    try:
        exc.error_type = error  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an exception class with __slots__ keeps its name-based type
        pass


def cooldown_ids(exc: BaseException) -> list[str]:
    """Deployments a ``RouterRateLimitError`` says are cooling down (every one of the group)."""
    ids = getattr(exc, "cooldown_list", None)
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list | tuple) else []


def _remember(seen: OrderedDict[str, None], key: str) -> bool:
    """Add ``key`` to a bounded memory; True if it was there already."""
    if key in seen:
        return True
    seen[key] = None
    if len(seen) > REMEMBERED:
        seen.popitem(last=False)
    return False


class RequestTracker:
    def __init__(
        self,
        collector: MetricsCollector,
        observers: ObserverSet,
        *,
        strategy: str,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = MAX_IN_FLIGHT,
        stale_seconds: float = STALE_SECONDS,
        allowed_fails: int = ALLOWED_FAILS,
        cooldown_time: float = COOLDOWN_TIME,
        background: bool = True,
    ) -> None:
        self.collector = collector
        self.observers = observers
        self.strategy = strategy
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.max_in_flight = max_in_flight
        self.stale_seconds = stale_seconds
        self.allowed_fails = allowed_fails
        self.cooldown_time = cooldown_time
        self._lock = threading.RLock()
        #: Requests by trace id, least recently active first.
        self._requests: OrderedDict[str, _Request] = OrderedDict()
        #: (deadline, trace id) of requests waiting to fail; entries whose request moved on are skipped.
        self._deadlines: list[tuple[float, str]] = []
        self._calls: OrderedDict[str, None] = OrderedDict()
        #: Call id -> key of the tracked request it belongs to.
        self._by_call: dict[str, str] = {}
        #: Trace id -> when its request failed as a whole: a late attempt of it (started before) only
        #: counts for its backend; a later request reusing the trace id (a session id) is a new one.
        self._closed: OrderedDict[str, datetime] = OrderedDict()
        self._states: dict[str, str] = {}
        self._failures: dict[str, int] = {}
        #: Backend shown cooling down -> when it is shown degraded again unless it fails meanwhile.
        self._cooling: dict[str, float] = {}
        #: Deployment id -> backend label, to name the deployments a cooldown error lists.
        self._backends: dict[str, str] = {}
        #: With an open label policy, only names the Router itself routed to become ``model`` values.
        self._vouch = collector.policy.models is None
        self._vouched: set[str] = set()
        self._settler = _Settler(self) if background else None
        #: Terminal events handled (successes, failed attempts, request failures), for tests and debugging.
        self.events = 0

    def instrumentation_failed(self, operation: str, exc: BaseException) -> None:
        self.collector.instrumentation_failed(operation, exc)

    # --- attempts (every entry point is guarded: counted in instrumentation_errors_total, never raised) --
    @guarded("litellm_attempt_start")
    def started(self, a: Attempt, prompt: str | None = None) -> None:
        with self._lock:
            now = self.clock()
            self._forget_stale(now)
            if self._late(a) or a.refused:
                return  # a Proxy refusal (bad key, budget): its failure hook reports it
            request = self._lookup(a)
            if request is None:
                self._open(a, prompt, now)
            else:
                self._continue(request, a, now)

    @guarded("litellm_success")
    def succeeded(
        self, a: Attempt, finish_reason: str, completion: str | None = None, response_id: str | None = None,
    ) -> None:
        with self._lock:
            if self._repeated(a):
                return
            self.events += 1
            if a.routed:
                self._failures.pop(a.backend, None)
                self._cooling.pop(a.backend, None)
                self._publish(a.backend, "healthy")
                self._publish_remaining(a)
            if self._late(a):
                return
            request = self._lookup(a)
            if request is None:
                request = self._open(a, None, self.clock(), track=False)
            else:
                self._continue(request, a, self.clock())
                if request.outcome is not None:  # the caller already saw this request fail
                    self._close(a.trace_id, request, None)
                    return
                self._take(a.trace_id)
            ctx, start = request.ctx, request.start or a.start
            if a.cache_hit is not None:
                (self.collector.cache_hit if a.cache_hit else self.collector.cache_miss)("response")
            if completion is not None:
                ctx.attributes[COMPLETION_ATTRIBUTE] = completion
            ctx.prompt_tokens = a.prompt_tokens
            result = InferenceResult(
                model=ctx.model, backend=ctx.backend, output_tokens=a.completion_tokens,
                duration_seconds=_or(a.seconds(start), ctx.elapsed()), prompt_tokens=a.prompt_tokens,
                ttft_seconds=a.seconds(start, a.first_token) if a.first_token else None,
                backend_seconds=a.seconds(a.api_start or a.start), cached=a.cache_hit is True,
                cost_usd=a.cost_usd, finish_reason=finish_reason, response_id=response_id,
            )
            self.observers.complete(ctx, result)

    @guarded("litellm_failure")
    def failed(self, a: Attempt) -> None:
        with self._lock:
            self._failed(a)
        self._wake()  # outside the lock: the settler takes it to settle

    def _failed(self, a: Attempt) -> None:
        if a.refused or self._repeated(a):
            return
        self.events += 1
        now = self.clock()
        request = self._lookup(a)
        if request is None and not self._late(a):
            request = self._open(a, None, now)
        elif request is not None:
            self._continue(request, a, now)
        if request is not None and a.failure_key in request.failures:
            return  # counted already, from a later attempt's previous_models: the request moved on
        self._backend_failed(a, request.ctx.model if request is not None else self._model(a.requested_group))
        if request is None:
            return
        request.failures.add(a.failure_key)
        request.failed = a
        if request.current is not None and request.current.key == a.key:
            request.current = None
        if request.outcome is not None:  # the request already failed as a whole: this was its last attempt
            self._close(a.trace_id, request, None)
        else:
            self._wait(a.trace_id, request, now + self.settle_seconds)

    @guarded("litellm_request_failure")
    def request_failed(
        self, trace_id: str | None, exc: BaseException, requested_model: str | None, call_id: str | None = None,
    ) -> None:
        """The request failed (the Proxy's hook, or a caller's except block): fail its inference.

        The request is named by its trace id or by one of its call ids (the Proxy's hook knows only
        that). Also counts what LiteLLM calls back nothing for: a Router that refused the request
        because every deployment of the group is cooling down (those are shown cooling down)."""
        with self._lock:
            self.events += 1
            for deployment_id in cooldown_ids(exc):
                backend = self._backends.get(deployment_id) or backend_name(deployment_id, None, None)
                if backend:
                    self._cool(backend)
            key = trace_id or (self._by_call.get(call_id) if call_id else None)
            request = self._requests.get(key) if key else None
            if request is not None and request.failed is not None:
                self._close(key or "", request, exc)
            elif request is None and key is None and call_id is None:  # nothing can match it later: decide now
                request = _Request(self._context(self._model(requested_model), "", None, None), None, announced=False)
                request.outcome = exc
                self._settle_request(request)
            else:
                if request is None:  # LiteLLM may still report its attempts: wait a little for them
                    key = key or f"call:{call_id}"
                    request = _Request(self._context(self._model(requested_model), "", None, None), None,
                                       announced=False)
                    self._requests[key] = request
                    if call_id:
                        self._note_call(key, request, call_id)
                request.outcome = exc
                self._wait(key or "", request, self.clock() + LATE_ATTEMPT_SECONDS)
        self._wake()

    # --- settling -------------------------------------------------------------------------
    @guarded("litellm_settle")
    def settle(self, trace_id: str | None = None, *, due_only: bool = False) -> int:
        """Fail the requests waiting to: the one of ``trace_id``, those past their deadline
        (``due_only``), or all of them. Returns how many were settled."""
        with self._lock:
            now = self.clock()
            if trace_id is not None:
                keys = [trace_id]
            elif due_only:
                self._expire_cooling(now)
                keys = []
                while self._deadlines and self._deadlines[0][0] <= now:
                    keys.append(heapq.heappop(self._deadlines)[1])
            else:
                keys = list(self._requests)
            settled = 0
            for key in keys:
                request = self._requests.get(key)
                if request is None or not self._waiting(request) or (due_only and request.deadline > now):
                    continue
                self._take(key)
                self._settle_request(request)
                settled += 1
            return settled

    def next_deadline(self) -> float | None:
        """When ``settle(due_only=True)`` next has something to do (a request or a cooling backend)."""
        with self._lock:
            cooling = min(self._cooling.values(), default=None)
            while self._deadlines:
                deadline, key = self._deadlines[0]
                request = self._requests.get(key)
                if request is not None and self._waiting(request) and request.deadline == deadline:
                    return deadline if cooling is None else min(deadline, cooling)
                heapq.heappop(self._deadlines)  # that request moved on
            return cooling

    def in_flight(self) -> int:
        return len(self._requests)

    # --- internals ------------------------------------------------------------------------
    @staticmethod
    def _waiting(request: _Request) -> bool:
        return request.failed is not None or request.outcome is not None

    def _wait(self, key: str, request: _Request, deadline: float) -> None:
        request.deadline = deadline
        heapq.heappush(self._deadlines, (deadline, key))

    def _wake(self) -> None:
        if self._settler is not None:
            self._settler.wake()

    def _model(self, group: str | None) -> str:
        if not group:
            return OTHER
        return group if not self._vouch or group in self._vouched else OTHER

    def _context(self, model: str, backend: str, provider: str | None, prompt: str | None) -> InferenceContext:
        attributes: dict[str, object] = {}
        if prompt is not None:
            attributes[PROMPT_ATTRIBUTE] = prompt
        if provider:
            attributes[PROVIDER_ATTRIBUTE] = provider
        return InferenceContext(model=model, strategy=self.strategy, backend=backend, attributes=attributes)

    def _learn(self, a: Attempt) -> None:
        """Names the Router routed to: trusted model groups, and each deployment's backend label."""
        bound = 4 * self.collector.policy.max_series
        if a.deployment_id is None:
            return
        if self._vouch and len(self._vouched) < bound:
            self._vouched.update(g for g in (a.model_group, a.requested_group) if g)
        if len(self._backends) < bound:
            self._backends[a.deployment_id] = a.backend

    def _lookup(self, a: Attempt) -> _Request | None:
        """The tracked request of an attempt, by trace id or by call id (moved to the trace id)."""
        request = self._requests.get(a.trace_id)
        key = self._by_call.get(a.call_id) if request is None and a.call_id else None
        if key is None or key not in self._requests:
            return request
        request = self._requests.pop(key)
        self._requests[a.trace_id] = request
        for call in request.calls:
            self._by_call[call] = a.trace_id
        if self._waiting(request):
            self._wait(a.trace_id, request, request.deadline)
        return request

    def _note_call(self, key: str, request: _Request, call_id: str) -> None:
        if call_id not in self._by_call:
            request.calls.append(call_id)
            self._by_call[call_id] = key

    def _open(self, a: Attempt, prompt: str | None, now: float, track: bool = True) -> _Request:
        self._learn(a)
        ctx = self._context(self._model(a.requested_group), a.backend, a.provider, prompt)
        ctx.stream, ctx.max_tokens = a.stream, a.max_tokens
        if a.server is not None:
            ctx.attributes[SERVER_ATTRIBUTE] = a.server
        if a.cache_hit:  # LiteLLM's cache answered: no model was called
            ctx.attributes[CACHE_HIT_ATTRIBUTE] = True
        request = _Request(ctx, a.start, touched=now, current=a if a.routed else None)
        self.observers.start(ctx)
        if track:
            self._requests[a.trace_id] = request
            if a.call_id:
                self._note_call(a.trace_id, request, a.call_id)
            while len(self._requests) > self.max_in_flight:
                self._evict(next(iter(self._requests)))
        return request

    def _continue(self, request: _Request, a: Attempt, now: float) -> None:
        """A later attempt of a known request: its previous failure was retried or fell back."""
        self._learn(a)
        request.touched = now
        self._requests.move_to_end(a.trace_id)
        if a.call_id:
            self._note_call(a.trace_id, request, a.call_id)
        if not request.announced:  # reported failed before LiteLLM reported its attempts
            request.ctx = self._context(self._model(a.requested_group), a.backend, a.provider, None)
            request.start, request.announced = a.start, True
            self.observers.start(request.ctx)
        if a.routed:  # traces and logs describe the deployment that answered (or failed last)
            request.ctx.backend = a.backend
            if a.provider:
                request.ctx.attributes[PROVIDER_ATTRIBUTE] = a.provider
            request.ctx.attributes.pop(SERVER_ATTRIBUTE, None)
            if a.server is not None:
                request.ctx.attributes[SERVER_ATTRIBUTE] = a.server
        self._count_unreported(request, a)
        if a.routed and (request.current is None or request.current.key != a.key):
            request.current = a
        failed = request.failed
        if failed is None or failed.key == a.key or not a.routed:
            return
        request.failed = None
        if failed.routed and failed.exception is not None:
            why = reason(error_type(failed.exception, failed.status))
            if a.model_group != failed.model_group:
                self.collector.fallback(failed.backend, a.backend, why)
            else:
                self.collector.retry(failed.backend, why)

    def _count_unreported(self, request: _Request, a: Attempt) -> None:
        """Failed attempts the Router lists before ``a`` that LiteLLM sent no failure event for."""
        for earlier in a.previous:
            if earlier.key in request.failures or earlier.deployment_id is None:
                continue
            request.failures.add(earlier.key)
            backend = self._backends.get(earlier.deployment_id) or backend_name(earlier.deployment_id, None, None)
            request.failed = Attempt(
                trace_id=a.trace_id, call_id=a.call_id, model_group=earlier.model_group, requested_group=None,
                deployment_id=earlier.deployment_id, backend=backend, provider=a.provider, stream=a.stream,
                start=None, api_start=None, first_token=None, end=None,
                exception=UnreportedFailure(earlier.error_type), retries=earlier.retries,
            )
            self._backend_failed(request.failed, request.ctx.model)

    def _backend_failed(self, a: Attempt, model: str) -> None:
        if not a.routed or a.exception is None:
            return
        error = error_type(a.exception, a.status)
        self.collector.backend_request(model, a.backend, "error", _or(a.seconds(a.api_start), 0.0))
        self.collector.error(error, COMPONENT_BACKEND, "warning")
        if error == "rate_limited":
            self.collector.rate_limited(a.backend)
        failures = self._failures[a.backend] = self._failures.get(a.backend, 0) + 1
        if a.cooled_down or failures > self.allowed_fails or a.backend in self._cooling:
            self._cool(a.backend)
        else:
            self._publish(a.backend, "degraded")

    def _cool(self, backend: str) -> None:
        self._cooling[backend] = self.clock() + COOLDOWN_PERIODS_SHOWN * self.cooldown_time
        self._publish(backend, "cooling_down")

    def _expire_cooling(self, now: float) -> None:
        for backend, until in list(self._cooling.items()):
            if until <= now:
                del self._cooling[backend]
                self._publish(backend, "degraded")

    def _close(self, key: str, request: _Request, exc: BaseException | None) -> None:
        """The request failed as a whole: fail its inference now and ignore its late attempts."""
        self._take(key)
        self._closed[key] = datetime.now()  # LiteLLM's own clock: naive local time
        while len(self._closed) > REMEMBERED:
            self._closed.popitem(last=False)
        self._fail(request, exc)

    def _late(self, a: Attempt) -> bool:
        """An attempt of a request that already failed as a whole."""
        closed = self._closed.get(a.trace_id)
        return closed is not None and (a.start is None or a.start <= closed)

    def _settle_request(self, request: _Request) -> None:
        exc = request.outcome
        if not request.announced and exc is not None and not cooldown_ids(exc):
            status = status_code(exc)
            if status is not None and 400 <= status < 500 and not getattr(exc, "llm_provider", None):
                # Refused before any deployment was tried (bad request, auth, budget): not an inference.
                self.collector.error("rate_limited" if status == 429 else "validation_error", COMPONENT_API, "warning")
                return
        self._fail(request, exc)

    def _fail(self, request: _Request, exc: BaseException | None) -> None:
        failed, current = request.failed, request.current
        exc = exc or request.outcome or (failed.exception if failed is not None else None)
        exc = exc or RuntimeError("LiteLLM request failed")
        if current is not None and current.failure_key not in request.failures:
            # Its last attempt failed with the request, unreported (the Proxy reports a request's first failure only).
            request.failures.add(current.failure_key)
            self._backend_failed(replace(current, exception=exc, status=status_code(exc)), request.ctx.model)
        if cooldown_ids(exc):
            tag_error_type(exc, "backend_error")  # no deployment could take it, as the example router's
        tag_error_type(exc, error_type(exc, status_code(exc)))
        if not request.announced:
            request.announced = True
            self.observers.start(request.ctx)
        end = failed.end if failed is not None else None
        if request.start is not None and end is not None:  # observers time the failure from ctx.started_at
            request.ctx.started_at = time.perf_counter() - max((end - request.start).total_seconds(), 0.0)
        self.observers.error(request.ctx, exc)

    def _repeated(self, a: Attempt) -> bool:
        return bool(a.call_id) and _remember(self._calls, a.key)

    def _take(self, key: str) -> _Request | None:
        request = self._requests.pop(key, None)
        for call in request.calls if request is not None else ():
            self._by_call.pop(call, None)
        return request

    def _forget_stale(self, now: float) -> None:
        while self._requests:
            key, oldest = next(iter(self._requests.items()))
            if now - oldest.touched < self.stale_seconds:
                return
            self._evict(key)

    def _evict(self, key: str) -> None:
        request = self._take(key)
        if request is not None and self._waiting(request):
            self._settle_request(request)

    def _publish(self, backend: str, state: str) -> None:
        if self._states.get(backend) != state and len(self._states) < 4 * self.collector.policy.max_series:
            self._states[backend] = state
            self.collector.backend_state(backend, state)

    def _publish_remaining(self, a: Attempt) -> None:
        for value, limit_type in ((a.remaining_requests, "requests"), (a.remaining_tokens, "tokens")):
            if value is not None:
                self.collector.rate_limit_remaining(a.backend, value, limit_type)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


class _Settler:
    """A daemon thread that settles failed requests when their deadline passes (started on first use,
    and again in a forked worker, where the parent's thread does not exist)."""

    def __init__(self, tracker: RequestTracker) -> None:
        self.tracker = tracker
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wake(self) -> None:
        with self._cond:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="litellm-settler", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:  # read the deadline under the condition, so no wake() is missed
                deadline = self.tracker.next_deadline()
                wait = None if deadline is None else deadline - self.tracker.clock()
                if wait is None or wait > 0:
                    self._cond.wait(wait)
            self.tracker.settle(due_only=True)  # guarded: never raises
