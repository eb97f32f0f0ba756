"""Shared helpers for the LiteLLM tests (no tests of its own): offline LiteLLM, mock deployments, waits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger

litellm.disable_hf_tokenizer_download = True  # counting streamed tokens must not download a tokenizer

API_KEY = "sk-offline-test"  # never sent anywhere: every deployment answers with mock_response


def answer(text: str, prompt_tokens: int, completion_tokens: int, finish_reason: str = "stop") -> dict[str, Any]:
    """A non-streaming mock_response with exact usage (LiteLLM builds a ModelResponse from it)."""
    return {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def deployment(group: str, deployment_id: str, mock: Any, model: str = "openai/gpt-4o-mini", **params: Any) -> dict:
    return {
        "model_name": group,
        "litellm_params": {"model": model, "api_key": API_KEY, "mock_response": mock, **params},
        "model_info": {"id": deployment_id},
    }


def price(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """What LiteLLM's own price table says the call costs (the spec for cost_usd_total)."""
    entry = litellm.model_cost[model]
    return prompt_tokens * entry["input_cost_per_token"] + completion_tokens * entry["output_cost_per_token"]


class Recorder(CustomLogger):
    """LiteLLM's own record of each attempt (its standard_logging_object), to compare metrics against."""

    def __init__(self) -> None:
        super().__init__()
        self.logged: list[dict[str, Any]] = []

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.logged.append(kwargs["standard_logging_object"])

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.logged.append(kwargs["standard_logging_object"])

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_failure_event(kwargs, response_obj, start_time, end_time)


def wait_events(callback: Any, count: int, timeout: float = 20.0) -> None:
    """LiteLLM reports a call after returning it (thread pool or task): wait until ``count`` arrived."""
    deadline = time.monotonic() + timeout
    while callback.tracker.events < count:
        assert time.monotonic() < deadline, f"LiteLLM reported {callback.tracker.events} of {count} events"
        time.sleep(0.01)


async def await_events(callback: Any, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while callback.tracker.events < count:
        assert time.monotonic() < deadline, f"LiteLLM reported {callback.tracker.events} of {count} events"
        await asyncio.sleep(0.01)

