"""``llmmon snapshot``: rendered dashboards drawn as PNGs from a running Prometheus (matplotlib).

A preview for review and for the README, not a Grafana: the panels sit where the dashboard's
grid puts them, time series are lines with their legends, stats are big numbers coloured by
their thresholds, values carry the panel's unit, and a panel whose queries return nothing
says "No data" instead of disappearing.
"""
