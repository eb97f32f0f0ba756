"""Run the real Pulumi program in-process with mocked resources (tests, no CLI or cluster).

Config comes from the real ``Pulumi.<env>.yaml`` (plus secrets given as secret config);
every registered resource's type, name and inputs (camelCase wire names, secrets in their
envelope) are captured for assertions and policy checks.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from foundation.settings import PROJECT, PROJECT_DIR, split_stack_file

#: How a secret value arrives in mocked (and policy) inputs.
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@dataclass(frozen=True)
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    custom: bool


class CaptureMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), bool(args.custom)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "grafana:oss/getTeam:getTeam":  # a team exists for every name asked
            team_id = str(sum(map(ord, args.args["name"])))
            return {"id": team_id, "teamId": int(team_id), "name": args.args["name"]}, []
        return {}, []


def stack_config(env: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    document = yaml.safe_load((project_dir / f"Pulumi.{env}.yaml").read_text())
    return split_stack_file(env, document)[0]


def unwrap_secret(value: Any) -> Any:
    return value["value"] if isinstance(value, Mapping) and SECRET_SIG in value else value


def run_program(
    env: str, secrets: Mapping[str, str], config: Mapping[str, Any] | None = None, preview: bool = False,
    entry_point: bool = False, plain: Mapping[str, str] | None = None,
) -> list[Registered]:
    """Run ``stack.program.main`` (or, like the Pulumi CLI, the ``stack/`` folder) for one env.

    ``config`` replaces the env's section config; ``plain`` adds string keys as ``pulumi config
    set`` stores them (default: ``fake_plain_config``). Returns every registered resource.
    """
    from stack import program

    mocks = CaptureMocks()
    # Other tests (asyncio.run, ASGI clients) may leave no current loop; Pulumi needs one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=env, preview=preview)
    values = {f"{PROJECT}:{k}": json.dumps(v) for k, v in (stack_config(env) if config is None else config).items()}
    plain = fake_plain_config(env) if plain is None else plain
    values.update({f"{PROJECT}:{k}": v for k, v in {**plain, **secrets}.items()})
    pulumi.runtime.set_all_config(values, [f"{PROJECT}:{k}" for k in secrets])

    @pulumi.runtime.test
    def run() -> pulumi.Output[Any] | None:
        if entry_point:
            runpy.run_path(str(PROJECT_DIR / "stack"), run_name="__main__")
            return None
        components = program.main()
        return pulumi.Output.all(*(r.urn for c in components for r in c.resources))

    try:
        run()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return mocks.resources


def fake_secrets(env: str) -> dict[str, str]:
    """A distinctive fake value for every secret the env needs (tests grep for them)."""
    from foundation.settings import load_settings
    from stack.build import upstream_artifacts
    from stack.credentials import required_secret_keys

    settings = load_settings(env)
    keys = required_secret_keys(settings, upstream_artifacts(settings))
    return {key: fake_secret(env, key) for key in keys}


#: Secrets with a format of their own: a valid value around the distinctive fake token.
FAKE_FORMATS = {
    # One line (a YAML flow mapping), so the leak tests find it in JSON-encoded inputs too.
    "thanosObjstoreConfig": "{{type: S3, config: {{bucket: llm-router-metrics, endpoint: s3.example.com, "
                            "access_key: test, secret_key: {token}}}}}",
    "grafanaDatabaseUrl": "postgres://grafana:{token}@postgres.example.com:5432/grafana",
}


def fake_secret(env: str, key: str) -> str:
    token = f"TEST-{env}-{key}-s3cr3t-Zq9x"
    return FAKE_FORMATS.get(key, "{token}").format(token=token)


#: A syntactically valid certificate for mocked runs (never a real CA).
FAKE_CA = "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n"


def fake_plain_config(env: str) -> dict[str, str]:
    """Plain (non-secret) config keys the env needs besides its stack file."""
    from foundation.settings import load_settings
    from foundation.settings.grafana import ELASTICSEARCH_CA_CONFIG

    return {ELASTICSEARCH_CA_CONFIG: FAKE_CA} if load_settings(env).grafana.uses_provider else {}
