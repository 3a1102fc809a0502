"""RG401: a class the project builds per call holds a resource it never releases."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m

from runguard_lint.analysis.context import FileContext
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.rules._owners import class_qualname, owner_message, unreleased_attributes
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG401"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        per_call = context.project.built_per_call
        for found in unreleased_attributes(context):
            # Built once, an owner holds its resources for the life of the process,
            # as the tool recommends; only instances made per call leak them.
            qualname = class_qualname(context, found.stored.class_def)
            if qualname not in per_call:
                continue
            if found.stored.attribute in context.project.closed_by_builders.get(qualname, ()):
                continue  # each place that builds it per call releases this part itself
            if found.stored.attribute in context.project.idle_defaults.get(
                qualname, ()
            ) and not _set_outside_init(found.stored.class_def, found.stored.attribute):
                continue  # built only when not given, and every such place gives one
            where = per_call[qualname]
            place = f" in `{where}`" if where else " in a loop or a nested function"
            yield context.diagnostic(
                self.code,
                found.stored.statement,
                f"{owner_message(found)} (the project builds `{found.stored.class_def.name.value}`"
                f" per call{place}: each instance leaks what it holds)",
            )


def _set_outside_init(class_def: cst.ClassDef, attribute: str) -> bool:
    """Whether a method other than `__init__` may set `self.<attribute>`: as an
    assignment's target (also in a tuple, or chained), or by `setattr(self, "<name>",
    ...)`. The project's facts know only the plain `self.x = ...` of each method."""
    for statement in class_def.body.body:
        if not isinstance(statement, cst.FunctionDef) or statement.name.value == "__init__":
            continue
        if _stores(statement, attribute):
            return True
    return False


def _self_attribute(attribute: str) -> m.Attribute:
    return m.Attribute(value=m.Name("self"), attr=m.Name(attribute))


def _stores(function: cst.FunctionDef, attribute: str) -> bool:
    target = _self_attribute(attribute)
    anywhere = target | m.Tuple(elements=[m.ZeroOrMore(), m.Element(target), m.ZeroOrMore()])
    setter = m.Call(
        func=m.Name("setattr"),
        args=[m.Arg(m.Name("self")), m.Arg(m.SimpleString()), m.ZeroOrMore()],
    )
    for node in m.findall(
        function,
        m.AssignTarget(target=anywhere)
        | m.AnnAssign(target=target)
        | m.AugAssign(target=target)
        | setter,
    ):
        if not isinstance(node, cst.Call):
            return True
        name = node.args[1].value
        if isinstance(name, cst.SimpleString) and name.evaluated_value == attribute:
            return True
    return False


RULE = _Rule()
