"""``llmmon diff --against REV``: the revision renders itself, in a worktree that does not outlive it.

A scratch git repository holds this project's files. Its one commit carries a patched
``llmmon/render.py`` that adds a marker file to every render; the working tree does not.
Only the revision's own code can produce the marker, so seeing it reported as removed proves
which code rendered which side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from foundation.settings import PROJECT_DIR, available_envs

MARKER = "zz-marker/from-old-code.yaml"
PATCH = f'''

_collect_without_marker = collect


def collect(settings, providers=PROVIDERS):  # noqa: ANN001, ANN201 - test patch
    return {{**_collect_without_marker(settings, providers), "{MARKER}": "marker: old\\n"}}
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.com",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scratch") / "repo"
    listed = subprocess.run(["git", "-C", str(PROJECT_DIR), "ls-files", "-co", "--exclude-standard", "-z"],
                            check=True, capture_output=True, text=True).stdout.split("\0")
    for rel in filter(None, listed):
        source = PROJECT_DIR / rel
        if source.is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / rel)
    render_py = root / "llmmon" / "render.py"
    original = render_py.read_text()
    render_py.write_text(original + PATCH)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "old: renders a marker")
    render_py.write_text(original)  # the working tree: no marker
    return root


def llmmon(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llmmon.cli", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo), "NO_COLOR": "1"}, timeout=600, check=False)


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_against_a_revision_renders_it_with_its_own_code(repo: Path) -> None:
    result = llmmon(repo, "diff", "--env", "all", "--against", "HEAD")
    assert result.returncode == 1, result.stderr
    envs = ", ".join(available_envs())
    # The same change in every env is told once, under all of them.
    assert f"== {envs} ==" in result.stdout
    assert result.stdout.count(f"- {MARKER}") == 1
    assert worktrees(repo) == [f"worktree {repo}"]


def test_a_clean_working_tree_has_no_change(repo: Path) -> None:
    (repo / "llmmon" / "render.py").write_text((repo / "llmmon" / "render.py").read_text() + PATCH)
    try:
        result = llmmon(repo, "diff", "--env", "dev", "--against", "HEAD", "--format", "markdown")
    finally:
        git(repo, "checkout", "-q", "--", ".")
        (repo / "llmmon" / "render.py").write_text(
            (repo / "llmmon" / "render.py").read_text().replace(PATCH, ""))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No change for on-call in dev." in result.stdout


def test_unknown_revision_exits_2_and_leaves_no_worktree(repo: Path) -> None:
    result = llmmon(repo, "diff", "--env", "dev", "--against", "no-such-revision")
    assert result.returncode == 2
    assert "unknown git revision 'no-such-revision'" in result.stderr
    assert worktrees(repo) == [f"worktree {repo}"]


def test_a_revision_that_fails_to_render_exits_2_and_removes_its_worktree(repo: Path) -> None:
    """The revision's own render error is shown; its worktree is gone all the same."""
    stack_file = repo / "Pulumi.dev.yaml"
    good = stack_file.read_text()
    git(repo, "checkout", "-q", "-b", "broken")
    stack_file.write_text("config: [unclosed\n")
    git(repo, "commit", "-qm", "broken dev stack file", "--", "Pulumi.dev.yaml")
    git(repo, "checkout", "-q", "-")
    assert stack_file.read_text() == good
    assert PATCH not in (repo / "llmmon" / "render.py").read_text()  # the working tree kept its state
    result = llmmon(repo, "diff", "--env", "dev", "--against", "broken")
    assert result.returncode == 2
    assert "rendering env 'dev' at the revision failed" in result.stderr and "Pulumi.dev.yaml" in result.stderr
    assert worktrees(repo) == [f"worktree {repo}"]


def test_an_unknown_env_exits_2(repo: Path) -> None:
    result = llmmon(repo, "diff", "--env", "no-such-env", "--against", "HEAD")
    assert result.returncode == 2
    assert "no environment 'no-such-env'" in result.stderr
    assert worktrees(repo) == [f"worktree {repo}"]
