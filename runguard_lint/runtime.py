"""What code fixed by runguard-lint imports: cleanup scopes, per-loop clients, bounded caches.

Standard library only, so that a fixed application does not pull in the
linter's own dependencies (libcst, click, rich). Python 3.9+.

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

import asyncio
import functools
import inspect
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Generator,
    Hashable,
    ItemsView,
    Iterator,
    KeysView,
    MutableMapping,
    Sequence,
    ValuesView,
)
from contextlib import AbstractAsyncContextManager, AbstractContextManager, suppress
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import Any, Generic, TypeVar, overload

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

logger = logging.getLogger("runguard_lint.runtime")

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
_CloserT = TypeVar("_CloserT", bound=Callable[[], object])
_ScopeT = TypeVar("_ScopeT", bound="ResourceScope")

_MISSING: Any = object()
_NOT_AWAITED: Any = object()


def _check_maxsize(maxsize: int) -> None:
    if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
        raise ValueError(f"maxsize must be a positive int, got {maxsize!r}")


def _add_note(error: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # Stored where 3.11+ tracebacks look for notes; older ones ignore it.
        error.__dict__.setdefault("__notes__", []).append(note)


# --------------------------------------------------------------------------
# ResourceScope
# --------------------------------------------------------------------------

if sys.version_info >= (3, 11):

    class CleanupError(ExceptionGroup[Exception]):  # noqa: F821 (builtin since 3.11)
        """Closers of a `ResourceScope` failed while its body did not raise.

        Always a group, even of one failure, so handlers need one shape only.
        Each failure carries a note naming the resource and the scope.
        """

else:

    class CleanupError(RuntimeError):
        """Closers of a `ResourceScope` failed (Python < 3.11 has no ExceptionGroup).

        `.exceptions` holds the failures in the order they happened, as on 3.11+.
        """

        def __init__(self, message: str, exceptions: Sequence[Exception]) -> None:
            super().__init__(message, tuple(exceptions))
            self.message = message
            self.exceptions: tuple[Exception, ...] = tuple(exceptions)

        def __str__(self) -> str:
            count = len(self.exceptions)
            return f"{self.message} ({count} sub-exception{'s' if count != 1 else ''})"


@dataclass(frozen=True)
class _Step:
    """One thing to undo on exit: a registered closer or an entered context manager's exit."""

    name: str
    call: Callable[..., object]
    receives_exception: bool

    def run(self, current: BaseException | None) -> object:
        if not self.receives_exception:
            return self.call()
        if current is None:
            return self.call(None, None, None)
        return self.call(type(current), current, current.__traceback__)


class _Unwinding:
    """The exception state while a scope unwinds, and what finally propagates.

    The body's exception stays the one that propagates; cleanup failures are
    collected, not chained over it. A KeyboardInterrupt, SystemExit or
    CancelledError from a closer propagates itself, as from a `finally`
    block, but only after the remaining closers ran.
    """

    def __init__(self, scope_name: str, body_error: BaseException | None) -> None:
        self.scope_name = scope_name
        self.body_error = body_error
        self.pending = body_error
        self.interruption: BaseException | None = None
        self.failures: list[tuple[str, Exception]] = []

    @property
    def current(self) -> BaseException | None:
        """What a context manager's `__exit__` sees now, as ExitStack would show it."""
        if self.interruption is not None:
            return self.interruption
        if self.pending is not None:
            return self.pending
        return self.failures[-1][1] if self.failures else None

    def returned(self, step: _Step, result: object, seen: BaseException | None) -> None:
        if not (step.receives_exception and result and seen is not None):
            return
        # A true __exit__ suppresses what it was shown, as with ExitStack.
        if seen is self.interruption:
            self.interruption = None
        elif seen is self.pending:
            self.pending = None
        elif self.failures and seen is self.failures[-1][1]:
            self.failures.pop()

    def failed(self, step: _Step, error: BaseException, seen: BaseException | None) -> None:
        if error is seen:  # an __exit__ re-raising what it was shown adds nothing
            return
        _add_note(error, f"raised while closing {step.name!r} in ResourceScope {self.scope_name!r}")
        if isinstance(error, Exception):
            self.failures.append((step.name, error))
        else:
            self.interruption = error

    def finish(self) -> bool:
        """Raise or let propagate what is left; True means the body's exception is suppressed."""
        primary = self.interruption if self.interruption is not None else self.pending
        if primary is not None:
            if self.failures:
                self._attach_failures(primary)
            if primary is self.body_error:
                return False
            raise primary
        if self.failures:
            count = len(self.failures)
            raise CleanupError(
                f"closing {count} resource{'s' if count != 1 else ''} of ResourceScope "
                f"{self.scope_name!r} failed",
                [failure for _, failure in self.failures],
            )
        return self.body_error is not None

    def _attach_failures(self, error: BaseException) -> None:
        for name, failure in self.failures:
            _add_note(
                error,
                f"while propagating, closing {name!r} in ResourceScope {self.scope_name!r} "
                f"also failed: {type(failure).__name__}: {failure}",
            )
            if failure.__context__ is None:
                failure.__context__ = error
        earlier: tuple[Exception, ...] = getattr(error, "cleanup_errors", ())
        error.cleanup_errors = (  # type: ignore[attr-defined]
            *earlier,
            *(failure for _, failure in self.failures),
        )


