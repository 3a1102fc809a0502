"""`BoundedCache`: the thread-safe LRU that replaces unbounded module-level dicts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from dataclasses import dataclass
from typing import Any, TypeVar, overload

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

_MISSING: Any = object()


def check_maxsize(maxsize: int) -> None:
    """Refuse a size that is not a positive int (a bool or a float would slip through)."""
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
        raise ValueError(f"maxsize must be a positive int, got {maxsize!r}")


@dataclass(frozen=True)
class CacheStats:
    """A consistent snapshot of a `BoundedCache`'s counters."""

    hits: int
    misses: int
    evictions: int
    size: int
    maxsize: int


class BoundedCache(MutableMapping[K, V]):
    """A thread-safe LRU mapping of at most `maxsize` items, with O(1) operations.

    What runguard-lint's RG201 fix puts in place of an unbounded module-level
    dict cache. Reading (`cache[k]`, `get`, `setdefault`) counts a hit or a
    miss and marks the key most recently used; `in`, `len`, iteration and
    `pop` do neither. Inserting into a full cache evicts the least recently
    used item and calls `on_evict(key, value)` after releasing the lock (so
    the callback may use the cache); overwriting, `del`, `pop` and `clear` are
    not evictions. `keys()`, `values()`, `items()` and iteration are
    snapshots in LRU order (least recent first): a view shared across threads
    could not stay consistent without holding the lock.
    """

    def __init__(self, maxsize: int, *, on_evict: Callable[[K, V], object] | None = None) -> None:
        check_maxsize(maxsize)
        self._maxsize = maxsize
        self._on_evict = on_evict
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    @property
    def maxsize(self) -> int:
        return self._maxsize

    @property
    def hits(self) -> int:
        return self._hits

    @property
    def misses(self) -> int:
        return self._misses

    @property
    def evictions(self) -> int:
        return self._evictions

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._hits, self._misses, self._evictions, len(self._data), self._maxsize
            )

    def __repr__(self) -> str:
        stats = self.stats()
        return (
            f"{type(self).__name__}(maxsize={stats.maxsize}, size={stats.size}, "
            f"hits={stats.hits}, misses={stats.misses}, evictions={stats.evictions})"
        )

    def __getitem__(self, key: K) -> V:
        with self._lock:
            value = self._lookup(key)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V, /) -> V: ...
    @overload
    def get(self, key: K, default: T, /) -> V | T: ...
    def get(self, key: K, default: object = None, /) -> object:
        with self._lock:
            value = self._lookup(key)
        return default if value is _MISSING else value

    @overload
    def setdefault(
        self: BoundedCache[K, T | None], key: K, default: None = None, /
    ) -> T | None: ...
    @overload
    def setdefault(self, key: K, default: V, /) -> V: ...
    def setdefault(self, key: K, default: Any = None, /) -> Any:
        with self._lock:
            value = self._lookup(key)
            evicted = self._insert(key, default) if value is _MISSING else None
        self._report_eviction(evicted)
        return default if value is _MISSING else value

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            evicted = self._insert(key, value)
        self._report_eviction(evicted)

    def __delitem__(self, key: K) -> None:
        with self._lock:
            del self._data[key]

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, default: V, /) -> V: ...
    @overload
    def pop(self, key: K, default: T, /) -> V | T: ...
    def pop(self, key: K, default: object = _MISSING, /) -> object:
        with self._lock:
            value = self._data.pop(key, _MISSING)
        if value is not _MISSING:
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Remove and return the least recently used item (not an eviction)."""
        with self._lock:
            if not self._data:
                raise KeyError("popitem(): BoundedCache is empty")
            return self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._data))

    def keys(self) -> KeysView[K]:
        return self._snapshot().keys()

    def values(self) -> ValuesView[V]:
        return self._snapshot().values()

    def items(self) -> ItemsView[K, V]:
        return self._snapshot().items()

    def _snapshot(self) -> dict[K, V]:
        with self._lock:
            return dict(self._data)

    def _lookup(self, key: K) -> Any:
        """Counted read under the lock: the value (now most recent) or _MISSING."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            self._misses += 1
        else:
            self._hits += 1
            self._data.move_to_end(key)
        return value

    def _insert(self, key: K, value: V) -> tuple[K, V] | None:
        """Store under the lock; returns the item evicted to make room, if any."""
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) <= self._maxsize:
            return None
        self._evictions += 1
        return self._data.popitem(last=False)

    def _report_eviction(self, evicted: tuple[K, V] | None) -> None:
        if evicted is not None and self._on_evict is not None:
            self._on_evict(*evicted)
