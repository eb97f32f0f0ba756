"""Logstash / Filebeat / Kibana / Elasticsearch artifacts: deterministic, from settings, no secrets."""

import json
import re

import pytest
import yaml

from app_instrumentation import logs_fields as F
from foundation.settings import Settings, SettingsError, available_envs, load_settings
from foundation.settings.logs import LoggingSettings
from llmmon.render import collect, write
from logpipeline import elasticsearch, filebeat, kibana, logstash, render

EXPECTED = {
    "logstash/pipeline/llm-router.conf", "logstash/logstash.yml", "logstash/pipelines.yml",
    "filebeat/filebeat.yml", "kibana/llm-router-logs.ndjson",
    "elasticsearch/ilm-policy.json", "elasticsearch/index-template.json",
}


@pytest.fixture(params=available_envs())
def settings(request):
    return load_settings(request.param)


def test_artifacts_are_deterministic_and_complete(settings):
    first = render.artifacts(settings)
    assert set(first) == EXPECTED
    assert first == render.artifacts(load_settings(settings.env))
    assert collect(settings, (("logpipeline.render", render.artifacts),)) == dict(sorted(first.items()))


def test_rendered_files_parse(settings):
    files = render.artifacts(settings)
    for path, text in files.items():
        if path.endswith(".yml"):
            assert yaml.safe_load(text) is not None, path
        elif path.endswith(".json"):
            json.loads(text)
        elif path.endswith(".ndjson"):
            assert all(json.loads(line) for line in text.splitlines())


def test_stale_rendered_files_in_elasticsearch_dir_are_pruned(tmp_path, settings):
    write({**render.artifacts(settings), "elasticsearch/old-policy.json": "{}"}, tmp_path)  # an older render
    (tmp_path / "elasticsearch" / "mine.json").write_text("{}")  # not the render's: it stays
    write(render.artifacts(settings), tmp_path)
    assert not (tmp_path / "elasticsearch" / "old-policy.json").exists()
    assert (tmp_path / "elasticsearch" / "ilm-policy.json").exists()
    assert (tmp_path / "elasticsearch" / "mine.json").exists()


def test_credentials_come_from_the_keystore_or_environment(settings):
    conf = render.artifacts(settings)["logstash/pipeline/llm-router.conf"]
    assert f'user => "${{{logstash.ES_USER_VAR}}}"' in conf
    assert f'password => "${{{logstash.ES_PASSWORD_VAR}}}"' in conf
    for value in re.findall(r'(?:password|user|api_key) => "([^"]*)"', conf):
        assert re.fullmatch(r"\$\{[A-Z_]+\}", value), value


def test_ilm_policy_phases_follow_settings(settings):
    policy = elasticsearch.ilm_policy(settings)["policy"]["phases"]
    s = settings.logging
    assert policy["delete"]["min_age"] == f"{s.retention_days}d"
    assert policy["warm"]["min_age"] == s.warm_after
    assert policy["hot"]["actions"]["rollover"] == {
        "max_age": s.rollover_max_age, "max_primary_shard_size": s.rollover_max_primary_shard_size}
    assert load_settings("dev").logging.retention_days < load_settings("prod").logging.retention_days


def test_logstash_output_template_and_policy_agree(settings):
    alias = settings.logging.alias(settings.env)
    output = next(p for p in logstash.pipeline(settings).outputs if p.name == "elasticsearch")
    options = dict(output.options)
    assert options["ilm_rollover_alias"] == alias and options["ilm_policy"] == alias
    assert options["hosts"] == list(settings.logging.elasticsearch_hosts)
    template = elasticsearch.index_template(settings)
    assert template["index_patterns"] == [f"{alias}-*"]
    assert template["template"]["settings"]["index.lifecycle.name"] == alias
    assert template["template"]["settings"]["index.lifecycle.rollover_alias"] == alias
    requests = elasticsearch.api_requests(settings)
    assert [r[1] for r in requests] == [f"/_ilm/policy/{alias}", f"/_index_template/{alias}"]
    assert {r[2] for r in requests} <= set(render.artifacts(settings))


