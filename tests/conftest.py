"""Process-wide test settings: LiteLLM (imported by the LiteLLM tests) stays offline; hypothesis
draws the same examples on every run (``HYPOTHESIS_PROFILE=explore`` draws new ones)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# The suite is deterministic (CI must not go red on a draw); exploring for new cases is opt-in.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

# LiteLLM's model price table comes from the package, never from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def offline() -> Iterator[list[str]]:
    """Every host name the module's tests tried to resolve other than loopback (must stay empty):
    a LiteLLM feature reaching for the network fails at once instead of waiting for DNS."""
    tried: list[str] = []
    resolve = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost", "::1") and not str(host).startswith("127."):
            tried.append(str(host))
            raise OSError(f"offline test: {host} not resolved")
        return resolve(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", loopback_only)
        yield tried
