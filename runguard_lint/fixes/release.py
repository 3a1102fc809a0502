"""How a fix releases a resource: which `with` flavour, which closer, what never blocks.

The catalog says how a resource is released; this module adds what a rewrite
must also respect: an `async def` must never wait in a release (an executor's
`with` exit joins its workers, `Popen`'s waits for the process), and a
`multiprocessing` pool's `with` exit terminates pending work, so it is
released with `close()` instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from runguard_lint.analysis.ownership import Acquisition
from runguard_lint.catalog import Catalog, ResourceKind

CONCURRENT_EXECUTORS = frozenset(
    {
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
    }
)
MULTIPROCESSING_POOLS = frozenset(
    {
        "multiprocessing.Pool",
        "multiprocessing.pool.Pool",
        "multiprocessing.pool.ThreadPool",
    }
)
# Whose `__enter__` returns something else than the resource (the directory's path).
ENTERS_AS_OTHER = frozenset({"tempfile.TemporaryDirectory"})
# Whose release waits for work to finish: never in an event loop.
_WAITING_RELEASE = frozenset({"subprocess.Popen"}) | CONCURRENT_EXECUTORS | MULTIPROCESSING_POOLS


class WithFlavour(enum.Enum):
    SYNC = "with"
    ASYNC = "async with"


def with_flavour(acquisition: Acquisition, catalog: Catalog) -> WithFlavour | None:
    """The `with` that may close this resource in its function, if any."""
    kind = acquisition.kind
    if not kind.with_closes or kind.callable in MULTIPROCESSING_POOLS:
        return None
    if acquisition.in_async_function:
        if kind.async_cm:
            return WithFlavour.ASYNC
        if kind.sync_cm and not waits_on_release(kind, catalog):
            return WithFlavour.SYNC
        return None
    return WithFlavour.SYNC if kind.sync_cm else None


def waits_on_release(kind: ResourceKind, catalog: Catalog) -> bool:
    """Whether releasing it waits for work to end (a child process, workers)."""
    return kind.callable in _WAITING_RELEASE or catalog.leak_traits(kind.rule).release_joins_work


@dataclass(frozen=True)
class Release:
    """A release as code: `callee(*arguments)`, awaited or not.

    `callee` is an expression over the holder name (`client.aclose`,
    `pool.putconn`); `arguments` are source snippets (`conn`,
    `wait=False`).
    """

    callee: str
    arguments: tuple[str, ...] = ()
    awaited: bool = False

    def statement(self) -> str:
        call = f"{self.callee}({', '.join(self.arguments)})"
        return f"await {call}" if self.awaited else call


def release_for(
    acquisition: Acquisition, catalog: Catalog, holder: str, receiver: str | None
) -> Release | None:
    """How to release what `holder` holds, without blocking an event loop."""
    kind = acquisition.kind
    in_async = acquisition.in_async_function
    if kind.owner_release:
        if receiver is None:
            return None
        awaited = kind.owner_release_awaited
        if awaited and not in_async:
            return None
        return Release(f"{receiver}.{kind.owner_release[0]}", (holder,), awaited)
    if kind.callable in CONCURRENT_EXECUTORS:
        # Neither waits for nor cancels work the code handed it: the workers finish
        # what they were given and then exit (the code never waited for them either).
        return Release(f"{holder}.shutdown", ("wait=False",))
    if kind.callable in MULTIPROCESSING_POOLS:
        return Release(f"{holder}.close")
    if in_async and waits_on_release(kind, catalog):
        return None
    if not kind.release:
        return None
    if kind.release_awaited and not in_async:
        return None
    return Release(f"{holder}.{kind.release[0]}", (), kind.release_awaited)
