"""The shipped catalog names real things, released the way it says.

For every `[[resources]]` entry whose top-level package can be imported here,
the qualified name is resolved by import and the entry's claims are checked
against the object itself: each `release` name is an attribute of what the
callable returns (of the class, or of a real instance made in `tmp_path` for
factory functions), the first release is a coroutine function exactly when
`release_awaited` says so, `context_manager` matches `__enter__`/`__aenter__`,
and each `transport_keywords` name is a parameter of the constructor.

Third-party SDKs are not test dependencies, so they are checked only where
installed; the standard library always is, and `test_stdlib_entries_are_all_checked`
makes sure no standard-library entry slips through without a real check.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import socket
import sys
import types
import typing
import warnings
import zipfile
from collections.abc import Callable
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.catalog import ResourceKind, build_catalog

CATALOG = build_catalog()

# Modules of the standard library the catalog draws on (`sys.stdlib_module_names`
# is 3.10+; this list keeps the check on 3.9 and is extended by it where present).
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {
    "builtins",
    "bz2",
    "codecs",
    "concurrent",
    "dbm",
    "fileinput",
    "gzip",
    "io",
    "lzma",
    "multiprocessing",
    "os",
    "pathlib",
    "shelve",
    "socket",
    "sqlite3",
    "subprocess",
    "tarfile",
    "tempfile",
    "urllib",
    "zipfile",
}

# The families the catalog must cover from the standard library, whatever else is installed.
_REQUIRED_STDLIB = {
    "bz2",
    "concurrent",
    "dbm",
    "fileinput",
    "gzip",
    "io",
    "lzma",
    "multiprocessing",
    "os",
    "shelve",
    "socket",
    "sqlite3",
    "subprocess",
    "tarfile",
    "tempfile",
    "zipfile",
}

# Names kept for the older major version of an SDK that later moved them:
# name -> (distribution, the major version that moved it, its new name).
_MOVED = {"mistralai.Mistral": ("mistralai", 2, "mistralai.client.Mistral")}

# Classes whose release is a plain function returning a coroutine: weaviate's
# sync and async clients share `close()`, which returns one for the async client.
_RETURNS_A_COROUTINE = frozenset({"weaviate.client.WeaviateAsyncClient"})

Maker = Callable[[Any, Path, contextlib.ExitStack], object]


def _owned(stack: contextlib.ExitStack, value: Any, closer: str = "close") -> Any:
    stack.callback(getattr(value, closer))
    return value


def _a_file(tmp: Path) -> Path:
    path = tmp / "input.txt"
    path.write_text("line\n", encoding="utf-8")
    return path


def _connection(make: Any, tmp: Path, stack: contextlib.ExitStack) -> object:
    server = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
    return _owned(stack, make(server.getsockname()[:2]))


def _pool(make: Any, tmp: Path, stack: contextlib.ExitStack) -> object:
    pool = make(1)
    stack.callback(pool.join)
    stack.callback(pool.terminate)
    return pool


def _codecs_open(make: Any, tmp: Path, stack: contextlib.ExitStack) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated in 3.14
        return _owned(stack, make(str(tmp / "codecs.txt"), "w", encoding="utf-8"))


# How to make a real one of what a catalog function returns, cheaply and offline,
# released through `stack`. `make` is the catalog callable, resolved by import.
_MAKERS: dict[str, Maker] = {
    "builtins.open": lambda make, tmp, stack: _owned(stack, make(tmp / "f.txt", "w")),
    "io.open": lambda make, tmp, stack: _owned(stack, make(tmp / "f.txt", "w")),
    "io.open_code": lambda make, tmp, stack: _owned(stack, make(str(_a_file(tmp)))),
    "os.fdopen": lambda make, tmp, stack: _owned(
        stack, make(os.open(tmp / "fd.txt", os.O_CREAT | os.O_WRONLY), "w")
    ),
    "codecs.open": _codecs_open,
    "gzip.open": lambda make, tmp, stack: _owned(stack, make(tmp / "f.gz", "wb")),
    "bz2.open": lambda make, tmp, stack: _owned(stack, make(tmp / "f.bz2", "wb")),
    "lzma.open": lambda make, tmp, stack: _owned(stack, make(tmp / "f.xz", "wb")),
    "shelve.open": lambda make, tmp, stack: _owned(stack, make(str(tmp / "shelf"))),
    "dbm.open": lambda make, tmp, stack: _owned(stack, make(str(tmp / "db"), "c")),
    "tarfile.open": lambda make, tmp, stack: _owned(stack, make(tmp / "a.tar", "w")),
    "tarfile.TarFile.open": lambda make, tmp, stack: _owned(stack, make(tmp / "b.tar", "w")),
    "tarfile.TarFile.taropen": lambda make, tmp, stack: _owned(stack, make(tmp / "c.tar", "w")),
    "tarfile.TarFile.gzopen": lambda make, tmp, stack: _owned(stack, make(tmp / "d.tgz", "w")),
    "tarfile.TarFile.bz2open": lambda make, tmp, stack: _owned(stack, make(tmp / "e.tbz", "w")),
    "tarfile.TarFile.xzopen": lambda make, tmp, stack: _owned(stack, make(tmp / "f.txz", "w")),
    "fileinput.input": lambda make, tmp, stack: _owned(stack, make(files=[str(_a_file(tmp))])),
    "tempfile.NamedTemporaryFile": lambda make, tmp, stack: _owned(stack, make(dir=tmp)),
    "tempfile.TemporaryFile": lambda make, tmp, stack: _owned(stack, make(dir=tmp)),
    "sqlite3.connect": lambda make, tmp, stack: _owned(stack, make(":memory:")),
    "socket.create_connection": _connection,
    "urllib.request.urlopen": lambda make, tmp, stack: _owned(stack, make("data:,catalog")),
    "multiprocessing.Pool": _pool,
    "multiprocessing.Manager": lambda make, tmp, stack: _owned(stack, make(), "shutdown"),
}


def _path_member(tmp: Path, stack: contextlib.ExitStack) -> object:
    return _owned(stack, (tmp / "p.txt").open("w"))


def _zip_member(tmp: Path, stack: contextlib.ExitStack) -> object:
    archive = _owned(stack, zipfile.ZipFile(tmp / "a.zip", "w"))
    return _owned(stack, archive.open("member.txt", "w"))


def _started_manager(tmp: Path, stack: contextlib.ExitStack) -> object:
    manager = SyncManager()
    manager.start()
    return _owned(stack, manager, "shutdown")


# What a method entry yields (its result, or for `result = "receiver"` the loaded
# receiver), made for real.
_METHOD_MAKERS: dict[str, Callable[[Path, contextlib.ExitStack], object]] = {
    "pathlib.Path.open": _path_member,
    "zipfile.ZipFile.open": _zip_member,
    "multiprocessing.managers.SyncManager.start": _started_manager,
}


def _names(kind: ResourceKind) -> tuple[str, ...]:
    return (kind.callable,) if kind.callable else kind.on


def _entry_id(kind: ResourceKind) -> str:
    if kind.callable:
        return f"{kind.rule}:{kind.callable}"
    return f"{kind.rule}:{kind.on[0]}.{kind.method}"


def _importable(name: str) -> bool:
    return importlib.util.find_spec(name.partition(".")[0]) is not None


def _resolve(qualified: str) -> Any:
    """The object a qualified name denotes: its longest importable module, then attributes."""
    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            assert hasattr(value, attribute), f"`{qualified}`: no attribute `{attribute}`"
            value = getattr(value, attribute)
        return value
    raise AssertionError(f"`{qualified}` cannot be imported")


CHECKED = [kind for kind in CATALOG.resources if any(_importable(n) for n in _names(kind))]


def _check_releases(kind: ResourceKind, owner: Any, what: str) -> None:
    """`owner` is the class of what is acquired, or a real instance of it."""
    for name in kind.release:
        assert hasattr(owner, name), f"{what} has no release method `{name}`"
    cls = owner if isinstance(owner, type) else type(owner)
    if kind.release:
        first = getattr(owner, kind.release[0])
        awaited = inspect.iscoroutinefunction(first) or (
            f"{cls.__module__}.{cls.__qualname__}" in _RETURNS_A_COROUTINE
        )
        assert awaited == kind.release_awaited, (
            f"{what}.{kind.release[0]}: release_awaited = {kind.release_awaited} is wrong"
        )
    if kind.context_manager in ("sync", "both"):
        assert hasattr(cls, "__enter__") and hasattr(cls, "__exit__"), (
            f"{what} is not a context manager (`with`)"
        )
    if kind.context_manager in ("async", "both"):
        assert hasattr(cls, "__aenter__") and hasattr(cls, "__aexit__"), (
            f"{what} is not an async context manager (`async with`)"
        )


def _returned_classes(function: Any) -> list[type]:
    """The classes a function's return annotation names (`X`, `X | Y`), if it has one."""
    try:
        returned = typing.get_type_hints(function).get("return")
    except Exception:  # an annotation that does not evaluate here names nothing
        return []
    unions = (typing.Union, getattr(types, "UnionType", typing.Union))  # `X | Y`: 3.10+
    options = typing.get_args(returned) if typing.get_origin(returned) in unions else ()
    return [cls for cls in (options or (returned,)) if isinstance(cls, type)]


