"""Placeholder values (``example.com`` and the other RFC 2606 names) left in an environment.

The shipped ``Pulumi.<env>.yaml`` files point runbooks, SMTP, receivers, the dead-man's
switch and ingress hosts at ``example.com``; a deploy with them renders and validates but
pages nobody. ``llmmon check`` warns about each one (and fails with ``--strict``), naming the
config key to set, or the rendered file when the value comes from a default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from foundation.settings import PROJECT_DIR, split_stack_file
from foundation.walk import strings

#: Host names reserved for documentation (RFC 2606 / RFC 6761): they can never be real.
#: (``.test`` is left out: rule test files are named ``*.test.yml``.) A name must end there, so
#: ``example.community`` or ``notes.example.md`` do not count.
HOST = re.compile(r"\b(?:[a-z0-9-]+\.)*(?:example\.(?:com|net|org)|[a-z0-9-]+\.(?:example|invalid))"
                  r"(?![\w-]|\.\w)", re.I)


@dataclass(frozen=True)
class Placeholder:
    where: str  # config key (alerting.smtp.smarthost) or rendered file
    value: str

    def __str__(self) -> str:
        return f"{self.where} = {self.value}"


def in_config(env: str, project_dir: Path = PROJECT_DIR) -> list[Placeholder]:
    """Placeholders in ``Pulumi.<env>.yaml``, by key (without the ``llm-router-monitoring:`` prefix)."""
    config, _ = split_stack_file(env, yaml.safe_load((project_dir / f"Pulumi.{env}.yaml").read_text()))
    return [Placeholder(key, value) for key, value in strings(config) if HOST.search(value)]


def in_render(env: str, out: Path, explained: list[Placeholder]) -> list[Placeholder]:
    """Placeholder hosts in rendered files that no config value explains (they come from defaults)."""
    known = {m.group(0).lower() for p in explained for m in HOST.finditer(p.value)}
    found: dict[str, str] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        for m in HOST.finditer(text):
            found.setdefault(m.group(0).lower(), str(path.relative_to(out)))
    return [Placeholder(f"{where} (a default; set the key in Pulumi.{env}.yaml)", host)
            for host, where in sorted(found.items()) if host not in known]


def report(env: str, out: Path) -> list[Placeholder]:
    explained = in_config(env)
    return explained + in_render(env, out, explained)
