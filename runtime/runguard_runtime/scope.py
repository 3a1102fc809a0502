"""`ResourceScope`: what the "scope" fix wraps a function body in.

Closers run in LIFO order on exit, every one of them even when some fail, and
no failure is lost (see `CleanupError`).
"""

from __future__ import annotations

import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from types import MethodType, TracebackType
from typing import Any, TypeVar

# One logger for the whole runtime: users configure it by this name.
logger = logging.getLogger("runguard_runtime")

T = TypeVar("T")
_CloserT = TypeVar("_CloserT", bound=Callable[[], object])
_ScopeT = TypeVar("_ScopeT", bound="ResourceScope")

_NOT_AWAITED: Any = object()


def _add_note(error: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        error.add_note(note)
    else:  # Stored where 3.11+ tracebacks look for notes; older ones ignore it.
        error.__dict__.setdefault("__notes__", []).append(note)


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
    warning on the "runguard_runtime" logger and reported to
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
