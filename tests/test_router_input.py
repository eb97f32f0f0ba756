"""Hostile input to the example router: every malformed body is a one-line 4xx, never a server error.

Three layers of proof: a hypothesis property over the request schema (``decode_json`` +
``parse_generate``) fed JSON of any shape, raw bytes, lone surrogates and deep nesting; the
same generators through the whole ASGI app, counting server errors; and the cases measured
in issue 14 over a real socket to ``llmmon router``, on one keep-alive connection that must
still serve a valid request after each refusal.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app_instrumentation import catalog
from llmmon.commands.router import LISTENING
from llmmon.example_router.app import create_app
from llmmon.example_router.config import BackendConfig, ModelConfig, RouterConfig
from llmmon.example_router.engine import GenerateRequest
from llmmon.example_router.validation import (
    FIELDS,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_ECHO,
    InvalidRequest,
    decode_json,
    parse_generate,
)
from llmmon.localstack.processes import Supervisor

CONFIG = RouterConfig(
    models=(ModelConfig("m1", load_seconds=0), ModelConfig("m2", load_seconds=0)),
    backends=(BackendConfig("a", latency_ms=1, tokens_per_second=100000),),
    strategies={"quick": ("a",), "cost": ("a",)},
    default_strategy="quick", max_prompt_chars=200, max_tokens_limit=16, seed=1,
)

# --- generators -------------------------------------------------------------------------------
_surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2)
texts = st.one_of(st.text(max_size=30), st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), _surrogates,
                                                   st.text(max_size=5)))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-5, 40),
                    st.floats(allow_nan=False, allow_infinity=False), texts,
                    st.sampled_from(["m1", "m2", "quick", "cost", "hi", " "]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=12)
#: Objects shaped like a generate body: known keys with any value, sometimes an unknown key.
generate_like = st.dictionaries(st.one_of(st.sampled_from(sorted(FIELDS)), texts), json_values, max_size=6)


def _nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


bodies = st.one_of(
    st.builds(lambda v: json.dumps(v).encode(), st.one_of(json_values, generate_like)),  # \\uXXXX escapes
    st.builds(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"), generate_like),
    st.binary(max_size=64),
    st.builds(_nested, st.integers(1, 3000), st.sampled_from(["[", '{"a":'])),
    st.builds(lambda v, cut: json.dumps(v).encode()[:cut], generate_like, st.integers(0, 40)),  # truncated
    st.sampled_from([b"NaN", b'{"prompt": "x", "max_tokens": 1e999}', b'{"prompt": "a", "prompt": "b"}',
                     b'{"prompt": "x", "max_tokens": ' + b"9" * 5000 + b"}", b"\xef\xbb\xbf{}", b""]),
)


def _assert_one_line_refusal(exc: InvalidRequest) -> None:
    assert exc.status in (400, 413, 422)
    for text in (exc.field, exc.message):
        assert "\n" not in text and "\r" not in text and 0 < len(text) <= MAX_ECHO
    # What JSONResponse does with it: a lone surrogate here would crash the error response itself.
    json.dumps({"error": {"message": exc.message, "field": exc.field}}, ensure_ascii=False).encode("utf-8")


def _assert_acceptable(req: GenerateRequest) -> None:
    assert isinstance(req.prompt, str) and req.prompt.strip() and len(req.prompt) <= CONFIG.max_prompt_chars
    req.prompt.encode("utf-8")  # hashed into the cache key and logged
    assert req.model in CONFIG.model_names and req.strategy in CONFIG.strategies
    assert type(req.max_tokens) is int and 1 <= req.max_tokens <= CONFIG.max_tokens_limit
    assert type(req.stream) is bool


# --- the schema, as a property ----------------------------------------------------------------
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_any_body_is_accepted_valid_or_refused_with_a_one_line_4xx(body):
    try:
        req = parse_generate(decode_json(body), CONFIG)
    except InvalidRequest as exc:
        _assert_one_line_refusal(exc)
    else:
        _assert_acceptable(req)


def test_an_omitted_max_tokens_stays_within_a_limit_below_the_default():
    # Found by the property above in CI: the default (64) ignored a configured limit of 16.
    assert parse_generate(decode_json(b'{"prompt": "0"}'), CONFIG).max_tokens == CONFIG.max_tokens_limit


@settings(max_examples=300, deadline=None)
@given(prompt=st.text(min_size=1, max_size=200).filter(str.strip), model=st.sampled_from(CONFIG.model_names),
       strategy=st.sampled_from(sorted(CONFIG.strategies)), max_tokens=st.integers(1, 16), stream=st.booleans())
def test_every_valid_body_is_accepted_as_sent(prompt, model, strategy, max_tokens, stream):
    body = {"prompt": prompt, "model": model, "strategy": strategy, "max_tokens": max_tokens, "stream": stream}
    assert parse_generate(decode_json(json.dumps(body).encode()), CONFIG) == GenerateRequest(**body)


@pytest.mark.parametrize("raw, field, status, words", [
    (b'{"prompt": "hi", "strategy": ["quick"]}', "strategy", 422, "expected a string, got a JSON array"),
    (b'{"prompt": "hi", "strategy": {"quick": 1}}', "strategy", 422, "expected a string, got a JSON object"),
    (_nested(1000, "["), "body", 400, f"nested 1000 levels deep; at most {MAX_DEPTH}"),
    (b'{"prompt": "\\ud800"}', "prompt", 400, "lone surrogate"),
    (b'{"prompt": "ok", "\\udc80x": 1}', "\\udc80x", 400, "lone surrogate"),
    (b'{"prompt": "hi", "max_tokens": true}', "max_tokens", 422, "expected an integer, got True"),
    (b'{"prompt": "hi", "max_tokens": 1e999}', "body", 400, "out of range"),
    (b'{"prompt": "a", "prompt": "b"}', "body", 400, "appears twice"),
    (b'{"prompt": "hi"}' + b" " * MAX_BODY_BYTES, "body", 413, "larger than"),
    (b"\xff{}", "body", 400, "not UTF-8"),
    (b'"[[["', "body", 400, "expected a JSON object"),  # brackets inside a string are not nesting
])
def test_measured_hostile_bodies_are_refused_with_what_is_wrong(raw, field, status, words):
    with pytest.raises(InvalidRequest) as caught:
        parse_generate(decode_json(raw), CONFIG)
    assert (caught.value.field, caught.value.status) == (field, status)
    assert words in caught.value.message
    _assert_one_line_refusal(caught.value)


# --- the whole app, in process ----------------------------------------------------------------
def _samples(app: object, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for m in app.collector.registry.collect() for s in m.samples if s.name == name]


def server_errors(app: object) -> dict[str, float]:
    """Everything that would count against the router: 5xx responses, failed inferences, errors
    above warning severity, instrumentation failures."""
    return {
        "http 5xx": sum(v for lb, v in _samples(app, catalog.HTTP_REQUESTS.name) if lb["status_code"][0] == "5"),
        "inference errors": sum(v for lb, v in _samples(app, catalog.INFERENCE.name) if lb["status"] == "error"),
        "errors above warning": sum(v for lb, v in _samples(app, catalog.ERRORS.name) if lb["severity"] != "warning"),
        "instrumentation errors": sum(v for _, v in _samples(app, catalog.INSTRUMENTATION_ERRORS.name)),
    }


def test_fuzzed_bodies_through_the_app_never_count_as_server_errors():
    app = create_app(CONFIG)
    loop = asyncio.new_event_loop()
    lifespan = app.starlette.router.lifespan_context(app.starlette)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router")
    loop.run_until_complete(lifespan.__aenter__())
    statuses: set[int] = set()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=bodies, path=st.sampled_from(["/api/generate", "/admin/faults"]))
    def post(body, path):
        response = loop.run_until_complete(client.post(path, content=body))
        statuses.add(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert "\n" not in response.text and response.json()["error"]["message"]

    try:
        post()
        loop.run_until_complete(client.delete("/admin/faults"))
        assert loop.run_until_complete(client.post("/api/generate", json={"prompt": "still fine"})).status_code == 200
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    assert {400, 422} <= statuses
    assert server_errors(app) == dict.fromkeys(server_errors(app), 0)


# --- a real socket to `llmmon router` ----------------------------------------------------------
ROUTER_TOML = """
default_strategy = "quick"
seed = 1
[strategies]
quick = ["a"]
[[models]]
name = "m1"
load_seconds = 0.0
[[backends]]
name = "a"
latency_ms = 1
tokens_per_second = 100000
"""
MEASURED = [  # issue 14: each was a 500 followed by a reset connection
    pytest.param(b'{"prompt": "hi", "strategy": ["quick"]}', 422, id="strategy-list"),
    pytest.param(b'{"prompt": "hi", "strategy": {"quick": 1}}', 422, id="strategy-object"),
    pytest.param(_nested(1000, "["), 400, id="nested-1000-deep"),
    pytest.param(b'{"prompt": "\\ud800"}', 400, id="lone-surrogate-prompt"),
]


@pytest.fixture(scope="module")
def router_url(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("router")
    (work / "router.toml").write_text(ROUTER_TOML)
    supervisor = Supervisor(work / "logs", stop_timeout=15)
    argv = [sys.executable, "-m", "llmmon.cli", "router", "--port", "0", "--config", str(work / "router.toml")]
    try:
        child = supervisor.start("router", argv)
        deadline = time.monotonic() + 60
        while not (match := re.search(re.escape(LISTENING) + r" (http://127\.0\.0\.1:\d+)", child.log_tail(200))):
            assert child.alive() and time.monotonic() < deadline, f"router did not start:\n{child.log_tail()}"
            time.sleep(0.1)
        yield match.group(1)
    finally:
        supervisor.stop_all()


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, str | None, bytes]:
    conn.request("POST", "/api/generate", body=body, headers={"content-type": "application/json"})
    response = conn.getresponse()
    return response.status, response.getheader("connection"), response.read()


@pytest.mark.live
@pytest.mark.parametrize("body, status", MEASURED)
def test_measured_cases_over_one_keep_alive_connection(router_url, body, status):
    host, port = router_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        assert _post(conn, b'{"prompt": "warm up"}')[0] == 200
        sock = conn.sock
        got, connection, payload = _post(conn, body)
        assert (got, connection) == (status, None), payload
        assert payload.count(b"\n") == 0 and json.loads(payload)["error"]["message"]
        assert conn.sock is sock  # not closed by the server: http.client would have dropped it
        assert _post(conn, b'{"prompt": "after the refusal"}')[0] == 200
        assert conn.sock is sock  # the very same TCP connection served the next request
    finally:
        conn.close()


@pytest.mark.live
def test_measured_cases_count_no_server_error(router_url):
    with httpx.Client(base_url=router_url, timeout=30) as client:
        for case in MEASURED:
            client.post("/api/generate", content=case.values[0])
        text = client.get("/metrics").text
    five_xx = [line for line in text.splitlines() if line.startswith(catalog.HTTP_REQUESTS.name + "{")
               and 'status_code="5' in line]
    failed = [line for line in text.splitlines() if line.startswith(catalog.INFERENCE.name + "{")
              and 'status="error"' in line and not line.endswith(" 0.0")]
    assert five_xx == [] and failed == []
