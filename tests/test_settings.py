"""Settings: every env loads; bad input names the key and the env."""

import pytest
import yaml

from foundation.settings import (
    PROJECT_DIR,
    Settings,
    SettingsError,
    available_envs,
    load_settings,
    split_stack_file,
)


def test_every_env_loads():
    assert available_envs() == ["dev", "prod", "staging"]
    for env in available_envs():
        s = load_settings(env)
        assert s.env == env
        assert s.router.kubernetes is not None and not s.router.targets  # every env discovers router pods


def test_unknown_env_is_a_clear_error():
    with pytest.raises(SettingsError, match="known environments: dev, prod, staging"):
        load_settings("qa")


def _config(env="dev"):
    doc = yaml.safe_load((PROJECT_DIR / f"Pulumi.{env}.yaml").read_text())
    return split_stack_file(env, doc)[0]


def test_malformed_key_names_key_and_env():
    config = _config()
    config["router"] = dict(config["router"], scrapeInterval="ten seconds")
    with pytest.raises(SettingsError) as err:
        Settings.from_config("staging", config)
    assert "'staging'" in str(err.value) and "router.scrapeInterval" in str(err.value)


def test_missing_and_unknown_keys_are_refused():
    config = _config()
    router = dict(config["router"])
    del router["models"]
    with pytest.raises(SettingsError, match="router.models.*missing"):
        Settings.from_config("dev", dict(config, router=router))
    with pytest.raises(SettingsError, match="router.scrapeIntervall.*unknown key"):
        Settings.from_config("dev", dict(config, router=dict(config["router"], scrapeIntervall="1s")))
    static = {k: v for k, v in config["router"].items() if k != "kubernetes"}
    with pytest.raises(SettingsError, match="targets\\[0\\].*host:port"):
        Settings.from_config("dev", dict(config, router=dict(static, targets=["nohost"])))
    with pytest.raises(SettingsError, match="router.queueCapacity.*>= 1"):
        Settings.from_config("dev", dict(config, router=dict(config["router"], queueCapacity=0)))
    with pytest.raises(SettingsError, match="podNamespaces\\[0\\].*namespace"):
        Settings.from_config("dev", dict(config, router=dict(config["router"], podNamespaces=["Not_A_NS"])))


def test_secure_keys_are_recorded_by_name_only():
    doc = {"config": {"llm-router-monitoring:grafanaAdminPassword": {"secure": "v1:abc"}, "kubernetes:context": "x"}}
    config, secrets = split_stack_file("dev", doc)
    assert secrets == {"grafanaAdminPassword"}
    assert "kubernetes:context" not in config


def test_unknown_section_is_refused():
    config = _config()
    with pytest.raises(SettingsError, match="alertng.*unknown key") as err:
        Settings.from_config("prod", dict(config, alertng={}))
    assert err.value.env == "prod"


def test_secret_keys_never_reach_the_section_parsers():
    config = dict(_config(), grafanaAdminPassword={"secure": "v1:abc"})
    settings = Settings.from_config("dev", config, frozenset({"grafanaAdminPassword"}))
    assert settings.secret_keys == {"grafanaAdminPassword"}


def test_malformed_stack_file_names_env_and_file(tmp_path):
    (tmp_path / "Pulumi.qa.yaml").write_text("config:\n  llm-router-monitoring:router: [unclosed\n")
    with pytest.raises(SettingsError, match="Pulumi.qa.yaml is not valid YAML") as err:
        load_settings("qa", tmp_path)
    assert err.value.env == "qa"
