"""Grafana dashboards as grafanalib code.

Layout of the package: ``promql`` builds queries from catalog specs and recording-rule
names, ``panels`` turns them into panels (units, thresholds, datasource uid), ``layout``
places them, ``base`` frames a dashboard (variables from ``variables``, links), one module
per dashboard declares its panels (``overview``, ``model_performance``, ``system``, ``qos``,
``slo``), ``definitions`` lists them, ``render`` writes JSON and Grafana provisioning
(``datasources``), ``queries`` exposes every panel query for checks against Prometheus.
"""
