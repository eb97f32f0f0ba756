"""``alertmanager.yml`` as a dict: routing tree, grouping, inhibition, receivers.

* ``alertmanager_config(settings)``: the env's config. Receivers ``default``,
  ``critical-alerts``, ``warning-alerts`` (the seed's) and ``watchdog`` (dead man's switch);
  routes use ``matchers`` syntax: ``alertname="Watchdog"`` -> watchdog, then
  ``severity="critical"`` -> critical-alerts, ``severity="warning"`` -> warning-alerts,
  everything else (``info``) -> default. A critical alert inhibits warnings with the same
  ``service`` and ``signal`` (twins such as HighErrorRate/CriticalErrorRate share it); EngineDown
  inhibits its symptoms (``alert_names.ENGINE_SYMPTOMS``) for the same ``backend``.
  Credentials are only ever file references (``api_url_file``, ``routing_key_file``,
  ``smtp_auth_password_file``, ``credentials_file``): Alertmanager 0.25 has no ``url_file``
  for webhooks, so the watchdog webhook's URL is plain and its token is a file.
* ``local_alertmanager_config(settings, webhook_url, timings=LOCAL_TIMINGS)``: the same
  routing tree and inhibition with every receiver posting to one webhook (the local live
  stack's sink), and short timings (``LOCAL_TIMINGS``) so notifications arrive within seconds.
"""

from __future__ import annotations

from typing import Any

from alerts.model import duration_seconds
from foundation import alert_names as names
from foundation.engine_metrics import BACKEND_LABEL
from foundation.settings import Settings
from foundation.settings.alerting import ReceiverSettings, RoutingSettings

DEFAULT, CRITICAL, WARNING, WATCHDOG = "default", "critical-alerts", "warning-alerts", "watchdog"
GROUP_BY = ("alertname", "env", "service")
#: Critical suppresses warning of the same service and signal.
INHIBIT_EQUAL = ("service", "signal")
#: The local stack's timings. group_wait covers the gap between a warning and its critical twin
#: firing (up to one 10s rate window of the test profile, whose 'for' durations are 60x shorter):
#: a warning whose critical twin fires within it is never sent. Production's 30s does the same.
LOCAL_TIMINGS = RoutingSettings(group_wait="10s", group_interval="10s", repeat_interval="1m",
                                critical_repeat_interval="1m")

#: Every alert of a notification: what, where (all its labels: pod, instance, model...), since when.
_LIST = ('{{ range .Alerts }}[{{ .Status | toUpper }}] {{ .Annotations.summary }}\n{{ .Annotations.description }}\n'
         'Labels: {{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}\n'
         'Started: {{ .StartsAt.Format "2006-01-02 15:04:05 MST" }}'
         '{{ if eq .Status "resolved" }}, resolved: {{ .EndsAt.Format "2006-01-02 15:04:05 MST" }}{{ end }}\n'
         'Dashboard: {{ .Annotations.dashboard_url }}\nRunbook: {{ .Annotations.runbook_url }}\n\n{{ end }}')
_SUBJECT = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] ' \
           '{{ .GroupLabels.alertname }} ({{ .CommonLabels.env }})'


def routing_tree(timings: RoutingSettings) -> dict[str, Any]:
    return {
        "receiver": DEFAULT,
        "group_by": list(GROUP_BY),
        "group_wait": timings.group_wait,
        "group_interval": timings.group_interval,
        "repeat_interval": timings.repeat_interval,
        "routes": [
            # The heartbeat must reach the dead man's switch on a fixed cadence, never grouped away.
            {"receiver": WATCHDOG, "matchers": [f'alertname="{names.WATCHDOG}"'], "group_wait": "0s",
             "group_interval": timings.group_interval, "repeat_interval": _watchdog_repeat(timings)},
            {"receiver": CRITICAL, "matchers": ['severity="critical"'],
             "repeat_interval": timings.critical_repeat_interval},
            {"receiver": WARNING, "matchers": ['severity="warning"']},
        ],
    }


def _watchdog_repeat(timings: RoutingSettings) -> str:
    """The heartbeat's cadence: every group interval, but at most once a minute."""
    return timings.group_interval if duration_seconds(timings.group_interval) >= 60 else "1m"


def inhibit_rules() -> list[dict[str, Any]]:
    return [{
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": list(INHIBIT_EQUAL),
    }, {
        # An engine that is down explains its backend's symptoms: page once, for the cause.
        "source_matchers": [f'alertname="{names.ENGINE_DOWN}"'],
        "target_matchers": [f'alertname=~"{"|".join(names.ENGINE_SYMPTOMS)}"'],
        "equal": [BACKEND_LABEL],
    }]


def _receiver(name: str, r: ReceiverSettings, title: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if r.emails:
        out["email_configs"] = [{"to": ", ".join(r.emails), "send_resolved": True,
                                 "headers": {"Subject": f"{title}{_SUBJECT}"}, "text": _LIST}]
    if r.slack_channel:
        out["slack_configs"] = [{"api_url_file": r.slack_api_url_file, "channel": r.slack_channel,
                                 "send_resolved": True, "title": f"{title}{{{{ .GroupLabels.alertname }}}}",
                                 "text": _LIST}]
    if r.pagerduty_routing_key_file:
        out["pagerduty_configs"] = [{"routing_key_file": r.pagerduty_routing_key_file, "send_resolved": True}]
    if r.webhook_url:
        webhook: dict[str, Any] = {"url": r.webhook_url, "send_resolved": name != WATCHDOG}
        if r.webhook_credentials_file:
            webhook["http_config"] = {"authorization": {"credentials_file": r.webhook_credentials_file}}
        out["webhook_configs"] = [webhook]
    return out


def _global(settings: Settings) -> dict[str, Any]:
    smtp = settings.alerting.smtp
    out: dict[str, Any] = {"resolve_timeout": "5m", "smtp_smarthost": smtp.smarthost, "smtp_from": smtp.sender,
                           "smtp_require_tls": smtp.require_tls}
    if smtp.auth_username:
        out["smtp_auth_username"] = smtp.auth_username
        out["smtp_auth_password_file"] = smtp.auth_password_file
    return out


def alertmanager_config(settings: Settings) -> dict[str, Any]:
    a = settings.alerting
    titles = {DEFAULT: "LLM Router: ", CRITICAL: "CRITICAL LLM Router: ", WARNING: "Warning LLM Router: ",
              WATCHDOG: "Watchdog: "}
    return {
        "global": _global(settings),
        "route": routing_tree(a.routing),
        "inhibit_rules": inhibit_rules(),
        "receivers": [_receiver(name, a.receiver(name), titles[name]) for name in (DEFAULT, CRITICAL, WARNING,
                                                                                  WATCHDOG)],
    }


def local_alertmanager_config(settings: Settings, webhook_url: str,
                              timings: RoutingSettings = LOCAL_TIMINGS) -> dict[str, Any]:
    """Every receiver posts to ``webhook_url`` (e.g. ``http://127.0.0.1:PORT/``); same tree and inhibition."""
    receivers = [{"name": n, "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
                 for n in (DEFAULT, CRITICAL, WARNING, WATCHDOG)]
    return {"route": routing_tree(timings), "inhibit_rules": inhibit_rules(), "receivers": receivers}
