"""RG401: a class the project builds per call holds a resource it never releases."""

from __future__ import annotations

from collections.abc import Iterator

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
            where = per_call[qualname]
            place = f" in `{where}`" if where else " in a loop or a nested function"
            yield context.diagnostic(
                self.code,
                found.stored.statement,
                f"{owner_message(found)} (the project builds `{found.stored.class_def.name.value}`"
                f" per call{place}: each instance leaks what it holds)",
            )


RULE = _Rule()
