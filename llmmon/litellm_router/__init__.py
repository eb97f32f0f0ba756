"""A real LiteLLM Router as the local stack's traffic source: ``llmmon router --litellm``, ``llmmon up --router litellm``.

The same HTTP API as the example router (``POST /api/generate``, ``/api/models``, ``/admin/faults``,
``/metrics``, ``/health*``), but every inference goes through ``litellm.Router`` (model groups,
retries, fallbacks, cooldowns) and is measured by ``app_instrumentation.integrations.litellm``.
Deployments answer with LiteLLM's ``mock_response``: nothing leaves the machine. Latency, errors,
timeouts, rate limits and outages come from the example router's backend config and fault injection.
"""