class ResourceScope:
    """Closes what a block acquired, in LIFO order, on every path: `with` and `async with`.

    The runtime side of runguard-lint's "scope" fix. Unlike ExitStack it runs
    every closer even when some fail, and loses no failure:

    - the body raised: that exception propagates, with each cleanup failure
      in its `cleanup_errors` tuple and in its notes (`__notes__`);
    - only closers failed: one `CleanupError` (an `ExceptionGroup` on 3.11+)
      holding all of them, even a single one.

    Context managers entered with `enter()`/`enter_async()` see the exception
    in flight in their `__exit__` and may suppress it, as with ExitStack: the
    body's exception, or, if the body did not raise, the latest cleanup
    failure. A closer taking longer than `slow_close_ms` is logged as a
    warning on the "runguard_lint.runtime" logger and reported to
    `on_slow_close(scope_name, resource_name, seconds)`. A scope closes once:
    using it after its exit raises RuntimeError.
    """

    def __init__(
        self,
        name: str,
        *,
        slow_close_ms: float = 500,
        on_slow_close: Callable[[str, str, float], object] | None = None,
    ) -> None:
        self.name = name
        self.slow_close_ms = slow_close_ms
        self.on_slow_close = on_slow_close
        self._steps: list[_Step] = []
        self._state = "new"  # -> "active" -> "exited"

    def __repr__(self) -> str:
        return f"<ResourceScope {self.name!r} {self._state}, {len(self._steps)} to close>"

    def register(self, name: str, closer: _CloserT) -> _CloserT:
        """Call `closer()` on exit, awaiting what it returns if awaitable; returns `closer`."""
        self._check_usable(f"register({name!r}, ...)")
        if not callable(closer):
            if inspect.iscoroutine(closer):
                closer.close()  # silence "never awaited": the mistake is reported below
            raise TypeError(
                f"ResourceScope.register({name!r}, ...) needs the closer itself, such as "
                f"`client.aclose`, not the result of calling it: got {closer!r}"
            )
        self._steps.append(_Step(name, closer, receives_exception=False))
        return closer

    def enter(self, cm: AbstractContextManager[T], *, name: str | None = None) -> T:
        """Enter a context manager now and exit it with the scope; returns what it entered as."""
        self._check_usable("enter()")
        cm_type = type(cm)
        try:
            enter, exit_ = cm_type.__enter__, cm_type.__exit__
        except AttributeError:
            raise TypeError(
                f"{cm_type.__qualname__!r} object does not support the context manager protocol"
            ) from None
        value = enter(cm)
        self._steps.append(_Step(name or cm_type.__qualname__, MethodType(exit_, cm), True))
        return value

    async def enter_async(
        self, cm: AbstractAsyncContextManager[T], *, name: str | None = None
    ) -> T:
        """Enter an async context manager now and exit it with the scope (needs `async with`)."""
        self._check_usable("enter_async()")
        cm_type = type(cm)
        try:
            aenter, aexit = cm_type.__aenter__, cm_type.__aexit__
        except AttributeError:
            raise TypeError(
                f"{cm_type.__qualname__!r} object does not support the asynchronous "
                "context manager protocol"
            ) from None
        value = await aenter(cm)
        self._steps.append(_Step(name or cm_type.__qualname__, MethodType(aexit, cm), True))
        return value

    def __enter__(self: _ScopeT) -> _ScopeT:
        self._activate()
        return self

    async def __aenter__(self: _ScopeT) -> _ScopeT:
        self._activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        unwind = self._unwind(exc)
        try:
            awaitable = next(unwind)
            while True:  # nothing can be awaited here: refuse each async close
                if inspect.iscoroutine(awaitable):
                    awaitable.close()  # silence "never awaited": the error says it
                awaitable = unwind.send(_NOT_AWAITED)
        except StopIteration as done:
            return bool(done.value)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        unwind = self._unwind(exc)
        try:
            awaitable = next(unwind)
            while True:
                try:
                    result = await awaitable
                except BaseException as error:
                    awaitable = unwind.throw(error)
                else:
                    awaitable = unwind.send(result)
        except StopIteration as done:
            return bool(done.value)

    def _unwind(
        self, body_error: BaseException | None
    ) -> Generator[Awaitable[object], object, bool]:
        """Run the steps LIFO; one loop for both exits.

        It yields each awaitable a step returns: `__aexit__` awaits it and sends
        back its result (or throws its error), `__exit__` sends `_NOT_AWAITED`.
        Returns whether the body's exception is suppressed.
        """
        unwinding = _Unwinding(self.name, body_error)
        try:
            while self._steps:
                step = self._steps.pop()
                seen = unwinding.current
                started = time.perf_counter()
                try:
                    result = step.run(seen)
                    if inspect.isawaitable(result):
                        result = yield result
                        if result is _NOT_AWAITED:
                            raise TypeError(
                                f"closing {step.name!r} needs an await, but ResourceScope "
                                f"{self.name!r} was exited by a sync `with`: use `async with`"
                            )
                except BaseException as error:
                    unwinding.failed(step, error, seen)
                else:
                    unwinding.returned(step, result, seen)
                self._report_if_slow(step.name, started)
        finally:
            self._state = "exited"
        return unwinding.finish()

    def _activate(self) -> None:
        if self._state != "new":
            raise RuntimeError(
                f"ResourceScope {self.name!r} is {self._state}: a scope is entered once; "
                "create a new ResourceScope for each block"
            )
        self._state = "active"

    def _check_usable(self, action: str) -> None:
        if self._state == "exited":
            raise RuntimeError(
                f"ResourceScope {self.name!r} has already exited and closed its resources, "
                f"so {action} would leak: create a new ResourceScope"
            )

    def _report_if_slow(self, resource: str, started: float) -> None:
        seconds = time.perf_counter() - started
        if seconds * 1000 <= self.slow_close_ms:
            return
        logger.warning(
            "ResourceScope %r: closing %r took %.3f s (slow_close_ms=%s)",
            self.name,
            resource,
            seconds,
            self.slow_close_ms,
        )
        if self.on_slow_close is None:
            return
        try:
            self.on_slow_close(self.name, resource, seconds)
        except Exception:
            # A broken monitoring hook must not stop the remaining closers
            # nor replace the exception the program is handling.
            logger.exception("ResourceScope %r: on_slow_close callback failed", self.name)


