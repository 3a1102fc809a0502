"""What the checked project declares it depends on, so fixes never import anything else.

A fix that imports the runtime helpers (or `cachetools`) into code whose
project does not install it breaks that code in production with
ModuleNotFoundError. So fixes ask this module, which reads the nearest
project's declarations: `pyproject.toml` (PEP 621 `dependencies` and
`optional-dependencies`, PEP 735 `dependency-groups`, Poetry's tables) and
`requirements*.txt` files (also under `requirements/`). Names are normalised
as PEP 503 says, so `RunGuard_Lint` and `runguard-lint` are one name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The stdlib-only distribution of the helpers fixes may import (ResourceScope,
# per_loop, BoundedCache), built from runtime/ in this repository.
RUNTIME_DISTRIBUTION = "runguard-runtime"
# The distributions whose presence lets fixes import the helpers: the runtime itself,
# or the linter, which re-exports it as `runguard_lint.runtime`.
RUNTIME_DISTRIBUTIONS = frozenset({RUNTIME_DISTRIBUTION, "runguard-lint"})


def runtime_module(declared: frozenset[str]) -> str:
    """The module fixes import the helpers from, given the project's declared names.

    The runtime's own package when the project declares `runguard-runtime` (or
    declares neither and config allows the runtime: what the messages recommend);
    `runguard_lint.runtime` when it declares only the linter, a name every linter
    release that had the helpers provides.
    """
    if RUNTIME_DISTRIBUTION in declared or "runguard-lint" not in declared:
        return "runguard_runtime"
    return "runguard_lint.runtime"


def runtime_needed(helper: str) -> str:
    """What a display-only fix's message adds when it needs a runtime helper."""
    return (
        f" (needs `{helper}` from `{RUNTIME_DISTRIBUTION}`, a stdlib-only package this "
        f"project does not declare: add `{RUNTIME_DISTRIBUTION}` to its dependencies or "
        "set `fix-runtime = true`)"
    )


_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_directory(anchor: Path) -> Path | None:
    """The nearest directory at or above `anchor` that declares a Python project."""
    start = anchor if anchor.is_dir() else anchor.parent
    try:
        start = start.resolve()
    except OSError:
        return None
    for directory in (start, *start.parents):
        if any((directory / marker).is_file() for marker in _MARKERS):
            return directory
        if any(directory.glob("requirements*.txt")):
            return directory
    return None


def declared_dependencies(anchor: Path) -> frozenset[str]:
    """The normalised names the project at or above `anchor` declares (empty if none)."""
    directory = project_directory(anchor)
    if directory is None:
        return frozenset()
    names: set[str] = set()
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        names.update(_from_pyproject(pyproject))
    requirement_files = [
        *sorted(directory.glob("requirements*.txt")),
        *sorted(directory.glob("requirements/*.txt")),
    ]
    for requirements in requirement_files:
        names.update(_from_requirements(requirements))
    return frozenset(normalise(name) for name in names)


def _requirement_names(lines: Iterable[object]) -> Iterator[str]:
    for line in lines:
        if not isinstance(line, str):
            continue
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        match = _NAME.match(text)
        if match:
            yield match.group(1)


def _from_requirements(path: Path) -> Iterator[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return iter(())
    return _requirement_names(text.splitlines())


def _from_pyproject(path: Path) -> Iterator[str]:
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return
    project = document.get("project")
    if isinstance(project, dict):
        yield from _requirement_names(_list(project.get("dependencies")))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for group in optional.values():
                yield from _requirement_names(_list(group))
    groups = document.get("dependency-groups")
    if isinstance(groups, dict):
        for group in groups.values():
            yield from _requirement_names(_list(group))
    poetry = (
        document.get("tool", {}).get("poetry") if isinstance(document.get("tool"), dict) else None
    )
    if isinstance(poetry, dict):
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        poetry_groups = poetry.get("group")
        if isinstance(poetry_groups, dict):
            tables.extend(
                group.get("dependencies")
                for group in poetry_groups.values()
                if isinstance(group, dict)
            )
        for table in tables:
            if isinstance(table, dict):
                yield from (str(name) for name in table if name != "python")


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
