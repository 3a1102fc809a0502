"""RG101: HTTP and LLM clients built per call and never closed.

The shared leak rule says it all; this family needs no words of its own.
"""

from __future__ import annotations

from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG101"


RULE = _Rule()
