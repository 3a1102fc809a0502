"""RG301: a resource that is released, but not on every path or not exception-safely.

One finding per resource: at the acquisition when some path leaves without a
release, else at the release that an exception (or a consumer closing a
generator) would skip. Two acquisitions (an if/else) closed by one release
are one finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.diagnostics import Applicability, Diagnostic, Fix
from runguard_lint.fixes import guarded
from runguard_lint.rules._leaks import function_label, released_verb
from runguard_lint.rules.base import Rule

# The statement that ends a path, as the message names it (else a `return`).
_EXIT_KEYWORDS: dict[type[cst.CSTNode], str] = {
    cst.Raise: "raise",
    cst.Break: "break",
    cst.Continue: "continue",
}


class _Rule(Rule):
    code = "RG301"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        reported_releases: set[int] = set()
        for acquisition in ownership.acquisitions():
            fate = ownership.fate(acquisition)
            if fate.outcome is Outcome.UNSAFE_RELEASE and fate.unsafe_release is not None:
                if id(fate.unsafe_release) in reported_releases:
                    continue
                reported_releases.add(id(fate.unsafe_release))
            finding = self._judge(acquisition, fate, context)
            if finding is not None:
                yield finding

    def _judge(
        self, acquisition: Acquisition, fate: Fate, context: FileContext
    ) -> Diagnostic | None:
        what = f"`{acquisition.callee}`"
        where = function_label(acquisition, context)
        verb = released_verb(acquisition, context)
        if fate.outcome is Outcome.PARTIAL and fate.open_exit is not None:
            exit_node = fate.open_exit
            if isinstance(exit_node, (cst.FunctionDef, cst.Lambda)):
                path = "the path that reaches the end of the function"
            else:
                line = context.facts.position(exit_node).start.line
                keyword = _EXIT_KEYWORDS.get(type(exit_node), "return")
                path = f"the `{keyword}` on line {line}"
            return context.diagnostic(
                self.code,
                acquisition.call,
                f"{what} in {where} is {verb} on some paths only: {path} leaves "
                f"it open; use `with` or release it in `finally`",
                fix=guarded(self.fix, context, acquisition, fate),
            )
        if fate.outcome is not Outcome.UNSAFE_RELEASE or fate.unsafe_release is None:
            return None
        line = context.facts.position(acquisition.call).start.line
        if any(
            isinstance(node, cst.Finally) for node in context.facts.ancestors(fate.unsafe_release)
        ):
            # The release is in `finally` already: what can skip it comes before the try.
            detail = (
                "code between the acquisition and the `try` can raise before the "
                "`finally` is reached"
            )
            remedy = "start the `try` right after the acquisition, or use `with`"
        elif fate.closed_by_exhaustion:
            # It closes itself when the loop runs it to the end (`fileinput.input`).
            detail = "the loop closes it only when it runs to its end, and its body can " + (
                "stop at a `yield` or `await` whose consumer never resumes it"
                if fate.after_yield
                else "raise first"
            )
            remedy = "use `with`"
        else:
            remedy = "move it into `finally` or use `with`"
            if fate.after_yield:
                detail = (
                    "the code after `yield` is skipped when the consumer raises or "
                    "closes the generator"
                )
            else:
                detail = "an exception raised before it skips it"
        return context.diagnostic(
            self.code,
            fate.unsafe_release,
            f"release of {what} (line {line}) in {where} is not exception-safe: {detail}; {remedy}",
            fix=guarded(self.fix, context, acquisition, fate),
        )

    def fix(self, context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
        """Move the existing release into `finally` (as it is written: its own arguments
        and guards move with it). A release that waits (a process, an executor's
        `shutdown()`) would then also wait on the exception path, where the code did
        not: display-only."""
        from runguard_lint.fixes.finally_block import moved_release_fix
        from runguard_lint.fixes.release import waits_on_release

        if any(isinstance(site, cst.For) for site in fate.release_sites):
            # Released by running it to the end: there is no release call to move.
            return None
        fix = moved_release_fix(context, acquisition, fate)
        if fix is None or not waits_on_release(acquisition.kind, context.catalog):
            return fix
        release = fate.unsafe_release or (fate.release_sites[0] if fate.release_sites else None)
        code = context.facts.module.code_for_node(release) if release is not None else ""
        if "wait=False" in code.replace(" ", ""):
            return fix
        if acquisition.in_async_function or acquisition.kind.release_waits:
            # Waiting for workers or a process on cancellation blocks the event loop
            # (or the caller) where the code did not wait: shown, never applied.
            return replace(
                fix,
                applicability=Applicability.DISPLAY_ONLY,
                message=f"{fix.message} (the release waits, also on the exception path: "
                "review by hand)",
            )
        # An executor joined on the exception path too, as `with` would: the common
        # case, but it waits where the code did not.
        return replace(fix, applicability=Applicability.UNSAFE)


RULE = _Rule()
