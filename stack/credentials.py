"""Every secret the stack needs: its Pulumi config key, and where it ends up in Kubernetes.

Values never pass through the pure builders as text: they arrive as Pulumi Outputs from
``pulumi.Config.require_secret`` and land in Kubernetes Secrets' ``stringData``; pods read
them as files (or ``secretKeyRef`` env where the software has no ``*_FILE`` option).
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

from foundation.settings import Settings
from foundation.settings.grafana import DATABASE_SECRET, TOKEN_SECRET
from foundation.settings.metrics_store import OBJSTORE_SECRET, REMOTE_WRITE_SECRETS
from foundation.standards import thanos_objstore_types

#: Pulumi config key -> what it is (for docs and error messages).
STATIC_SECRETS: dict[str, str] = {
    "grafanaAdminPassword": "Grafana admin user's password",
    "elasticPassword": "Elasticsearch built-in superuser 'elastic' (bootstrap, setup job only)",
    "kibanaSystemPassword": "Elasticsearch built-in user 'kibana_system' (Kibana's own identity)",
    "kibanaEncryptionKey": "Kibana session/saved-object encryption key, >= 32 characters, shared by all replicas",
    "logstashWriterPassword": "Elasticsearch user 'logstash_writer' (Logstash output, write-only to log indices)",
    "jaegerPassword": "Elasticsearch user 'jaeger' (trace storage, jaeger-* indices only)",
    "jaegerReaderPassword": "Elasticsearch user 'jaeger_reader' (jaeger-query: search jaeger-* indices only)",
    "grafanaReaderPassword": "Elasticsearch user 'grafana_reader' (read-only log indices, Grafana datasource)",
}
#: Secrets that only some modes need (``required_secret_keys`` decides).
MODE_SECRETS: dict[str, str] = {
    TOKEN_SECRET: "Grafana service-account token for the Pulumi Grafana provider (grafana.auth: token)",
    DATABASE_SECRET: "Grafana's PostgreSQL, postgres://user:password@host:port/database (grafana.database.type: postgres)",
    OBJSTORE_SECRET: "Thanos objstore.yml: the bucket and its credentials (metricsStore.mode: thanos)",
    REMOTE_WRITE_SECRETS["basic"]: "remote-write endpoint's password (metricsStore.remoteWrite.auth: basic)",
    REMOTE_WRITE_SECRETS["bearer"]: "remote-write endpoint's bearer token (metricsStore.remoteWrite.auth: bearer)",
}

ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
#: Elasticsearch passwords go into JSON bodies built by a shell script: no quotes or backslashes.
PASSWORD_RE = re.compile(r"^[A-Za-z0-9!#$%&()*+,./:;<=>?@\[\]^_{|}~-]{12,128}$")
MIN_LENGTH = {"kibanaEncryptionKey": 32}


def _objstore_problem(value: str) -> str | None:
    try:
        doc = yaml.safe_load(value)
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("config"), Mapping):
        return "must be a Thanos objstore.yml: a mapping with 'type' and a 'config' mapping"
    if doc.get("type") not in thanos_objstore_types():
        return f"type must be one of {', '.join(thanos_objstore_types())} (Thanos' object stores)"
    return None


def _database_url_problem(value: str) -> str | None:
    url = urllib.parse.urlsplit(value)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme != "postgres" or not url.hostname or not url.username or not url.password or len(url.path) < 2:
        return "must be postgres://user:password@host:port/database (Grafana's [database] url)"
    if port is None:
        return "must name the port: postgres://user:password@host:PORT/database"
    return None


#: Secrets with a format of their own: key -> why a value is unusable.
FORMATS: dict[str, Callable[[str], str | None]] = {OBJSTORE_SECRET: _objstore_problem, DATABASE_SECRET: _database_url_problem}


def secret_problem(key: str, value: str) -> str | None:
    """Why a secret value is unusable (never echoing the value), or None."""
    if key in FORMATS:
        return FORMATS[key](value)
    minimum = MIN_LENGTH.get(key, 12 if key in STATIC_SECRETS else 1)
    if len(value) < minimum:
        return f"must be at least {minimum} characters"
    if key in STATIC_SECRETS and key != "kibanaEncryptionKey" and not PASSWORD_RE.match(value):
        return "may only contain letters, digits and punctuation other than quotes, backslash and space"
    return None


def _file_refs(node: Any) -> Iterator[str]:
    """Every ``*_file`` value in an Alertmanager config (credentials read from files)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if str(key).endswith("_file") and isinstance(value, str):
                yield value
            else:
                yield from _file_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _file_refs(item)


def alertmanager_secret_files(artifacts: Mapping[str, str]) -> dict[str, str]:
    """Pulumi config key -> absolute file path, for each credential file alertmanager.yml reads.

    The config key is derived from the file name (``critical_webhook_url`` ->
    ``alertmanagerCriticalWebhookUrl``) so adding a receiver needs no change here.
    """
    text = artifacts.get(ALERTMANAGER_CONFIG)
    if not text:
        return {}
    out = {}
    for path in sorted(set(_file_refs(yaml.safe_load(text)))):
        stem = re.sub(r"\.[a-z]+$", "", posixpath.basename(path))
        words = [w for w in re.split(r"[^A-Za-z0-9]+", stem) if w]
        out["alertmanager" + "".join(w[:1].upper() + w[1:] for w in words)] = path
    return out


def required_secret_keys(settings: Settings, artifacts: Mapping[str, str]) -> list[str]:
    """Every Pulumi secret this env needs: its Grafana mode decides the Grafana credentials."""
    keys = {*STATIC_SECRETS, *alertmanager_secret_files(artifacts)}
    if not settings.grafana.deploys_grafana:
        keys.discard("grafanaAdminPassword")  # no Grafana of ours to be admin of
    if settings.grafana.uses_provider and settings.grafana.auth == "token":
        keys.add(TOKEN_SECRET)
    if settings.grafana.deploys_grafana and settings.grafana.database.shared:
        keys.add(DATABASE_SECRET)
    keys.update(settings.metrics_store.secret_keys())
    return sorted(keys)


def database_port_problem(settings: Settings, value: str) -> str | None:
    """The connection must use the port the NetworkPolicy opens (grafana.database.port)."""
    try:
        port = urllib.parse.urlsplit(value).port
    except ValueError:
        return None  # secret_problem reports the malformed URL
    expected = settings.grafana.database.port
    return None if port in (None, expected) else f"connects to port {port}; grafana.database.port allows {expected}"
