"""What every domain package stands on, and nothing above it.

``settings`` (one typed, validated object per environment), ``alert_names`` (every alert's
name, importable without the rule builders), ``promql_names`` (the metric names a PromQL
expression selects), ``artifacts`` (merging the renderers' files) and ``walk`` (every string
in a config tree, with its path). Imports only the
router's metric catalog below it; ``alerts``, ``dashboards``, ``logpipeline``, ``stack`` and
the ``llmmon`` CLI import it (the layering is enforced by ``lint-imports``, see pyproject.toml).
"""
