"""The Pulumi Grafana provider layer (``grafana.delivery: provider``): content through Grafana's API.

One explicit provider (URL from settings, auth from a Pulumi secret), a folder, the data
sources with their fixed uids, one Dashboard per rendered dashboard (the rendered JSON text,
unchanged), and the folder's permissions. Every value comes from ``stack.services.grafana_content``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumiverse_grafana as grafana

from stack.components import TYPE_PREFIX
from stack.services.grafana_content import Content, DataSource


def auth_value(content: Content, secrets: Mapping[str, Any]) -> pulumi.Output[str]:
    """The provider's ``auth``: ``admin:<password>`` or the token, always a secret."""
    value = secrets[content.auth_secret]
    if content.auth == "admin":
        return pulumi.Output.secret(pulumi.Output.concat("admin:", value))
    return pulumi.Output.secret(value)


def secure_json(ds: DataSource, secrets: Mapping[str, Any], ca_cert: pulumi.Input[str]) -> pulumi.Output[str] | None:
    """``secure_json_data_encoded``: the secure fields as one JSON object, a secret."""
    if not ds.secure:
        return None
    keys = sorted(ds.secure)
    values = [secrets[ds.secure[k].secret_key] if ds.secure[k].secret_key else ca_cert for k in keys]
    encoded = pulumi.Output.all(*values).apply(lambda vs: json.dumps(dict(zip(keys, vs, strict=True)), sort_keys=True))
    return pulumi.Output.secret(encoded)


class GrafanaContent(pulumi.ComponentResource):
    """Folder, data sources, dashboards and permissions in one Grafana, through its API."""

    def __init__(
        self, content: Content, secrets: Mapping[str, Any], ca_cert: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:GrafanaContent", "GrafanaContent", None, opts)
        self.provider = grafana.Provider(
            "grafana", url=content.url, auth=auth_value(content, secrets),
            opts=pulumi.ResourceOptions(parent=self),
        )
        owned = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.folder = grafana.oss.Folder(
            content.folder_uid, uid=content.folder_uid, title=content.folder_title,
            prevent_destroy_if_not_empty=False, opts=owned,
        )
        self.datasources = [self._datasource(ds, secrets, ca_cert, owned) for ds in content.datasources]
        # Dashboards reference data sources by uid: create those (and the folder) first. The
        # folder uid is given as the literal so that preview and policies see it.
        after = pulumi.ResourceOptions.merge(owned, pulumi.ResourceOptions(depends_on=[self.folder, *self.datasources]))
        self.dashboards = [
            grafana.oss.Dashboard(uid, config_json=text, folder=content.folder_uid, overwrite=True, opts=after)
            for uid, text in content.dashboards.items()
        ]
        self.permissions = self._permissions(content, owned) if content.grants else None
        self.resources: list[pulumi.CustomResource] = [
            self.provider, self.folder, *self.datasources, *self.dashboards, *([self.permissions] if self.permissions else []),
        ]
        self.register_outputs({"folderUid": self.folder.uid, "dashboards": len(self.dashboards)})

    @staticmethod
    def _datasource(
        ds: DataSource, secrets: Mapping[str, Any], ca_cert: pulumi.Input[str], opts: pulumi.ResourceOptions,
    ) -> grafana.oss.DataSource:
        f = ds.api_fields
        return grafana.oss.DataSource(
            ds.uid, uid=ds.uid, name=f["name"], type=f["type"], url=f["url"], access_mode=f.get("access", "proxy"),
            is_default=bool(f.get("isDefault", False)),
            basic_auth_enabled=bool(f.get("basicAuth", False)), basic_auth_username=f.get("basicAuthUser"),
            json_data_encoded=json.dumps(f.get("jsonData", {}), sort_keys=True),
            secure_json_data_encoded=secure_json(ds, secrets, ca_cert),
            opts=opts,
        )

    def _permissions(self, content: Content, opts: pulumi.ResourceOptions) -> grafana.oss.FolderPermission:
        invoke = pulumi.InvokeOptions(provider=self.provider, parent=self)
        items = []
        for grant in content.grants:
            if grant.kind == "role":
                items.append(grafana.oss.FolderPermissionPermissionArgs(permission=grant.permission, role=grant.name))
            else:
                team = grafana.oss.get_team_output(name=grant.name, opts=invoke)
                # The lookup answers a number; the permission takes the id as a string.
                team_id = team.team_id.apply(lambda i: str(int(i)))
                items.append(grafana.oss.FolderPermissionPermissionArgs(permission=grant.permission, team_id=team_id))
        # Authoritative: exactly these grants (and Grafana admins) reach the folder.
        return grafana.oss.FolderPermission(
            f"{content.folder_uid}-permissions", folder_uid=content.folder_uid, permissions=items,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.folder])),
        )
