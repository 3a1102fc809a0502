"""RG201 (unbounded module cache) and RG202 (unbounded functools cache)."""

from __future__ import annotations

from collections.abc import Iterator

from runguard_lint.checks.base import FileContext
from runguard_lint.diagnostics import Diagnostic


class CacheCheck:
    """Caches that grow with traffic and are never evicted."""

    codes = frozenset({"RG201", "RG202"})

    def run(self, context: FileContext) -> Iterator[Diagnostic]:
        return iter(())
