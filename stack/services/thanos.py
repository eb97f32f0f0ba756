"""Thanos (``metricsStore.mode: thanos``): long-term, deduplicated metrics on object storage.

* a **sidecar** in every Prometheus pod (``sidecar_container``) serves its Prometheus over
  the StoreAPI and uploads each 2-hour block to the bucket (Prometheus' own compaction is off:
  ``prometheus_flags``);
* the **Querier** (``thanos-query``, a Deployment) answers Grafana with the Prometheus HTTP API,
  merging the sidecars and the Store Gateway and deduplicating the replicas on
  ``prometheus_replica``; long ranges read downsampled data (``--query.auto-downsampling``);
* the **Store Gateway** (``thanos-store``, a StatefulSet) serves the bucket's blocks;
* the **Compactor** (``thanos-compactor``, one replica: it must run alone against a bucket)
  compacts, downsamples (5m after 40 hours, 1h after 10 days) and deletes per resolution.

The bucket is ``objstore.yml``, the Pulumi secret ``thanosObjstoreConfig``, in the Secret
``thanos-objstore`` that the sidecars, the Store Gateway and the Compactor mount. Every flag
passed here is one that Thanos' own ``--help`` lists at the pinned version
(``foundation/standards/thanos.yml``, checked by tests).
"""

from __future__ import annotations

from typing import Any

import yaml

from alerts.prometheus_config import REPLICA_LABEL
from foundation.settings.metrics_store import OBJSTORE_SECRET
from stack import network as net
from stack import objects as k
from stack.model import Context, Service

IMAGE = "thanos"
GRPC = k.Port("grpc", 10901)
HTTP = k.Port("http", 10902)
QUERY, STORE, COMPACTOR = "thanos-query", "thanos-store", "thanos-compactor"
OBJSTORE_SECRET_NAME = "thanos-objstore"
OBJSTORE_DIR = "/etc/thanos/objstore"
OBJSTORE_FILE = f"{OBJSTORE_DIR}/objstore.yml"
ENDPOINTS_DIR = "/etc/thanos/query"
ENDPOINTS_CONFIG = "thanos-query-endpoints"
DATA_DIR = "/var/thanos"
#: Prometheus cuts a block every 2 hours; equal bounds switch its local compaction off, which the
#: sidecar's uploads need (docs/components/sidecar.md).
BLOCK_DURATION = "2h"
#: settings retention key -> Compactor flag.
RETENTION_FLAGS = {"raw": "retention.resolution-raw", "fiveMinutes": "retention.resolution-5m",
                   "oneHour": "retention.resolution-1h"}


def _listen() -> list[str]:
    return [f"--grpc-address=0.0.0.0:{GRPC.port}", f"--http-address=0.0.0.0:{HTTP.port}"]


def _probes() -> dict[str, Any]:
    return {"liveness": k.http_probe("/-/healthy", HTTP.name, initial=30),
            "readiness": k.http_probe("/-/ready", HTTP.name, initial=10)}


def objstore_volume() -> k.Obj:
    return k.secret_volume("objstore", OBJSTORE_SECRET_NAME, ["objstore.yml"])


def prometheus_flags() -> list[str]:
    """What Prometheus needs for the sidecar to upload its blocks unchanged."""
    return [f"--storage.tsdb.min-block-duration={BLOCK_DURATION}", f"--storage.tsdb.max-block-duration={BLOCK_DURATION}"]


def sidecar_container(ctx: Context, data_volume: str, tsdb_path: str, prometheus_port: int) -> k.Container:
    """The sidecar in a Prometheus pod: reads its TSDB, talks to it on localhost."""
    return k.Container(
        name="thanos-sidecar", image=ctx.cluster.images[IMAGE], resources=ctx.workload("thanosSidecar").resources,
        ports=[GRPC, HTTP],
        args=["sidecar", f"--tsdb.path={tsdb_path}", f"--prometheus.url=http://localhost:{prometheus_port}",
              f"--objstore.config-file={OBJSTORE_FILE}", *_listen()],
        # It records which blocks it uploaded (thanos.shipper.json) in the TSDB directory.
        mounts=[k.mount(data_volume, tsdb_path, read_only=False), k.mount("objstore", OBJSTORE_DIR)],
        **_probes(),
    )


def endpoints_config(namespace: str) -> str:
    """The Querier's StoreAPI endpoints: every sidecar and Store Gateway pod, found by DNS SRV
    on their headless Services' ``grpc`` port (``--endpoint.sd-config-file``)."""
    return yaml.safe_dump({"endpoints": [
        {"address": f"dnssrv+_grpc._tcp.{service}.{namespace}.svc"} for service in ("prometheus-headless", STORE)
    ]}, sort_keys=True)


