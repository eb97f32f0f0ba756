"""``llmmon up --router litellm``: the local stack on a real LiteLLM Router; dashboards read its series,
alerts fire on its failures and reach the webhook sink, everything stops cleanly."""

from __future__ import annotations

import signal

import pytest

from llmmon.localstack.api import Prometheus
from llmmon.localstack.httpjson import get_json, send_json, wait_until
from llmmon.localstack.processes import pid_alive
from llmmon.localstack.state import StackState
from llmmon.localstack.webhook import delivered, read_notifications
from tests.test_up import _up

pytestmark = pytest.mark.live
WAIT = 120


def test_up_with_the_litellm_router_feeds_the_stack_and_fires_alerts(tmp_path):
    with _up(tmp_path, "--router", "litellm", "--traffic", "5") as proc:
        wait_until(lambda: (tmp_path / "state.json").exists() or proc.poll() is not None, WAIT, "state.json")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        state = StackState.read(tmp_path)
        prom = Prometheus(state.prometheus_url)
        models = get_json(f"{state.router_url}/api/models")["models"]
        assert {"vllm/llama-3-8b", "openai/llama-3-8b"} <= {b for m in models for b in m["backends"]}

        def litellm_series() -> bool:
            return bool(prom.query('sum(llm_router_inference_total{strategy="simple-shuffle"})'))

        wait_until(litellm_series, WAIT, "LiteLLM inferences scraped by Prometheus")

        def vllm_down() -> set[str]:
            return {a["labels"]["backend"] for a in prom.alerts(state="firing")
                    if a["labels"]["alertname"] == "BackendDown" and a["labels"]["backend"].startswith("vllm/")}

        send_json("POST", f"{state.router_url}/admin/faults", {"outage": ["vllm"]})
        wait_until(vllm_down, WAIT, "BackendDown on the vllm deployments (LiteLLM cools them down)")
        send_json("DELETE", f"{state.router_url}/admin/faults")

        send_json("POST", f"{state.router_url}/admin/faults", {"error_rate": 1.0})
        wait_until(lambda: delivered(read_notifications(tmp_path / "notifications.jsonl"), "CriticalErrorRate"),
                   WAIT, "CriticalErrorRate from LiteLLM failures delivered to the webhook sink")
        send_json("DELETE", f"{state.router_url}/admin/faults")

        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert [pid for pid in state.pids.values() if pid_alive(pid)] == []
