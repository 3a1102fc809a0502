"""Tests of `runguard_runtime` (the runguard-runtime distribution), the stdlib-only package
that fixed code imports, and of its re-export as `runguard_lint.runtime`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import runguard_lint.runtime
import runguard_runtime
from runguard_runtime import (
    BoundedCache,
    CacheStats,
    CleanupError,
    KeyedPerLoop,
    PerLoop,
    ResourceScope,
    keyed_per_loop,
    per_loop,
)
from tests.loopback import LocalServer

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------
# Import weight
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        "runguard_runtime",
        "runguard_runtime.scope",
        "runguard_runtime.per_loop",
        "runguard_runtime.bounded_cache",
        "runguard_lint.runtime",
    ],
)
def test_importing_runtime_loads_only_the_standard_library(module: str) -> None:
    probe = f"""
import sys
before = set(sys.modules)
import {module}
new = set(sys.modules) - before
loaded = {{name.partition(".")[0] for name in new}}
heavy = sorted({{"libcst", "click", "rich"}} & {{n.partition(".")[0] for n in sys.modules}})
stdlib = getattr(sys, "stdlib_module_names", None)
third_party = sorted(
    name for name in loaded
    if stdlib is not None and name not in stdlib
    and name not in ("runguard_lint", "runguard_runtime")
)
linter = sorted(
    name for name in new
    if name.startswith("runguard_lint.") and not name.startswith("runguard_lint.runtime")
)
print(heavy, third_party, linter)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "[]", "[]"], result.stdout


@pytest.mark.parametrize("runtime", [runguard_runtime, runguard_lint.runtime])
def test_runtime_exports_its_public_names(runtime: Any) -> None:
    assert sorted(runtime.__all__) == [
        "BoundedCache",
        "CacheStats",
        "CleanupError",
        "KeyedPerLoop",
        "PerLoop",
        "ResourceScope",
        "keyed_per_loop",
        "per_loop",
    ]
    assert all(hasattr(runtime, name) for name in runtime.__all__)


def test_the_linter_re_exports_the_same_objects() -> None:
    """Code fixed under either name shares one class: `except CleanupError` and
    `isinstance(x, BoundedCache)` hold across both."""
    for name in runguard_runtime.__all__:
        assert getattr(runguard_lint.runtime, name) is getattr(runguard_runtime, name)


def test_both_distributions_carry_one_version() -> None:
    """The linter ships the runtime's files: one version number for both."""
    assert runguard_runtime.__version__ == runguard_lint.__version__


# --------------------------------------------------------------------------
# BoundedCache
# --------------------------------------------------------------------------


