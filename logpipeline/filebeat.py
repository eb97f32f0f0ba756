"""Filebeat as a DaemonSet: the router's container logs -> JSON decode -> Kubernetes metadata -> Logstash.

Only the router namespaces' files are read (``<pod>_<namespace>_<container>-<id>.log``).
The ``filestream`` input with the ``container`` parser is Filebeat 8's replacement of the
deprecated ``container`` input.
"""

from __future__ import annotations

from typing import Any

from foundation.settings import Settings
from logpipeline.logstash import SERVICE_TAG

CONTAINER_LOG_DIR = "/var/log/containers/"
#: Filebeat's client certificate, key and the internal CA (mutual TLS to Logstash).
TLS_DIR = "/etc/filebeat/tls"


def logstash_hosts(settings: Settings) -> list[str]:
    """The configured hosts, else the stack's Logstash Service in the monitoring namespace."""
    own = f"logstash.{settings.cluster.namespace}.svc:{settings.logging.beats_port}"
    return list(settings.logging.logstash_hosts) or [own]


def filebeat_config(settings: Settings) -> dict[str, Any]:
    namespaces = settings.router.pod_namespaces
    return {
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "llm-router-containers",
                "paths": [f"{CONTAINER_LOG_DIR}*_{ns}_*.log" for ns in namespaces],
                "prospector.scanner.symlinks": True,
                "parsers": [{"container": {"stream": "all", "format": "auto"}}],
                # The seed's routing fields: Logstash only processes service == llm-router.
                "fields": {"service": SERVICE_TAG, "environment": settings.env},
                "processors": [
                    {
                        "decode_json_fields": {
                            "fields": ["message"],
                            "target": "",
                            "overwrite_keys": True,
                            # ecs-logging's "log.level"/"ecs.version" dotted keys -> nested objects
                            "expand_keys": True,
                            "add_error_key": True,
                            "when": {"regexp": {"message": "^\\{"}},
                        }
                    },
                    {
                        "add_kubernetes_metadata": {
                            "host": "${NODE_NAME}",
                            "matchers": [{"logs_path": {"logs_path": CONTAINER_LOG_DIR}}],
                        }
                    },
                ],
            }
        ],
        # Mutual TLS: Filebeat checks Logstash's certificate and host name against the internal CA
        # and presents its own certificate, which Logstash requires.
        "output.logstash": {
            "hosts": logstash_hosts(settings),
            "ssl.enabled": True,
            "ssl.verification_mode": "full",
            "ssl.certificate_authorities": [f"{TLS_DIR}/ca.crt"],
            "ssl.certificate": f"{TLS_DIR}/tls.crt",
            "ssl.key": f"{TLS_DIR}/tls.key",
        },
        "logging.level": "info",
        "logging.to_stderr": True,
        "logging.json": True,
    }
