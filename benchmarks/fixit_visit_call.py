"""A trivial Fixit rule for the benchmark: visit every call, look at its name.

It reports nothing, so the time measured is Fixit's own floor: LibCST parse,
the metadata every Fixit rule gets (positions, parents) and one visit of
every `Call` node. Loaded with `fixit --rules .fixit_visit_call lint ...` run
from this directory (a leading dot names a local module in Fixit 2).
"""

from __future__ import annotations

import libcst as cst
from fixit import LintRule


class VisitEveryCall(LintRule):
    """Looks at the callee of every call; never reports."""

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "open":
            return