# --------------------------------------------------------------------------
# Per-event-loop singletons
# --------------------------------------------------------------------------


class _Tracked(Generic[T]):
    """An instance and the async generator whose `finally` closes it."""

    __slots__ = ("finaliser", "value")

    finaliser: AsyncGenerator[None, None]

    def __init__(self, value: T) -> None:
        self.value = value


async def _run_finaliser(tracked: _Tracked[Any]) -> None:
    await tracked.finaliser.aclose()


class _LoopState(Generic[T]):
    """What one getter created in one event loop."""

    def __init__(self, maxsize: int) -> None:
        self.instances: BoundedCache[Hashable, _Tracked[T]] = BoundedCache(
            maxsize, on_evict=self._close_evicted
        )
        self.live: set[_Tracked[T]] = set()  # instances not closed yet, evicted ones included
        self.closing: set[asyncio.Task[None]] = set()  # the loop only holds tasks weakly
        self.abandoned = False

    def _close_evicted(self, key: Hashable, tracked: _Tracked[T]) -> None:
        # Runs inside the getter, so in the running loop. If the loop ends before
        # this task starts, loop.shutdown_asyncgens() still closes the instance.
        task = asyncio.get_running_loop().create_task(_run_finaliser(tracked))
        self.closing.add(task)
        task.add_done_callback(self.closing.discard)

    def abandon(self) -> None:
        """Drop the instances of a loop closed without shutting down its async generators."""
        self.abandoned = True
        for tracked in list(self.live):
            # The finaliser sees `abandoned` and returns without awaiting, so
            # one synchronous step finishes it (and nothing runs on a dead loop).
            with suppress(StopIteration):
                tracked.finaliser.aclose().send(None)


