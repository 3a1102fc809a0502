"""RG402 (preview): a pool built and released on every call of a request path."""

from __future__ import annotations

from collections.abc import Iterator

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Outcome
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.rules._leaks import function_label
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG402"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        ownership = context.ownership
        for acquisition in ownership.acquisitions():
            if not context.catalog.leak_traits(acquisition.kind.rule).costly_per_call:
                continue
            if ownership.fate(acquisition).outcome is Outcome.RELEASED:
                yield context.diagnostic(
                    self.code,
                    acquisition.call,
                    f"`{acquisition.callee}` is built and released on every call of "
                    f"{function_label(acquisition, context)}: correct, but each call pays "
                    "for a new pool (connections, handshakes, threads); share one instance",
                )


RULE = _Rule()
