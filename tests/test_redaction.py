"""Secrets never reach a log line: any key spelling, any depth, inside values and header pairs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app_instrumentation.redaction import (
    REDACTED,
    Redactor,
    is_secret_key,
    may_hold_secret,
    redact,
    redact_patterns,
    redact_text,
)
from tests.test_logs_support import capture_logger


@pytest.mark.parametrize(
    "key",
    ["Authorization", "authorization", "X-Api-KEY", "x-api-key", "apiKey", "API_KEY", "api-key", "client_secret",
     "clientSecret", "CLIENT-SECRET", "password", "DB_PASSWORD", "passwd", "Cookie", "set-cookie", "token",
     "accessToken", "access_token", "refresh-token", "accesstoken", "xapikey", "Proxy-Authorization",
     "privateKey", "aws_secret_access_key", "sentry_dsn", "X-Auth-Token", "sessionId"],
)
def test_secret_keys_in_any_spelling(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["input_tokens", "output_tokens", "max_tokens", "tokens", "token_type", "model", "cache_key", "keyboard",
     "author", "tokenizer", "prompt_length", "grouping_key", "trace_id"],
)
def test_ordinary_keys_stay_visible(key):
    assert not is_secret_key(key)


def test_nested_dicts_and_lists_anywhere():
    event = {
        "request": {"headers": {"X-Api-KEY": "k1", "Content-Type": "application/json"}},
        "backends": [{"name": "openai", "config": {"apiKey": "k2", "timeout": 3}}, [{"client_secret": "k3"}]],
        "gen_ai": {"usage": {"input_tokens": 12}},
        "Token": None,
    }
    out = redact(event)
    assert out["request"]["headers"] == {"X-Api-KEY": REDACTED, "Content-Type": "application/json"}
    assert out["backends"][0]["config"] == {"apiKey": REDACTED, "timeout": 3}
    assert out["backends"][1][0] == {"client_secret": REDACTED}
    assert out["gen_ai"]["usage"]["input_tokens"] == 12
    assert out["Token"] is None
    assert event["request"]["headers"]["X-Api-KEY"] == "k1", "the caller's dict is not modified"
    assert "k1" not in repr(out) and "k2" not in repr(out) and "k3" not in repr(out)


def test_mappings_that_are_not_plain_dicts():
    """Header objects, read-only views and dict subclasses are redacted like dicts."""
    from collections import OrderedDict, defaultdict
    from types import MappingProxyType

    from starlette.datastructures import Headers

    event = {
        "config": MappingProxyType({"apiKey": "k1"}),
        "ordered": OrderedDict(password="k2"),
        "grouped": defaultdict(list, {"backend": [{"Authorization": "k3"}]}),
        "headers": Headers({"x-api-key": "k4", "accept": "*/*"}),
    }
    out = redact(event)
    assert out["config"] == {"apiKey": REDACTED} and out["ordered"] == {"password": REDACTED}
    assert out["grouped"]["backend"] == [{"Authorization": REDACTED}]
    assert out["headers"] == {"x-api-key": REDACTED, "accept": "*/*"}
    assert not any(k in repr(out) for k in ("k1", "k2", "k3", "k4"))


def test_whole_value_under_a_secret_key_is_redacted_whatever_its_type():
    event = {"credentials": {"user": "u", "key": "hunter2"}, "pin_password": 123456, "api_key": b"raw", "tokens": [1]}
    out = redact(event)
    assert out == {"credentials": REDACTED, "pin_password": REDACTED, "api_key": REDACTED, "tokens": [1]}


def test_header_pairs_and_raw_asgi_headers():
    headers = [(b"authorization", b"Bearer abc.def"), (b"x-request-id", b"r1"), ["Cookie", "sid=xyz"]]
    out = redact({"headers": headers})["headers"]
    assert out[0] == ["authorization", REDACTED]
    assert out[1] == ["x-request-id", "r1"]
    assert out[2] == ["Cookie", REDACTED]


def test_secrets_inside_values():
    assert "abc" not in redact_text("sent Authorization: Bearer abc to backend")
    assert redact_text("https://user:hunter2@db.example:5432/x") == f"https://user:{REDACTED}@db.example:5432/x"
    assert redact_text("HTTPS://user:hunter2@db.example/x") == f"HTTPS://user:{REDACTED}@db.example/x"  # scheme case
    assert redact_text("/v1/x?api_key=s3cr3t&model=m&Token=t") == f"/v1/x?api_key={REDACTED}&model=m&Token={REDACTED}"
    assert redact_text("plain message with = sign and tokens=5") == "plain message with = sign and tokens=5"


def test_extra_keys():
    assert Redactor(["tenant"])({"Tenant-Name": "acme"}) == {"Tenant-Name": REDACTED}


def test_logger_redacts_whole_event_and_exception_messages():
    logger, sink = capture_logger()
    logger.info("calling backend", {"backend": {"headers": {"AUTHORIZATION": "Bearer zzz"}, "url": "https://a:b@h/"}})
    try:
        raise RuntimeError("backend said: invalid api_key=sk-live-123")
    except RuntimeError as exc:
        logger.error("failed", exc, {"request": {"cookies": {"session": "abc"}}})
    logger.shutdown()
    text = repr(sink.lines)
    for secret in ("zzz", ":b@", "sk-live-123", "'abc'"):
        assert secret not in text


def test_free_text_without_credentials_is_untouched():
    for text in ("basic strategy chosen", "token limit reached: 4096 tokens", "Bearer", "see https://example.org/a"):
        assert redact_text(text) == text
    assert redact_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == f"Authorization: Basic {REDACTED}"


# Fragments of every credential pattern, their near misses and characters that fold case oddly.
_FRAGMENTS = ["Bearer ", "bEaReR\t", "Basic ", "Digest ", "ApiKey ", "apikey", "://", "=", "@", ":", "?", "&",
              "api_key", "token", "dXNlcjpwYXNzd29yZA==", "user:pass@", "https", "ſ", "K", "İ", "ı", " ", "x"]


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=4), max_size=12).map("".join))
def test_fast_check_never_skips_a_value_the_patterns_would_change(text):
    # redact_text skips the patterns when may_hold_secret says no: that must never lose a redaction.
    if not may_hold_secret(text):
        assert redact_patterns(text) == text
    assert redact_text(text) == redact_patterns(text)


def test_fast_check_recognises_each_credential_form():
    for text in ("Authorization: BEARER abc", "Basic dXNlcjpwYXNzd29yZA==", "x ApiKey 0123456789abcdef",
                 "Digest dXNlcjpwYXNzd29yZA", "postgres://u:p@h/db", "?api_key=1"):
        assert may_hold_secret(text) and redact_text(text) != text
    for text in ("Inference completed", "POST /api/generate 200", "bench-model", "chatcmpl-e8da3a47e0ab58e4"):
        assert not may_hold_secret(text)
