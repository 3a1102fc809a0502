"""Per-event-loop lazy singletons: `per_loop` and `keyed_per_loop`.

A module-level `httpx.AsyncClient` is bound to the first loop that uses it,
so the second `asyncio.run()` of a program breaks (openai-python #1059): these
give one instance per running loop (and key), closed when that loop shuts down.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, Callable, Hashable
from contextlib import suppress
from typing import Any, Generic, TypeVar, overload

from runguard_runtime.bounded_cache import BoundedCache, check_maxsize

# The same logger as the scope's: users configure the runtime's logging by this name.
logger = logging.getLogger("runguard_runtime")

T = TypeVar("T")


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
        check_maxsize(maxsize)
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
