"""Show what changes for on-call between two renders: alerts (threshold, for, severity,
receiver), recording rules, Alertmanager routes, dashboards, Kubernetes objects, log pipeline.

    llmmon diff OLD_DIR NEW_DIR                  two folders written by llmmon render
    llmmon diff --env prod --against main        the working tree against a git revision
    llmmon diff --env all --against HEAD~3 --format markdown   (a pull-request comment)

Everything is parsed (YAML, JSON, PromQL, Logstash), so reformatting alone reports nothing.
Receivers are those amtool routes each alert to. Exit code: 0 nothing changed, 1 something
changed, 2 error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from foundation.settings import PROJECT_DIR, SettingsError, available_envs, load_settings
from llmmon.diff import diff_trees, report, revision
from llmmon.diff.documents import DiffInputError
from llmmon.diff.model import OTHER, Change, EnvDiff
from llmmon.render import RenderError, collect, write


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("folders", nargs="*", type=Path, metavar="DIR", help="OLD and NEW render folders")
    p.add_argument("--against", metavar="REV", help="compare the working tree with this git revision")
    p.add_argument("--env", help=f"with --against: one of {', '.join(available_envs())}, or 'all' (default); "
                   "with folders: the name shown for them")
    p.add_argument("--format", choices=("text", "markdown"), default="text")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour the text format")


def run(args: argparse.Namespace) -> int:
    try:
        if args.against is not None:
            if args.folders:
                raise DiffInputError("give either two folders or --against REV, not both")
            diffs, old_label, new_label = against_revision(args.against, args.env or "all")
        elif len(args.folders) == 2:
            old, new = args.folders
            diffs, old_label, new_label = [diff_trees(args.env or "render", old, new)], str(old), str(new)
        else:
            raise DiffInputError("give two render folders (OLD NEW) or --against REV")
    except (DiffInputError, SettingsError, RenderError, OSError) as exc:
        print(f"llmmon diff: {exc}", file=sys.stderr)
        return 2
    if args.format == "markdown":
        sys.stdout.write(report.markdown(diffs, old_label, new_label))
    else:
        sys.stdout.write(report.text(diffs, old_label, new_label, color=_color(args.color)))
    return 1 if any(d.changes for d in diffs) else 0


def _color(choice: str) -> bool:
    if choice == "auto":
        return sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return choice == "always"


def against_revision(rev: str, env: str) -> tuple[list[EnvDiff], str, str]:
    """Render the working tree (this code) and ``rev`` (its own code) per env, and compare."""
    repo = revision.toplevel(PROJECT_DIR)
    scratch = Path(tempfile.mkdtemp(prefix="llmmon-diff-renders-"))
    try:
        with revision.checkout(repo, rev) as (tree, commit):
            ours, theirs = available_envs(), revision.envs_at(tree)
            envs = sorted(set(ours) | set(theirs)) if env == "all" else [env]
            if env != "all" and env not in ours and env not in theirs:
                raise DiffInputError(f"no environment {env!r} in the working tree or at {rev}")
            diffs = []
            for name in envs:
                if name not in theirs or name not in ours:
                    action = "added" if name not in theirs else "removed"
                    diffs.append(EnvDiff(name, (Change(OTHER, action, f"environment {name}", f"Pulumi.{name}.yaml"),)))
                    continue
                revision.render_at(tree, name, scratch / "old" / name)
                write(collect(load_settings(name)), scratch / "new" / name)
                diffs.append(diff_trees(name, scratch / "old" / name, scratch / "new" / name))
        return diffs, f"{rev} ({commit})", "working tree"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
