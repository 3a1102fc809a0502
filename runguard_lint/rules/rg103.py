"""RG103: thread and process pools built per call and never shut down."""

from __future__ import annotations

from runguard_lint.analysis.ownership import Acquisition
from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG103"

    def remedy(self, acquisition: Acquisition) -> str:
        # A `with` exit joins the workers: it would wait where the code did not (and
        # block an event loop); `cancel_futures` would cancel work handed out.
        del acquisition
        return "share one executor, or call `shutdown(wait=False)` in `finally`"


RULE = _Rule()
