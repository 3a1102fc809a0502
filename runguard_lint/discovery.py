"""Paths on the command line -> the Python files to check.

Directories are walked without following symlinks (so link loops end), with
default and configured excludes and .gitignore honoured. A file named
explicitly is always checked, as in Ruff, unless `force-exclude` is set (the
pre-commit hooks set it, since pre-commit names every staged file).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pathspec

from runguard_lint.config import Settings

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Discovered:
    """The files to check, and what could not be used, as messages for the user."""

    files: tuple[Path, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


@lru_cache(maxsize=16)
def _exclude_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """All exclude globs as one compiled pattern (fnmatch semantics, case-sensitive)."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(fnmatch.translate(p.rstrip("/") or p) for p in patterns))


def _relative(path: Path, root: Path) -> str:
    """path relative to root, posix-style, without touching the file system."""
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, root)).as_posix()
    except ValueError:
        return path.as_posix()


def _excluded(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """Ruff-like: a pattern matches the path's name or the path relative to root.

    What lies below an excluded directory is left out by the walk not descending
    into it (or by `_force_excluded`), not here: a directory named explicitly on
    the command line is walked, as in Ruff.
    """
    return _matches(_exclude_pattern(tuple(patterns)), path.name, _relative(path, root))


def _matches(matcher: re.Pattern[str], name: str, relative: str) -> bool:
    """An exclude pattern matches the name, or the path relative to the root."""
    return bool(matcher.match(name) or matcher.match(relative))


def _force_excluded(path: Path, root: Path, patterns: Sequence[str]) -> bool:
    """For a file named explicitly: excluded itself or below an excluded directory
    (`src/build/x.py` with `build` excluded), as a directory walk would have found it."""
    if _excluded(path, root, patterns):
        return True
    try:
        parents = path.resolve().relative_to(root).parents
    except (ValueError, OSError):
        return False
    return any(
        _excluded(root / parent, root, patterns) for parent in parents if parent != Path(".")
    )


class _GitIgnores:
    """The .gitignore files that apply under a git work tree, loaded lazily per directory.

    Directories are plain strings here: every file of a walk asks, and building a
    `Path` for each cost more than the matching."""

    def __init__(self) -> None:
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}
        self._roots: dict[str, str | None] = {}

    def _git_root(self, directory: str) -> str | None:
        """The nearest directory at or above `directory` with a `.git` (each directory
        is asked once: its parent's answer is reused)."""
        if directory not in self._roots:
            found: str | None = None
            parent = os.path.dirname(directory)
            if os.path.exists(os.path.join(directory, ".git")):
                found = directory
            elif parent != directory:
                found = self._git_root(parent)
            self._roots[directory] = found
        return self._roots[directory]

    def _spec(self, directory: str, git_root: str) -> pathspec.GitIgnoreSpec | None:
        if directory not in self._specs:
            lines: list[str] = []
            sources = [os.path.join(directory, ".gitignore")]
            if directory == git_root:
                sources.append(os.path.join(directory, ".git", "info", "exclude"))
            for source in sources:
                try:
                    with open(source, encoding="utf-8", errors="replace") as handle:
                        lines.extend(handle.read().splitlines())
                except OSError:
                    continue
            self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[directory]

    def apply(self, directory: str) -> bool:
        """Whether any .gitignore can apply in `directory` (it is in a git work tree)."""
        return self._git_root(os.path.abspath(directory)) is not None

    def ignored(self, path: Path, is_dir: bool) -> bool:
        absolute = os.path.abspath(path)
        directory = os.path.dirname(absolute)
        git_root = self._git_root(directory)
        if git_root is None:
            return False
        while True:
            spec = self._spec(directory, git_root)
            if spec is not None:
                relative = os.path.relpath(absolute, directory).replace(os.sep, "/")
                if spec.match_file(relative + ("/" if is_dir else "")):
                    return True
            parent = os.path.dirname(directory)
            if directory == git_root or parent == directory:
                return False
            directory = parent


