"""Render every artifact of one environment to a directory (stable byte-for-byte)."""

from __future__ import annotations

import argparse
from pathlib import Path

from foundation.settings import available_envs
from llmmon.render import render_env


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", required=True, help=f"environment: one of {', '.join(available_envs())}")
    p.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")


def run(args: argparse.Namespace) -> int:
    written = render_env(args.env, args.out)
    print(f"rendered {len(written)} files for env {args.env!r} into {args.out}")
    return 0
