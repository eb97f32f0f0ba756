"""Log pipeline settings: index naming, retention (ILM phases), hosts, prompt capture."""

from __future__ import annotations

import re
from dataclasses import dataclass

from foundation.settings.reader import Reader

#: Elasticsearch ILM time units we accept (a subset of Prometheus durations' syntax).
ILM_AGE_RE = re.compile(r"^(\d+)(d|h|m|s)$")
ILM_SIZE_RE = re.compile(r"^\d+(b|kb|mb|gb|tb)$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
LEVELS = ("debug", "info", "warn", "error")


def age_seconds(age: str) -> int:
    m = ILM_AGE_RE.match(age)
    if m is None:
        raise ValueError(age)
    return int(m.group(1)) * _SECONDS[m.group(2)]


@dataclass(frozen=True)
class LoggingSettings:
    #: Indices are ``<indexPrefix>-<env>-<date>-<n>`` behind the write alias ``<indexPrefix>-<env>``.
    index_prefix: str = "llm-router-logs"
    #: ILM: delete indices this many days after rollover.
    retention_days: int = 30
    #: ILM hot phase rollover conditions.
    rollover_max_age: str = "1d"
    rollover_max_primary_shard_size: str = "50gb"
    #: ILM warm phase (read-only, force-merged) starts this long after rollover.
    warm_after: str = "2d"
    elasticsearch_hosts: tuple[str, ...] = ("https://elasticsearch:9200",)
    #: Where Filebeat ships; empty: the stack's own Logstash, by the cross-namespace name its
    #: certificate carries (Filebeat runs in the node agents' namespace).
    logstash_hosts: tuple[str, ...] = ()
    #: Port the Logstash beats input listens on.
    beats_port: int = 5044
    level: str = "info"
    #: Prompts/completions are personal data: never logged unless set, then truncated.
    capture_prompts: bool = False
    prompt_max_chars: int = 1000

    KEYS = frozenset(
        {
            "indexPrefix", "retentionDays", "rolloverMaxAge", "rolloverMaxPrimaryShardSize", "warmAfter",
            "elasticsearchHosts", "logstashHosts", "beatsPort", "level", "capturePrompts", "promptMaxChars",
        }
    )

    @classmethod
    def parse(cls, r: Reader) -> LoggingSettings:
        r.reject_unknown(cls.KEYS)
        d = cls()
        s = cls(
            index_prefix=r.str("indexPrefix", d.index_prefix),
            retention_days=r.int("retentionDays", d.retention_days, minimum=1),
            rollover_max_age=r.str("rolloverMaxAge", d.rollover_max_age),
            rollover_max_primary_shard_size=r.str("rolloverMaxPrimaryShardSize", d.rollover_max_primary_shard_size),
            warm_after=r.str("warmAfter", d.warm_after),
            elasticsearch_hosts=r.str_list("elasticsearchHosts", d.elasticsearch_hosts),
            logstash_hosts=r.str_list("logstashHosts", d.logstash_hosts),
            beats_port=r.int("beatsPort", d.beats_port, minimum=1),
            level=r.choice("level", LEVELS, d.level),
            capture_prompts=r.bool("capturePrompts", d.capture_prompts),
            prompt_max_chars=r.int("promptMaxChars", d.prompt_max_chars, minimum=1),
        )
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", s.index_prefix):
            raise r.error("indexPrefix", f"expected a lowercase Elasticsearch index name prefix, got {s.index_prefix!r}")
        for key, value in (("rolloverMaxAge", s.rollover_max_age), ("warmAfter", s.warm_after)):
            if not ILM_AGE_RE.match(value):
                raise r.error(key, f"expected an ILM age like 12h or 7d, got {value!r}")
        if not ILM_SIZE_RE.match(s.rollover_max_primary_shard_size):
            raise r.error("rolloverMaxPrimaryShardSize", f"expected a size like 50gb, got {s.rollover_max_primary_shard_size!r}")
        if age_seconds(s.warm_after) >= s.retention_days * 86400:
            raise r.error("warmAfter", f"{s.warm_after} must be shorter than retentionDays ({s.retention_days}d)")
        if s.beats_port > 65535:
            raise r.error("beatsPort", f"expected a TCP port, got {s.beats_port}")
        for i, host in enumerate(s.elasticsearch_hosts):
            if not re.match(r"^https?://[^/\s]+$", host):
                raise r.error(f"elasticsearchHosts[{i}]", f"expected http(s)://host:port, got {host!r}")
        return s

    def alias(self, env: str) -> str:
        """The ILM write alias (and index name stem) of one environment."""
        return f"{self.index_prefix}-{env}"
