"""Router events: what an inference looked like, and who wants to hear about it.

The router builds one ``InferenceContext`` when a request starts and one ``InferenceResult``
when it ends, then calls every registered ``InferenceObserver`` (metrics, logs, traces).
The observers never get to break the request: ``ObserverSet`` swallows their errors.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

_log = logging.getLogger(__name__)
_ids = itertools.count(1)


#: ``InferenceContext.attributes`` keys the router may fill: the prompt and completion text
#: (observers decide whether to keep them) and the provider name for traces.
PROMPT_ATTRIBUTE, COMPLETION_ATTRIBUTE, PROVIDER_ATTRIBUTE = "prompt", "completion", "provider"
#: Set before ``on_start``: the answer comes from the router's cache (no model is called), and
#: the (host, port) of the backend about to be called, when the router knows it.
CACHE_HIT_ATTRIBUTE, SERVER_ATTRIBUTE = "cache_hit", "server"


def _next_id() -> str:
    return f"inf-{next(_ids):08d}"


@dataclass
class InferenceContext:
    """What the router knows when an inference starts (mutable: the router fills in the backend)."""

    model: str
    strategy: str
    backend: str = ""
    prompt_tokens: int = 0
    max_tokens: int = 0
    stream: bool = False
    request_id: str = field(default_factory=_next_id)
    #: ``time.perf_counter()`` at the start; durations are measured from here.
    started_at: float = field(default_factory=time.perf_counter)
    #: Free-form extras for observers (trace ids, user tier, ...). Never used as metric labels.
    attributes: dict[str, object] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started_at


@dataclass
class InferenceResult:
    """How an inference ended. Durations in seconds, cost in US dollars."""

    model: str
    backend: str
    output_tokens: int
    duration_seconds: float
    prompt_tokens: int = 0
    #: Time to first token; None when the backend returned everything at once.
    ttft_seconds: float | None = None
    #: Time spent inside the backend call (without queueing and cache lookups).
    backend_seconds: float | None = None
    cached: bool = False
    cost_usd: float = 0.0
    finish_reason: str = "stop"
    #: The backend's id for the completion (OpenAI's ``chatcmpl-...``), when it gives one.
    response_id: str | None = None

    @property
    def time_per_output_token(self) -> float | None:
        """OpenTelemetry's definition: decode time after the first token / (output tokens - 1)."""
        if self.ttft_seconds is None or self.output_tokens < 2:
            return None
        return max(self.duration_seconds - self.ttft_seconds, 0.0) / (self.output_tokens - 1)

    @property
    def tokens_per_second(self) -> float | None:
        if self.duration_seconds <= 0 or self.output_tokens <= 0:
            return None
        return self.output_tokens / self.duration_seconds


@dataclass(frozen=True)
class ModelEvent:
    """A model was loaded (``load_seconds`` set) or unloaded."""

    name: str
    format: str
    size_bytes: int
    load_seconds: float | None = None


@runtime_checkable
class InferenceObserver(Protocol):
    """Anything that wants to hear about inferences: metrics collector, logger, tracer."""

    def on_start(self, ctx: InferenceContext) -> None: ...

    def on_complete(self, ctx: InferenceContext, result: InferenceResult) -> None: ...

    def on_error(self, ctx: InferenceContext, exc: BaseException) -> None: ...


class ObserverSet:
    """Calls every observer in registration order; one failing observer does not stop the others
    and never reaches the request."""

    def __init__(self, observers: Iterable[InferenceObserver] = ()) -> None:
        self._observers: list[InferenceObserver] = list(observers)
        self._reported: set[tuple[str, str]] = set()

    def add(self, observer: InferenceObserver) -> None:
        self._observers.append(observer)

    def __iter__(self) -> Iterator[InferenceObserver]:
        return iter(self._observers)

    def __len__(self) -> int:
        return len(self._observers)

    def start(self, ctx: InferenceContext) -> None:
        for observer in self._observers:
            self._call(observer, "on_start", ctx)

    def complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        for observer in self._observers:
            self._call(observer, "on_complete", ctx, result)

    def error(self, ctx: InferenceContext, exc: BaseException) -> None:
        for observer in self._observers:
            self._call(observer, "on_error", ctx, exc)

    def model_loaded(self, event: ModelEvent) -> None:
        """Model lifecycle is optional for an observer: only those with ``on_model_loaded`` hear it."""
        for observer in self._observers:
            if hasattr(observer, "on_model_loaded"):
                self._call(observer, "on_model_loaded", event)

    def model_unloaded(self, event: ModelEvent) -> None:
        for observer in self._observers:
            if hasattr(observer, "on_model_unloaded"):
                self._call(observer, "on_model_unloaded", event)

    def _call(self, observer: InferenceObserver, method: str, *args: object) -> None:
        try:
            getattr(observer, method)(*args)
        except Exception:  # an observer bug must not fail the inference
            key = (type(observer).__name__, method)
            if key not in self._reported:  # once per observer and method, not once per request
                self._reported.add(key)
                _log.exception("inference observer %s failed in %s (later failures are not logged)", *key)
