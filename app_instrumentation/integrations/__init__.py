"""Integrations with real LLM routers. Each module imports its router library only when it is imported
itself, so ``import app_instrumentation`` never needs them.

- ``app_instrumentation.integrations.litellm``: a LiteLLM ``CustomLogger`` (Router SDK and Proxy).
"""