def test_pipeline_structure(settings):
    conf = render.artifacts(settings)["logstash/pipeline/llm-router.conf"]
    assert f"port => {settings.logging.beats_port}" in conf
    assert 'json {\n' in conf and 'source => "message"' in conf and "date {" in conf
    assert f'"env:{settings.env}"' in conf
    # The render's env only fills in a missing service.environment (never a second value).
    default = f'if !{F.SERVICE_ENVIRONMENT.ref} {{ mutate {{ add_field => {{ "{F.SERVICE_ENVIRONMENT.ref}" => "{settings.env}" }} }} }}'
    assert default in " ".join(conf.split())
    for condition, event_type, _ in logstash.EXTRACTIONS:
        assert f"if {condition.ref} {{" in conf and f'"{event_type}"' in conf
    assert logstash.pipeline(settings).fields_written() == {F.EVENT_TYPE, F.MODEL_NAME_ANY, F.PERFORMANCE_CATEGORY}


def test_filebeat_reads_the_router_namespaces_and_ships_to_logstash(settings):
    config = filebeat.filebeat_config(settings)
    (source,) = config["filebeat.inputs"]
    assert source["paths"] == [f"/var/log/containers/*_{ns}_*.log" for ns in settings.router.pod_namespaces]
    assert source["parsers"] == [{"container": {"stream": "all", "format": "auto"}}]
    processors = [next(iter(p)) for p in source["processors"]]
    assert processors == ["decode_json_fields", "add_kubernetes_metadata"]
    # Decoded at the event root, where the pipeline and Kibana read the ECS fields.
    decode = source["processors"][0]["decode_json_fields"]
    assert decode["fields"] == ["message"] and decode["target"] == "" and decode["overwrite_keys"] is True
    assert source["fields"]["service"] == logstash.SERVICE_TAG
    # Default: the stack's Logstash by the name its certificate carries (Filebeat is in another namespace).
    assert config["output.logstash"]["hosts"] == [f"logstash.{settings.cluster.namespace}.svc:{settings.logging.beats_port}"]


def test_kibana_objects_reference_the_data_view(settings):
    objects = [json.loads(line) for line in kibana.ndjson(settings).splitlines()]
    data_views = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    (view,) = data_views.values()
    assert view["attributes"]["title"] == elasticsearch.index_template(settings)["index_patterns"][0]
    searches = [o for o in objects if o["type"] == "search"]
    assert {s["id"] for s in searches} == {f"{s.id}-{settings.env}" for s in kibana.SEARCHES}
    for search in searches:
        (ref,) = search["references"]
        assert ref["id"] in data_views and ref["name"] == kibana.INDEX_REF
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert source["indexRefName"] == kibana.INDEX_REF and source["query"]["language"] == "kuery"
    mapped = json.dumps(elasticsearch.properties())
    for field in kibana.fields_referenced():
        assert f'"{field.parts[-1]}"' in mapped


def test_errors_search_groups_by_fingerprint():
    errors = next(s for s in kibana.SEARCHES if "fingerprint" in s.id)
    assert errors.columns[0] is F.ERROR_GROUPING_KEY and errors.sort[0][0] is F.ERROR_GROUPING_KEY


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("retentionDays", 0, "retentionDays.*>= 1"),
        ("warmAfter", "1w", "warmAfter.*ILM age"),
        ("warmAfter", "30d", "warmAfter.*shorter than retentionDays"),
        ("rolloverMaxPrimaryShardSize", "lots", "rolloverMaxPrimaryShardSize"),
        ("indexPrefix", "LLM Logs", "indexPrefix"),
        ("elasticsearchHosts", ["elasticsearch:9200"], r"elasticsearchHosts\[0\]"),
        ("capturePrompts", "yes", "capturePrompts.*true or false"),
        ("retentionDay", 3, "retentionDay.*unknown key"),
        ("level", "verbose", "level.*one of"),
    ],
)
def test_bad_logging_settings_name_key_and_env(key, value, message):
    config = {"router": {"targets": ["r:1"], "models": ["m"], "backends": ["b"], "strategies": ["s"]},
              "logging": {key: value}}
    with pytest.raises(SettingsError, match=message) as err:
        Settings.from_config("staging", config)
    assert "'staging'" in str(err.value) and f"logging.{key}" in str(err.value)


def test_prompt_capture_is_off_by_default_in_settings():
    assert LoggingSettings().capture_prompts is False
    assert all(not load_settings(env).logging.capture_prompts for env in available_envs())


