"""Render a git revision with its own code, in a temporary worktree removed afterwards.

The revision renders itself (``python -m llmmon.cli render`` with ``PYTHONPATH`` set to the
temporary worktree), so a diff against ``main`` compares what ``main`` would deploy, not
what today's code makes of ``main``'s settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llmmon.diff.documents import DiffInputError


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DiffInputError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def toplevel(path: Path) -> Path:
    return Path(git(path, "rev-parse", "--show-toplevel"))


@contextmanager
def checkout(repo: Path, rev: str) -> Iterator[tuple[Path, str]]:
    """(worktree path, short commit) of ``rev``; the worktree is removed on exit, error or not."""
    try:
        commit = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except DiffInputError:
        raise DiffInputError(f"unknown git revision {rev!r} in {repo}") from None
    scratch = Path(tempfile.mkdtemp(prefix="llmmon-diff-"))
    tree = scratch / "tree"
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree, commit[:12]
    finally:
        try:
            git(repo, "worktree", "remove", "--force", str(tree))
        except DiffInputError:
            pass  # never added, or already gone: prune below forgets it either way
        shutil.rmtree(scratch, ignore_errors=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, check=False)


def envs_at(tree: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in tree.glob("Pulumi.*.yaml"))


def render_at(tree: Path, env: str, out: Path) -> None:
    """Run the revision's own ``llmmon render``; its failure is this diff's error."""
    environ = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-m", "llmmon.cli", "render", "--env", env, "--out", str(out)],
                          cwd=tree, env=environ, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise DiffInputError(f"rendering env {env!r} at the revision failed:\n{(proc.stderr or proc.stdout).strip()}")
