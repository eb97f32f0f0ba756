"""``llmmon render`` output of the stack: every Kubernetes object as YAML, except Secrets.

The same ``build_services`` feeds the Pulumi program, so GitOps users and reviewers diff
exactly what ``pulumi up`` would create, minus the Secrets: a rendered Secret could only hold
a placeholder, and applying it would run the stack with publicly known passwords. Instead
``kubernetes/SECRETS.md`` lists each Secret (namespace, name, keys) with the ``kubectl create
secret`` command that provides it; the pods that use one do not start until it exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

import dashboards.render
from foundation.settings import Settings
from stack.build import build_services, upstream_artifacts
from stack.credentials import required_secret_keys
from stack.model import REDACTED, Service
from stack.services.grafana_content import content

#: What the Grafana provider creates (``grafana.delivery: provider``), for reviewers and diffs.
GRAFANA_API_FILE = "grafana/api/content.yaml"

SECRETS_DOC = "kubernetes/SECRETS.md"


@dataclass(frozen=True, order=True)
class RequiredSecret:
    namespace: str
    name: str
    keys: tuple[str, ...]


def file_name(index: int, service: Service) -> str:
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", service.component).lower()
    return f"kubernetes/{index:02d}-{slug}.yaml"


def without_secrets(service: Service) -> Service:
    return Service(service.component, [o for o in service.objects if o["kind"] != "Secret"])


def to_yaml(service: Service) -> str:
    return yaml.safe_dump_all(service.objects, sort_keys=True, default_flow_style=False, explicit_start=True)


def required_secrets(services: list[Service]) -> list[RequiredSecret]:
    """Every Secret the Pulumi program creates, which a GitOps user creates instead."""
    return sorted(
        RequiredSecret(o["metadata"]["namespace"], o["metadata"]["name"], tuple(sorted(o["stringData"])))
        for s in services for o in s.objects if o["kind"] == "Secret"
    )


def secrets_doc(settings: Settings, secrets: list[RequiredSecret]) -> str:
    c = settings.cluster
    lines = [
        f"# Secrets for env {settings.env!r} (not rendered: create them before applying this folder)",
        "",
        "`pulumi up` creates these from Pulumi secrets. Applying the rendered manifests (GitOps)",
        "needs them created by you, e.g. with `kubectl create secret` from files only you hold, or",
        "by an ExternalSecret (external-secrets.io) with the same name and keys. Until they exist,",
        "the pods that use them do not start (ContainerCreating or CreateContainerConfigError).",
        "",
    ]
    for s in secrets:
        files = " ".join(f"--from-file={key}=./{s.name}/{key}" for key in s.keys)
        lines += [f"## {s.namespace}/{s.name}", "", f"Keys: {', '.join(f'`{k}`' for k in s.keys)}", "",
                  "```sh", f"kubectl create secret generic {s.name} -n {s.namespace} {files}", "```", ""]
    lines += [
        "## TLS Secrets (prerequisites in every deployment, Pulumi too)",
        "",
        "Issued by one CA (e.g. one cert-manager Issuer), each with `ca.crt`, `tls.crt`, `tls.key`:",
        "",
        f"- `{c.namespace}/{c.es_tls_secret}`: Elasticsearch (SANs `elasticsearch`, "
        f"`elasticsearch.{c.namespace}.svc`, `*.elasticsearch-headless.{c.namespace}.svc`, `localhost`)",
        f"- `{c.namespace}/{c.logstash_tls_secret}`: Logstash's beats input (SAN `logstash.{c.namespace}.svc`; "
        "key in PKCS#8)",
        f"- `{c.node_namespace}/{c.filebeat_tls_secret}`: Filebeat's client certificate",
        *([f"- `{c.node_namespace}/{c.node_exporter_tls_secret}`: kube-rbac-proxy in front of node-exporter "
           f"(SAN `node-exporter.{c.node_namespace}.svc`)"] if c.runs_prometheus else []),
        "",
    ]
    return "\n".join(lines)


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    upstream = upstream_artifacts(settings)
    secrets = dict.fromkeys(required_secret_keys(settings, upstream), REDACTED)
    services = build_services(settings, secrets, upstream)
    out = {file_name(i, s): to_yaml(without_secrets(s)) for i, s in enumerate(services)}
    out[SECRETS_DOC] = secrets_doc(settings, required_secrets(services))
    if settings.grafana.uses_provider:
        spec = content(settings, dashboards.render.datasources_document(settings), upstream)
        out[GRAFANA_API_FILE] = yaml.safe_dump(spec.summary(), sort_keys=True, default_flow_style=False)
    return out
