"""One LiteLLM call attempt, read from the ``kwargs`` LiteLLM hands its callbacks (no litellm import).

LiteLLM calls a ``CustomLogger`` once per attempt: the first call, each retry and each fallback hop
is its own call with its own ``litellm_call_id``, and they all share the request's
``litellm_trace_id``. The Router stamps its view on ``litellm_params.metadata``: the model group it
routed to (``model_group``, and ``original_model_group`` the client asked for), the deployment
(``model_info.id``, ``deployment``), ``attempted_retries`` and ``attempted_fallbacks``. The
``standard_logging_object`` adds tokens, ``response_cost``, ``cache_hit`` and the error's details.

Everything is read defensively: a missing or odd-typed field gives a default, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app_instrumentation.errors import classify

#: LiteLLM names a deployment without an explicit ``model_info.id`` by a SHA-256 of its settings:
#: unreadable on a dashboard, so such a deployment is labelled by its provider/model instead.
_GENERATED_ID = re.compile(r"[0-9a-f]{64}")
#: HTTP status -> catalog error type. A 4xx other than these means the deployment itself is
#: misconfigured (bad key, unknown model): a backend error, not the client's.
_STATUS_TYPES = {400: "validation_error", 413: "validation_error", 422: "validation_error",
                 408: "backend_timeout", 504: "backend_timeout", 429: "rate_limited"}
#: LiteLLM exception class -> catalog error type, for a failure known only by its class name.
_CLASS_TYPES = {"RateLimitError": "rate_limited", "Timeout": "backend_timeout", "BadRequestError": "validation_error",
                "ContextWindowExceededError": "validation_error", "ContentPolicyViolationError": "validation_error",
                "UnprocessableEntityError": "validation_error"}
#: Catalog error type -> ``retries_total``/``fallbacks_total`` reason.
_REASONS = {"rate_limited": "rate_limited", "backend_timeout": "timeout"}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 0.0


def _time(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _status(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def status_code(exc: BaseException | None, logged: Mapping[str, Any] | None = None) -> int | None:
    """The HTTP status of a failure: ``status_code`` (LiteLLM's exceptions), ``code`` (the Proxy's
    ``ProxyException``, a string), or the logged ``error_code``."""
    code = _status(getattr(exc, "status_code", None)) or _status(getattr(exc, "code", None))
    if code is None and logged is not None:
        code = _status(_mapping(logged.get("error_information")).get("error_code"))
    return code


def error_type(exc: BaseException, status: int | None) -> str:
    """The catalog error type of a failed LiteLLM call: client (4xx request) vs backend, like the project's."""
    if status in _STATUS_TYPES:
        return _STATUS_TYPES[status]
    if status is not None:
        return "backend_error"
    return classify(exc, "backend_error")


def reason(error: str) -> str:
    """``retries_total``/``fallbacks_total`` reason of a failure of catalog type ``error``."""
    return _REASONS.get(error, "error")


def backend_name(deployment_id: str | None, model: str | None, provider: str | None) -> str:
    """The ``backend`` label: the deployment's own id, or provider/model when LiteLLM generated the id."""
    if deployment_id and not _GENERATED_ID.fullmatch(deployment_id):
        return deployment_id
    if model:
        return model if "/" in model or not provider else f"{provider}/{model}"
    return provider or ""


def message_text(messages: object) -> str | None:
    """The text of a chat request's messages (string contents and text parts), for the logs."""
    if not isinstance(messages, list):
        return None
    parts: list[str] = []
    for message in messages:
        content = _mapping(message).get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str))
    return "\n".join(parts)


def _first_choice(response: object) -> Any:
    choices = getattr(response, "choices", None)
    return choices[0] if isinstance(choices, list) and choices else None


def finish_reason(response: object) -> str:
    return _str(getattr(_first_choice(response), "finish_reason", None)) or "stop"


def completion_text(response: object) -> str | None:
    return _str(getattr(getattr(_first_choice(response), "message", None), "content", None))


def response_id(response: object) -> str | None:
    """The provider's id for the completion (OpenAI's ``chatcmpl-...``)."""
    return _str(getattr(response, "id", None))


def server(api_base: object) -> tuple[str, int] | None:
    """(host, port) of a deployment's ``api_base``; None when LiteLLM uses the provider's default."""
    if not isinstance(api_base, str) or "://" not in api_base:
        return None
    try:
        parts = urlsplit(api_base)
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname and port else None


@dataclass(frozen=True)
class Failed:
    """A failed earlier attempt of the request, as the Router lists it (``metadata.previous_models``)."""

    model_group: str | None
    deployment_id: str | None
    retries: int
    error_type: str

    @property
    def key(self) -> tuple[str | None, str | None, int]:
        return self.model_group, self.deployment_id, self.retries


def _previous(metadata: Mapping[str, Any]) -> tuple[Failed, ...]:
    entries = metadata.get("previous_models")
    return tuple(
        Failed(_str(e.get("model_group")), _str(e.get("deployment_id")), _int(e.get("attempted_retries")),
               _CLASS_TYPES.get(str(e.get("exception_type")), "backend_error"))
        for e in entries if isinstance(e, Mapping)
    ) if isinstance(entries, Sequence) and not isinstance(entries, str) else ()


