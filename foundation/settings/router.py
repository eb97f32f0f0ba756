"""Where the router runs and which label values it may expose."""

from __future__ import annotations

from dataclasses import dataclass

from foundation.settings.reader import Reader


@dataclass(frozen=True)
class RouterSettings:
    #: Static scrape targets of the router (host:port), the seed's ``llm-router`` job.
    targets: tuple[str, ...]
    #: Namespaces whose annotated pods Prometheus discovers (prometheus.io/* annotations).
    pod_namespaces: tuple[str, ...]
    scrape_interval: str
    scrape_timeout: str
    #: Allow-lists for open-ended label values; anything else is exposed as ``other``.
    models: tuple[str, ...]
    backends: tuple[str, ...]
    strategies: tuple[str, ...]

    KEYS = frozenset(
        {"targets", "podNamespaces", "scrapeInterval", "scrapeTimeout", "models", "backends", "strategies"}
    )

    @classmethod
    def parse(cls, r: Reader) -> RouterSettings:
        r.reject_unknown(cls.KEYS)
        settings = cls(
            targets=r.str_list("targets"),
            pod_namespaces=r.str_list("podNamespaces", ("llm-router",)),
            scrape_interval=r.duration("scrapeInterval", "10s"),
            scrape_timeout=r.duration("scrapeTimeout", "8s"),
            models=r.str_list("models"),
            backends=r.str_list("backends"),
            strategies=r.str_list("strategies"),
        )
        for i, target in enumerate(settings.targets):
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit():
                raise r.error(f"targets[{i}]", f"expected host:port, got {target!r}")
        return settings
