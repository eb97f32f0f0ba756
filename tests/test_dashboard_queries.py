"""Every panel query parses and reads only series that exist (catalog, recording rules, up)."""

from __future__ import annotations

import dataclasses

import pytest

from alerts import recording
from app_instrumentation import catalog
from dashboards import names, uids
from dashboards import promql as q
from dashboards.queries import PanelQuery, all_queries, panels, raw_queries, substitute
from foundation.promql_names import metric_names
from foundation.settings import load_settings

QUERIES = all_queries()


def label(q: PanelQuery) -> str:
    return f"{q.dashboard_uid}:{q.panel_title}"


def test_every_dashboard_has_queries():
    assert {q.dashboard_uid for q in QUERIES} == {
        "llm-router-overview", "llm-model-performance", "llm-router-system", "llm-qos", "llm-slo", "llm-backends",
    }
    assert len(QUERIES) > 40


@pytest.mark.parametrize("query", QUERIES, ids=[label(q) for q in QUERIES])
def test_query_parses_and_names_only_known_series(query):
    assert "$" not in query.expr
    found = names.metric_names(query.expr)  # raises on a parse error
    assert found, "a panel query must read at least one series"
    assert found - names.known_names() == set()


def test_every_query_filters_by_env_so_the_environment_variable_works():
    for query in all_queries(overrides={"env": "no-such-env"}):
        assert 'env=~"no-such-env"' in query.expr, label(query)


def test_substitution_uses_the_all_regex_and_the_rate_interval():
    (first, *_) = all_queries(rate_interval="2m", overrides={"instance": "127.0.0.1:9"})
    assert '[2m]' in first.expr and 'instance=~"127.0.0.1:9"' in first.expr and 'env=~".*"' in first.expr
    (from_settings, *_) = all_queries(load_settings("dev"))  # scrapeInterval 10s
    assert "[40s]" in from_settings.expr
    with pytest.raises(KeyError, match="nope"):
        substitute('up{a="$nope"}', {})


def test_metric_names_walks_the_ast_not_the_text():
    expr = 'sum by (le) (rate(a_bucket{x="not_a_metric"}[5m])) / on() group_left b + histogram_quantile(0.5, c)'
    assert names.metric_names(expr) == {"a_bucket", "b", "c"}
    with pytest.raises(ValueError):
        names.metric_names("sum(rate(a[5m])")


def test_a_renamed_catalog_metric_breaks_the_name_check(monkeypatch):
    """Dashboards built from a spec whose name the catalog no longer lists fail the check."""
    renamed = dataclasses.replace(catalog.HTTP_REQUESTS, name="llm_router_http_reqs_total")
    monkeypatch.setattr(catalog, "HTTP_REQUESTS", renamed)
    broken = [q for q in all_queries() if names.unknown_names(q.expr)]
    assert broken and {n for q in broken for n in names.unknown_names(q.expr)} == {"llm_router_http_reqs_total"}
    assert {q.panel_title for q in broken} >= {"Request rate", "Request rate by route"}


def test_a_metric_dropped_from_the_catalog_is_reported(monkeypatch):
    monkeypatch.setattr(catalog, "SAMPLE_NAMES", catalog.SAMPLE_NAMES - {catalog.TOKENS.name})
    unknown = {n for q in all_queries() for n in names.unknown_names(q.expr)}
    assert unknown == {catalog.TOKENS.name}


def test_rule_selector_filters_by_kept_labels_only():
    assert q.rule(recording.MODEL_TTFT_QUANTILE, quantile="0.95") == (
        f'{recording.MODEL_TTFT_QUANTILE}{{env=~"$env", model=~"$model", quantile="0.95"}}')
    assert q.rule(recording.BACKEND_RATE_LIMITED_RATE) == f'{recording.BACKEND_RATE_LIMITED_RATE}{{env=~"$env"}}'
    with pytest.raises(ValueError, match=r"keeps no label\(s\) \['route'\]"):
        q.rule(recording.INFERENCE_ERROR_RATIO, route="/api/generate")
    with pytest.raises(ValueError, match=r"keeps no label\(s\) \['instance'\]"):
        q.rule(recording.INFERENCE_RATE, [("instance", "instance")])
    with pytest.raises(ValueError, match="records quantiles"):
        q.rule(recording.MODEL_TTFT_QUANTILE, quantile="0.9")


def test_panels_reading_aggregate_rules_say_the_instance_filter_does_not_apply():
    descriptions = {(dashboard["uid"], panel["title"]): panel.get("description")
                    for dashboard, _ in raw_queries() for panel in panels(dashboard)}
    readers = [(query, metric_names(query.expr) & set(recording.AGGREGATED_BY)) for query in QUERIES]
    readers = [(query, rules) for query, rules in readers if rules]
    assert {query.dashboard_uid for query, _ in readers} == {uids.MODEL_PERFORMANCE, uids.QOS, uids.BACKENDS}
    by_panel: dict[tuple[str, str], set[str]] = {}
    for query, rules in readers:  # a panel may read several rules (engine and router side by side)
        by_panel.setdefault((query.dashboard_uid, query.panel_title), set()).update(rules)
    for panel, rules in by_panel.items():
        assert descriptions[panel] in {q.rule_note(r) for r in rules}, panel
