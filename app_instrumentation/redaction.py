"""Remove credentials from anything about to be logged or reported.

Secrets hide under many spellings (``Authorization``, ``X-Api-KEY``, ``apiKey``,
``client_secret``, ``accesstoken``), at any depth, and inside values (a ``Bearer``
header copied into a message, a URL with ``user:pass@`` or ``?api_key=``). Keys are
split into words (camelCase, ``-``, ``_``, ``.``, spaces) and matched word-wise, so
token *counts* (``input_tokens``, ``max_tokens``) stay visible while ``token`` does not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

#: A key containing one of these words is a secret.
SECRET_WORDS: frozenset[str] = frozenset(
    {
        "apikey", "auth", "authorization", "bearer", "cookie", "cookies", "credential",
        "credentials", "dsn", "passphrase", "passwd", "password", "pwd", "secret", "secrets",
        "session", "sessionid", "signature", "token",
    }
)
#: Run-together lowercase keys (``accesstoken``, ``xapikey``, ``clientsecret``).
SECRET_SUFFIXES: tuple[str, ...] = ("token", "secret", "password", "apikey", "passwd", "cookie")
#: Word pairs that name a key (``api_key``, ``X-Api-Key``, ``privateKey``).
SECRET_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"), ("signing", "key")}
)

#: Keys that contain a secret word but only describe one (``tokens_total{token_type}``).
SAFE_KEYS: frozenset[str] = frozenset({"token_type", "token_count", "token_usage", "auth_scheme"})

_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
# Values: "Bearer abc", "Basic abc", "user:pass@" in URLs, secret-looking query parameters.
# "Bearer" in any case; "Basic"/"Digest"/"ApiKey" only capitalized and with a long
# credential ("basic strategy" in a message is not a credential).
_AUTH_SCHEME_RE = re.compile(
    r"\b((?i:bearer)\s+[A-Za-z0-9._~+/=:-]+|(?:Basic|Digest|ApiKey)\s+[A-Za-z0-9._~+/=:-]{12,})"
)
_URL_USERINFO_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@", re.IGNORECASE)
_QUERY_PARAM_RE = re.compile(r"([?&;\s]|^)([^=&;?\s]+)=([^&;#\s]*)")


def may_hold_secret(text: str) -> bool:
    """False when ``text`` cannot hold a credential ``redact_text`` would find: each pattern above
    needs "=", "://" or one of these words (Basic/Digest/ApiKey are matched capitalized, a subset
    of the lowercased test). Substring tests: about 5x cheaper than one case-insensitive regex,
    and log writers call this on every string field of every line."""
    if "=" in text or "://" in text:
        return True
    low = text.lower()
    return "bearer" in low or "basic" in low or "digest" in low or "apikey" in low


def key_words(key: str) -> list[str]:
    """``X-Api-KEY`` -> [x, api, key]; ``apiKey`` -> [api, key]; ``client_secret`` -> [client, secret]."""
    return [w.lower() for w in _WORD_RE.findall(key)]


@functools.lru_cache(maxsize=8192)  # log events repeat the same few dozen keys
def is_secret_key(key: str, extra: frozenset[str] = frozenset()) -> bool:
    words = key_words(key)
    if "_".join(words) in SAFE_KEYS:
        return False
    if any(w in SECRET_WORDS or w in extra for w in words):
        return True
    if any(w.endswith(SECRET_SUFFIXES) for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in zip(words, words[1:], strict=False))


def redact_text(text: str) -> str:
    """Credentials embedded in a free-text value."""
    if not may_hold_secret(text):
        return text  # fast path: most values cannot contain any of the patterns
    return redact_patterns(text)


def redact_patterns(text: str) -> str:
    """``redact_text`` without the fast path."""
    text = _AUTH_SCHEME_RE.sub(lambda m: f"{m.group(1).split()[0]} {REDACTED}", text)
    text = _URL_USERINFO_RE.sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)
    return _QUERY_PARAM_RE.sub(_redact_param, text)


def _redact_param(m: re.Match[str]) -> str:
    prefix, name, value = m.group(1), m.group(2), m.group(3)
    return f"{prefix}{name}={REDACTED if is_secret_key(name) else value}"


_SCALARS = frozenset({int, float, bool, type(None)})


class Redactor:
    """Returns a redacted deep copy; the input is never modified (callers may reuse it)."""

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        self.extra = frozenset(w.lower() for w in extra_keys)

    def __call__(self, value: Any) -> Any:
        return self._value(value)

    def _value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return redact_text(value)
        if kind in _SCALARS:
            return value  # fast path: numbers, booleans and None hold no secrets
        if isinstance(value, str):
            return redact_text(value)
        if kind is dict or isinstance(value, Mapping):
            return {
                k: (REDACTED if is_secret_key(str(k), self.extra) and v is not None else self._value(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            if _is_header_pair(value) and is_secret_key(_text(value[0]), self.extra):
                return [_text(value[0]), REDACTED]  # ASGI/HTTP header pair (name, value)
            return [self._value(v) for v in value]
        if isinstance(value, bytes | bytearray):
            return self._value(_text(value))
        return value


def _is_header_pair(value: list[Any] | tuple[Any, ...]) -> bool:
    return len(value) == 2 and isinstance(value[0], str | bytes) and isinstance(value[1], str | bytes)


def _text(value: str | bytes | bytearray) -> str:
    return value if isinstance(value, str) else bytes(value).decode("latin-1")


#: The default redactor, for callers that need no extra key words.
redact = Redactor()
