"""OpenTelemetry's standard ``OTEL_*`` variables, read from a given mapping.

The SDK reads ``os.environ`` itself (sampler, resource, exporter settings), so a caller that
passes its own environment to ``setup_tracing`` would get a mix of both. These functions read
the sampler, the resource attributes and the OTLP/HTTP exporter's settings from the mapping
given, with the SDK's names and precedence (``OTEL_EXPORTER_OTLP_TRACES_*`` over
``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME`` over ``service.name`` in
``OTEL_RESOURCE_ATTRIBUTES``). Where the SDK logs a warning and carries on with a default (an
unknown sampler traces every request), a bad value here is a ValueError naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

SAMPLER = "OTEL_TRACES_SAMPLER"
SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
RESOURCE_ATTRIBUTES = "OTEL_RESOURCE_ATTRIBUTES"
SERVICE_NAME = "OTEL_SERVICE_NAME"
#: The specification's default sampler.
DEFAULT_SAMPLER = "parentbased_always_on"
_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")


def sampler_from_env(environ: Mapping[str, str]) -> Any:
    """The sampler ``OTEL_TRACES_SAMPLER`` (and ``OTEL_TRACES_SAMPLER_ARG``) name."""
    from opentelemetry.sdk.trace import sampling

    known: dict[str, Any] = {
        "always_on": sampling.ALWAYS_ON, "always_off": sampling.ALWAYS_OFF,
        "parentbased_always_on": sampling.DEFAULT_ON, "parentbased_always_off": sampling.DEFAULT_OFF,
        "traceidratio": sampling.TraceIdRatioBased, "parentbased_traceidratio": sampling.ParentBasedTraceIdRatio,
    }
    name = (environ.get(SAMPLER) or DEFAULT_SAMPLER).strip().lower()
    if name not in known:
        raise ValueError(f"{SAMPLER}={name!r}: expected one of {', '.join(known)}")
    if name not in _RATIO_SAMPLERS:
        return known[name]
    raw = (environ.get(SAMPLER_ARG) or "").strip()
    try:
        ratio = float(raw) if raw else 1.0  # the specification's default ratio
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{SAMPLER_ARG}={raw!r}: the {name} sampler needs a ratio between 0 and 1")
    return known[name](ratio)


def resource_attributes(environ: Mapping[str, str], service_name: str) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES`` (``key=value`` pairs, values URL-encoded) with the service name
    ``service_name_from_env`` gives."""
    attributes: dict[str, str] = {}
    for item in (environ.get(RESOURCE_ATTRIBUTES) or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{RESOURCE_ATTRIBUTES}: {item.strip()!r} is not a key=value pair")
        attributes[key.strip()] = unquote(value.strip())
    attributes["service.name"] = environ.get(SERVICE_NAME) or attributes.get("service.name") or service_name
    return attributes


def service_name_from_env(environ: Mapping[str, str], default: str) -> str:
    """``OTEL_SERVICE_NAME``, else ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``, else ``default``."""
    return resource_attributes(environ, default)["service.name"]


def otlp_setting(environ: Mapping[str, str], setting: str) -> str | None:
    """``OTEL_EXPORTER_OTLP_TRACES_{setting}``, else ``OTEL_EXPORTER_OTLP_{setting}``."""
    return environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{setting}") or environ.get(f"OTEL_EXPORTER_OTLP_{setting}") or None


def otlp_endpoint(environ: Mapping[str, str]) -> str | None:
    """The traces URL: ``..._TRACES_ENDPOINT`` as given, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``."""
    if endpoint := environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return endpoint
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return f"{base.removesuffix('/')}/v1/traces" if base else None


def otlp_exporter_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of the OTLP/HTTP span exporter for the settings present in ``environ``."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.util.re import parse_env_headers

    settings: dict[str, Any] = {"endpoint": otlp_endpoint(environ)}
    if headers := otlp_setting(environ, "HEADERS"):
        settings["headers"] = dict(parse_env_headers(headers, liberal=True))
    if timeout := otlp_setting(environ, "TIMEOUT"):
        try:
            settings["timeout"] = float(timeout)
        except ValueError:
            raise ValueError(f"OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT={timeout!r}: expected seconds") from None
    if compression := otlp_setting(environ, "COMPRESSION"):
        try:
            settings["compression"] = Compression(compression.strip().lower())
        except ValueError:
            choices = ", ".join(c.value for c in Compression)
            raise ValueError(f"OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION={compression!r}: expected {choices}") from None
    for setting, argument in (("CERTIFICATE", "certificate_file"), ("CLIENT_KEY", "client_key_file"),
                              ("CLIENT_CERTIFICATE", "client_certificate_file")):
        if path := otlp_setting(environ, setting):
            settings[argument] = path
    return {k: v for k, v in settings.items() if v is not None}