class KeyedPerLoop(Generic[T]):
    """A lazy singleton per (running event loop, call arguments), closed with its loop.

    For clients built from call data, such as one per tenant's API key:
    `clients(api_key)` returns the instance `factory(api_key)` made for this
    key in the running loop, creating it on first use. At most `maxsize`
    instances live per loop; the least recently used one is evicted and closed
    (`close`: a method name or a callable, awaited if it returns an awaitable)
    in a background task, so keep `maxsize` above the number of keys in use at
    the same time. Arguments must be hashable.

    Why per loop: asyncio clients hold connections bound to the loop that
    opened them, so an instance shared across `asyncio.run()` calls breaks.
    How it closes: each instance is watched by an async generator started in
    its loop; the loop tracks it and closes it in `loop.shutdown_asyncgens()`,
    which `asyncio.run()` and `asyncio.Runner` call before closing the loop.
    Nothing global is patched. An instance first created while the loop is
    already shutting down its async generators is not closed; one whose loop
    was closed without `shutdown_asyncgens()` cannot be closed, and is dropped
    with a warning when the getter next meets a new loop. An eviction's close
    still running when `asyncio.run()` cancels the leftover tasks is cut short,
    like any task's work.
    """

    def __init__(
        self,
        factory: Callable[..., T],
        *,
        maxsize: int = 128,
        close: str | Callable[[T], object] = "aclose",
    ) -> None:
        _check_maxsize(maxsize)
        self.factory = factory
        self.maxsize = maxsize
        self._close = close
        self._states: dict[asyncio.AbstractEventLoop, _LoopState[T]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        return f"<{type(self).__name__} of {name}>"

    def __call__(self, *args: Hashable, **kwargs: Hashable) -> T:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{self!r} was called outside a running event loop; its instances belong "
                "to the loop that uses them: call it from async code"
            ) from None
        state = self._states.get(loop)
        if state is None:
            state = self._new_state(loop)
        key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
        tracked = state.instances.get(key)
        if tracked is None:
            tracked = self._create(loop, state, args, kwargs)
            state.instances[key] = tracked
        return tracked.value

    def _new_state(self, loop: asyncio.AbstractEventLoop) -> _LoopState[T]:
        state: _LoopState[T] = _LoopState(self.maxsize)
        with self._lock:
            dead = [(old, self._states.pop(old)) for old in list(self._states) if old.is_closed()]
            self._states[loop] = state
        for old, old_state in dead:
            logger.warning(
                "%r: event loop %r was closed without loop.shutdown_asyncgens(), so %d "
                "instance(s) could not be closed; run loops with asyncio.run() or asyncio.Runner",
                self,
                old,
                len(old_state.live),
            )
            old_state.abandon()
        return state

    def _create(
        self,
        loop: asyncio.AbstractEventLoop,
        state: _LoopState[T],
        args: tuple[Hashable, ...],
        kwargs: dict[str, Hashable],
    ) -> _Tracked[T]:
        value = self.factory(*args, **kwargs)
        if isinstance(self._close, str) and not callable(getattr(value, self._close, None)):
            raise TypeError(
                f"{type(value).__qualname__} has no {self._close}() method to close it with "
                f"when its event loop ends: pass close=<method name or callable> to {self!r}"
            )
        tracked = _Tracked(value)
        tracked.finaliser = self._close_at_loop_end(loop, state, tracked)
        state.live.add(tracked)
        # One synchronous step runs it to its `yield`: the running loop's
        # first-iteration hook now tracks it without any await here.
        with suppress(StopIteration):
            tracked.finaliser.asend(None).send(None)
        return tracked

    async def _close_at_loop_end(
        self, loop: asyncio.AbstractEventLoop, state: _LoopState[T], tracked: _Tracked[T]
    ) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            state.live.discard(tracked)
            if not state.live:
                with self._lock:
                    if self._states.get(loop) is state:
                        del self._states[loop]
            if not state.abandoned:
                await self._close_instance(tracked.value)

    async def _close_instance(self, value: T) -> None:
        try:
            if isinstance(self._close, str):
                result = getattr(value, self._close)()
            else:
                result = self._close(value)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("%r: closing %r failed", self, value)


