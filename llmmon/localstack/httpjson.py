"""Small JSON-over-HTTP helpers (stdlib only) and readiness waits."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from llmmon.localstack.processes import Child


class NotReady(RuntimeError):
    pass


def request(method: str, url: str, body: Any = None, timeout: float = 5.0) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str, timeout: float = 5.0) -> Any:
    status, payload = request("GET", url, timeout=timeout)
    if status >= 400:
        raise RuntimeError(f"GET {url} -> HTTP {status}: {payload[:300]!r}")
    return json.loads(payload)


def send_json(method: str, url: str, body: Any = None, timeout: float = 5.0) -> Any:
    status, payload = request(method, url, body, timeout=timeout)
    if status >= 400:
        raise RuntimeError(f"{method} {url} -> HTTP {status}: {payload[:300]!r}")
    return json.loads(payload) if payload.strip() else None


def is_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        return request("GET", url, timeout=timeout)[0] == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.2,
    child: Child | None = None,
) -> None:
    """Poll ``condition`` until true; fail early (with its log) when ``child`` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if child is not None and not child.alive():
            raise NotReady(f"{child.name} exited with code {child.proc.returncode} while waiting for "
                           f"{what}; last log lines ({child.log_path}):\n{child.log_tail()}")
        if time.monotonic() >= deadline:
            tail = f"; last log lines ({child.log_path}):\n{child.log_tail()}" if child else ""
            raise NotReady(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)


def wait_ready(url: str, timeout: float, child: Child | None = None) -> None:
    wait_until(lambda: is_ok(url), timeout, f"{url} to answer 200", child=child)
