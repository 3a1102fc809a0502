"""Source files: where they are, their bytes, their text, and the RG900 when those fail.

Reading refuses anything that is not a regular file (a named pipe called
`x.py` would block the run), decoding follows Python's own rules (BOM, then
the PEP 263 cookie, else UTF-8) and remembers what is needed to write the text
back byte-faithfully. Nothing here parses.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runguard_lint.diagnostics import FileReport
from runguard_lint.rules.rg900 import syntax_diagnostic


@dataclass(frozen=True)
class InputFile:
    """One file to check: where it is and how reports name it."""

    path: Path
    display: str


def display_name(path: Path, cwd: str | None = None) -> str:
    """Paths in reports: relative to the working directory (`cwd`, asked of the system
    when not given) when below it, as named (a symlink is shown under its own name, not
    its target's)."""
    if not os.path.isabs(path):
        # Below the working directory as given (what `relpath` of its absolute path
        # would say, without asking the system for either).
        normal = os.path.normpath(path)
        if not normal.startswith(".."):
            return _posix(normal)
    absolute = os.path.abspath(path)
    base = cwd if cwd is not None else os.getcwd()
    # (A path that starts with exactly two slashes may name something else on POSIX.)
    if os.name == "posix" and os.path.isabs(base) and not absolute.startswith("//"):
        # What `relpath` says of a path below `base`, without splitting both paths.
        base = os.path.normpath(base)
        if absolute == base:
            return "."
        prefix = base if base.endswith("/") else base + "/"
        return absolute[len(prefix) :] if absolute.startswith(prefix) else path.as_posix()
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:
        return path.as_posix()
    if relative.startswith(".."):
        return path.as_posix()
    return _posix(relative)


def _posix(relative: str) -> str:
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


def text_if_unchanged(path: Path, digest: str) -> tuple[bool, str | None]:
    """Whether the file still holds the content hashed as `digest` (False also when it
    cannot be read), and its text (None when it does not decode). The fact pass and the
    check hash every file first and read a text only when they must: one saved again
    in between tells this run nothing."""
    data = read_bytes(path)
    if isinstance(data, str) or content_hash(data) != digest:
        return False, None
    try:
        return True, decode(data).text
    except DecodeFailure:
        return True, None


@dataclass(frozen=True)
class WriteScope:
    """Where `--fix` and `--add-noqa` may write: under the command-line paths, resolved.

    A symlink inside the project may point anywhere (a vendored checkout, a
    file in another repository, a system file); following it to rewrite its
    target would change a file the user never named. Such a file is still
    checked, but only written when its target lies under a path that was given.
    """

    roots: tuple[str, ...]

    @classmethod
    def of(cls, targets: Sequence[str]) -> WriteScope:
        return cls(tuple(os.path.realpath(target) for target in targets))

    def allows(self, path: Path) -> bool:
        """Whether writing `path` (its symlinks followed, as writing does) stays inside."""
        real = os.path.realpath(path)
        return any(
            real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots
        )


def read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or a sentence saying why they cannot be read.

    Only regular files are read: a named pipe or a device called `x.py` would
    block the run or never end.
    """
    try:
        status = os.stat(path)
    except OSError as error:
        if os.path.islink(path):
            return "is a symbolic link to a missing file; fix or remove the link"
        return f"cannot read the file ({error.strerror or error})"
    if stat.S_ISDIR(status.st_mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(status.st_mode):
        return "is not a regular file (a pipe, socket or device); exclude it"
    try:
        return path.read_bytes()
    except OSError as error:
        hint = "; check its permissions" if error.errno == errno.EACCES else ""
        return f"cannot read the file ({error.strerror or error}){hint}"


def file_size(path: Path) -> int:
    """The size on disk, to schedule big files first; 0 when unknown (the worker says why)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def content_hash(data: bytes) -> str:
    """What the result cache keys a file's bytes by."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """A decoded file, with what is needed to write it back byte-faithfully."""

    text: str
    encoding: str
    bom: bool


class DecodeFailure(Exception):
    """The bytes are not text in the declared (or default) encoding."""


def decode(data: bytes) -> SourceFile:
    """Decode source bytes as Python does: BOM, then PEP 263 cookie, else UTF-8."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise DecodeFailure(str(error)) from None
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    python_encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = body.decode(python_encoding)
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        raise DecodeFailure(
            f"line {line}: bytes are not valid {python_encoding} ({error.reason}); "
            "save the file as UTF-8 or declare its encoding in a `# -*- coding: ... -*-` line"
        ) from None
    except LookupError:
        raise DecodeFailure(f"unknown encoding `{encoding}` declared in the file") from None
    return SourceFile(text=text, encoding=python_encoding, bom=bom)


def unreadable(display: str, reason: str) -> FileReport:
    """The whole report of a file that could not be read or analysed at all."""
    return FileReport(display, (syntax_diagnostic(display, reason),))


def replace_cache_file(path: Path, parts: Sequence[bytes]) -> None:
    """Write one of the tool's own cache files atomically (see `write_cache_file`)."""

    def write(handle: BinaryIO) -> None:
        for part in parts:
            handle.write(part)

    write_cache_file(path, write)


def write_cache_file(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write one of the tool's own cache files atomically, by `write(handle)` (a
    temporary file in the same directory, then `os.replace`), so a reader never sees
    half of one; the temporary is removed when writing fails, whatever the failure.
    Raises what `write` raises, and OSError: a cache that cannot be written only costs
    speed, and each caller decides so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
