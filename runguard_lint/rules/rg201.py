"""RG201: a module- or class-level dict written with keys that grow with traffic."""

from __future__ import annotations

from collections.abc import Iterator

from runguard_lint.analysis.caches.entries import EntryKind
from runguard_lint.analysis.caches.module_caches import UnboundedCache, unbounded_caches
from runguard_lint.analysis.context import FileContext
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fixes import guarded
from runguard_lint.fixes.bounded_cache import bounded_cache_fix
from runguard_lint.rules._caches import bounded_cache_remedy, function_label
from runguard_lint.rules.base import Rule

# What one entry costs, when the cache's name or values say what it holds.
_COSTS = {
    EntryKind.EMBEDDING: (
        "each entry holds an embedding (1,536 float32 is ~6 KB): 50,000 new keys a day is "
        "~300 MB a day"
    ),
    EntryKind.RESPONSE: (
        "each entry holds a response (~4 KB of text): 50,000 new keys a day is ~200 MB a day"
    ),
}


class _Rule(Rule):
    code = "RG201"

    def check(self, context: FileContext) -> Iterator[Diagnostic]:
        for cache in unbounded_caches(context):
            target = cache.binding.target
            yield context.diagnostic(
                self.code,
                target,
                _message(context, cache),
                fix=guarded(bounded_cache_fix, context, target),
            )


def _message(context: FileContext, cache: UnboundedCache) -> str:
    binding = cache.binding
    if binding.class_def is not None:
        where = f"class-level dict `{binding.class_def.name.value}.{binding.name}`"
    else:
        where = f"module-level dict `{binding.name}`"
    writer_label = function_label(context.facts, cache.writers[0].function)
    if len(cache.writers) > 1:
        others = len(cache.writers) - 1
        writer_label += f" (and {others} more function{'s' if others > 1 else ''})"
    shown = f" ({', '.join(f'`{name}`' for name in cache.key_params)})" if cache.key_params else ""
    cost = _COSTS[cache.entry] if cache.entry is not None else ""
    return (
        f"{where} is a cache written by {writer_label} with keys from its call data{shown}, "
        "and nothing in the module evicts from it: it grows with every new key for the life "
        f"of the process{'; ' + cost if cost else ''}. Bound it: "
        f"{bounded_cache_remedy(context.settings.cache_maxsize)}, "
        "or functools.lru_cache(maxsize=...)"
    )


RULE = _Rule()
