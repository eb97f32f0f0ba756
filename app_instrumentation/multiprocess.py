"""Multiprocess mode for gunicorn/uvicorn workers (prometheus_client's ``PROMETHEUS_MULTIPROC_DIR``).

Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable directory *before* Python imports
prometheus_client in the workers; every worker then writes its samples to files there and
whichever worker answers a scrape merges all files. Call ``mark_worker_dead(pid)`` from the
server's worker-exit hook (gunicorn ``child_exit``) so ``live*`` gauges forget dead workers.

A gunicorn config for uvicorn workers (``gunicorn -c gunicorn_conf.py -k uvicorn.workers.UvicornWorker
-w 4 'llmmon.example_router.app:create_app()'``, with the variable exported before gunicorn starts)::

    # gunicorn_conf.py
    from app_instrumentation.multiprocess import mark_worker_dead

    def child_exit(server, worker):
        mark_worker_dead(worker.pid)

Empty the directory before each start: files of an earlier run would be merged in.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess

from app_instrumentation.runtime import RuntimeCollector

ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(ENV) or None


def merged_registry(path: str, process_namespace: str | None = "llm_router") -> CollectorRegistry:
    """A registry that merges every worker's files under ``path`` (plus this process's process_* and GC metrics)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    if process_namespace:
        ProcessCollector(namespace=process_namespace, registry=registry)
        RuntimeCollector(registry)
    return registry


def scrape_registry(own: CollectorRegistry) -> CollectorRegistry:
    """What ``/metrics`` should expose: the merged view in multiprocess mode, else ``own``."""
    path = multiprocess_dir()
    return merged_registry(path) if path else own


def mark_worker_dead(pid: int) -> None:
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, path)
