"""Pulumi entry point (``Pulumi.yaml``: ``main: stack/``)."""

import sys
from pathlib import Path

# Pulumi runs this folder as a script, so the folder itself is on sys.path, where its
# modules could shadow top-level ones; import everything as the ``stack`` package instead.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

from stack.program import main  # noqa: E402

main()
