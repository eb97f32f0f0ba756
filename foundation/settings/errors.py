"""The one error type for bad configuration: it always names the key and the environment."""

from __future__ import annotations


class SettingsError(ValueError):
    def __init__(self, env: str, key: str, problem: str) -> None:
        self.env, self.key, self.problem = env, key, problem
        super().__init__(f"config error in env {env!r}, key {key!r}: {problem}")
