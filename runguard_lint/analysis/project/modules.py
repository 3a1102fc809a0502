"""A file's dotted module name, as an import of it would spell it.

Walk up from the file while the directory is a package (has `__init__.py`);
the first directory that is not is where imports start. A `src/` layout, a
flat layout and a loose script all come out as Python would import them; a
namespace package (no `__init__.py`) is named from its first real package,
which only costs facts (its imports then resolve to nothing), never a false
finding.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


def module_name(path: Path) -> str:
    """`pkg.sub.mod` for `.../pkg/sub/mod.py`; `pkg.sub` for its `__init__.py`."""
    path = path.resolve()
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    while _is_package(directory):
        parts.append(directory.name)
        if directory.parent == directory:
            break
        directory = directory.parent
    return ".".join(reversed(parts)) or path.stem


def package_of(module: str, path: Path) -> str:
    """The package relative imports start from: the module itself for `__init__.py`."""
    if path.stem == "__init__":
        return module
    return module.rpartition(".")[0]


@lru_cache(maxsize=4096)
def _is_package(directory: Path) -> bool:
    return (directory / "__init__.py").is_file()
