"""Who this process is: service name, version and deployment environment, from the environment.

One reader for the variables the logs (``service.*``), the traces (resource attributes) and
``/health`` (version, environment) all report, so they cannot disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from app_instrumentation.otel_env import service_name_from_env


@dataclass(frozen=True)
class ServiceInfo:
    name: str = "llm-router"
    version: str = "0.0.0"
    environment: str = "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServiceInfo:
        """``OTEL_SERVICE_NAME`` (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``), ``SERVICE_VERSION``,
        ``DEPLOYMENT_ENVIRONMENT`` (empty counts as unset)."""
        return cls(
            service_name_from_env(environ, cls.name),
            environ.get("SERVICE_VERSION") or cls.version,
            environ.get("DEPLOYMENT_ENVIRONMENT") or cls.environment,
        )
