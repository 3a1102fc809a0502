"""RG202 (preview): `functools.cache`/`lru_cache(maxsize=None)` on free-form arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from runguard_lint.analysis.context import FileContext
from runguard_lint.checks.caches import functools_cache_diagnostics
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.needs import Need
from runguard_lint.rules.base import Rule


class _Rule(Rule):
    code = "RG202"
    needs: ClassVar[frozenset[Need]] = frozenset({Need.FUNCTOOLS_CACHES})

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        return functools_cache_diagnostics(context, self.code)


RULE = _Rule()
