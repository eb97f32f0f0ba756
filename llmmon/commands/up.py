"""Not built yet: filled in by its issue."""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    print(f"llmmon {args.command}: not implemented yet", file=sys.stderr)
    return 2
