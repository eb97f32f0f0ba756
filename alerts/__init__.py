"""Alerting and recording rules and the Alertmanager routing tree, as typed Python."""