@dataclass(frozen=True)
class Attempt:
    """What one attempt's callback tells: who served it, when, and how it ended."""

    trace_id: str
    call_id: str
    #: The model group the Router routed this attempt to; None when no deployment was selected
    #: (then ``metadata.model_group`` may be the client's own text and is not trusted).
    model_group: str | None
    #: The group the client asked for (the first group of a fallback chain).
    requested_group: str | None
    deployment_id: str | None
    backend: str
    provider: str
    stream: bool
    start: datetime | None
    api_start: datetime | None
    first_token: datetime | None
    end: datetime | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hit: bool | None = None
    exception: BaseException | None = None
    status: int | None = None
    #: The Router put this attempt's deployment in cooldown.
    cooled_down: bool = False
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    #: The Proxy refused the request before routing (its failure hook reports it as a whole).
    refused: bool = False
    #: The Router's retry count of this attempt within its model group (``attempted_retries``).
    retries: int = 0
    #: The request's failed attempts before this one, as the Router lists them.
    previous: tuple[Failed, ...] = ()
    max_tokens: int = 0
    #: (host, port) of the deployment's ``api_base``, when it has one.
    server: tuple[str, int] | None = None

    @property
    def routed(self) -> bool:
        """The Router sent this attempt to a deployment (not a Proxy refusal before routing)."""
        return self.deployment_id is not None

    @property
    def key(self) -> str:
        """One attempt: the Proxy keeps one call id for a request's retries and fallback hops."""
        return f"{self.call_id}|{self.deployment_id}|{self.api_start.isoformat() if self.api_start else ''}"

    @property
    def failure_key(self) -> tuple[str | None, str | None, int]:
        """Matches the ``Failed`` entry the Router lists for this attempt once it failed."""
        return self.model_group, self.deployment_id, self.retries

    def seconds(self, since: datetime | None, until: datetime | None = None) -> float | None:
        until = until or self.end
        if since is None or until is None:
            return None
        return max((until - since).total_seconds(), 0.0)


def read_attempt(kwargs: Mapping[str, Any], caching: bool = True) -> Attempt:
    """Read an attempt from a callback's ``kwargs`` (pre-call, success or failure). ``caching``:
    LiteLLM's response cache is on (otherwise its ``cache_hit: false`` is no cache miss)."""
    params = _mapping(kwargs.get("litellm_params"))
    metadata = _mapping(params.get("metadata")) or _mapping(params.get("litellm_metadata"))
    logged = _mapping(kwargs.get("standard_logging_object"))
    api_start = _time(kwargs.get("current_attempt_api_call_start_time")) or _time(kwargs.get("api_call_start_time"))
    # The Proxy logs a request it refused (bad key, budget) as a failed call that reached no deployment.
    refused = bool(params.get("proxy_rejected_before_routing"))
    reached = api_start is not None and not refused
    deployment_id = (_str(_mapping(metadata.get("model_info")).get("id")) or _str(logged.get("model_id"))) if reached else None
    routed_group = (_str(metadata.get("model_group")) or _str(logged.get("model_group"))) if deployment_id else None
    provider = _str(kwargs.get("custom_llm_provider")) or _str(params.get("custom_llm_provider")) or ""
    model = _str(metadata.get("deployment")) or _str(logged.get("model")) or _str(kwargs.get("model"))
    call_id = _str(kwargs.get("litellm_call_id")) or _str(logged.get("id")) or ""
    exception = kwargs.get("exception")
    exception = exception if isinstance(exception, BaseException) else None
    headers = _mapping(_mapping(logged.get("hidden_params")).get("additional_headers"))
    cooldowns = _mapping(logged.get("error_information")).get("error_cooldown_deployments") or ()
    cache_hit = logged.get("cache_hit")
    return Attempt(
        trace_id=_str(kwargs.get("litellm_trace_id")) or _str(logged.get("trace_id")) or call_id,
        call_id=call_id,
        model_group=routed_group,
        requested_group=_str(metadata.get("original_model_group")) or routed_group,
        deployment_id=deployment_id,
        backend=backend_name(deployment_id, model, provider) if deployment_id else "",
        provider=provider,
        stream=kwargs.get("stream") is True,
        start=_time(kwargs.get("start_time")),
        api_start=api_start,
        refused=refused,
        retries=_int(metadata.get("attempted_retries")),
        previous=_previous(metadata),
        max_tokens=_int(_mapping(kwargs.get("optional_params")).get("max_tokens")),
        server=server(params.get("api_base") or logged.get("api_base")),
        first_token=_time(kwargs.get("completion_start_time")),
        end=_time(kwargs.get("end_time")),
        prompt_tokens=_int(logged.get("prompt_tokens")),
        completion_tokens=_int(logged.get("completion_tokens")),
        cost_usd=_float(logged.get("response_cost")),
        cache_hit=cache_hit if caching and isinstance(cache_hit, bool) else None,
        exception=exception,
        status=status_code(exception, logged) if exception is not None else None,
        cooled_down=bool(deployment_id) and isinstance(cooldowns, tuple | list)
        and any(_mapping(c).get("model_id") == deployment_id for c in cooldowns),
        remaining_requests=_int(headers.get("x_ratelimit_remaining_requests")) if "x_ratelimit_remaining_requests"
        in headers else None,
        remaining_tokens=_int(headers.get("x_ratelimit_remaining_tokens")) if "x_ratelimit_remaining_tokens"
        in headers else None,
    )