def _moved_away(qualified: str) -> bool:
    """Whether the installed SDK is the major version that moved `qualified`."""
    if qualified not in _MOVED:
        return False
    distribution, major, new_name = _MOVED[qualified]
    installed = int(importlib.metadata.version(distribution).split(".")[0])
    if installed < major:
        return False
    assert new_name in CATALOG.by_callable, f"`{qualified}` moved to `{new_name}`: add it"
    return True


def _check_callable(kind: ResourceKind, tmp_path: Path) -> None:
    if _moved_away(kind.callable):
        return
    made = _resolve(kind.callable)
    assert callable(made), f"`{kind.callable}` is not callable"
    if isinstance(made, type):
        _check_releases(kind, made, f"`{kind.callable}`")
        if kind.transport_keywords:
            parameters = inspect.signature(made).parameters
            for keyword in kind.transport_keywords:
                assert keyword in parameters, f"`{kind.callable}()` takes no `{keyword}=`"
        return
    maker = _MAKERS.get(kind.callable)
    if maker is None:
        # A third-party factory (installed only by choice; it may need a server or
        # credentials): what its return annotation names, if anything.
        assert kind.callable.partition(".")[0] not in _STDLIB, (
            f"`{kind.callable}` is a function: add a maker to _MAKERS"
        )
        for cls in _returned_classes(made):
            _check_releases(kind, cls, f"`{cls.__qualname__}` (from `{kind.callable}()`)")
        return
    with contextlib.ExitStack() as stack:
        value = maker(made, tmp_path, stack)
        _check_releases(kind, value, f"what `{kind.callable}()` returns")


