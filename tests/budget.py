"""How many examples a hypothesis test tries: its own number in the default suite, ten times as many
in the slow suite (`make test-slow` sets ICPKIT_HYPOTHESIS=thorough and also selects the hypothesis
tests; conftest.py marks them)."""

from __future__ import annotations

import os

THOROUGH = os.environ.get("ICPKIT_HYPOTHESIS") == "thorough"


def examples(n: int) -> int:
    """``n`` examples by default, ``10 n`` in the thorough (slow-suite) run."""
    return n * 10 if THOROUGH else n