class PerLoop(Generic[T]):
    """A lazy singleton per running event loop, closed when its loop shuts down.

    `client()` returns the instance `factory()` made for the running loop,
    creating it on first use; see `KeyedPerLoop` for how it is closed. This is
    the fix for a module-level async client, which breaks the second
    `asyncio.run()`. A sync client needs no loop: `functools.cache` is its
    lazy singleton.
    """

    def __init__(
        self, factory: Callable[[], T], *, close: str | Callable[[T], object] = "aclose"
    ) -> None:
        self._instances = KeyedPerLoop(factory, maxsize=1, close=close)
        self.factory = factory

    def __repr__(self) -> str:
        name = getattr(self.factory, "__qualname__", repr(self.factory))
        return f"<{type(self).__name__} of {name}>"

    def __call__(self) -> T:
        return self._instances()


@overload
def per_loop(
    factory: Callable[[], T], *, close: str | Callable[[T], object] = ...
) -> PerLoop[T]: ...
@overload
def per_loop(
    factory: None = None, *, close: str | Callable[[Any], object] = ...
) -> Callable[[Callable[[], T]], PerLoop[T]]: ...
def per_loop(
    factory: Callable[[], T] | None = None, *, close: str | Callable[[T], object] = "aclose"
) -> PerLoop[T] | Callable[[Callable[[], T]], PerLoop[T]]:
    """`PerLoop(factory)`; as a decorator `@per_loop` or `@per_loop(close="close")`."""
    if factory is None:
        return functools.partial(PerLoop, close=close)
    return PerLoop(factory, close=close)


@overload
def keyed_per_loop(
    factory: Callable[..., T],
    *,
    maxsize: int = ...,
    close: str | Callable[[T], object] = ...,
) -> KeyedPerLoop[T]: ...
@overload
def keyed_per_loop(
    factory: None = None,
    *,
    maxsize: int = ...,
    close: str | Callable[[Any], object] = ...,
) -> Callable[[Callable[..., T]], KeyedPerLoop[T]]: ...
def keyed_per_loop(
    factory: Callable[..., T] | None = None,
    *,
    maxsize: int = 128,
    close: str | Callable[[T], object] = "aclose",
) -> KeyedPerLoop[T] | Callable[[Callable[..., T]], KeyedPerLoop[T]]:
    """`KeyedPerLoop(factory)`; as a decorator `@keyed_per_loop` or `@keyed_per_loop(maxsize=9)`."""
    if factory is None:
        return functools.partial(KeyedPerLoop, maxsize=maxsize, close=close)
    return KeyedPerLoop(factory, maxsize=maxsize, close=close)


# --------------------------------------------------------------------------
# BoundedCache
# --------------------------------------------------------------------------


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
        _check_maxsize(maxsize)
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
