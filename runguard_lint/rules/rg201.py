"""RG201: a module- or class-level dict written with keys that grow with traffic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from runguard_lint.analysis.context import FileContext
from runguard_lint.checks.caches import module_cache_diagnostics
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.needs import Need
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG201"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.DICT_CACHES})

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        return module_cache_diagnostics(context, self.code)


RULE = _Rule()
