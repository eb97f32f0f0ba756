"""Environment variables the router container needs so its logs match this env's settings.

The stack puts these on the router Deployment; ``LogConfig.from_env`` reads them back
(tested as a round trip). ``SENTRY_DSN`` and ``OTEL_EXPORTER_OTLP_ENDPOINT`` are not here:
the DSN is a secret (a Kubernetes Secret reference) and the OTLP endpoint belongs to the
tracing backend's deployment.
"""

from __future__ import annotations

from foundation.settings import Settings


def router_environment(settings: Settings) -> dict[str, str]:
    logging = settings.logging
    return {
        "DEPLOYMENT_ENVIRONMENT": settings.env,
        "LOG_CAPTURE_PROMPTS": "true" if logging.capture_prompts else "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": logging.level,
        "LOG_PROMPT_MAX_CHARS": str(logging.prompt_max_chars),
    }
