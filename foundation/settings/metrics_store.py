"""Where metrics live beyond Prometheus' own disk: nothing more, Thanos, or a remote-write endpoint.

* ``local`` (default): each Prometheus keeps ``cluster.prometheus.retention`` on its volume.
* ``thanos``: a sidecar beside each Prometheus uploads its 2-hour blocks to object storage
  (``objstore.yml``, the Pulumi secret ``thanosObjstoreConfig``); a Querier deduplicates the
  replicas on ``prometheus_replica`` and answers Grafana; a Store Gateway serves the bucket;
  one Compactor compacts, downsamples (5m after 40 hours, 1h after 10 days) and applies the
  retention per resolution.
* ``remoteWrite``: every Prometheus also writes to an existing Mimir, Cortex, VictoriaMetrics
  or Thanos Receive endpoint, with basic auth (password: Pulumi secret
  ``prometheusRemoteWritePassword``) or a bearer token (``prometheusRemoteWriteToken``).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from foundation.settings.reader import Reader

MODES = ("local", "thanos", "remoteWrite")
REMOTE_WRITE_AUTHS = ("none", "basic", "bearer")
#: ``keep``: the receiver deduplicates the HA pair on ``prometheus_replica`` (Mimir/Cortex HA
#: tracker, Thanos Receive + Querier); ``drop``: both replicas write identical series (a
#: receiver that deduplicates identical samples, e.g. VictoriaMetrics ``-dedup.minScrapeInterval``).
REPLICA_LABEL_MODES = ("keep", "drop")
OBJSTORE_SECRET = "thanosObjstoreConfig"
#: ``cluster.<key>`` workloads that exist only with ``mode: thanos``.
THANOS_WORKLOADS = ("thanosSidecar", "thanosQuery", "thanosStore", "thanosCompactor")
REMOTE_WRITE_SECRETS = {"basic": "prometheusRemoteWritePassword", "bearer": "prometheusRemoteWriteToken"}
#: Thanos downsamples raw blocks older than 40 hours to 5m and 5m blocks older than 10 days to 1h
#: (docs/components/compact.md): a shorter retention deletes the data before it is downsampled.
MIN_RETENTION_DAYS = {"raw": 2, "fiveMinutes": 10}
RETENTION_RE = re.compile(r"^(\d+)(d|w|y)$")
_DAYS = {"d": 1, "w": 7, "y": 365}


def retention_days(value: str) -> int:
    match = RETENTION_RE.match(value)
    assert match is not None, value
    return int(match.group(1)) * _DAYS[match.group(2)]


@dataclass(frozen=True)
class ThanosSettings:
    #: Retention per resolution in the bucket; ``0d`` keeps that resolution forever.
    retention: dict[str, str] = field(default_factory=lambda: {"raw": "30d", "fiveMinutes": "90d", "oneHour": "1y"})
    #: Port the object store answers on (S3, GCS and Azure: HTTPS).
    object_store_port: int = 443

    KEYS = frozenset({"retention", "objectStorePort"})

    @classmethod
    def parse(cls, r: Reader) -> ThanosSettings:
        r.reject_unknown(cls.KEYS)
        d = cls()
        retention = r.section("retention")
        retention.reject_unknown(frozenset(d.retention))
        values = {}
        for key, default in d.retention.items():
            value = retention.str(key, default)
            if not RETENTION_RE.match(value):
                raise retention.error(key, f"expected days, weeks or years like 30d, 12w or 1y (0d: forever), got {value!r}")
            minimum = MIN_RETENTION_DAYS.get(key)
            if minimum and 0 < retention_days(value) < minimum:
                raise retention.error(key, f"{value} deletes blocks before Thanos downsamples them (after "
                                           f"{'40 hours' if key == 'raw' else '10 days'}); expected at least "
                                           f"{minimum}d, or 0d to keep them forever")
            values[key] = value
        port = r.int("objectStorePort", d.object_store_port, minimum=1)
        if port > 65535:
            raise r.error("objectStorePort", f"expected a port number, got {port}")
        return cls(retention=values, object_store_port=port)


@dataclass(frozen=True)
class RemoteWriteSettings:
    url: str
    auth: str = "none"
    username: str = ""
    replica_label: str = "keep"

    KEYS = frozenset({"url", "auth", "username", "replicaLabel"})

    @property
    def port(self) -> int:
        parsed = urllib.parse.urlsplit(self.url)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    @property
    def secret_key(self) -> str | None:
        return REMOTE_WRITE_SECRETS.get(self.auth)

    @classmethod
    def parse(cls, r: Reader) -> RemoteWriteSettings:
        r.reject_unknown(cls.KEYS)
        url = r.str("url")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise r.error("url", f"expected the endpoint's http(s) URL, e.g. https://mimir.example.com/api/v1/push, got {url!r}")
        s = cls(url=url, auth=r.choice("auth", REMOTE_WRITE_AUTHS, "none"), username=r.str("username", ""),
                replica_label=r.choice("replicaLabel", REPLICA_LABEL_MODES, "keep"))
        if (s.auth == "basic") != bool(s.username):
            raise r.error("username", "basic auth needs a username (and the Pulumi secret "
                                      f"{REMOTE_WRITE_SECRETS['basic']}); other auths take none")
        if s.auth != "none" and parsed.scheme != "https":
            raise r.error("url", "credentials would cross the network in clear text: expected an https URL")
        return s


@dataclass(frozen=True)
class MetricsStoreSettings:
    mode: str = "local"
    thanos: ThanosSettings = field(default_factory=ThanosSettings)
    remote_write: RemoteWriteSettings | None = None

    KEYS = frozenset({"mode", "thanos", "remoteWrite"})

    @property
    def thanos_enabled(self) -> bool:
        return self.mode == "thanos"

    def secret_keys(self) -> list[str]:
        """The Pulumi secrets this mode needs."""
        if self.thanos_enabled:
            return [OBJSTORE_SECRET]
        key = self.remote_write.secret_key if self.remote_write else None
        return [key] if key else []

    @classmethod
    def parse(cls, r: Reader) -> MetricsStoreSettings:
        r.reject_unknown(cls.KEYS)
        mode = r.choice("mode", MODES, "local")
        for other, needed in (("thanos", "thanos"), ("remoteWrite", "remoteWrite")):
            if other in r.data and mode != needed:
                raise r.error(other, f"only read with mode: {needed}; this env has mode: {mode}")
        remote = r.parse("remoteWrite", RemoteWriteSettings.parse, required=True) if mode == "remoteWrite" else None
        return cls(mode=mode, thanos=r.parse("thanos", ThanosSettings.parse), remote_write=remote)
