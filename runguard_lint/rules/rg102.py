"""RG102: DB pools, engines, connections and clients built per call and never closed.

The shared leak rule says it all; this family needs no words of its own.
"""

from __future__ import annotations

from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG102"


RULE = _Rule()
