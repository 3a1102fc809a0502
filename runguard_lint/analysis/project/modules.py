"""A file's dotted module name, as an import of it would spell it.

Walk up from the file while the directory is a package (has `__init__.py`);
the first directory that is not is where imports start. A `src/` layout, a
flat layout and a loose script all come out as Python would import them; a
namespace package (no `__init__.py`) is named from its first real package,
which only costs facts (its imports then resolve to nothing), never a false
finding.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def module_name(path: str | Path) -> str:
    """`pkg.sub.mod` for `.../pkg/sub/mod.py`; `pkg.sub` for its `__init__.py`.

    Named from the file's real path (a symlinked file is named where it lives); the
    directories are resolved and tested once each, since every file of a run asks."""
    absolute = os.path.abspath(path)
    if os.path.islink(absolute):
        directory, name = os.path.split(os.path.realpath(absolute))
    else:
        folder, name = os.path.split(absolute)
        directory = _real_directory(folder)
    stem = os.path.splitext(name)[0]
    parts = (*_package_parts(directory), *(() if stem == "__init__" else (stem,)))
    return ".".join(parts) or stem


def forget_layout() -> None:
    """Forget the directories resolved and tested so far: each run reads the layout
    afresh (a long-lived process, the language server or a test, sees `__init__.py`
    files come and go)."""
    _real_directory.cache_clear()
    _package_parts.cache_clear()
    _is_package.cache_clear()


@lru_cache(maxsize=4096)
def _real_directory(directory: str) -> str:
    """`os.path.realpath` of an absolute, normalised directory, from its parent's (one
    `lstat` per directory, where realpath tests every component of each path)."""
    parent, name = os.path.split(directory)
    # Elsewhere than POSIX, a link may be other than a symbolic one (a junction).
    if os.name != "posix" or not name or parent == directory or os.path.islink(directory):
        return os.path.realpath(directory)
    return os.path.join(_real_directory(parent), name)


@lru_cache(maxsize=4096)
def _package_parts(directory: str) -> tuple[str, ...]:
    """The dotted names of a directory and of the packages around it, outermost first;
    empty when it is not a package."""
    if not _is_package(directory):
        return ()
    parent = os.path.dirname(directory)
    if parent == directory:
        return (os.path.basename(directory),)
    return (*_package_parts(parent), os.path.basename(directory))


def package_of(module: str, stem: str) -> str:
    """The package relative imports start from (`stem`: the file's name without its
    suffix): the module itself for `__init__.py`."""
    if stem == "__init__":
        return module
    return module.rpartition(".")[0]


@lru_cache(maxsize=4096)
def _is_package(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "__init__.py"))


def is_test_module(filename: str) -> bool:
    """pytest's and unittest's file names: `test_*.py`, `*_test.py`, `conftest.py`."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py"