def _query(ctx: Context) -> list[k.Obj]:
    app = ctx.app(QUERY, "metrics-query", IMAGE)
    endpoints = {"endpoints.yml": endpoints_config(ctx.namespace)}
    container = k.Container(
        name="thanos-query", image=app.image, resources=ctx.workload("thanosQuery").resources, ports=[GRPC, HTTP],
        args=["query", *_listen(), f"--query.replica-label={REPLICA_LABEL}", "--query.auto-downsampling",
              f"--endpoint.sd-config-file={ENDPOINTS_DIR}/endpoints.yml"],
        mounts=[k.mount("endpoints", ENDPOINTS_DIR)], **_probes(),
    )
    pod = k.PodSpec(containers=[container], volumes=[k.config_volume("endpoints", ENDPOINTS_CONFIG)],
                    config_checksum=k.checksum(endpoints), extra={"affinity": k.spread(app)})
    return [
        k.config_map(app, ENDPOINTS_CONFIG, endpoints),
        k.service(app, [HTTP]),
        k.service(app, [HTTP], name=f"{QUERY}-headless", headless=True),  # Prometheus scrapes each pod
        k.deployment(app, ctx.workload("thanosQuery").replicas, pod),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            # Grafana's Prometheus data source; Prometheus scrapes its metrics.
            ingress=[net.Flow(net.apps("grafana", "prometheus"), [HTTP])],
            egress=[net.Flow(net.apps("prometheus", STORE), [GRPC])],
        ),
    ]


def _bucket_reader(ctx: Context, name: str, component: str, workload_key: str, args: list[str]) -> list[k.Obj]:
    """The Store Gateway or the Compactor: a StatefulSet with a volume that reads the bucket."""
    app = ctx.app(name, component, IMAGE)
    w = ctx.workload(workload_key)
    data = f"{DATA_DIR}/{args[0]}"
    container = k.Container(
        name=name, image=app.image, resources=w.resources, ports=[GRPC, HTTP] if name == STORE else [HTTP],
        args=[*args, f"--data-dir={data}", f"--objstore.config-file={OBJSTORE_FILE}",
              *(_listen() if name == STORE else [f"--http-address=0.0.0.0:{HTTP.port}"])],
        mounts=[k.mount("data", data, read_only=False), k.mount("objstore", OBJSTORE_DIR)], **_probes(),
    )
    # They read only objstore.yml (a Secret, whose value the pure builders never see) and their flags.
    pod = k.PodSpec(containers=[container], volumes=[objstore_volume()], extra={"affinity": k.spread(app)},
                    config_checksum=k.checksum(OBJSTORE_SECRET_NAME, container.args))
    store = name == STORE
    return [
        k.service(app, [GRPC, HTTP] if store else [HTTP], headless=True),
        k.stateful_set(app, w.replicas, pod, name, [k.pvc_template("data", w.storage or "10Gi", ctx.cluster.storage_class)]),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            # The Querier reads the Store Gateway over gRPC; Prometheus scrapes both on HTTP.
            ingress=[*([net.Flow(net.apps(QUERY), [GRPC])] if store else []), net.Flow(net.apps("prometheus"), [HTTP])],
            egress=[net.Flow(net.anywhere(), [object_store_port(ctx)])],
        ),
    ]


def object_store_port(ctx: Context) -> k.Port:
    return k.Port("objstore", ctx.settings.metrics_store.thanos.object_store_port)


def compactor_args(ctx: Context) -> list[str]:
    retention = ctx.settings.metrics_store.thanos.retention
    return ["compact", "--wait", *(f"--{flag}={retention[key]}" for key, flag in RETENTION_FLAGS.items())]


def build(ctx: Context) -> Service:
    """The Querier, the Store Gateway, the Compactor and the bucket's Secret (none without Thanos)."""
    if not ctx.settings.metrics_store.thanos_enabled:
        return Service("Thanos", [])
    app = ctx.app(STORE, "metrics-store", IMAGE)
    objects = [
        k.secret(app, OBJSTORE_SECRET_NAME, {"objstore.yml": ctx.secret(OBJSTORE_SECRET)}),
        *_query(ctx),
        *_bucket_reader(ctx, STORE, "metrics-store", "thanosStore", ["store"]),
        *_bucket_reader(ctx, COMPACTOR, "metrics-compactor", "thanosCompactor", compactor_args(ctx)),
    ]
    return Service("Thanos", objects)
