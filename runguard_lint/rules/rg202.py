"""RG202 (preview): `functools.cache`/`lru_cache(maxsize=None)` on free-form arguments."""

from __future__ import annotations

from collections.abc import Iterator

from runguard_lint.analysis.caches.functools_caches import (
    UnboundedDecorator,
    UnboundedFunctoolsCache,
    unbounded_functools_caches,
)
from runguard_lint.analysis.context import FileContext
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fixes import guarded
from runguard_lint.fixes.bounded_cache import lru_cache_fix
from runguard_lint.rules._caches import bounded_cache_remedy, function_label
from runguard_lint.rules.base import Rule

_DECORATOR_LABELS = {
    UnboundedDecorator.CACHE: "functools.cache",
    UnboundedDecorator.LRU_CACHE_WITHOUT_MAXSIZE: "functools.lru_cache(maxsize=None)",
}


class _Rule(Rule):
    code = "RG202"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        for cache in unbounded_functools_caches(context):
            yield context.diagnostic(
                self.code,
                cache.decorator,
                _message(context, cache),
                fix=guarded(lru_cache_fix, context, cache.decorator),
            )


def _message(context: FileContext, cache: UnboundedFunctoolsCache) -> str:
    shown = ", ".join(f"`{name}`" for name in cache.params)
    per = f"value of {shown}" if len(cache.params) == 1 else f"combination of {shown}"
    if cache.keeps_instances:
        per += " (and keeps every `self` it saw alive)"
    return (
        f"`@{_DECORATOR_LABELS[cache.kind]}` on {function_label(context.facts, cache.function)} "
        f"keeps one entry per distinct {per} for the life of the process: free-form arguments "
        "(text, ids, paths) make it grow with traffic. Bound it: "
        "`functools.lru_cache(maxsize=...)`, or "
        f"{bounded_cache_remedy(context.settings.cache_maxsize)}"
    )


RULE = _Rule()
