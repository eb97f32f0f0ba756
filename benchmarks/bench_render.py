"""Benchmark: ``llmmon render`` wall time for every environment.

Two numbers per env: the render in-process (generation + writing) and the whole command as a
user runs it (new interpreter, imports, render). Each round renders every env once, in a
rotated order; the table shows the median over the rounds with its min–max, and the
machine's load before and after.
Run: ``python -m benchmarks.bench_render [--rounds 5]`` from the repository root.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import interleaved, load, machine, seconds, table
from foundation.settings import available_envs
from llmmon.render import render_env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved renders of every env")
    args = parser.parse_args(argv)
    before = load()
    with tempfile.TemporaryDirectory() as tmp:
        outs = {env: Path(tmp) / env for env in available_envs()}
        files = {env: len(render_env(env, out)) for env, out in outs.items()}
        in_process = interleaved({env: lambda env=env, out=out: seconds(lambda: render_env(env, out))
                                  for env, out in outs.items()}, args.rounds)
        command = interleaved({env: lambda env=env, out=out: seconds(lambda: subprocess.run(
            [sys.executable, "-m", "llmmon.cli", "render", "--env", env, "--out", str(out)],
            check=True, capture_output=True)) for env, out in outs.items()}, args.rounds)
    print(machine())
    print(f"before: {before}\nafter:  {load()}")
    print(f"{args.rounds} interleaved rounds, median (min–max)")
    print(table(("env", "files", "render in-process ms", "llmmon render command ms"),
                [(env, files[env], in_process[env].scaled(1000).text(0), command[env].scaled(1000).text(0))
                 for env in outs]))


if __name__ == "__main__":
    main()
