"""Grafana dashboards as grafanalib code."""
