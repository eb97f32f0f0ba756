"""The example router feeds its logger what a real router would: model lifecycle and prompt text."""

import pytest
from starlette.testclient import TestClient

from app_instrumentation import logs_fields as F
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_fields import Action
from app_instrumentation.logs_wiring import Observability
from llmmon.example_router.app import create_app
from llmmon.example_router.config import RouterConfig
from tests.test_logs_support import CaptureSink, leaf

PROMPT = "tell me a secret recipe " * 10


def _run(**log_config):
    sink = CaptureSink()
    obs = Observability(LogConfig(**log_config), None, sink=sink, environ={})
    app = create_app(RouterConfig(seed=3), observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    with TestClient(app) as client:
        response = client.post("/api/generate", json={"prompt": PROMPT, "model": "llama-3-8b", "max_tokens": 8})
        assert response.status_code == 200, response.text
    obs.shutdown()
    return sink.events()


def test_model_loads_at_startup_are_logged_and_counted():
    events = _run()
    loaded = {leaf(e, F.MODEL_NAME.path) for e in events if leaf(e, "event.action") == Action.MODEL_LOAD}
    assert {m.name for m in RouterConfig().models} <= loaded


@pytest.mark.parametrize("capture", [False, True])
def test_prompt_and_completion_only_logged_when_enabled(capture):
    events = _run(capture_prompts=capture, prompt_max_chars=20)
    complete = [e for e in events if leaf(e, "event.action") == Action.INFERENCE_COMPLETE]
    assert complete
    prompts = [leaf(e, F.INFERENCE_PROMPT.path) for e in events if leaf(e, F.INFERENCE_PROMPT.path)]
    completions = [leaf(e, F.INFERENCE_COMPLETION.path) for e in complete if leaf(e, F.INFERENCE_COMPLETION.path)]
    if capture:
        assert prompts and all(p.startswith(PROMPT[:20]) and PROMPT[:21] not in p for p in prompts), prompts
        assert completions
    else:
        assert not prompts and not completions
        assert all(PROMPT[:20] not in str(e) for e in events)
