"""Instrumentation for an LLM router: metrics, HTTP middleware, health checks, logging, tracing.

Installs and imports on its own: nothing here depends on Pulumi or on the rest of this repo.
"""
