"""``x-request-id``: accepted from the client (or generated), echoed in the response, and
current while the request is served, so every log line and span of the request carries it.

A client-supplied id is kept only when it is a short token (letters, digits and ``._:-``, at
most 128 characters); anything else is replaced by a generated one, so a hostile header
cannot inject text into log lines or blow up their size.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

HEADER = b"x-request-id"
_VALID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_current: ContextVar[str | None] = ContextVar("llm_router_request_id", default=None)
#: Its own generator (seeded from the OS), so seeding the global one cannot make ids repeat;
#: re-seeded in forked workers (gunicorn), which would otherwise generate the parent's sequence.
_generator = random.Random()
_random_bits = _generator.getrandbits
os.register_at_fork(after_in_child=_generator.seed)


def current_request_id() -> str | None:
    """The id of the request being served in this context, or None outside a request."""
    return _current.get()


def accept_or_generate(value: bytes | None) -> str:
    """The client's id when it is a valid token, else 32 random hex digits (an id, not a secret:
    the fast non-cryptographic generator will do)."""
    if value is not None and _VALID.fullmatch(value):
        return value.decode("ascii")
    return f"{_random_bits(128):032x}"


class RequestIdMiddleware:
    """Pure ASGI. Wrap it outside tracing and logging so they see the id from the start."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = next((v for k, v in scope.get("headers", ()) if k.lower() == HEADER), None)
        request_id = accept_or_generate(supplied)
        raw = request_id.encode("ascii")

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, raw)]}
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
