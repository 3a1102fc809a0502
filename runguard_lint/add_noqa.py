"""`--add-noqa`: silence today's findings with `# noqa: CODE` comments, as Ruff does.

No analysis lives here: the input is a file's text and the diagnostics already
found in it. A comment goes on the diagnostic's first line, or on its last
line when the first one cannot take a comment (it ends inside a multi-line
string, or with a backslash continuation); `suppression.py` honours both. An
existing `# noqa: X` on that line is merged into (`# noqa: X, RG101`), other
comments are kept. Before anything is written the result must tokenize, parse
to the same syntax tree as before, and have every targeted finding silenced by
the real suppression parser; otherwise the file is left alone and said so.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.grammar import stdlib_tree
from runguard_lint.pipeline.files import DecodeFailure, decode
from runguard_lint.rules.rg900 import CODE as SYNTAX_ERROR
from runguard_lint.suppression import Suppressions

# The same grammar as suppression.py: a bare noqa comment, or one with codes (any case).
_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_FILE_DIRECTIVE = re.compile(r"#\s*runguard-lint:\s*noqa", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
_LINE_END = re.compile(r"(\r\n|\r|\n)$")

# An unreadable file must be fixed or excluded, never silenced.
UNSILENCEABLE = frozenset({SYNTAX_ERROR})


class AddNoqaError(Exception):
    """The file was left unchanged; the message says why."""


@dataclass(frozen=True)
class Skipped:
    """A finding that got no comment, and why."""

    row: int
    code: str
    reason: str


@dataclass(frozen=True)
class NoqaResult:
    """The new text, how many lines got a directive or a new code, what was skipped."""

    text: str
    lines_changed: int
    silenced: int
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class _LineFacts:
    """What the tokenizer says about each physical line."""

    in_string: frozenset[int]
    comments: dict[int, tuple[int, str]]


def _split_lines(text: str) -> list[str]:
    """Physical lines with their endings, split where Python's tokenizer splits them."""
    return io.StringIO(text, newline="").readlines()


def _line_facts(lines: Sequence[str]) -> _LineFacts:
    """Rows that end inside a string literal (no comment may go there) and each
    row's comment (column, text)."""
    in_string: set[int] = set()
    comments: dict[int, tuple[int, str]] = {}
    fstring_starts: list[int] = []
    reader = iter(lines)
    try:
        for token in tokenize.generate_tokens(lambda: next(reader, "")):
            name = tokenize.tok_name[token.type]
            if name == "FSTRING_START":  # Python 3.12+: f-strings are several tokens
                fstring_starts.append(token.start[0])
            elif name == "FSTRING_END" and fstring_starts:
                in_string.update(range(fstring_starts.pop(), token.end[0]))
            elif token.type == tokenize.STRING:
                in_string.update(range(token.start[0], token.end[0]))
            elif token.type == tokenize.COMMENT:
                comments[token.start[0]] = (token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError) as error:
        raise AddNoqaError(f"cannot tokenize the file ({error})") from None
    return _LineFacts(frozenset(in_string), comments)


def _why_not(row: int, lines: Sequence[str], facts: _LineFacts) -> str | None:
    """Why a comment cannot be appended to this row, or None when it can."""
    if not 1 <= row <= len(lines):
        return "the line is outside the file"
    if row in facts.in_string:
        return "the line ends inside a multi-line string"
    comment = facts.comments.get(row)
    if comment is None:
        body = _LINE_END.sub("", lines[row - 1]).rstrip(" \t\f")
        if body.endswith("\\"):
            return "the line ends with a backslash continuation"
    elif _FILE_DIRECTIVE.search(comment[1]):
        return "the line holds a file-level `# runguard-lint: noqa` directive"
    return None


def _with_codes(line: str, comment: tuple[int, str] | None, codes: Iterable[str]) -> str:
    """The line with `codes` added to its `# noqa` directive (made if missing)."""
    ending_match = _LINE_END.search(line)
    ending = ending_match.group(1) if ending_match else ""
    body = line[: len(line) - len(ending)]
    if comment is not None:
        column, text = comment
        match = _NOQA.search(text)
        if match and match.group("codes"):
            existing = [code.upper() for code in _CODE.findall(match.group("codes"))]
            merged = existing + sorted(set(codes) - set(existing))
            directive = "# noqa: " + ", ".join(merged)
            text = text[: match.start()] + directive + text[match.end() :]
            return body[:column] + text + ending
    directive = "# noqa: " + ", ".join(sorted(set(codes)))
    return body.rstrip(" \t\f") + "  " + directive + ending


