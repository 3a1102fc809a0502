"""What RG101-RG106 share: one finding per leaked acquisition of the rule's family.

Each family (HTTP clients, DB pools, executors, indexes, pooled connections,
files) is the same question asked of the ownership analysis; what differs is
data (the `[leak]` table of the rule's TOML: the holder's noun, whether a
shared instance is the remedy, whether a release joins work) and wording,
which a rule module overrides where its family needs other words.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.analysis.ownership.outlive import may_borrow_transport, outliving_use
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.diagnostics import Applicability, Diagnostic, Fix
from runguard_lint.fixes import guarded, pick
from runguard_lint.fixes.release import CONCURRENT_EXECUTORS, MULTIPROCESSING_POOLS
from runguard_lint.rules.base import Rule

# The fates that are this family's finding; the partial ones are RG301's.
LEAK_OUTCOMES = frozenset({Outcome.LEAKED, Outcome.LOOP_LEAK, Outcome.WITH_NOT_CLOSING})


def function_label(acquisition: Acquisition, context: FileContext) -> str:
    """`fetch()` or `Client.fetch()`, how messages name the function."""
    function = acquisition.function
    if not isinstance(function, cst.FunctionDef):
        return "a lambda"
    class_def = context.facts.enclosing_class(function)
    prefix = f"{class_def.name.value}." if class_def is not None else ""
    return f"`{prefix}{function.name.value}()`"


def released_verb(acquisition: Acquisition, context: FileContext) -> str:
    """How messages say the resource is released: closed, shut down, disposed..."""
    verb = context.catalog.leak_traits(acquisition.kind.rule).verb
    if verb:
        return verb
    if "dispose" in acquisition.kind.release:
        return "disposed"
    if "wait" in acquisition.kind.release:
        return "waited for"
    return "closed"


# What to do, from how messages say it is done (`released_verb` and the rules' `verb`).
_IMPERATIVES = {
    "closed": "close",
    "disposed": "dispose",
    "waited for": "wait for",
    "shut down": "shut down",
    "given back to the pool": "give back",
}


def _imperative(verb: str) -> str:
    return _IMPERATIVES.get(verb, "release")


class LeakRule(Rule):
    """A family of catalog resources that must be released in the function that
    acquires them, unless their ownership moves elsewhere."""

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        for acquisition in ownership.acquisitions():
            if acquisition.kind.rule != self.code:
                continue
            fate = ownership.fate(acquisition)
            if fate.outcome in LEAK_OUTCOMES and self.reported(acquisition, fate):
                yield context.diagnostic(
                    self.code,
                    acquisition.call,
                    self.message(acquisition, fate, context),
                    *self.fixes(context, acquisition, fate),
                )

    def reported(self, acquisition: Acquisition, fate: Fate) -> bool:
        """Whether a leaked fate is this family's finding (a family may know better)."""
        return True

    def remedy(self, acquisition: Acquisition) -> str:
        """What to do, in the words of the resource's release protocol."""
        kind = acquisition.kind
        if kind.async_cm and acquisition.in_async_function:
            return "use `async with` or register it in a ResourceScope"
        if kind.sync_cm:
            return "use `with` or register it in a ResourceScope"
        closer = kind.release[0] if kind.release else "close"
        return f"call `{closer}()` in `finally` or register it in a ResourceScope"

    def message(self, acquisition: Acquisition, fate: Fate, context: FileContext) -> str:
        """What leaks, where, and what to do."""
        where = function_label(acquisition, context)
        what = f"`{acquisition.callee}`"
        verb = released_verb(acquisition, context)
        if fate.outcome is Outcome.LOOP_LEAK:
            return (
                f"{what} is created on every iteration of a loop in {where} but "
                f"{verb} once after it: all but the last leak; "
                f"{_imperative(verb)} each one inside the loop or create it "
                "once before the loop"
            )
        if fate.outcome is Outcome.WITH_NOT_CLOSING:
            return (
                f"`with {acquisition.call_text}` commits or rolls back but does not close "
                f"the connection in {where}; use "
                f"`with contextlib.closing({acquisition.call_text})`"
            )
        remedy = self.remedy(acquisition)
        if acquisition.kind.may_be_borrowed:
            # `self.get_client()` returns `self.client` when it is set, else a new one.
            what = f"{what} (a new one whenever it has none to hand back)"
            remedy = (
                "build it once and keep it where the getter looks, or release what the getter built"
            )
        if fate.derived_escapes:
            remedy = (
                f"a value made from it is {fate.derived_escapes[0].reason} and still uses it: "
                "share one instance, or release it once that value is done"
            )
        return f"{what} created on every call of {where} is never {verb}; {remedy}"

    def fixes(
        self, context: FileContext, acquisition: Acquisition, fate: Fate
    ) -> tuple[Fix | None, Fix | None]:
        """(preferred, alternative): the fix that ends the cost (a shared instance for a
        family whose remedy it is, unsafe) and the shortest release (safe), so that
        plain `--fix` closes what `--fix --unsafe-fixes` would share."""
        from runguard_lint.fixes.singleton import singleton_fix

        traits = context.catalog.leak_traits(self.code)
        kind = acquisition.kind
        if not acquisition.by_call:
            # A property that builds a resource on every read: the fix belongs in its
            # class, not at each read, and the fixes here rewrite calls.
            return None, None
        if kind.takes_permit or kind.may_be_borrowed or kind.mixed_release:
            # Where the permit should go back depends on what the code guards; the
            # message says how, a person decides where. A getter's value may be the
            # one it holds, which closing here would close for its owner. A factory that
            # builds a sync or an async client by a flag has no one release to write.
            return None, None
        if fate.outcome is Outcome.WITH_NOT_CLOSING:
            from runguard_lint.fixes.with_block import closing_fix

            return pick(guarded(closing_fix, context, acquisition))
        if fate.outcome not in (Outcome.LEAKED, Outcome.LOOP_LEAK):
            return None, None
        shared = None
        if traits.shared_when_constant and context.settings.fix_style == "auto":
            shared = guarded(singleton_fix, context, acquisition, fate)
        release = None
        if traits.closable_by_fix and self.closable_here(context, acquisition, fate):
            release = guarded(self.release_fix, context, acquisition, fate)
        return pick(shared, release)

    def closable_here(self, context: FileContext, acquisition: Acquisition, fate: Fate) -> bool:
        """Whether closing it in this function keeps the program's behaviour: nothing
        made from it outlives the function (a future, a stream, `client[db][coll]`, a
        task), and it does not wrap (or is not) a transport someone else owns."""
        if fate.derived_escapes:
            return False
        facts = context.facts
        if may_borrow_transport(facts, acquisition):
            return False
        view = ProjectView(facts, context.project, context.module, context.package)
        return outliving_use(facts, acquisition, fate.holder, view.keeps_nothing) is None

    def release_fix(self, context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
        """The shortest release: `with` around the uses, `finally`, or a scope."""
        from runguard_lint.fixes.finally_block import added_release_fix
        from runguard_lint.fixes.scope import scope_fix
        from runguard_lint.fixes.with_block import returned_temporary_fix, with_fix

        if _released_in_finally(acquisition):
            fix = added_release_fix(context, acquisition, fate)
        elif fate.holder is None:
            fix = returned_temporary_fix(context, acquisition)
        else:
            # `with` around its uses; else its release in `finally` after them; a scope
            # only when neither can say it.
            fix = with_fix(context, acquisition, fate) or added_release_fix(
                context, acquisition, fate
            )
        fix = fix if fix is not None else scope_fix(context, acquisition, fate)
        if fix is not None and acquisition.kind.release_waits:
            # The added release waits for the child: a process meant to outlive the
            # call (a server, a detached job) would now block it. Shown, never applied.
            fix = replace(
                fix,
                applicability=Applicability.DISPLAY_ONLY,
                message=f"{fix.message} (waits for the process to exit: review by hand)",
            )
        return fix


def _released_in_finally(acquisition: Acquisition) -> bool:
    """Resources whose `with` exit blocks an event loop, kills work, or does not exist."""
    kind = acquisition.kind
    if kind.callable in CONCURRENT_EXECUTORS:
        # `with` (or `shutdown()`) would wait for work the code never waited for.
        return True
    if kind.callable in MULTIPROCESSING_POOLS:
        return True
    return bool(kind.owner_release) and kind.context_manager == "none"
