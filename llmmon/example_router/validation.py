"""Validation of ``POST /api/generate`` bodies; errors name the offending field."""

from __future__ import annotations

from typing import Any

from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine import GenerateRequest

FIELDS = frozenset({"prompt", "model", "strategy", "max_tokens", "stream"})
DEFAULT_MAX_TOKENS = 64


class InvalidRequest(ValueError):
    error_type = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_generate(body: Any, config: RouterConfig) -> GenerateRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("body", "expected a JSON object")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidRequest(unknown[0], f"unknown field; expected some of {sorted(FIELDS)}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequest("prompt", "required non-empty string")
    if len(prompt) > config.max_prompt_chars:
        raise InvalidRequest("prompt", f"longer than {config.max_prompt_chars} characters")
    model = body.get("model", config.model_names[0])
    if model not in config.model_names:
        raise InvalidRequest("model", f"unknown model {model!r}; known: {list(config.model_names)}")
    strategy = body.get("strategy", config.default_strategy)
    if strategy not in config.strategies:
        raise InvalidRequest("strategy", f"unknown strategy {strategy!r}; known: {sorted(config.strategies)}")
    max_tokens = body.get("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= config.max_tokens_limit:
        raise InvalidRequest("max_tokens", f"expected an integer from 1 to {config.max_tokens_limit}")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("stream", "expected true or false")
    return GenerateRequest(prompt, model, strategy, max_tokens, stream)
