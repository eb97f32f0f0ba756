"""How Grafana content (folder, data sources, dashboards) reaches Grafana, per environment.

* ``provisioning`` (the default): the stack deploys Grafana and mounts the rendered
  provisioning files; no API access is needed.
* ``provider``: the Pulumi Grafana provider creates the content through Grafana's HTTP API, as
  Pulumi resources that show in ``pulumi preview``. The Grafana is either the one the stack
  deploys (``instance: in-cluster``, reached through its ingress host) or one run elsewhere
  (``instance: external``: Grafana Cloud, a shared company Grafana; the stack then deploys no
  Grafana at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from foundation.settings.reader import Reader

DELIVERIES = ("provisioning", "provider")
INSTANCES = ("in-cluster", "external")
#: ``admin``: basic auth as Grafana's admin (only for the Grafana this stack deploys, whose
#: password is the ``grafanaAdminPassword`` secret); ``token``: a service-account token.
AUTHS = ("admin", "token")
#: Folder permission levels, as Grafana's API names them.
PERMISSIONS = ("View", "Edit", "Admin")
BASIC_ROLES = ("Viewer", "Editor")
#: Data sources an external Grafana must be told how to reach (in-cluster names do not resolve there).
DATASOURCE_KEYS = ("prometheus", "elasticsearch", "tracing")
#: Pulumi secret holding the service-account token (``auth: token``).
TOKEN_SECRET = "grafanaApiToken"
#: Grafana's own database: SQLite on the pod's disk, or an external PostgreSQL that several
#: replicas share (users, sessions, dashboards, alerting state).
DATABASES = ("sqlite", "postgres")
POSTGRES_SSL_MODES = ("disable", "require", "verify-ca", "verify-full")
#: Pulumi secret holding the PostgreSQL connection, ``postgres://user:password@host:port/database``.
DATABASE_SECRET = "grafanaDatabaseUrl"
#: Pulumi config key holding the Elasticsearch CA certificate (PEM, not secret) that API-created
#: data sources need: Grafana reads ``$__file{}`` references only in provisioning files.
ELASTICSEARCH_CA_CONFIG = "grafanaElasticsearchCaCert"

GRANTEE_RE = re.compile(r"^(role|team):(.+)$")
UID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
URL_RE = re.compile(r"^https?://[^/\s]+(/\S*)?$")


@dataclass(frozen=True)
class Grant:
    """One folder permission: a basic role (``Viewer``/``Editor``) or a team (by name)."""

    kind: str
    name: str
    permission: str


@dataclass(frozen=True)
class DatabaseSettings:
    type: str = "sqlite"
    #: PostgreSQL's port (the NetworkPolicy opens it; the URL secret must use it).
    port: int = 5432
    ssl_mode: str = "require"

    KEYS = frozenset({"type", "port", "sslMode"})

    @property
    def shared(self) -> bool:
        """Replicas share one database: sessions, content and alerting state."""
        return self.type == "postgres"

    @classmethod
    def parse(cls, r: Reader) -> DatabaseSettings:
        r.reject_unknown(cls.KEYS)
        d = cls()
        s = cls(type=r.choice("type", DATABASES, d.type), port=r.int("port", d.port, minimum=1),
                ssl_mode=r.choice("sslMode", POSTGRES_SSL_MODES, d.ssl_mode))
        if not s.shared and ("port" in r.data or "sslMode" in r.data):
            raise r.error("type", "port and sslMode are PostgreSQL settings: expected type: postgres")
        if s.port > 65535:
            raise r.error("port", f"expected a port number, got {s.port}")
        return s


@dataclass(frozen=True)
class GrafanaSettings:
    delivery: str = "provisioning"
    instance: str = "in-cluster"
    #: Grafana's URL for the provider; in-cluster default: ``https://<cluster.ingress.hosts.grafana>``.
    url: str = ""
    auth: str = "admin"
    folder_uid: str = "llm-router"
    folder_title: str = "LLM Router"
    #: Folder permissions (provider only). Empty: Grafana's defaults are left alone.
    grants: tuple[Grant, ...] = ()
    #: Data source key -> URL as the external Grafana reaches it.
    datasource_urls: dict[str, str] = field(default_factory=dict)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)

    KEYS = frozenset({"delivery", "instance", "url", "auth", "folder", "permissions", "datasourceUrls", "database"})

    @property
    def uses_provider(self) -> bool:
        return self.delivery == "provider"

    @property
    def deploys_grafana(self) -> bool:
        return self.instance == "in-cluster"

    @classmethod
    def parse(cls, r: Reader) -> GrafanaSettings:
        r.reject_unknown(cls.KEYS)
        d = cls()
        folder = r.section("folder")
        folder.reject_unknown({"uid", "title"})
        s = cls(
            delivery=r.choice("delivery", DELIVERIES, d.delivery),
            instance=r.choice("instance", INSTANCES, d.instance),
            url=r.str("url", d.url),
            auth=r.choice("auth", AUTHS, "token" if r.data.get("instance") == "external" else d.auth),
            folder_uid=folder.str("uid", d.folder_uid),
            folder_title=folder.str("title", d.folder_title),
            grants=_grants(r.section("permissions")),
            datasource_urls=_datasource_urls(r.section("datasourceUrls")),
            database=r.parse("database", DatabaseSettings.parse),
        )
        if not UID_RE.match(s.folder_uid):
            raise folder.error("uid", f"expected a Grafana uid (letters, digits, - and _, at most 40), got {s.folder_uid!r}")
        if s.url and not URL_RE.match(s.url):
            raise r.error("url", f"expected an http(s) URL, got {s.url!r}")
        if s.instance == "external":
            if not s.uses_provider:
                raise r.error("delivery", "an external Grafana cannot read this stack's provisioning files; "
                                          "expected delivery: provider with instance: external")
            if s.auth == "admin":
                raise r.error("auth", "admin auth uses the password of the Grafana this stack deploys; "
                                      f"an external Grafana needs auth: token (Pulumi secret {TOKEN_SECRET})")
            if not s.url:
                raise r.error("url", "missing; an external Grafana needs its URL")
            missing = [k for k in DATASOURCE_KEYS if k not in s.datasource_urls]
            if missing:
                raise r.error("datasourceUrls", f"missing {', '.join(missing)}; an external Grafana cannot resolve "
                                                "in-cluster service names, give the URL it reaches each backend at")
            if "database" in r.data:
                raise r.error("database", "the stack deploys no Grafana with instance: external; "
                                          "its database is the external Grafana's business")
        elif s.datasource_urls:
            raise r.error("datasourceUrls", "only for instance: external; the in-cluster Grafana uses service names")
        if s.grants and not s.uses_provider:
            raise r.error("permissions", "folder permissions are managed through the API: expected delivery: provider")
        return s


def _grants(r: Reader) -> tuple[Grant, ...]:
    r.reject_unknown({p.lower() for p in PERMISSIONS})
    grants: list[Grant] = []
    seen: dict[str, str] = {}
    for permission in PERMISSIONS:
        key = permission.lower()
        for i, grantee in enumerate(r.str_list(key, ())):
            m = GRANTEE_RE.match(grantee)
            if m is None:
                raise r.error(f"{key}[{i}]", f"expected role:<Viewer|Editor> or team:<name>, got {grantee!r}")
            kind, name = m.groups()
            if kind == "role" and name not in BASIC_ROLES:
                raise r.error(f"{key}[{i}]", f"expected a basic role {' or '.join(BASIC_ROLES)}, got {name!r}")
            if grantee in seen:
                raise r.error(f"{key}[{i}]", f"{grantee} is already given {seen[grantee]}; give each grantee one level")
            seen[grantee] = permission
            grants.append(Grant(kind, name, permission))
    return tuple(grants)


def _datasource_urls(r: Reader) -> dict[str, str]:
    r.reject_unknown(set(DATASOURCE_KEYS))
    urls = {key: r.str(key) for key in DATASOURCE_KEYS if key in r.data}
    for key, url in urls.items():
        if not URL_RE.match(url):
            raise r.error(key, f"expected an http(s) URL, got {url!r}")
    return urls
