"""Benchmark: ``llmmon render`` wall time for every environment.

Two numbers per env: the render in-process (generation + writing, median of several runs)
and the whole command as a user runs it (new interpreter, imports, render).
Run: ``python -m benchmarks.bench_render`` from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.timing import machine, measure, median_ms, table
from foundation.settings import available_envs
from llmmon.render import render_env


def main(repeat: int = 5) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for env in available_envs():
            out = Path(tmp) / env
            files = len(render_env(env, out))
            in_process = median_ms(measure(lambda env=env, out=out: render_env(env, out), repeat))
            argv = [sys.executable, "-m", "llmmon.cli", "render", "--env", env, "--out", str(out)]
            command = median_ms(measure(lambda argv=argv: subprocess.run(argv, check=True, capture_output=True), 3))
            rows.append((env, files, in_process, command))
    print(machine())
    print(table(("env", "files", "render in-process ms (median)", "llmmon render command ms (median)"), rows))


if __name__ == "__main__":
    main()
