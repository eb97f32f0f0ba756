"""CrossGuard policy pack: ``pulumi preview --policy-pack policy/`` (rules in ``stack/policies.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import PolicyPack  # noqa: E402

from stack.policies import RESOURCE_POLICIES, STACK_POLICIES  # noqa: E402

PolicyPack(name="llm-router-monitoring", policies=[*RESOURCE_POLICIES, *STACK_POLICIES])
