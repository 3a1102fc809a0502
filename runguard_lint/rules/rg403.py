"""RG403 (preview): `self.x = <resource>` and the class has no method that releases it."""

from __future__ import annotations

from collections.abc import Iterator

from runguard_lint.analysis.context import FileContext
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.rules._owners import owner_message, unreleased_attributes
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG403"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        for found in unreleased_attributes(context):
            yield context.diagnostic(self.code, found.stored.statement, owner_message(found))


RULE = _Rule()
