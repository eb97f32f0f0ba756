"""The in-cluster ``prometheus.yml`` for the env's long-term metrics store (an overlay after
``stack.promconfig.in_cluster``).

* ``thanos``: Prometheus scrapes the Thanos components (one target per pod, by their headless
  Services' DNS records) under the job names Thanos' alerts select (``alerts.thanos.JOBS``);
* ``remoteWrite``: every replica also writes to the endpoint, with its credential read from a
  file of the Secret ``prometheus-remote-write``; with ``replicaLabel: drop`` both replicas
  send identical series (``prometheus_replica`` removed after the external labels are added).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from alerts.prometheus_config import REPLICA_LABEL
from alerts.thanos import JOBS
from foundation.settings import Settings
from stack import network as net
from stack import objects as k
from stack.model import Context
from stack.promconfig import _dns_job
from stack.services import thanos

REMOTE_WRITE_SECRET = "prometheus-remote-write"
REMOTE_WRITE_DIR = "/etc/prometheus/remote-write"
#: remoteWrite.auth -> the Secret's key (the file Prometheus reads).
REMOTE_WRITE_FILES = {"basic": "password", "bearer": "token"}
THANOS_HTTP_PORT = thanos.HTTP.port
#: Thanos job -> the headless Service whose pods it scrapes.
THANOS_TARGETS = {JOBS["sidecar"]: "prometheus-headless", JOBS["query"]: "thanos-query-headless",
                  JOBS["store"]: "thanos-store", JOBS["compact"]: "thanos-compactor"}


def remote_write(settings: Settings) -> list[dict[str, Any]]:
    rw = settings.metrics_store.remote_write
    if rw is None:
        return []
    entry: dict[str, Any] = {"url": rw.url}
    if rw.auth == "basic":
        entry["basic_auth"] = {"username": rw.username, "password_file": f"{REMOTE_WRITE_DIR}/{REMOTE_WRITE_FILES['basic']}"}
    elif rw.auth == "bearer":
        entry["authorization"] = {"type": "Bearer", "credentials_file": f"{REMOTE_WRITE_DIR}/{REMOTE_WRITE_FILES['bearer']}"}
    if rw.replica_label == "drop":
        entry["write_relabel_configs"] = [{"action": "labeldrop", "regex": REPLICA_LABEL}]
    return [entry]


def overlay(prometheus_yml: str, settings: Settings, namespace: str) -> str:
    """``prometheus_yml`` (in-cluster) with the env's metrics-store additions; unchanged for ``local``."""
    store = settings.metrics_store
    if store.mode == "local":
        return prometheus_yml
    doc: dict[str, Any] = yaml.safe_load(prometheus_yml)
    if store.thanos_enabled:
        doc["scrape_configs"] += [_dns_job(job, service, namespace, THANOS_HTTP_PORT, None)
                                  for job, service in THANOS_TARGETS.items()]
    else:
        doc["remote_write"] = remote_write(settings)
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


@dataclass
class PrometheusAdditions:
    """What the metrics store adds to the Prometheus StatefulSet and its policy."""

    args: list[str] = field(default_factory=list)
    containers: list[k.Container] = field(default_factory=list)
    volumes: list[k.Obj] = field(default_factory=list)
    mounts: list[k.Obj] = field(default_factory=list)
    headless_ports: list[k.Port] = field(default_factory=list)
    ingress: list[net.Flow] = field(default_factory=list)
    egress: list[net.Flow] = field(default_factory=list)
    objects: list[k.Obj] = field(default_factory=list)


def prometheus_additions(ctx: Context, app: k.App, data_volume: str, tsdb_path: str, port: int) -> PrometheusAdditions:
    store = ctx.settings.metrics_store
    out = PrometheusAdditions()
    if store.thanos_enabled:
        out.args = thanos.prometheus_flags()
        out.containers = [thanos.sidecar_container(ctx, data_volume, tsdb_path, port)]
        out.volumes = [thanos.objstore_volume()]
        # The Querier finds the sidecars by DNS SRV on the headless Service's "grpc" port.
        out.headless_ports = [thanos.GRPC, thanos.HTTP]
        out.ingress = [net.Flow(net.apps(thanos.QUERY), [thanos.GRPC]), net.Flow(net.apps(app.name), [thanos.HTTP])]
        out.egress = [
            net.Flow(net.anywhere(), [thanos.object_store_port(ctx)]),  # the sidecar uploads blocks
            net.Flow(net.apps(app.name, thanos.QUERY, thanos.STORE, thanos.COMPACTOR), [thanos.HTTP]),  # scrapes
        ]
    elif store.remote_write is not None:
        rw = store.remote_write
        out.egress = [net.Flow(net.anywhere(), [k.Port("remote-write", rw.port)])]
        if rw.secret_key:
            out.objects = [k.secret(app, REMOTE_WRITE_SECRET, {REMOTE_WRITE_FILES[rw.auth]: ctx.secret(rw.secret_key)})]
            out.volumes = [k.secret_volume("remote-write", REMOTE_WRITE_SECRET)]
            out.mounts = [k.mount("remote-write", REMOTE_WRITE_DIR)]
    return out