class LRUModel:
    """The obvious, slow LRU: a list of pairs, least recently used first."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.pairs: list[tuple[int, int]] = []
        self.hits = self.misses = self.evictions = 0
        self.evicted: list[tuple[int, int]] = []

    def _index(self, key: int) -> int | None:
        return next((i for i, (k, _) in enumerate(self.pairs) if k == key), None)

    def read(self, key: int) -> int | None:
        index = self._index(key)
        if index is None:
            self.misses += 1
            return None
        self.hits += 1
        pair = self.pairs.pop(index)
        self.pairs.append(pair)
        return pair[1]

    def write(self, key: int, value: int) -> None:
        index = self._index(key)
        if index is not None:
            self.pairs.pop(index)
        self.pairs.append((key, value))
        if len(self.pairs) > self.maxsize:
            self.evicted.append(self.pairs.pop(0))
            self.evictions += 1

    def remove(self, key: int) -> int | None:
        index = self._index(key)
        return None if index is None else self.pairs.pop(index)[1]


keys = st.integers(0, 6)
values = st.integers(0, 1000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("set"), keys, values),
        st.tuples(st.just("getitem"), keys),
        st.tuples(st.just("get"), keys),
        st.tuples(st.just("delitem"), keys),
        st.tuples(st.just("pop"), keys),
        st.tuples(st.just("setdefault"), keys, values),
        st.tuples(st.just("contains"), keys),
        st.tuples(st.just("popitem")),
        st.tuples(st.just("items")),
        st.tuples(st.just("clear")),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(maxsize=st.integers(1, 5), ops=operations)
def test_bounded_cache_behaves_like_an_lru_model(maxsize: int, ops: list[tuple[Any, ...]]) -> None:
    evicted: list[tuple[int, int]] = []
    cache: BoundedCache[int, int] = BoundedCache(
        maxsize, on_evict=lambda k, v: evicted.append((k, v))
    )
    model = LRUModel(maxsize)
    for op, *args in ops:
        if op == "set":
            cache[args[0]] = args[1]
            model.write(args[0], args[1])
        elif op == "getitem":
            expected = model.read(args[0])
            if expected is None:
                with pytest.raises(KeyError):
                    cache[args[0]]
            else:
                assert cache[args[0]] == expected
        elif op == "get":
            assert cache.get(args[0]) == model.read(args[0])
        elif op == "delitem":
            expected = model.remove(args[0])
            if expected is None:
                with pytest.raises(KeyError):
                    del cache[args[0]]
            else:
                del cache[args[0]]
        elif op == "pop":
            assert cache.pop(args[0], None) == model.remove(args[0])
        elif op == "setdefault":
            expected = model.read(args[0])
            if expected is None:
                model.write(args[0], args[1])
                expected = args[1]
            assert cache.setdefault(args[0], args[1]) == expected
        elif op == "contains":
            assert (args[0] in cache) == (model._index(args[0]) is not None)
        elif op == "popitem":
            if model.pairs:
                assert cache.popitem() == model.pairs.pop(0)
            else:
                with pytest.raises(KeyError):
                    cache.popitem()
        elif op == "items":
            assert list(cache.items()) == model.pairs
        elif op == "clear":
            cache.clear()
            model.pairs.clear()
        # Contents and LRU order, without touching counters or order.
        assert list(cache.items()) == model.pairs
        assert list(cache) == [k for k, _ in model.pairs]
        assert list(cache.values()) == [v for _, v in model.pairs]
        assert len(cache) == len(model.pairs) <= maxsize
        assert cache.stats() == CacheStats(
            model.hits, model.misses, model.evictions, len(model.pairs), maxsize
        )
        assert evicted == model.evicted
    assert (cache.hits, cache.misses, cache.evictions) == (
        model.hits,
        model.misses,
        model.evictions,
    )


def test_bounded_cache_stays_bounded_and_counts_right_under_threads() -> None:
    maxsize, threads, rounds = 16, 8, 1500
    evicted: list[Any] = []
    evicted_lock = threading.Lock()

    def on_evict(key: Any, value: Any) -> None:
        assert key not in cache  # called after the item left, outside the lock
        with evicted_lock:
            evicted.append(key)

    cache: BoundedCache[Any, Any] = BoundedCache(maxsize, on_evict=on_evict)
    reads = [0] * threads
    deleted: list[list[Any]] = [[] for _ in range(threads)]
    oversize: list[int] = []
    start = threading.Barrier(threads)

    def hammer(worker: int) -> None:
        start.wait()
        for i in range(rounds):
            key = (worker, i)
            cache[key] = i
            cache.get((i % threads, i - 3))
            reads[worker] += 1
            if i % 5 == 0 and cache.pop((worker, i - 1), None) is not None:
                deleted[worker].append((worker, i - 1))
            if i % 50 == 0 and len(cache) > maxsize:
                oversize.append(len(cache))

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads much more than by default
    try:
        workers = [threading.Thread(target=hammer, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(old_interval)

    stats = cache.stats()
    all_deleted = [key for keys in deleted for key in keys]
    assert not oversize
    assert stats.size == len(cache) <= maxsize
    assert stats.hits + stats.misses == sum(reads)
    assert stats.evictions == len(evicted)
    # Every key written is in exactly one place: still cached, evicted or deleted.
    assert sorted([*cache, *evicted, *all_deleted]) == sorted(
        (w, i) for w in range(threads) for i in range(rounds)
    )


def test_bounded_cache_on_evict_may_use_the_cache() -> None:
    cache: BoundedCache[str, int] = BoundedCache(1, on_evict=lambda k, v: cache.get(k))
    cache["a"] = 1
    cache["b"] = 2  # would deadlock if on_evict ran under the lock
    assert dict(cache) == {"b": 2}
    assert cache.stats() == CacheStats(hits=1, misses=1, evictions=1, size=1, maxsize=1)


def test_bounded_cache_contains_and_iteration_do_not_count_or_reorder() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache["a"] = 1
    cache["b"] = 2
    assert "a" in cache
    assert list(cache.items()) == [("a", 1), ("b", 2)]
    assert cache == {"a": 1, "b": 2}
    cache["c"] = 3  # "a" is still the least recently used
    assert list(cache) == ["b", "c"]
    assert (cache.hits, cache.misses) == (0, 0)


@pytest.mark.parametrize("maxsize", [0, -1, 1.5, True, None])
def test_bounded_cache_rejects_a_maxsize_that_is_not_a_positive_int(maxsize: Any) -> None:
    with pytest.raises(ValueError, match="maxsize must be a positive int"):
        BoundedCache(maxsize)


# --------------------------------------------------------------------------
# ResourceScope
# --------------------------------------------------------------------------


def test_scope_closes_in_lifo_order() -> None:
    closed: list[str] = []

    class Managed:
        def __enter__(self) -> str:
            return "entered"

        def __exit__(self, *exc_info: object) -> None:
            closed.append("managed")

    with ResourceScope("lifo") as scope:
        scope.register("first", lambda: closed.append("first"))
        assert scope.enter(Managed()) == "entered"
        scope.register("last", lambda: closed.append("last"))
        assert closed == []
    assert closed == ["last", "managed", "first"]


def test_register_returns_the_closer() -> None:
    def closer() -> None:
        pass

    with ResourceScope("returns") as scope:
        assert scope.register("x", closer) is closer


def test_scope_runs_every_closer_and_groups_their_failures() -> None:
    closed: list[str] = []

    def fail(message: str) -> Callable[[], None]:
        def closer() -> None:
            closed.append(message)
            raise OSError(message)

        return closer

    with pytest.raises(CleanupError) as caught, ResourceScope("many") as scope:
        scope.register("a", lambda: closed.append("a"))
        scope.register("b", fail("b"))
        scope.register("c", lambda: closed.append("c"))
        scope.register("d", fail("d"))
    assert closed == ["d", "c", "b", "a"]
    assert [str(e) for e in caught.value.exceptions] == ["d", "b"]
    assert "ResourceScope 'many'" in str(caught.value)
    assert caught.value.exceptions[1].__notes__ == [
        "raised while closing 'b' in ResourceScope 'many'"
    ]
    if sys.version_info >= (3, 11):
        assert isinstance(caught.value, ExceptionGroup)  # noqa: F821


def test_a_single_cleanup_failure_is_still_a_group() -> None:
    with pytest.raises(CleanupError) as caught, ResourceScope("one") as scope:
        scope.register("only", lambda: 1 / 0)
    assert [type(e) for e in caught.value.exceptions] == [ZeroDivisionError]


def test_body_exception_propagates_with_cleanup_failures_attached() -> None:
    closed: list[str] = []

    def broken() -> None:
        raise OSError("disk gone")

    with pytest.raises(KeyError) as caught, ResourceScope("body") as scope:
        scope.register("kept", lambda: closed.append("kept"))
        scope.register("broken", broken)
        raise KeyError("from the body")
    error = caught.value
    assert closed == ["kept"]
    assert [str(e) for e in error.cleanup_errors] == ["disk gone"]  # type: ignore[attr-defined]
    assert error.cleanup_errors[0].__context__ is error  # type: ignore[attr-defined]
    assert error.__notes__ == [
        "while propagating, closing 'broken' in ResourceScope 'body' also failed: "
        "OSError: disk gone"
    ]


def test_body_exception_without_cleanup_failures_is_left_untouched() -> None:
    with pytest.raises(KeyError) as caught, ResourceScope("clean") as scope:
        scope.register("fine", lambda: None)
        raise KeyError("k")
    assert not hasattr(caught.value, "cleanup_errors")
    assert not hasattr(caught.value, "__notes__")


def test_entered_context_managers_see_and_may_suppress_the_exception() -> None:
    seen: list[Any] = []

    class Recorder:
        def __enter__(self) -> None:
            return None

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            seen.append(exc_type)

    with ResourceScope("suppress") as scope:
        scope.enter(Recorder())
        scope.enter(contextlib.suppress(ValueError))
        scope.enter(Recorder())
        raise ValueError("swallowed, as ExitStack would")
    assert seen == [ValueError, None]


def test_entered_context_manager_sees_a_later_cleanup_failure() -> None:
    seen: list[Any] = []

    @contextlib.contextmanager
    def transaction() -> Iterator[None]:
        try:
            yield
        except OSError as error:
            seen.append(error)
            raise

    def reset() -> None:
        raise OSError("reset")

    with pytest.raises(CleanupError) as caught, ResourceScope("rollback") as scope:
        scope.enter(transaction())
        scope.register("conn", reset)
    assert [str(e) for e in seen] == ["reset"]
    assert [str(e) for e in caught.value.exceptions] == ["reset"]  # re-raised once, not twice


def test_an_exit_that_re_raises_what_it_saw_is_not_a_second_failure() -> None:
    class Reraiser:
        def __enter__(self) -> None:
            return None

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if exc is not None:
                raise exc

    def reset() -> None:
        raise OSError("reset")

    with pytest.raises(CleanupError) as caught, ResourceScope("reraise") as scope:
        scope.enter(Reraiser())
        scope.register("conn", reset)
    assert [str(e) for e in caught.value.exceptions] == ["reset"]

    with pytest.raises(KeyError) as body, ResourceScope("reraise body") as scope:
        scope.enter(Reraiser())
        raise KeyError("body")
    assert not hasattr(body.value, "cleanup_errors")


def test_sync_scope_reports_async_closers_and_still_runs_the_others() -> None:
    closed: list[str] = []

    async def aclose() -> None:
        closed.append("never")

    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        with pytest.raises(CleanupError) as caught, ResourceScope("sync") as scope:
            scope.register("sync", lambda: closed.append("sync"))
            scope.register("async", aclose)
        gc.collect()
    assert closed == ["sync"]
    [error] = caught.value.exceptions
    assert isinstance(error, TypeError)
    assert "'async'" in str(error) and "async with" in str(error)
    assert not [w for w in caught_warnings if "never awaited" in str(w.message)]


def test_register_rejects_a_called_closer() -> None:
    async def aclose() -> None:
        pass

    called = aclose()
    with ResourceScope("called") as scope, pytest.raises(TypeError, match="not the result"):
        scope.register("client", called)  # type: ignore[type-var, unused-coroutine]


def test_async_scope_awaits_async_closers_and_runs_sync_ones() -> None:
    events: list[str] = []

    class AsyncManaged:
        async def __aenter__(self) -> str:
            events.append("aenter")
            return "value"

        async def __aexit__(self, *exc_info: object) -> None:
            await asyncio.sleep(0)
            events.append("aexit")

    async def aclose() -> None:
        await asyncio.sleep(0)
        events.append("async closer")

    async def main() -> None:
        async with ResourceScope("async") as scope:
            scope.register("sync closer", lambda: events.append("sync closer"))
            assert await scope.enter_async(AsyncManaged()) == "value"
            scope.register("async closer", aclose)
            scope.enter(contextlib.nullcontext())

    asyncio.run(main())
    assert events == ["aenter", "async closer", "aexit", "sync closer"]


def test_async_scope_groups_failures_and_keeps_body_exception() -> None:
    async def broken() -> None:
        raise OSError("socket")

    async def main() -> None:
        async with ResourceScope("async body") as scope:
            scope.register("broken", broken)
            raise LookupError("body")

    with pytest.raises(LookupError) as caught:
        asyncio.run(main())
    assert [str(e) for e in caught.value.cleanup_errors] == ["socket"]  # type: ignore[attr-defined]


def test_interruption_in_a_closer_propagates_after_the_other_closers() -> None:
    closed: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), ResourceScope("interrupt") as scope:
        scope.register("first", lambda: closed.append("first"))
        scope.register("interrupt", interrupt)
    assert closed == ["first"]


def test_slow_close_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    reports: list[tuple[str, str, float]] = []
    with (
        caplog.at_level(logging.WARNING, logger="runguard_runtime"),
        ResourceScope(
            "slow", slow_close_ms=20, on_slow_close=lambda *r: reports.append(r)
        ) as scope,
    ):
        scope.register("sleepy", lambda: time.sleep(0.05))
        scope.register("quick", lambda: None)
    [(scope_name, resource, seconds)] = reports
    assert (scope_name, resource) == ("slow", "sleepy")
    assert seconds >= 0.05
    [record] = caplog.records
    assert record.name == "runguard_runtime"
    assert record.levelno == logging.WARNING
    assert "'sleepy'" in record.getMessage() and "'slow'" in record.getMessage()


def test_slow_async_close_is_reported() -> None:
    reports: list[tuple[str, str, float]] = []

    async def main() -> None:
        async with ResourceScope(
            "slow async", slow_close_ms=20, on_slow_close=lambda *r: reports.append(r)
        ) as scope:
            scope.register("sleepy", lambda: asyncio.sleep(0.05))

    asyncio.run(main())
    assert [(s, r) for s, r, _ in reports] == [("slow async", "sleepy")]


def test_a_failing_on_slow_close_hook_does_not_stop_cleanup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed: list[str] = []

    def hook(*report: object) -> None:
        raise RuntimeError("metrics down")

    with ResourceScope("hook", slow_close_ms=0, on_slow_close=hook) as scope:
        scope.register("a", lambda: closed.append("a"))
        scope.register("b", lambda: time.sleep(0.001))
    assert closed == ["a"]
    assert any("on_slow_close callback failed" in r.getMessage() for r in caplog.records)


def test_scope_cannot_be_reused() -> None:
    scope = ResourceScope("once")
    with scope, pytest.raises(RuntimeError, match="entered once"):
        scope.__enter__()
    with pytest.raises(RuntimeError, match="already exited"):
        scope.register("late", lambda: None)
    with pytest.raises(RuntimeError, match="already exited"):
        scope.enter(contextlib.nullcontext())
    with pytest.raises(RuntimeError, match="create a new ResourceScope"), scope:
        pass

    async def reenter() -> None:
        async with scope:
            pass

    with pytest.raises(RuntimeError, match="create a new ResourceScope"):
        asyncio.run(reenter())


# --------------------------------------------------------------------------
# Real resources: sockets, threads and files come back
# --------------------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def wait_for_baseline(fds: int, threads: int, timeout: float = 5.0) -> tuple[int, int]:
    """The server closes its side of a connection a moment after the client closes it."""
    deadline = time.monotonic() + timeout
    while (open_fds(), threading.active_count()) != (fds, threads) and time.monotonic() < deadline:
        time.sleep(0.01)
    return open_fds(), threading.active_count()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    yield local
    local.close()


@pytest.mark.parametrize("body_raises", [False, True])
def test_async_scope_returns_sockets_threads_and_files(
    server: LocalServer, tmp_path: Path, body_raises: bool
) -> None:
    fds, threads = open_fds(), threading.active_count()
    inside: dict[str, int] = {}

    async def main() -> tuple[httpx.AsyncClient, Any]:
        # Return after the block: ResourceScope.__aexit__ -> bool, like
        # AsyncExitStack's, since an entered context manager may suppress.
        async with ResourceScope("fetch") as scope:
            client = httpx.AsyncClient()
            scope.register("client", client.aclose)
            pool = scope.enter(ThreadPoolExecutor(max_workers=3))
            log = scope.enter((tmp_path / "log.txt").open("w"))
            for _ in range(2):
                response = await client.get(server.url)
                log.write(response.text)
            list(pool.map(time.sleep, [0.01] * 6))
            inside.update(fds=open_fds(), threads=threading.active_count())
            if body_raises:
                raise RuntimeError("request handler failed")
        return client, log

    if body_raises:
        with pytest.raises(RuntimeError, match="request handler failed"):
            asyncio.run(main())
    else:
        client, log = asyncio.run(main())
        assert client.is_closed and log.closed
    # The measurement can see the resources: they were open inside the scope.
    assert inside["fds"] >= fds + 3  # client socket, server's socket, file (+ loop)
    assert inside["threads"] >= threads + 2  # pool workers + the server's connection thread
    assert len(server.connections) == 1  # keep-alive: both requests used one connection
    assert wait_for_baseline(fds, threads) == (fds, threads)


@pytest.mark.parametrize("body_raises", [False, True])
def test_sync_scope_returns_sockets_threads_and_files(
    server: LocalServer, tmp_path: Path, body_raises: bool
) -> None:
    fds, threads = open_fds(), threading.active_count()
    client = httpx.Client()
    pool = ThreadPoolExecutor(max_workers=3)
    log = (tmp_path / "log.txt").open("w")
    with contextlib.suppress(RuntimeError), ResourceScope("fetch") as scope:
        scope.register("client", client.close)
        scope.register("pool", pool.shutdown)
        scope.register("log", log.close)
        log.write(client.get(server.url).text)
        list(pool.map(time.sleep, [0.01] * 6))
        assert open_fds() >= fds + 3
        assert threading.active_count() >= threads + 2
        if body_raises:
            raise RuntimeError("request handler failed")
    assert client.is_closed and log.closed
    assert wait_for_baseline(fds, threads) == (fds, threads)


# --------------------------------------------------------------------------
# Per-event-loop singletons
# --------------------------------------------------------------------------


class FakeAsyncClient:
    """Bound to the loop that made it, like a real async client's connections."""

    def __init__(self, *key: object, **options: object) -> None:
        self.key = key
        self.options = options
        self.loop = asyncio.get_running_loop()
        self.closed = False

    async def get(self) -> str:
        assert not self.closed, "used after close"
        assert asyncio.get_running_loop() is self.loop, "used from another event loop"
        await asyncio.sleep(0)
        return "ok"

    async def aclose(self) -> None:
        assert asyncio.get_running_loop() is self.loop, "closed from another event loop"
        await asyncio.sleep(0)
        self.closed = True


