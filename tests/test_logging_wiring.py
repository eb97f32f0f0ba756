"""Observability.from_env: what the router gets, depending on the environment."""

from app_instrumentation.error_tracking import ErrorTrackingMiddleware
from app_instrumentation.logs_middleware import AccessLogMiddleware
from app_instrumentation.logs_wiring import LifespanHooks, Observability
from app_instrumentation.request_id import RequestIdMiddleware
from app_instrumentation.tracing import TracingMiddleware, TracingObserver


def _layers(obs):
    app = object()
    for wrap in obs.wrappers():
        app = wrap(app)
    layers = []
    while hasattr(app, "app"):
        layers.append(type(app))
        app = app.app
    return layers


def test_everything_on_by_default_tracing_outermost():
    obs = Observability.from_env({"DEPLOYMENT_ENVIRONMENT": "staging"}, set_global=False)
    try:
        assert isinstance(obs.observers[0], TracingObserver)
        assert obs.errors.reporter is None, "no SENTRY_DSN: nothing is ever sent"
        assert _layers(obs) == [LifespanHooks, RequestIdMiddleware, TracingMiddleware, ErrorTrackingMiddleware,
                                AccessLogMiddleware]
        assert obs.logger.config.environment == "staging"
    finally:
        obs.shutdown()


def test_sdk_disabled_means_no_tracing_but_logs():
    obs = Observability.from_env({"OTEL_SDK_DISABLED": "true"})
    try:
        assert not any(isinstance(o, TracingObserver) for o in obs.observers)
        assert _layers(obs) == [LifespanHooks, RequestIdMiddleware, ErrorTrackingMiddleware, AccessLogMiddleware]
    finally:
        obs.shutdown()


def test_dsn_enables_reporting_and_drops_reach_the_collector():
    obs = Observability.from_env({"SENTRY_DSN": "http://key@127.0.0.1:9/1", "OTEL_SDK_DISABLED": "true"})

    class Collector:
        dropped: list[str] = []
        errors: list[tuple[str, str, str]] = []

        def log_events_dropped(self, stream, count=1):
            self.dropped.append((stream, count))

        def error(self, *labels):
            self.errors.append(labels)

    collector = Collector()
    try:
        assert obs.errors.reporter is not None
        obs.bind(collector)
        obs.logger.writer.on_drop("access", 3)
        obs.errors.count("internal_error", "http", "error")
        assert collector.dropped == [("access", 3)] and collector.errors == [("internal_error", "http", "error")]
    finally:
        obs.errors.reporter = None  # nothing was reported; do not wait on the unreachable DSN
        obs.shutdown(1)


def test_logging_works_without_the_tracing_extra():
    import json
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'opentelemetry': raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from app_instrumentation.logs_wiring import Observability\n"
        "obs = Observability.from_env({})\n"
        "obs.logger.info('no otel')\n"
        "obs.shutdown()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    (line,) = out.stdout.splitlines()
    assert json.loads(line)["message"] == "no otel" and "trace" not in json.loads(line)
