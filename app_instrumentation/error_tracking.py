"""Errors: one fixed type per error, a stable fingerprint, a log line, optional Sentry report.

The fingerprint hashes the exception class and the chain of (module, function) frames it
passed through, not the message or line numbers: "timeout after 3.2s" and "timeout after
4.1s" from the same call site group together in Kibana, and an edit that shifts lines does
not split a group.

Sentry-compatible reporting is a plain envelope POST (stdlib only, no SDK), off the
request path, and only when a DSN is configured.
"""

from __future__ import annotations

import json
import os
import socket
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from app_instrumentation.catalog import ERROR_TYPES
from app_instrumentation.errors import INFERENCE_ERROR, call_frames, classify, fingerprint
from app_instrumentation.logs_fields import Stream
from app_instrumentation.logs_writer import AsyncWriter, Event
from app_instrumentation.redaction import redact

#: errors_total{type, component, severity} increment; the MetricsCollector provides one.
CountError = Callable[[str, str, str], None]
SEVERITIES = ("critical", "error", "warning")


class ErrorLogger(Protocol):
    """What ``ErrorTracker`` needs of a logger (``StructuredLogger`` is one)."""

    def error(
        self,
        message: str,
        exc: BaseException | None = None,
        fields: Mapping[str, Any] | None = None,
        error_code: str | None = None,
    ) -> object: ...

# --- Sentry-compatible reporting ----------------------------------------------------------


@dataclass(frozen=True)
class Dsn:
    """``{scheme}://{public_key}@{host}{/path}/{project_id}``."""

    scheme: str
    public_key: str
    netloc: str
    path: str
    project_id: str

    @classmethod
    def parse(cls, dsn: str) -> Dsn:
        parts = urlsplit(dsn)
        path, _, project = parts.path.rpartition("/")
        if parts.scheme not in ("http", "https") or not parts.username or not parts.hostname or not project:
            raise ValueError("invalid Sentry DSN: expected scheme://public_key@host/project_id")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return cls(parts.scheme, parts.username, netloc, path, project)

    @property
    def envelope_url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}/api/{self.project_id}/envelope/"

    @property
    def auth_header(self) -> str:
        return f"Sentry sentry_version=7, sentry_client=llm-router-monitoring/0.1, sentry_key={self.public_key}"


def sentry_event(
    exc: BaseException,
    fingerprint_key: str,
    level: str,
    environment: str,
    release: str,
    tags: Mapping[str, str],
) -> Event:
    frames = [
        {"filename": os.path.basename(f.filename), "function": f.name, "module": m, "lineno": f.lineno, "in_app": True}
        for f, (m, _) in zip(traceback.extract_tb(exc.__traceback__), call_frames(exc.__traceback__), strict=True)
    ]
    cls = type(exc)
    return redact(
        {
            "event_id": uuid.uuid4().hex,
            "timestamp": datetime.now(UTC).isoformat(),
            "platform": "python",
            "level": "fatal" if level == "critical" else level,
            "logger": "llm_router",
            "server_name": socket.gethostname(),
            "environment": environment,
            "release": release,
            "fingerprint": [fingerprint_key],
            "tags": dict(tags),
            "exception": {
                "values": [
                    {"type": cls.__qualname__, "module": cls.__module__, "value": str(exc),
                     "stacktrace": {"frames": frames}}
                ]
            },
        }
    )


def envelope(event: Mapping[str, Any]) -> bytes:
    payload = json.dumps(event, separators=(",", ":"), default=str).encode()
    header = {"event_id": event["event_id"], "sent_at": datetime.now(UTC).isoformat()}
    item = {"type": "event", "content_type": "application/json", "length": len(payload)}
    return b"\n".join([json.dumps(header).encode(), json.dumps(item).encode(), payload]) + b"\n"


class _EnvelopeSink:
    def __init__(self, dsn: Dsn, timeout: float) -> None:
        self.dsn, self.timeout = dsn, timeout

    def write(self, stream: Stream, event: Event) -> None:
        request = urllib.request.Request(
            self.dsn.envelope_url,
            data=envelope(event),
            method="POST",
            headers={"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": self.dsn.auth_header},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - DSN is config
            response.read()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class SentryReporter:
    """Sends events to a Sentry-compatible endpoint from a background thread."""

    def __init__(self, dsn: str, environment: str, release: str, timeout: float = 5.0, maxsize: int = 100) -> None:
        self.dsn = Dsn.parse(dsn)
        self.environment, self.release = environment, release
        self.writer = AsyncWriter(_EnvelopeSink(self.dsn, timeout), maxsize)

    def report(self, exc: BaseException, fingerprint_key: str, level: str, tags: Mapping[str, str]) -> bool:
        event = sentry_event(exc, fingerprint_key, level, self.environment, self.release, tags)
        return self.writer.submit(Stream.ERROR, event)

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        return self.writer.shutdown(timeout)


def reporter_from_env(environment: str, release: str, environ: Mapping[str, str] = os.environ) -> SentryReporter | None:
    """``SENTRY_DSN`` set -> a reporter; unset or empty -> None (nothing is ever sent)."""
    dsn = environ.get("SENTRY_DSN", "").strip()
    return SentryReporter(dsn, environment, release) if dsn else None


class ErrorTracker:
    """Count, log (stack trace + fingerprint) and optionally report one error.

    Also an InferenceObserver: ``on_error`` logs and reports inference failures; counting
    those is left to the MetricsCollector's own ``on_error`` so nothing is counted twice.
    """

    def __init__(
        self,
        logger: ErrorLogger | None = None,
        count: CountError | None = None,
        reporter: SentryReporter | None = None,
    ) -> None:
        self.logger, self.count, self.reporter = logger, count, reporter

    def capture(
        self,
        exc: BaseException,
        component: str = "router",
        severity: str = "error",
        error_type: str | None = None,
        message: str = "Unhandled error",
        fields: Mapping[str, Any] | None = None,
        counted: bool = True,
    ) -> str:
        """Returns the fingerprint. ``counted=False`` when the caller already counted it."""
        etype = error_type if error_type in ERROR_TYPES else classify(exc)
        severity = severity if severity in SEVERITIES else "error"
        key = fingerprint(exc)
        if counted and self.count is not None:
            self.count(etype, component, severity)
        if self.logger is not None:
            self.logger.error(message, exc, fields, error_code=etype)
        if self.reporter is not None:
            self.reporter.report(exc, key, severity, {"component": component, "error_type": etype})
        return key

    def on_start(self, ctx: Any) -> None:
        pass

    def on_complete(self, ctx: Any, result: Any) -> None:
        pass

    def on_error(self, ctx: Any, exc: BaseException) -> None:
        if self.reporter is not None:
            self.reporter.report(exc, fingerprint(exc), "error", {"component": "inference", "error_type": classify(exc, INFERENCE_ERROR)})


class ErrorTrackingMiddleware:
    """Pure ASGI: an exception escaping the app is captured (counted, logged, reported), then re-raised."""

    def __init__(self, app: Callable[..., Any], tracker: ErrorTracker, component: str = "http") -> None:
        self.app, self.tracker, self.component = app, tracker, component

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            self.tracker.capture(exc, self.component, "error", message="Unhandled exception in request")
            raise
