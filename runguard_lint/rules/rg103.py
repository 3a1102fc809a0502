"""RG103: thread and process pools built per call and never shut down."""

from __future__ import annotations

from runguard_lint.analysis.ownership import Acquisition
from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG103"

    def remedy(self, acquisition: Acquisition) -> str:
        # A `with` exit joins the workers: in `async def` it would block the event loop.
        if acquisition.in_async_function:
            return (
                "share one executor, or call `shutdown(wait=False, cancel_futures=True)` "
                "in `finally`"
            )
        return super().remedy(acquisition)


RULE = _Rule()
