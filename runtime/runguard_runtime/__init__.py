"""What code fixed by runguard-lint imports: cleanup scopes, per-loop clients, bounded caches.

The `runguard-runtime` distribution: standard library only, so that an
application that adopts these helpers does not pull in the linter's own
dependencies (libcst, click, rich). Python 3.9+. One module per helper
(`scope`, `per_loop`, `bounded_cache`); import them from here. The linter
re-exports the same objects as `runguard_lint.runtime`, for code fixed before
this distribution existed.

- `ResourceScope` closes everything registered in it, in LIFO order, even
  when some closers fail, and reports every failure.
- `per_loop` / `keyed_per_loop` make lazy singletons of async clients: one
  instance per running event loop (and key), closed when that loop shuts down.
  A module-level `httpx.AsyncClient` is bound to the first loop that uses it,
  so the second `asyncio.run()` of a program breaks (openai-python #1059).
- `BoundedCache` is the thread-safe LRU that replaces unbounded module dicts.

Cleanup failures are reported as a `CleanupError`: on Python 3.11+ a subclass
of `ExceptionGroup` (so `except* OSError` works), always a group, even for a
single failure; before 3.11 a `RuntimeError` with the same `.exceptions`.
"""

from __future__ import annotations

from runguard_runtime.bounded_cache import BoundedCache, CacheStats
from runguard_runtime.per_loop import KeyedPerLoop, PerLoop, keyed_per_loop, per_loop
from runguard_runtime.scope import CleanupError, ResourceScope

# One version for both distributions: the linter ships these same files.
__version__ = "0.1.0"

__all__ = [
    "BoundedCache",
    "CacheStats",
    "CleanupError",
    "KeyedPerLoop",
    "PerLoop",
    "ResourceScope",
    "keyed_per_loop",
    "per_loop",
]
