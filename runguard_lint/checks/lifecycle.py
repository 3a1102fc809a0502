"""RG401 (owner never closes) and RG402 (per-call construction, preview).

RG401 asks the ownership analysis which acquisitions end up stored on `self`,
then whether anything in the module releases that attribute: a release method
called on `<obj>.<attr>`, a `with`/`closing` over it, its closer handed over
(`weakref.finalize(self, self.x.close)`), or a local alias of it released.
Matching by attribute name across the module (not only the class) errs toward
silence, which is the right side for a rule about other people's classes.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from runguard_lint.analysis.names import walk
from runguard_lint.analysis.ownership import Acquisition, Outcome
from runguard_lint.checks.acquisition import function_label
from runguard_lint.checks.base import FileContext
from runguard_lint.diagnostics import Diagnostic

_HAND_CLOSERS = frozenset({"__exit__", "__aexit__"})
_PER_CALL_RULES = frozenset({"RG101", "RG102", "RG103", "RG104"})


class LifecycleCheck:
    """Owners that never close what they hold, and resources rebuilt on every call."""

    codes = frozenset({"RG401", "RG402"})

    def run(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        released: set[str] | None = None
        for acquisition in ownership.acquisitions():
            fate = ownership.fate(acquisition)
            if "RG401" in context.enabled and fate.stored is not None and \
                    acquisition.kind.has_release and acquisition.kind.rule != "RG104":
                if released is None:
                    released = _released_attributes(context)
                if fate.stored.attribute not in released:
                    yield context.diagnostic("RG401", fate.stored.statement,
                                             _owner_message(acquisition, fate.stored.attribute,
                                                            fate.stored.class_def))
            if ("RG402" in context.enabled and fate.outcome is Outcome.RELEASED
                    and acquisition.kind.rule in _PER_CALL_RULES):
                yield context.diagnostic(
                    "RG402", acquisition.call,
                    f"`{acquisition.callee}` is built and released on every call of "
                    f"{function_label(acquisition, context)}: correct, but each call pays "
                    "for a new pool (connections, handshakes, threads); share one instance",
                )


def _owner_message(acquisition: Acquisition, attribute: str, class_def: cst.ClassDef) -> str:
    kind = acquisition.kind
    closer = (kind.release or kind.owner_release or ("close",))[0]
    awaited = kind.release_awaited
    exit_hook = "__aexit__" if kind.release_awaited else "__exit__"
    return (f"`self.{attribute} = {acquisition.callee}(...)`: class `{class_def.name.value}` "
            f"never releases `self.{attribute}`; add {'an async' if awaited else 'a'} `close()` (or `{exit_hook}`) "
            f"that calls `self.{attribute}.{closer}()`")


def _released_attributes(context: FileContext) -> set[str]:
    """Names of attributes that something in the module releases."""
    release_names = context.catalog.release_methods | _HAND_CLOSERS
    released: set[str] = set()
    aliases: dict[str, set[str]] = {}
    wrappers = context.catalog.ownership.closing_wrappers
    for node in walk(context.facts.module):
        if isinstance(node, cst.Attribute) and node.attr.value in release_names:
            target = node.value
            if isinstance(target, cst.Attribute):
                released.add(target.attr.value)
            elif isinstance(target, cst.Name):
                aliases.setdefault(target.value, set())
        elif isinstance(node, cst.WithItem):
            item = node.item
            if isinstance(item, cst.Call) and (
                context.facts.external_names(item.func) & wrappers
            ) and item.args:
                item = item.args[0].value
            if isinstance(item, cst.Attribute):
                released.add(item.attr.value)
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Attribute):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    aliases.setdefault(target.target.value, set()).add(node.value.attr.value)
        elif isinstance(node, cst.For):
            # `for client in (self.a, self.b): client.close()`
            for element in walk(node.iter):
                if isinstance(element, cst.Attribute) and isinstance(node.target, cst.Name):
                    aliases.setdefault(node.target.value, set()).add(element.attr.value)
    released_names = _released_local_names(context, release_names)
    for name, attributes in aliases.items():
        if name in released_names:
            released |= attributes
    return released


def _released_local_names(context: FileContext, release_names: frozenset[str]) -> set[str]:
    names: set[str] = set()
    for node in walk(context.facts.module):
        if (isinstance(node, cst.Attribute) and node.attr.value in release_names
                and isinstance(node.value, cst.Name)):
            names.add(node.value.value)
        elif isinstance(node, cst.WithItem) and isinstance(node.item, cst.Name):
            names.add(node.item.value)
    return names

