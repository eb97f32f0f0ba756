"""Configuration of the example router: models, simulated backends, strategies, limits.

Defaults match the ``dev`` allow-lists in ``Pulumi.dev.yaml``. A config file (``--config``)
is JSON or TOML with the same keys as these dataclasses; unknown keys and bad values are
refused with the key's path in the message.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    pass


#: Simulated engines a backend may have ("": none).
ENGINES = ("", "vllm")


#: What the built-in traffic generator sends (kind -> weight): generations, invalid bodies (4xx),
#: model lookups, unknown paths (404) and health reads. A fault-free profile sets "invalid" to 0.
TRAFFIC_KINDS = ("generate", "invalid", "model", "unknown", "health")
DEFAULT_TRAFFIC_MIX: Mapping[str, float] = {"generate": 85, "invalid": 6, "model": 5, "unknown": 2, "health": 2}


@dataclass(frozen=True)
class ModelConfig:
    name: str
    format: str = "gguf"
    size_bytes: int = 5_000_000_000
    #: Simulated load time at startup and on reload.
    load_seconds: float = 0.05


@dataclass(frozen=True)
class BackendConfig:
    name: str
    #: Models this backend serves; ["*"] serves every model.
    models: tuple[str, ...] = ("*",)
    latency_ms: float = 40.0
    tokens_per_second: float = 100.0
    error_rate: float = 0.0
    #: Share of calls that hang until ``timeout_ms`` and then fail as a timeout.
    timeout_rate: float = 0.0
    timeout_ms: float = 2000.0
    #: Requests per minute; 0 = unlimited.
    rate_limit_rpm: float = 0.0
    outage: bool = False
    usd_per_million_input_tokens: float = 0.0
    usd_per_million_output_tokens: float = 0.0
    #: ``gen_ai.provider.name`` of its calls (openai, vllm, ...); empty: the backend's name.
    provider: str = ""
    #: Where it is reached (``server.address``/``server.port`` on spans and logs); empty: unknown.
    server_address: str = ""
    server_port: int = 0
    #: ``vllm``: a simulated vLLM engine behind it serves ``/engines/<name>/metrics`` and its GPUs show in
    #: ``/dcgm/metrics`` (``engine_sim``); empty: none (a hosted API).
    engine: str = ""
    #: The simulated engine's KV cache, in tokens, and the GPUs it runs on.
    kv_cache_tokens: int = 512
    gpus: int = 1

    def serves(self, model: str) -> bool:
        return "*" in self.models or model in self.models


@dataclass(frozen=True)
class HealthConfig:
    interval_seconds: float = 15.0
    check_timeout_seconds: float = 2.0
    memory_limit_bytes: float = 0.0  # 0: the container's cgroup limit, else the machine's RAM
    disk_path: str = "."
    inference_probe: bool = False
    probe_min_interval_seconds: float = 60.0


@dataclass(frozen=True)
class RouterConfig:
    models: tuple[ModelConfig, ...] = (
        ModelConfig("llama-3-8b", "gguf", 5_000_000_000),
        ModelConfig("llama-3-70b", "gguf", 40_000_000_000),
        ModelConfig("mistral-7b", "safetensors", 14_000_000_000),
        ModelConfig("gpt-4o-mini", "api", 0),
    )
    # Defaults give a healthy baseline at a few requests per second that still shows every signal now
    # and then: local-gpu errors (retries), vllm timeouts (fallbacks), openai's rate limit near its load.
    backends: tuple[BackendConfig, ...] = (
        BackendConfig("local-gpu", ("llama-3-8b", "mistral-7b"), latency_ms=30, tokens_per_second=80,
                      error_rate=0.05, provider="vllm", server_address="127.0.0.1", server_port=8000,
                      engine="vllm", kv_cache_tokens=512, gpus=1),
        BackendConfig("vllm", ("llama-3-8b", "llama-3-70b", "mistral-7b"), latency_ms=50, tokens_per_second=150,
                      error_rate=0.03, timeout_rate=0.02, timeout_ms=300,
                      usd_per_million_input_tokens=0.05, usd_per_million_output_tokens=0.2,
                      provider="vllm", server_address="vllm.inference.svc", server_port=8000,
                      engine="vllm", kv_cache_tokens=1024, gpus=2),
        BackendConfig("openai", ("*",), latency_ms=120, tokens_per_second=60, error_rate=0.01, rate_limit_rpm=60,
                      usd_per_million_input_tokens=0.15, usd_per_million_output_tokens=0.6,
                      provider="openai", server_address="api.openai.com", server_port=443),
    )
    #: Strategy -> backends in the order they are tried (fallback goes down the list).
    strategies: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {
        "quick": ("local-gpu", "vllm", "openai"),
        "balanced": ("vllm", "local-gpu", "openai"),
        "quality": ("openai", "vllm", "local-gpu"),
        "cost": ("local-gpu", "vllm", "openai"),
    })
    default_strategy: str = "balanced"
    max_tokens_limit: int = 512
    max_prompt_chars: int = 20000
    cache_max_entries: int = 256
    max_concurrency: int = 16
    #: Requests waiting for a slot beyond this are refused with 503 (queue_full).
    queue_max_waiting: int = 64
    max_retries: int = 1
    #: Seconds a backend stays cooling_down after ``breaker_failures`` consecutive failures.
    breaker_failures: int = 5
    breaker_cooldown_seconds: float = 5.0
    max_series: int = 500
    seed: int | None = None
    #: Serve ``GET /debug`` (process, config, models, queue, cache, recent errors; secrets redacted).
    debug_endpoint: bool = False
    health: HealthConfig = field(default_factory=HealthConfig)
    traffic_mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TRAFFIC_MIX))

    def __post_init__(self) -> None:
        backends = {b.name for b in self.backends}
        for strategy, order in self.strategies.items():
            unknown = [b for b in order if b not in backends]
            if unknown:
                raise ConfigError(f"strategies.{strategy}: unknown backends {unknown}")
        if self.default_strategy not in self.strategies:
            raise ConfigError(f"default_strategy: {self.default_strategy!r} is not a strategy")
        for b in self.backends:
            for key in ("error_rate", "timeout_rate"):
                if not 0 <= getattr(b, key) <= 1:
                    raise ConfigError(f"backends.{b.name}.{key}: must be between 0 and 1")
            if b.engine not in ENGINES:
                raise ConfigError(f"backends.{b.name}.engine: expected one of {list(ENGINES)}, got {b.engine!r}")
            if b.engine and "*" in b.models:
                raise ConfigError(f"backends.{b.name}.engine: an engine serves named models, not '*'")
        unknown = sorted(set(self.traffic_mix) - set(TRAFFIC_KINDS))
        if unknown or not sum(self.traffic_mix.values()) > 0:
            raise ConfigError(f"traffic_mix: expected weights >= 0 for some of {list(TRAFFIC_KINDS)} "
                              f"(not all 0){f', unknown {unknown}' if unknown else ''}")

    def backend(self, name: str) -> BackendConfig:
        return next(b for b in self.backends if b.name == name)

    @property
    def model_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)


def _build(cls: type, data: Any, path: str) -> Any:
    """Instantiate dataclass ``cls`` from plain data, checking keys and scalar types."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or '<root>'}: expected a table/object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{path or '<root>'}: unknown keys {unknown}")
    kwargs = {name: _value(cls, fields[name], value, f"{path}.{name}".lstrip(".")) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{path or '<root>'}: {exc}") from exc


_NESTED = {"models": ModelConfig, "backends": BackendConfig}


def _value(cls: type, f: dataclasses.Field[Any], value: Any, path: str) -> Any:
    if cls is RouterConfig and f.name in _NESTED:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list")
        return tuple(_build(_NESTED[f.name], item, f"{path}[{i}]") for i, item in enumerate(value))
    if cls is RouterConfig and f.name == "health":
        return _build(HealthConfig, value, path)
    if cls is RouterConfig and f.name == "traffic_mix":
        if not isinstance(value, Mapping) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value.values()):
            raise ConfigError(f"{path}: expected a table of request kind -> weight >= 0")
        return {str(k): float(v) for k, v in value.items()}
    if cls is RouterConfig and f.name == "strategies":
        if not isinstance(value, Mapping) or not all(isinstance(v, list) for v in value.values()):
            raise ConfigError(f"{path}: expected a table of strategy -> list of backends")
        return {str(k): tuple(map(str, v)) for k, v in value.items()}
    default = f.default if f.default is not dataclasses.MISSING else None
    if isinstance(default, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list")
        return tuple(map(str, value))
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false")
        return value
    if isinstance(default, int | float) and f.name != "seed":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{path}: expected a non-negative number, got {value!r}")
        return type(default)(value) if isinstance(default, float) or float(value).is_integer() else value
    return value


def config_from_mapping(data: Mapping[str, Any]) -> RouterConfig:
    return _build(RouterConfig, data, "")


def load_config(path: Path) -> RouterConfig:
    """Read a JSON (``.json``) or TOML (anything else) router config file."""
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}") from exc
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