def test_per_loop_gives_each_asyncio_run_its_own_instance_and_closes_it() -> None:
    client = per_loop(FakeAsyncClient)
    assert isinstance(client, PerLoop)

    async def main() -> FakeAsyncClient:
        first = client()
        results = await asyncio.gather(*(client().get() for _ in range(5)))
        assert results == ["ok"] * 5
        assert client() is first
        return first

    first_run = asyncio.run(main())
    assert first_run.closed
    second_run = asyncio.run(main())
    assert second_run is not first_run
    assert second_run.closed


def test_per_loop_keeps_nothing_of_a_finished_loop_alive() -> None:
    client = per_loop(FakeAsyncClient)
    refs: list[weakref.ref[Any]] = []

    async def main() -> None:
        refs.append(weakref.ref(asyncio.get_running_loop()))
        refs.append(weakref.ref(client()))

    asyncio.run(main())
    gc.collect()
    assert [ref() for ref in refs] == [None, None]


def test_per_loop_instances_of_concurrent_loops_in_threads_are_separate() -> None:
    client = per_loop(FakeAsyncClient)
    made: list[FakeAsyncClient] = []

    async def main() -> None:
        mine = client()
        made.append(mine)
        await asyncio.sleep(0.02)  # both loops alive at the same time
        assert client() is mine
        await client().get()

    workers = [threading.Thread(target=asyncio.run, args=(main(),)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len({id(c) for c in made}) == 2
    assert all(c.closed for c in made)


def test_per_loop_outside_a_running_loop_is_a_clear_error() -> None:
    client = per_loop(FakeAsyncClient)
    with pytest.raises(RuntimeError, match="outside a running event loop"):
        client()


def test_per_loop_as_decorator_with_another_close_method() -> None:
    class Session:
        def __init__(self) -> None:
            self.closed = False

        async def close(self) -> None:
            self.closed = True

    @per_loop(close="close")
    def session() -> Session:
        return Session()

    async def main() -> Session:
        return session()

    assert asyncio.run(main()).closed


def test_per_loop_with_a_close_callable_and_a_sync_close() -> None:
    closed: list[object] = []
    client = per_loop(object, close=closed.append)

    async def main() -> object:
        return client()

    instance = asyncio.run(main())
    assert closed == [instance]


def test_per_loop_needs_a_close_method() -> None:
    client = per_loop(object)

    async def main() -> None:
        client()

    with pytest.raises(TypeError, match=r"no aclose\(\) method"):
        asyncio.run(main())


def test_per_loop_close_failures_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeAsyncClient):
        async def aclose(self) -> None:
            raise OSError("already gone")

    client = per_loop(Broken)

    async def main() -> None:
        client()

    asyncio.run(main())
    assert any(
        "closing" in r.getMessage() and r.exc_info and isinstance(r.exc_info[1], OSError)
        for r in caplog.records
    )


def test_per_loop_httpx_client_survives_two_asyncio_runs(server: LocalServer) -> None:
    fds, threads = open_fds(), threading.active_count()
    client = per_loop(httpx.AsyncClient)
    used: list[httpx.AsyncClient] = []

    async def main() -> list[int]:
        used.append(client())
        return [(await client().get(server.url)).status_code for _ in range(3)]

    assert asyncio.run(main()) == [200, 200, 200]
    assert used[0].is_closed
    assert asyncio.run(main()) == [200, 200, 200]  # a module-level client fails here
    assert used[1] is not used[0] and used[1].is_closed
    assert len(server.connections) == 2  # one pooled connection per run
    assert wait_for_baseline(fds, threads) == (fds, threads)


def test_keyed_per_loop_makes_one_instance_per_key_and_closes_evicted_ones() -> None:
    client = keyed_per_loop(FakeAsyncClient, maxsize=2)
    assert isinstance(client, KeyedPerLoop)
    made: dict[str, FakeAsyncClient] = {}

    async def main() -> None:
        made["a"] = client("a")
        made["b"] = client("b", timeout=3)
        assert client("a") is made["a"]
        assert client("b", timeout=3) is made["b"]
        assert made["a"].key == ("a",) and made["b"].options == {"timeout": 3}
        assert client("b") is not made["b"]  # keyword arguments are part of the key
        made["c"] = client("c")  # evicts "a", then "b(timeout=3)" was least recent
        for _ in range(5):
            await asyncio.sleep(0)
        assert made["a"].closed and made["b"].closed
        assert not made["c"].closed
        await made["c"].get()

    asyncio.run(main())
    assert all(instance.closed for instance in made.values())


def test_keyed_per_loop_closes_an_instance_evicted_just_before_the_loop_ends() -> None:
    class QuickClose(FakeAsyncClient):
        async def aclose(self) -> None:
            self.closed = True

    client = keyed_per_loop(QuickClose, maxsize=1)

    async def main() -> list[QuickClose]:
        return [client("a"), client("b")]  # evicts "a" and ends at once

    assert all(instance.closed for instance in asyncio.run(main()))


def test_keyed_per_loop_as_decorator_is_separate_per_loop() -> None:
    @keyed_per_loop(maxsize=4)
    def tenant_client(api_key: str) -> FakeAsyncClient:
        return FakeAsyncClient(api_key)

    async def main() -> FakeAsyncClient:
        assert tenant_client("k1") is tenant_client("k1")
        return tenant_client("k1")

    first, second = asyncio.run(main()), asyncio.run(main())
    assert first is not second and first.closed and second.closed


def test_per_loop_drops_instances_of_a_loop_closed_without_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = per_loop(FakeAsyncClient)

    async def main() -> FakeAsyncClient:
        return client()

    loop = asyncio.new_event_loop()
    try:
        stranded = loop.run_until_complete(main())
    finally:
        loop.close()  # without loop.shutdown_asyncgens(): nothing can close it now
    assert not stranded.closed
    fresh = asyncio.run(main())
    assert fresh is not stranded and fresh.closed
    assert any("without loop.shutdown_asyncgens()" in r.getMessage() for r in caplog.records)
