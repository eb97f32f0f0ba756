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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app_instrumentation.errors import classify

#: LiteLLM names a deployment without an explicit ``model_info.id`` by a SHA-256 of its settings:
#: unreadable on a dashboard, so such a deployment is labelled by its provider/model instead.
_GENERATED_ID = re.compile(r"[0-9a-f]{64}")
#: HTTP status -> catalog error type. A 4xx other than these means the deployment itself is
#: misconfigured (bad key, unknown model): a backend error, not the client's.
_STATUS_TYPES = {400: "validation_error", 413: "validation_error", 422: "validation_error",
                 408: "backend_timeout", 504: "backend_timeout", 429: "rate_limited"}
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


def status_code(exc: BaseException | None, logged: Mapping[str, Any] | None = None) -> int | None:
    """The HTTP status LiteLLM attached to a failure (``status_code``, or the logged ``error_code``)."""
    code = getattr(exc, "status_code", None)
    if not isinstance(code, int) and logged is not None:
        logged_code = _mapping(logged.get("error_information")).get("error_code")
        code = int(logged_code) if isinstance(logged_code, str) and logged_code.isdigit() else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


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

    @property
    def routed(self) -> bool:
        return self.deployment_id is not None

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
    deployment_id = _str(_mapping(metadata.get("model_info")).get("id")) or _str(logged.get("model_id"))
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
        api_start=_time(kwargs.get("api_call_start_time")),
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
