"""RG101-RG106 and RG301: what the ownership analysis says, as findings.

One finding per resource: RG10x at the acquisition when nobody releases it
(or it is created in a loop and released once after it), RG301 at the
acquisition when some path never releases it, else RG301 at the release that
an exception would skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.checks.base import FileContext
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fixes import plan_fix

ACQUISITION_CODES = frozenset({"RG101", "RG102", "RG103", "RG104", "RG105", "RG106"})


def function_label(acquisition: Acquisition, context: FileContext) -> str:
    """`fetch()` or `Client.fetch()`, how messages name the function."""
    function = acquisition.function
    if not isinstance(function, cst.FunctionDef):
        return "a lambda"
    class_def = context.facts.enclosing_class(function)
    prefix = f"{class_def.name.value}." if class_def is not None else ""
    return f"`{prefix}{function.name.value}()`"


def _remedy(acquisition: Acquisition) -> str:
    kind = acquisition.kind
    if kind.rule == "RG105":
        if kind.context_manager != "none":
            opener = "async with" if kind.async_cm else "with"
            return (
                f"use `{opener} {acquisition.callee.removesuffix('()')}() as ...` or give it "
                "back in `finally`"
            )
        closer = (kind.owner_release or kind.release or ("close",))[0]
        return f"give it back with `{closer}(...)` in `finally`"
    if kind.rule == "RG104":
        return "load it once (module level or a cached loader) and share it"
    if kind.rule == "RG103" and acquisition.in_async_function:
        return (
            "share one executor, or call `shutdown(wait=False, cancel_futures=True)` in `finally`"
        )
    if kind.async_cm and acquisition.in_async_function:
        return "use `async with` or register it in a ResourceScope"
    if kind.sync_cm:
        return "use `with` or register it in a ResourceScope"
    closer = kind.release[0] if kind.release else "close"
    return f"call `{closer}()` in `finally` or register it in a ResourceScope"


def _verb(acquisition: Acquisition) -> str:
    rule = acquisition.kind.rule
    if rule == "RG103":
        return "shut down"
    if rule == "RG105":
        return "given back to the pool"
    if "dispose" in acquisition.kind.release:
        return "disposed"
    if rule == "RG106" and "wait" in acquisition.kind.release:
        return "waited for"
    return "closed"


def leak_message(acquisition: Acquisition, fate: Fate, context: FileContext) -> str:
    """The RG10x message: what, where, and what to do."""
    where = function_label(acquisition, context)
    what = f"`{acquisition.callee}`"
    if acquisition.kind.rule == "RG104":
        return f"{what} loads an index on every call of {where}; {_remedy(acquisition)}"
    if acquisition.kind.rule == "RG105":
        return (
            f"connection drawn with {what} in {where} is never {_verb(acquisition)}; "
            f"{_remedy(acquisition)}"
        )
    if fate.outcome is Outcome.LOOP_LEAK:
        return (
            f"{what} is created on every iteration of a loop in {where} but "
            f"{_verb(acquisition)} once after it: all but the last leak; "
            f"{_verb(acquisition).split()[0]} each one inside the loop or create it "
            "once before the loop"
        )
    if fate.outcome is Outcome.WITH_NOT_CLOSING:
        return (
            f"`with {acquisition.callee}(...)` commits or rolls back but does not close "
            f"the connection in {where}; use "
            f"`with contextlib.closing({acquisition.callee}(...))`"
        )
    return (
        f"{what} created on every call of {where} is never {_verb(acquisition)}; "
        f"{_remedy(acquisition)}"
    )


class AcquisitionCheck:
    """Every catalog acquisition inside a function, judged by its fate."""

    codes = frozenset(ACQUISITION_CODES | {"RG301"})

    def run(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        reported_releases: set[int] = set()
        for acquisition in ownership.acquisitions():
            fate = ownership.fate(acquisition)
            if fate.outcome is Outcome.UNSAFE_RELEASE and fate.unsafe_release is not None:
                # Two acquisitions (an if/else) closed by one release: one finding.
                if id(fate.unsafe_release) in reported_releases:
                    continue
                reported_releases.add(id(fate.unsafe_release))
            yield from self._judge(acquisition, fate, context)

    def _judge(
        self, acquisition: Acquisition, fate: Fate, context: FileContext
    ) -> Iterator[Diagnostic]:
        rule = acquisition.kind.rule
        outcome = fate.outcome
        if outcome in (Outcome.LEAKED, Outcome.LOOP_LEAK, Outcome.WITH_NOT_CLOSING):
            if rule in context.enabled:
                yield context.diagnostic(
                    rule,
                    acquisition.call,
                    leak_message(acquisition, fate, context),
                    fix=plan_fix(context, acquisition, fate, rule),
                )
            return
        if "RG301" not in context.enabled:
            return
        what = f"`{acquisition.callee}`"
        where = function_label(acquisition, context)
        if outcome is Outcome.PARTIAL and fate.open_exit is not None:
            exit_node = fate.open_exit
            if isinstance(exit_node, (cst.FunctionDef, cst.Lambda)):
                path = "the path that reaches the end of the function"
            else:
                line = context.facts.position(exit_node).start.line
                keyword = "raise" if isinstance(exit_node, cst.Raise) else "return"
                path = f"the `{keyword}` on line {line}"
            yield context.diagnostic(
                "RG301",
                acquisition.call,
                f"{what} in {where} is {_verb(acquisition)} on some paths only: {path} leaves "
                f"it open; use `with` or release it in `finally`",
                fix=plan_fix(context, acquisition, fate, "RG301"),
            )
        elif outcome is Outcome.UNSAFE_RELEASE and fate.unsafe_release is not None:
            line = context.facts.position(acquisition.call).start.line
            if any(
                isinstance(node, cst.Finally)
                for node in context.facts.ancestors(fate.unsafe_release)
            ):
                # The release is in `finally` already: what can skip it comes before the try.
                detail = (
                    "code between the acquisition and the `try` can raise before the "
                    "`finally` is reached"
                )
                remedy = "start the `try` right after the acquisition, or use `with`"
            else:
                remedy = "move it into `finally` or use `with`"
                if fate.after_yield:
                    detail = (
                        "the code after `yield` is skipped when the consumer raises or "
                        "closes the generator"
                    )
                else:
                    detail = "an exception raised before it skips it"
            yield context.diagnostic(
                "RG301",
                fate.unsafe_release,
                f"release of {what} (line {line}) in {where} is not exception-safe: {detail}; "
                f"{remedy}",
                fix=plan_fix(context, acquisition, fate, "RG301"),
            )
