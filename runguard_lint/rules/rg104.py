"""RG104: a vector index loaded on every call; the remedy is loading it once."""

from __future__ import annotations

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate
from runguard_lint.rules._leaks import LeakRule, function_label


class _Rule(LeakRule):
    code = "RG104"

    def reported(self, acquisition: Acquisition, fate: Fate) -> bool:
        # A loader that wraps what it loads and returns the wrapper hands the index
        # (and the cost of loading it) to its caller: the caller decides how often.
        return not fate.derived_escapes

    def remedy(self, acquisition: Acquisition) -> str:
        return "load it once (module level or a cached loader) and share it"

    def message(self, acquisition: Acquisition, fate: Fate, context: FileContext) -> str:
        # The cost is the load itself, not a missing close: say so whatever the fate.
        where = function_label(acquisition, context)
        return (
            f"`{acquisition.callee}` loads an index on every call of {where}; "
            f"{self.remedy(acquisition)}"
        )


RULE = _Rule()
