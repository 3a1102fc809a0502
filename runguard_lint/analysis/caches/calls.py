"""Who calls a function, when the module holds every call of it.

A module-level function used only by plain calls here, or a method named
only in `self._m(...)`, `cls._m(...)`, `Class._m(...)` calls here: the
writers analysis asks whether those calls run at import time, the keys
analysis whether each passes a constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata.scope_provider import Assignment, GlobalScope

from runguard_lint.analysis.caches.classes import Classes, Receiver
from runguard_lint.analysis.caches.syntax import decorator_words, is_staticmethod
from runguard_lint.analysis.dict_uses import store_statement
from runguard_lint.analysis.names import ModuleFacts


@dataclass(frozen=True)
class ModuleCalls:
    """Every call of a module-level function here, and whether `del f` follows them."""

    calls: tuple[cst.Call, ...]
    # `del helper` after the set-up calls: nothing can call it later.
    deleted: bool


@dataclass(frozen=True)
class Caller:
    """One call of a function, and whether it binds the first parameter (`self._m(...)`)."""

    call: cst.Call
    binds_first: bool


def module_calls(facts: ModuleFacts, function: cst.FunctionDef) -> ModuleCalls | None:
    """Every call of a module-level function here, or None if it is used any other way."""
    scope = facts.scope(function)
    if not isinstance(scope, GlobalScope):
        return None
    assignments = list(scope.assignments[function.name.value])
    if (
        len(assignments) != 1
        or not isinstance(assignments[0], Assignment)
        or assignments[0].node is not function
    ):
        return None
    calls: list[cst.Call] = []
    deleted = False
    for access in assignments[0].references:
        if isinstance(store_statement(facts, access.node), cst.Del):
            deleted = True
            continue
        parent = facts.parent(access.node)
        if not (isinstance(parent, cst.Call) and parent.func is access.node):
            return None
        calls.append(parent)
    return ModuleCalls(tuple(calls), deleted)


def callers(facts: ModuleFacts, classes: Classes, function: cst.FunctionDef) -> list[Caller] | None:
    """Every call of a function or method here; None when it is used any other way."""
    owner = facts.enclosing_class(function)
    if owner is None:
        found = module_calls(facts, function)
        return None if found is None else [Caller(call, False) for call in found.calls]
    scope = facts.scope(function)
    name = function.name.value
    if scope is None:
        return None
    assignments = list(scope.assignments[name])
    if (
        len(assignments) != 1
        or not isinstance(assignments[0], Assignment)
        or assignments[0].node is not function
        or assignments[0].references
    ):
        return None
    static = is_staticmethod(function)
    is_classmethod = "classmethod" in decorator_words(function)
    family = classes.family(owner)
    found_callers: list[Caller] = []
    for attribute in classes.attributes_named(name):
        call = facts.parent(attribute)
        receiver = classes.receiver(attribute.value, family)
        if receiver is None or not (isinstance(call, cst.Call) and call.func is attribute):
            return None
        binds_first = not static and (is_classmethod or receiver is Receiver.INSTANCE)
        found_callers.append(Caller(call, binds_first))
    return found_callers
