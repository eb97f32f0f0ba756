"""The example LLM router: a TRAFFIC SOURCE for the monitoring stack, not a real router.

It imports ``app_instrumentation`` the way a production router would and serves
``POST /api/generate`` (streaming and not), ``/metrics``, ``/metrics/json``, ``/health``,
``/health/live``, ``/health/ready`` and fault injection at ``/admin/faults``. Its backends
are simulated (configurable latency, token speed, error/timeout rate, outage, rate limit,
cost per token), so every metric, dashboard panel and alert can be exercised locally.
Nothing here talks to a real model. Run it with ``llmmon router --port P [--traffic RPS]``.
"""
