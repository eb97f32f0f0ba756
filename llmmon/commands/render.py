"""Render every artifact of one environment to a directory (stable byte-for-byte).

A re-render deletes only files the previous render there wrote (listed in its manifest,
``.llmmon-render.json``); your own files next to them stay. The filesystem root, your home
folder (or one that holds it) and an existing file are refused as --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from foundation.settings import available_envs
from llmmon.command_errors import CommandError, os_problem
from llmmon.render import RenderError, render_env


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help=f"environment: one of {', '.join(available_envs())}")
    p.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")


def run(args: argparse.Namespace) -> int:
    try:
        written = render_env(args.env, args.out)
    except RenderError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write the render: {os_problem(exc)}; pass a folder you can write to "
                           "with --out") from None
    print(f"rendered {len(written)} files for env {args.env!r} into {args.out}")
    return 0
