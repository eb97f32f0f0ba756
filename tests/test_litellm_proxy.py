"""The README's LiteLLM Proxy config: valid for LiteLLM, and (when a Proxy can run here) served for real.

``litellm[proxy]`` cannot be installed from this machine's registry (LiteLLM 1.110's proxy extra needs
``litellm-proxy``, which it lacks), so the live part runs when ``LITELLM_PROXY_PYTHON`` names a Python
that can run ``litellm.proxy.proxy_cli`` (with this repo importable) and is skipped otherwise.
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from app_instrumentation import catalog
from llmmon.localstack.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SECTION = ROOT.joinpath("README.md").read_text().split("### The LiteLLM Proxy", 1)[1].split("\n## ", 1)[0]
CONFIG = yaml.safe_load(re.search(r"```yaml\n(.*?)```", SECTION, re.S).group(1))
CUSTOM_CALLBACKS = re.search(r"```python\n(.*?)```", SECTION, re.S).group(1)
CALLBACK_PATH = "app_instrumentation.integrations.litellm.proxy_callback"
MASTER_KEY = "sk-test-master-key-0123456789abcdef"  # a throwaway key for a Proxy on loopback


def test_readme_config_is_one_litellm_accepts():
    import litellm

    assert CALLBACK_PATH in CONFIG["litellm_settings"]["callbacks"]
    assert "prometheus" in CONFIG["litellm_settings"]["callbacks"]  # mounts /metrics on the Proxy
    os.environ.setdefault("OPENAI_API_KEY", "sk-unused")
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-unused")
    router = litellm.Router(model_list=CONFIG["model_list"], **CONFIG["router_settings"])
    assert sorted(router.get_model_names()) == ["fast", "smart"]
    namespace: dict = {}
    try:
        exec(compile(CUSTOM_CALLBACKS, "custom_callbacks.py", "exec"), namespace)  # noqa: S102 - the README's own code
        assert gc.get_freeze_count() > 0  # it froze what was imported
    finally:
        gc.unfreeze()  # the rest of the suite runs with Python's collector as it was
    assert namespace["llm_router"].tracker.allowed_fails == 5


PROXY_PYTHON = os.environ.get("LITELLM_PROXY_PYTHON")


@pytest.mark.live
@pytest.mark.skipif(not PROXY_PYTHON, reason="LITELLM_PROXY_PYTHON unset: litellm[proxy] is not installable here")
def test_proxy_serves_llm_router_series_for_the_readme_config(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    answers = {"fast": "litellm.InternalServerError", "smart": "Paris."}  # fast fails: retries, then smart
    for deployment in config["model_list"]:
        deployment["litellm_params"]["mock_response"] = answers[deployment["model_name"]]
    config["model_list"].append({"model_name": "broken", "model_info": {"id": "broken-a"}, "litellm_params": {
        "model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_API_KEY", "mock_response": "litellm.RateLimitError"}})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "LITELLM_MASTER_KEY": MASTER_KEY, "OPENAI_API_KEY": "sk-unused",
           "ANTHROPIC_API_KEY": "sk-unused", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proxy = subprocess.Popen([PROXY_PYTHON, "-m", "litellm.proxy.proxy_cli", "--config", "config.yaml", "--host",
                              "127.0.0.1", "--port", str(port)], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 240
            while True:
                assert proxy.poll() is None and time.monotonic() < deadline, "the Proxy did not start"
                try:
                    if client.get("/health/liveliness").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1)
            key = {"Authorization": f"Bearer {MASTER_KEY}"}
            chat = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
            codes = [client.post("/v1/chat/completions", headers=key, json={**chat, "model": m}).status_code
                     for m in ("fast", "smart", "broken")]
            codes.append(client.post("/v1/chat/completions", headers={"Authorization": "Bearer wrong"},
                                     json={**chat, "model": "fast"}).status_code)
            assert codes == [200, 200, 429, 400]
            wanted = {
                (catalog.INFERENCE.name, 'cached="false",model="fast",status="success",strategy="litellm"'): 1,
                (catalog.INFERENCE.name, 'cached="false",model="smart",status="success",strategy="litellm"'): 1,
                (catalog.INFERENCE.name, 'cached="false",model="broken",status="error",strategy="litellm"'): 1,
                (catalog.FALLBACKS.name, 'from_backend="openai-gpt-4o-mini",reason="error",'
                                         'to_backend="anthropic-sonnet"'): 1,
                (catalog.RETRIES.name, 'backend="openai-gpt-4o-mini",reason="error"'): 2,
                (catalog.ERRORS.name, 'component="api",severity="warning",type="validation_error"'): 1,
            }
            seen: dict = {}
            while time.monotonic() < deadline:
                text = client.get("/metrics", follow_redirects=True).text  # no key: README allows it
                seen = {k: v for k in wanted for line in text.splitlines()
                        if line.startswith(f"{k[0]}{{{k[1]}}} ") and (v := float(line.rsplit(" ", 1)[1]))}
                if seen == wanted:
                    break
                time.sleep(1)
            assert seen == wanted
    finally:
        os.killpg(proxy.pid, 15)
        proxy.wait(30)

