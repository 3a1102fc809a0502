"""RG105: a connection drawn from a pool (or a permit taken) and never given back."""

from __future__ import annotations

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate
from runguard_lint.rules._leaks import LeakRule, function_label, released_verb


class _Rule(LeakRule):
    code = "RG105"

    def remedy(self, acquisition: Acquisition) -> str:
        kind = acquisition.kind
        if kind.context_manager != "none":
            opener = "async with" if kind.async_cm else "with"
            return (
                f"use `{opener} {acquisition.callee.removesuffix('()')}() as ...` or give it "
                "back in `finally`"
            )
        closer = (kind.owner_release or kind.release or ("close",))[0]
        return f"give it back with `{closer}(...)` in `finally`"

    def message(self, acquisition: Acquisition, fate: Fate, context: FileContext) -> str:
        # The pool outlives the call; what leaks is its capacity, whatever the fate.
        where = function_label(acquisition, context)
        project = context.ownership.project
        semaphore = project.permit_taken(acquisition.kind) if project is not None else None
        if project is not None and semaphore is not None:
            giver = (project.giver_of(semaphore) or "").rsplit(".", 1)[-1]
            return (
                f"permit taken with `{acquisition.callee}` in {where} is never given back; "
                f"call `{giver}()` in `finally`"
            )
        if acquisition.kind.takes_permit:
            receiver = acquisition.callee.removesuffix(".acquire()")
            opener = "async with" if acquisition.kind.async_cm else "with"
            return (
                f"permit taken with `{acquisition.callee}` in {where} is never given back; "
                f"use `{opener} {receiver}:` or call `{receiver}.release()` in `finally`"
            )
        return (
            f"connection drawn with `{acquisition.callee}` in {where} is never "
            f"{released_verb(acquisition, context)}; {self.remedy(acquisition)}"
        )


RULE = _Rule()
