"""Grafana provisioning: fixed datasource uids, per-env values, a file dashboard provider."""

from __future__ import annotations

import pytest
import yaml

from dashboards import uids
from dashboards.datasources import DASHBOARDS_MOUNT
from dashboards.definitions import as_dict, build_all
from dashboards.queries import panels
from dashboards.render import DATASOURCES_FILE, PROVIDER_FILE, artifacts
from foundation.settings import load_settings


@pytest.fixture(scope="module", params=["dev", "staging"])
def rendered(request):
    settings = load_settings(request.param)
    return settings, artifacts(settings)


def test_datasources_have_the_contract_uids(rendered):
    settings, files = rendered
    document = yaml.safe_load(files[DATASOURCES_FILE])
    by_uid = {d["uid"]: d for d in document["datasources"]}
    assert set(by_uid) == {"prometheus", "elasticsearch", "tracing"}
    assert {d["type"] for d in by_uid.values()} == {"prometheus", "elasticsearch", "jaeger"}
    assert [d["uid"] for d in document["datasources"] if d.get("isDefault")] == ["prometheus"]
    prometheus = by_uid["prometheus"]["jsonData"]
    assert prometheus["timeInterval"] == settings.router.scrape_interval
    assert prometheus["exemplarTraceIdDestinations"][0]["datasourceUid"] == "tracing"
    assert by_uid["elasticsearch"]["jsonData"]["index"] == f"llm-router-logs-{settings.env}-*"
    assert all(d["url"].startswith("http") for d in by_uid.values())


def test_every_datasource_a_dashboard_uses_is_provisioned(rendered):
    _, files = rendered
    provisioned = {d["uid"] for d in yaml.safe_load(files[DATASOURCES_FILE])["datasources"]}
    used = set()
    for dashboard in map(as_dict, build_all()):
        used |= {t["datasource"]["uid"] for t in dashboard["templating"]["list"]}
        used |= {p["datasource"]["uid"] for p in panels(dashboard) if p.get("datasource")}
    assert used and used <= provisioned


def test_file_provider_loads_the_rendered_dashboards(rendered):
    _, files = rendered
    (provider,) = yaml.safe_load(files[PROVIDER_FILE])["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == DASHBOARDS_MOUNT
    assert provider["disableDeletion"] and not provider["allowUiUpdates"]


def test_provider_delivery_renders_no_provisioning_files():
    """prod delivers content through Grafana's API: provisioning files would be dead config."""
    settings = load_settings("prod")
    assert settings.grafana.delivery == "provider"
    files = artifacts(settings)
    assert DATASOURCES_FILE not in files and PROVIDER_FILE not in files
    assert {f"grafana/dashboards/{d.uid}.json" for d in build_all()} <= set(files)


def test_dashboard_path_only_for_known_uids():
    assert uids.dashboard_path(uids.QOS) == "/d/llm-qos"
    with pytest.raises(ValueError, match="unknown dashboard uid"):
        uids.dashboard_path("llm-nope")