def _check_method(kind: ResourceKind, tmp_path: Path) -> None:
    owners = [_resolve(name) for name in kind.on if _importable(name)]
    classes = [owner for owner in owners if isinstance(owner, type)]
    if classes:
        assert any(hasattr(cls, kind.method) for cls in classes), (
            f"no type in {list(kind.on)} has a method `{kind.method}`"
        )
        for name in kind.owner_release:
            assert any(hasattr(cls, name) for cls in classes), (
                f"no type in {list(kind.on)} has the owner release `{name}`"
            )
    maker = next(
        (
            _METHOD_MAKERS[f"{n}.{kind.method}"]
            for n in kind.on
            if f"{n}.{kind.method}" in _METHOD_MAKERS
        ),
        None,
    )
    what = f"`{kind.on[0]}.{kind.method}()`"
    if maker is not None:
        with contextlib.ExitStack() as stack:
            _check_releases(kind, maker(tmp_path, stack), what)
    elif kind.result == "permit":
        # The permit is owed back to the receiver itself: a real, fresh one (a
        # Condition binds acquire/release from its lock when it is built).
        for owner in owners:
            _check_releases(kind, owner(), f"`{kind.on[0]}`")
    elif kind.result == "receiver" and classes:
        for cls in classes:
            _check_releases(kind, cls, f"`{cls.__qualname__}`")
    else:
        assert not any(name.partition(".")[0] in _STDLIB for name in kind.on), (
            f"{what}: add a maker to _METHOD_MAKERS"
        )