def looks_like_python(path: Path) -> bool:
    """A .py/.pyi file, or an extension-less script with a python shebang."""
    if path.suffix in PYTHON_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            first = handle.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


def discover(paths: Iterable[str], settings: Settings) -> Discovered:
    """Expand the command-line paths into files, in a stable order."""
    excludes = settings.all_excludes
    root = settings.project_root.resolve()
    gitignores = _GitIgnores() if settings.respect_gitignore else None
    # Each file found, with its device and inode when a walk read them from the listing.
    found: list[tuple[Path, tuple[int, int] | None]] = []
    problems: list[str] = []
    notes: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            problems.append(f"{raw}: no such file or directory; check the path")
            continue
        if path.is_dir():
            if settings.force_exclude and _force_excluded(path, root, excludes):
                continue
            found.extend(_walk(path, root, excludes, gitignores, problems))
            continue
        if settings.force_exclude and (
            _force_excluded(path, root, excludes)
            or (gitignores is not None and gitignores.ignored(path, is_dir=False))
        ):
            continue
        if path.is_file() and not looks_like_python(path):
            notes.append(f"{raw}: skipped, not a Python file (.py, .pyi or a python shebang)")
            continue
        found.append((path, None))
    return Discovered(files=_once(found), problems=tuple(problems), notes=tuple(notes))


def _once(found: list[tuple[Path, tuple[int, int] | None]]) -> tuple[Path, ...]:
    """Each file once (a symlinked alias, `.` and `./x.py`), in the order first found: its
    device and inode tell, in one system call where resolving a path takes many. A walk
    reads them from the directory listing; a file named on the command line, or reached
    through a link, is asked of the system, and where both kinds meet every file is (on
    some file systems, overlayfs for one, the listing's inode is not the system's)."""
    if any(key is None for _path, key in found) and any(key for _path, key in found):
        found = [(path, None) for path, _key in found]
    seen: set[object] = set()
    files: list[Path] = []
    for path, key in found:
        identity: object = key
        if key is None:
            try:
                status = os.stat(path)
                identity = (status.st_dev, status.st_ino)
            except OSError:
                identity = os.path.abspath(path)
        if identity not in seen:
            seen.add(identity)
            files.append(path)
    return tuple(files)


def _walk(
    top: Path,
    root: Path,
    excludes: Sequence[str],
    gitignores: _GitIgnores | None,
    problems: list[str],
) -> Iterator[tuple[Path, tuple[int, int] | None]]:
    """The Python files below `top` in the order `os.walk` gives (each directory's
    files, names sorted, before its subdirectories; links to directories not followed),
    each with its device and inode read from the directory listing (None for a link,
    see `_once`). A walk of thousands of files then asks the system nothing per file."""
    matcher = _exclude_pattern(tuple(excludes))
    pending = [top]
    while pending:
        base = pending.pop()
        directory = os.fspath(base)
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
            device = os.stat(directory).st_dev
        except OSError as error:
            problems.append(f"{error.filename}: cannot list the directory ({error.strerror})")
            continue
        # `_excluded` for each entry, with the directory's relative path worked out once.
        relative = _relative(base, root)
        prefix = "" if relative == "." else relative + "/"
        ignores = gitignores if gitignores is not None and gitignores.apply(directory) else None
        below: list[Path] = []
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if entry.is_symlink() or _matches(matcher, name, prefix + name):
                    continue
                child = base / name
                if ignores is not None and ignores.ignored(child, is_dir=True):
                    continue
                below.append(child)
                continue
            if not name.endswith(PYTHON_SUFFIXES) or _matches(matcher, name, prefix + name):
                continue
            child = base / name
            if ignores is not None and ignores.ignored(child, is_dir=False):
                continue
            if entry.is_symlink():
                if not os.path.exists(entry.path):
                    continue  # a link to nothing
                yield child, None
            else:
                yield child, (device, entry.inode())
        pending.extend(reversed(below))
