"""Alerting settings: threshold overrides, SLO objectives, routing timings, receivers.

Only non-secret receiver fields live here (addresses, channels, and the *paths* of files
holding credentials); the files' contents come from Pulumi secrets mounted by the stack.
Example (``Pulumi.<env>.yaml``, key ``llm-router-monitoring:alerting``)::

    grafanaUrl: https://grafana.example.com
    runbookUrl: https://runbooks.example.com/llm-router
    overrides:
      HighErrorRate: {threshold: 0.1, floor: 0.5, for: 5m}
    slos:
      availability: {objective: 99.5}
      ttft-latency: {objective: 99, thresholdSeconds: 1}
    routing: {groupWait: 30s, groupInterval: 5m, repeatInterval: 4h}
    smtp: {smarthost: "smtp.example.com:587", from: alerts@example.com,
           authUsername: alerts, authPasswordFile: /etc/alertmanager/secrets/smtp_password}
    receivers:
      default: {emails: [team@example.com]}
      critical-alerts: {emails: [oncall@example.com], slackChannel: "#critical-alerts",
                        slackApiUrlFile: /etc/alertmanager/secrets/critical_slack_api_url}
      watchdog: {webhookUrl: https://deadman.example.com/ping,
                 webhookCredentialsFile: /etc/alertmanager/secrets/watchdog_token}
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app_instrumentation.catalog import TIME_TO_FIRST_TOKEN
from foundation.alert_names import THRESHOLD_ALERTS
from foundation.settings.reader import Reader

#: Receivers of the routing tree (the seed's three and the dead man's switch).
RECEIVERS: tuple[str, ...] = ("critical-alerts", "default", "warning-alerts", "watchdog")
#: SLO names (``sloth_slo`` label values), see ``alerts.recording``.
SLOS: tuple[str, ...] = ("availability", "ttft-latency")


@dataclass(frozen=True)
class Override:
    threshold: float | None = None
    for_: str | None = None
    #: Alerts on a share of traffic also need an absolute rate above this (events/s).
    floor: float | None = None


@dataclass(frozen=True)
class SloSettings:
    #: Target percentage of good events over the SLO period (e.g. 99.5).
    objective: float
    #: Latency SLOs: a request is good when faster than this (a histogram bucket bound).
    threshold_seconds: float | None = None


@dataclass(frozen=True)
class ReceiverSettings:
    emails: tuple[str, ...] = ()
    slack_channel: str = ""
    #: Path of a file holding the Slack webhook URL (Alertmanager ``api_url_file``).
    slack_api_url_file: str = ""
    #: Path of a file holding a PagerDuty Events v2 routing key.
    pagerduty_routing_key_file: str = ""
    #: Webhook URL (not secret: the credential goes in the file below).
    webhook_url: str = ""
    #: Path of a file holding the webhook's bearer token.
    webhook_credentials_file: str = ""

    KEYS = frozenset({"emails", "slackChannel", "slackApiUrlFile", "pagerdutyRoutingKeyFile", "webhookUrl",
                      "webhookCredentialsFile"})

    @classmethod
    def parse(cls, r: Reader) -> ReceiverSettings:
        r.reject_unknown(cls.KEYS)
        settings = cls(
            emails=r.str_list("emails", ()),
            slack_channel=r.str("slackChannel", ""),
            slack_api_url_file=_file(r, "slackApiUrlFile"),
            pagerduty_routing_key_file=_file(r, "pagerdutyRoutingKeyFile"),
            webhook_url=r.str("webhookUrl", ""),
            webhook_credentials_file=_file(r, "webhookCredentialsFile"),
        )
        if bool(settings.slack_channel) != bool(settings.slack_api_url_file):
            raise r.error("slackChannel", "slackChannel and slackApiUrlFile go together")
        if settings.webhook_credentials_file and not settings.webhook_url:
            raise r.error("webhookCredentialsFile", "needs webhookUrl")
        if settings.webhook_url and not settings.webhook_url.startswith(("http://", "https://")):
            raise r.error("webhookUrl", f"expected an http(s) URL, got {settings.webhook_url!r}")
        return settings


@dataclass(frozen=True)
class SmtpSettings:
    smarthost: str = "localhost:587"
    sender: str = "alerts@example.com"
    auth_username: str = ""
    auth_password_file: str = ""
    require_tls: bool = True

    KEYS = frozenset({"smarthost", "from", "authUsername", "authPasswordFile", "requireTls"})

    @classmethod
    def parse(cls, r: Reader) -> SmtpSettings:
        r.reject_unknown(cls.KEYS)
        settings = cls(
            smarthost=r.str("smarthost", cls.smarthost),
            sender=r.str("from", cls.sender),
            auth_username=r.str("authUsername", ""),
            auth_password_file=_file(r, "authPasswordFile"),
            require_tls=r.bool("requireTls", True),
        )
        host, _, port = settings.smarthost.rpartition(":")
        if not host or not port.isdigit():
            raise r.error("smarthost", f"expected host:port, got {settings.smarthost!r}")
        if bool(settings.auth_username) != bool(settings.auth_password_file):
            raise r.error("authUsername", "authUsername and authPasswordFile go together")
        return settings


@dataclass(frozen=True)
class RoutingSettings:
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    #: Critical alerts are re-sent more often than the rest.
    critical_repeat_interval: str = "1h"

    KEYS = frozenset({"groupWait", "groupInterval", "repeatInterval", "criticalRepeatInterval"})

    @classmethod
    def parse(cls, r: Reader) -> RoutingSettings:
        r.reject_unknown(cls.KEYS)
        return cls(
            group_wait=r.duration("groupWait", cls.group_wait),
            group_interval=r.duration("groupInterval", cls.group_interval),
            repeat_interval=r.duration("repeatInterval", cls.repeat_interval),
            critical_repeat_interval=r.duration("criticalRepeatInterval", cls.critical_repeat_interval),
        )


DEFAULT_SLOS: Mapping[str, SloSettings] = MappingProxyType({
    "availability": SloSettings(objective=99.5),
    "ttft-latency": SloSettings(objective=99.0, threshold_seconds=1.0),
})


@dataclass(frozen=True)
class AlertingSettings:
    grafana_url: str = "http://localhost:3000"
    runbook_url: str = "https://runbooks.example.com/llm-router"
    #: Alert name -> threshold/for override (names validated against ``foundation.alert_names``).
    overrides: Mapping[str, Override] = field(default_factory=dict)
    slos: Mapping[str, SloSettings] = field(default_factory=lambda: DEFAULT_SLOS)
    routing: RoutingSettings = RoutingSettings()
    smtp: SmtpSettings = SmtpSettings()
    receivers: Mapping[str, ReceiverSettings] = field(default_factory=dict)

    KEYS = frozenset({"grafanaUrl", "runbookUrl", "overrides", "slos", "routing", "smtp", "receivers"})

    @classmethod
    def parse(cls, r: Reader) -> AlertingSettings:
        r.reject_unknown(cls.KEYS)
        for name in ("grafanaUrl", "runbookUrl"):
            value = r.str(name, "http://x")
            if not value.startswith(("http://", "https://")):
                raise r.error(name, f"expected an http(s) URL, got {value!r}")
        receivers = {}
        for name, sub in r.sections("receivers").items():
            if name not in RECEIVERS:
                raise r.error(f"receivers.{name}", f"unknown receiver; expected one of {', '.join(RECEIVERS)}")
            receivers[name] = ReceiverSettings.parse(sub)
        return cls(
            grafana_url=r.str("grafanaUrl", cls.grafana_url).rstrip("/"),
            runbook_url=r.str("runbookUrl", cls.runbook_url).rstrip("/"),
            overrides=MappingProxyType(_overrides(r)),
            slos=MappingProxyType(_slos(r)),
            routing=r.parse("routing", RoutingSettings.parse),
            smtp=r.parse("smtp", SmtpSettings.parse),
            receivers=MappingProxyType({n: receivers.get(n, ReceiverSettings()) for n in RECEIVERS}),
        )

    def receiver(self, name: str) -> ReceiverSettings:
        return self.receivers.get(name, ReceiverSettings())


def _overrides(r: Reader) -> dict[str, Override]:
    out = {}
    for name, sub in r.sections("overrides").items():
        if name not in THRESHOLD_ALERTS:
            raise r.error(f"overrides.{name}", f"unknown alert name; alerts with thresholds: {', '.join(THRESHOLD_ALERTS)}")
        sub.reject_unknown(frozenset({"threshold", "for", "floor"}))
        numbers = {}
        for key in ("threshold", "floor"):
            numbers[key] = sub.number(key, None) if key in sub.data else None
            if numbers[key] is not None and numbers[key] < 0:
                raise sub.error(key, f"expected a number >= 0, got {numbers[key]}")
        out[name] = Override(numbers["threshold"], sub.duration("for", None) if "for" in sub.data else None,
                             numbers["floor"])
    return out


def _slos(r: Reader) -> dict[str, SloSettings]:
    out = dict(DEFAULT_SLOS)
    for name, sub in r.sections("slos").items():
        if name not in SLOS:
            raise r.error(f"slos.{name}", f"unknown SLO; expected one of {', '.join(SLOS)}")
        sub.reject_unknown(frozenset({"objective", "thresholdSeconds"}) if name != "availability"
                           else frozenset({"objective"}))
        objective = sub.number("objective", out[name].objective)
        if not 0 < objective < 100:
            raise sub.error("objective", f"expected a percentage between 0 and 100 (exclusive), got {objective}")
        threshold = out[name].threshold_seconds
        if "thresholdSeconds" in sub.data:
            threshold = sub.number("thresholdSeconds")
            buckets = TIME_TO_FIRST_TOKEN.buckets or ()
            if threshold not in buckets:
                # The SLI reads the bucket with this upper bound: it has to exist.
                raise sub.error("thresholdSeconds", f"must be a bucket bound of {TIME_TO_FIRST_TOKEN.name}: "
                                f"{', '.join(f'{b:g}' for b in buckets)}; got {threshold:g}")
        out[name] = SloSettings(objective, threshold)
    return out


def _file(r: Reader, name: str) -> str:
    value = r.str(name, "")
    if value and not posixpath.isabs(value):
        raise r.error(name, f"expected an absolute file path (the secret is mounted there), got {value!r}")
    return value