def noqa_rows(text: str, diagnostics: Sequence[Diagnostic]) -> list[int | None]:
    """Where `--add-noqa` would put each diagnostic's comment (Ruff's `noqa_row`): its
    first line, else its last; None when no line can take one (or RG900)."""
    lines = _split_lines(text)
    try:
        facts = _line_facts(lines)
    except AddNoqaError:
        return [None for _diagnostic in diagnostics]
    rows: list[int | None] = []
    for diagnostic in diagnostics:
        start, end = diagnostic.location.row, diagnostic.end_location.row
        if diagnostic.code in UNSILENCEABLE:
            rows.append(None)
        elif _why_not(start, lines, facts) is None:
            rows.append(start)
        elif end != start and _why_not(end, lines, facts) is None:
            rows.append(end)
        else:
            rows.append(None)
    return rows


def add_noqa_to_text(text: str, diagnostics: Sequence[Diagnostic]) -> NoqaResult:
    """Add `# noqa: CODE` for each diagnostic; raise AddNoqaError if the result is unsafe."""
    skipped = [
        Skipped(
            d.location.row,
            d.code,
            f"{d.code} cannot be silenced with `# noqa`; fix the file or exclude it",
        )
        for d in diagnostics
        if d.code in UNSILENCEABLE
    ]
    silenceable = [d for d in diagnostics if d.code not in UNSILENCEABLE]
    if not silenceable:
        return NoqaResult(text, 0, 0, tuple(skipped))
    lines = _split_lines(text)
    facts = _line_facts(lines)
    wanted: dict[int, set[str]] = {}
    targeted: list[tuple[int, str]] = []
    for diagnostic in silenceable:
        code, start = diagnostic.code, diagnostic.location.row
        reason = _why_not(start, lines, facts)
        row = start
        if reason is not None:
            end = diagnostic.end_location.row
            if end != start and _why_not(end, lines, facts) is None:
                row, reason = end, None
        if reason is not None:
            skipped.append(Skipped(start, code, reason))
            continue
        wanted.setdefault(row, set()).add(code)
        targeted.append((row, code))
    new_lines = list(lines)
    for row, codes in wanted.items():
        new_lines[row - 1] = _with_codes(lines[row - 1], facts.comments.get(row), codes)
    new_text = "".join(new_lines)
    changed = sum(1 for row in wanted if new_lines[row - 1] != lines[row - 1])
    if new_text != text:
        _verify(text, new_text, targeted)
    return NoqaResult(new_text, changed, len(targeted), tuple(skipped))


def _verify(old: str, new: str, targeted: Sequence[tuple[int, str]]) -> None:
    """The edit must change no code and silence every targeted finding."""
    try:
        same = ast.dump(stdlib_tree(old).tree) == ast.dump(stdlib_tree(new).tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        same = False
    if not same:
        raise AddNoqaError("adding the comments would change the code; nothing was written")
    suppressions = Suppressions.parse(new)
    for row, code in targeted:
        codes = suppressions.lines.get(row, frozenset())
        if code not in codes and "*" not in codes:
            raise AddNoqaError(
                f"line {row}: the added `# noqa: {code}` would not be recognised; "
                "nothing was written"
            )


def add_noqa_to_file(path: Path, diagnostics: Sequence[Diagnostic]) -> NoqaResult:
    """Add the comments to the file in place, keeping its encoding, BOM, line endings
    and permissions; the write is atomic and refused if the file changed meanwhile."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AddNoqaError(f"cannot read the file ({error.strerror or error})") from None
    try:
        source = decode(data)
    except DecodeFailure as error:
        raise AddNoqaError(f"cannot decode: {error}") from None
    result = add_noqa_to_text(source.text, diagnostics)
    if result.text == source.text:
        return result
    try:
        encoded = result.text.encode(source.encoding)
    except UnicodeEncodeError:
        raise AddNoqaError(f"the comments cannot be written in {source.encoding}") from None
    _write_atomically(path, data, (b"\xef\xbb\xbf" if source.bom else b"") + encoded)
    return result


def _write_atomically(path: Path, original: bytes, new: bytes) -> None:
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise AddNoqaError(f"cannot write the file ({error.strerror or error})") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new)
        os.chmod(temporary, mode & 0o7777)
        if target.read_bytes() != original:
            raise AddNoqaError(
                "the file changed while runguard-lint was working; nothing was written, run again"
            )
        os.replace(temporary, target)
    except OSError as error:
        os.unlink(temporary)
        raise AddNoqaError(f"cannot write the file ({error.strerror or error})") from None
    except AddNoqaError:
        os.unlink(temporary)
        raise