@pytest.mark.parametrize("kind", CHECKED, ids=_entry_id)
def test_catalog_entry_matches_the_library(kind: ResourceKind, tmp_path: Path) -> None:
    if kind.callable:
        _check_callable(kind, tmp_path)
    else:
        _check_method(kind, tmp_path)


def test_stdlib_entries_are_all_checked() -> None:
    """Every standard-library entry is checked, with a real object where it is a factory."""
    checked = {_entry_id(kind) for kind in CHECKED}
    stdlib = [
        kind
        for kind in CATALOG.resources
        if any(name.partition(".")[0] in _STDLIB for name in _names(kind))
    ]
    assert stdlib, "no standard-library entry in the catalog"
    missing = [_entry_id(kind) for kind in stdlib if _entry_id(kind) not in checked]
    assert not missing, f"standard-library entries not checked: {missing}"
    covered = {name.partition(".")[0] for kind in stdlib for name in _names(kind)}
    assert covered >= _REQUIRED_STDLIB, f"no entry from {sorted(_REQUIRED_STDLIB - covered)}"


def test_makers_name_catalog_entries() -> None:
    """A maker for a name the catalog dropped would silently check nothing."""
    callables = {kind.callable for kind in CATALOG.resources if kind.callable}
    assert set(_MAKERS) <= callables, sorted(set(_MAKERS) - callables)
    methods = {f"{name}.{kind.method}" for kind in CATALOG.resources for name in kind.on}
    assert set(_METHOD_MAKERS) <= methods, sorted(set(_METHOD_MAKERS) - methods)


# The entries that say a `for` loop run to the end closes them, each with a way to open
# real files through it and see every file it opened.
_EXHAUSTED_MAKERS: dict[str, Callable[[list[str], Any], Any]] = {
    "fileinput.input": lambda files, hook: _fileinput_input(files, hook),
    "fileinput.FileInput": lambda files, hook: _fileinput_class(files, hook),
}


def _fileinput_input(files: list[str], hook: Any) -> Any:
    import fileinput

    return fileinput.input(files, openhook=hook)


def _fileinput_class(files: list[str], hook: Any) -> Any:
    import fileinput

    return fileinput.FileInput(files, openhook=hook)


def test_closes_when_exhausted_is_what_the_library_does(tmp_path: Path) -> None:
    """`closes_when_exhausted` is claimed only where running the object to the end
    really closes every file it opened (read from CPython's own behaviour, not assumed),
    and a loop stopped early leaves the current one open (so the claim is about the end
    of the loop, not about iteration)."""
    claimed = sorted(kind.callable for kind in CATALOG.resources if kind.closes_when_exhausted)
    assert claimed == sorted(_EXHAUSTED_MAKERS), claimed
    paths = []
    for index in range(3):
        path = tmp_path / f"part{index}.txt"
        path.write_text("a\nb\n", encoding="utf-8")
        paths.append(str(path))
    opened: list[Any] = []

    def hook(filename: str, mode: str) -> Any:
        handle = open(filename, mode, encoding="utf-8")  # noqa: SIM115
        opened.append(handle)
        return handle

    for name, make in _EXHAUSTED_MAKERS.items():
        opened.clear()
        lines = list(make(paths, hook))
        assert len(lines) == 6, name
        assert len(opened) == 3 and all(handle.closed for handle in opened), name

        opened.clear()
        stopped = make(paths, hook)
        next(stopped)
        assert len(opened) == 1 and not opened[0].closed, name
        stopped.close()
        assert opened[0].closed, name
