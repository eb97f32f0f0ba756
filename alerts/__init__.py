"""Alerting and recording rules and the Alertmanager routing tree, as typed Python.

Modules: ``model`` (typed rules that refuse bad input), ``names`` and ``recording`` (alert
and recording-rule names, import-light), ``definitions`` (threshold alerts), ``slo``
(Sloth-compatible SLO rules and burn-rate alerts), ``recording_rules`` (aggregates),
``groups`` (everything for one env and profile), ``profiles`` (prod / compressed test
timing), ``ruletests`` (generated ``promtool test rules`` suites), ``prometheus_config``,
``alertmanager``, ``operator`` (PrometheusRule) and ``render`` (``llmmon render`` output).
"""