def test_router_environment_round_trips_into_the_logger_config(settings):
    from app_instrumentation.logs import LogConfig
    from logpipeline.app_env import router_environment

    config = LogConfig.from_env(router_environment(settings))
    s = settings.logging
    assert (config.environment, config.level, config.capture_prompts, config.prompt_max_chars, config.pretty) == (
        settings.env, s.level, s.capture_prompts, s.prompt_max_chars, False)


def test_https_elasticsearch_verifies_with_the_mounted_ca():
    https = load_settings("prod")
    options = dict(next(p for p in logstash.pipeline(https).outputs if p.name == "elasticsearch").options)
    assert https.logging.elasticsearch_hosts[0].startswith("https://")
    assert options["ssl_enabled"] is True and options["ssl_certificate_authorities"] == [f"${{{logstash.ES_CA_VAR}}}"]
    conf = logstash.pipeline(https).render()  # Logstash only accepts lowercase booleans
    assert "ssl_enabled => true" in conf and "skip_on_invalid_json => true" in conf and "True" not in conf
    config = {"router": {"targets": ["r:1"], "models": ["m"], "backends": ["b"], "strategies": ["s"]},
              "logging": {"elasticsearchHosts": ["http://es:9200"]}}
    plain = dict(next(p for p in logstash.pipeline(Settings.from_config("dev", config)).outputs).options)
    assert "ssl_enabled" not in plain


#: The seed's boundaries (issue 12): slow above 10000 ms, medium above 5000 ms, else fast.
SEED_BOUNDARIES = {10_000: "medium", 10_001: "slow", 5_000: "fast", 5_001: "medium", 0: "fast", 60_000: "slow"}
_OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__, "==": float.__eq__}


def _category_chain(node):
    """The if / else if / else chain that sets the performance category, from the syntax tree
    logstash-pipeline-parser makes of the rendered file: [(operator, threshold, category)]."""
    if not isinstance(node, list):
        return None
    for i, item in enumerate(node):
        if isinstance(item, list) and item and item[0] == "if":
            condition = item[1][0]
            if condition[0] == F.INFERENCE_LATENCY_MS.ref and len(condition) == 3:
                chain = []
                for branch in node[i:]:
                    if not (isinstance(branch, list) and branch and branch[0] in ("if", "else if", "else")):
                        break
                    if branch[0] == "else":
                        chain.append((None, None, _category(branch[1])))
                        break
                    (_, op, threshold), (statements,) = branch[1]
                    chain.append((op, float(threshold), _category(statements)))
                return chain
        found = _category_chain(item)
        if found:
            return found
    return None


def _category(statements):
    ((plugin, options),) = statements
    assert plugin == "mutate"
    ((option, (((target, (value,)),),)),) = options  # mutate { replace => { target => value } }
    assert (option, target) == ("replace", F.PERFORMANCE_CATEGORY.ref)
    return value


def rendered_category(conf: str, latency_ms: float) -> str | None:
    """Evaluate the rendered conditionals (no Logstash binary here: the parsed file, not the Python table)."""
    from logstash_pipeline_parser import Pipeline

    chain = _category_chain(Pipeline(conf).parse())
    assert chain, "the pipeline sets a performance category"
    for op, threshold, category in chain:
        if op is None or _OPS[op](float(latency_ms), threshold):
            return category
    return None


@pytest.mark.parametrize(("latency_ms", "category"), sorted(SEED_BOUNDARIES.items()))
def test_performance_category_boundaries_on_the_rendered_pipeline(settings, latency_ms, category):
    conf = render.artifacts(settings)["logstash/pipeline/llm-router.conf"]
    assert rendered_category(conf, latency_ms) == category


@pytest.mark.parametrize(("latency_ms", "category"), sorted(SEED_BOUNDARIES.items()))
def test_performance_category_boundaries_in_python(latency_ms, category):
    assert F.performance_category(latency_ms) == category


def test_filebeat_expands_dotted_keys():
    """ecs-logging writes "log.level" and "ecs.version" as dotted keys: Filebeat expands them."""
    (source,) = filebeat.filebeat_config(load_settings("prod"))["filebeat.inputs"]
    assert source["processors"][0]["decode_json_fields"]["expand_keys"] is True
