"""The webhook sink: an HTTP server that records every Alertmanager notification.

Each POSTed notification is appended as one JSON line to a file (and kept in memory), so
tests and people can see exactly what reached which receiver. The same server can carry a
few control routes (``POST /control/<name>``) for the ``llmmon up`` process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from llmmon.localstack.ports import HOST

#: POST path -> handler returning a JSON-able reply.
ControlRoutes = dict[str, Callable[[], Any]]


class WebhookSink:
    def __init__(self, path: Path, port: int = 0, control: ControlRoutes | None = None) -> None:
        self.path = path
        self.control = dict(control or {})
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer((HOST, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def receiver_url(self, receiver: str) -> str:
        """Per-receiver URL, so the record shows the URL too (the payload names the receiver anyway)."""
        return f"{self.url}/alerts/{receiver}"

    def start(self) -> WebhookSink:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def _record(self, path: str, payload: Any) -> None:
        record = {"received_at": time.time(), "path": path, "payload": payload}
        with self._lock:
            self._records.append(record)
            with self.path.open("a") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.startswith("/control/"):
                    route = sink.control.get(self.path[len("/control/"):])
                    if route is None:
                        return self._reply(404, {"error": f"unknown control route {self.path}"})
                    try:
                        return self._reply(200, route())
                    except Exception as exc:  # noqa: BLE001 - reported to the caller
                        return self._reply(500, {"error": str(exc)})
                try:
                    payload = json.loads(raw or b"null")
                except json.JSONDecodeError:
                    payload = {"unparsed": raw.decode(errors="replace")}
                sink._record(self.path, payload)
                self._reply(200, {"status": "recorded"})

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                self._reply(200, {"notifications": len(sink.records())})

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
                pass

        return Handler


def read_notifications(path: Path) -> list[dict[str, Any]]:
    """Records written by a sink (possibly in another process)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def delivered(records: list[dict[str, Any]], alertname: str, status: str = "firing",
              receiver: str | None = None) -> list[dict[str, Any]]:
    """Alerts (one dict per alert) named ``alertname`` with ``status`` inside the notifications."""
    out = []
    for record in records:
        payload = record.get("payload") or {}
        if receiver is not None and payload.get("receiver") != receiver:
            continue
        for alert in payload.get("alerts", []):
            if alert.get("labels", {}).get("alertname") == alertname and alert.get("status") == status:
                out.append({**alert, "receiver": payload.get("receiver"), "received_at": record["received_at"]})
    return out
