"""`# noqa` comments, file-level directives and per-file-ignores.

Comments are found with the tokenizer, so a `# noqa` inside a string literal
does not count.
"""

from __future__ import annotations

import fnmatch
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(
    r"#\s*runguard-lint:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)
# Cheap: wherever _FILE_NOQA matches, this does (no tokenizer needed to rule it out).
_FILE_DIRECTIVE_HINT = re.compile(r"runguard-lint\s*:", re.IGNORECASE)


def may_have_file_directive(text: str) -> bool:
    """Whether text may hold a `# runguard-lint: noqa` directive, without tokenizing it.

    Asked of every file. A pattern that ignores case is matched one character at a
    time; the lowered text is searched as fast as any substring. A match of the pattern
    holds `runguard-l` in some case, and no character but an ASCII capital lowers to
    one of those letters, nor does the pattern equate one with anything else (it does
    `i` with the dotless i, U+0131, which is why the rest is the pattern's to judge)."""
    return "runguard-l" in text.lower() and _FILE_DIRECTIVE_HINT.search(text) is not None


ALL = "*"


@dataclass(frozen=True)
class Suppressions:
    """What a file's comments silence: per line, and for the whole file."""

    lines: dict[int, frozenset[str]] = field(default_factory=dict)
    file_codes: frozenset[str] = frozenset()
    whole_file_all: bool = False

    @classmethod
    def parse(cls, text: str) -> Suppressions:
        if not _may_hold_noqa(text):
            return cls()
        lines: dict[int, frozenset[str]] = {}
        file_codes: set[str] = set()
        whole = False
        for row, _column, comment in _comments(text):
            directive = _FILE_NOQA.search(comment)
            if directive:
                codes = directive.group("codes")
                if codes:
                    file_codes.update(code.upper() for code in _CODE.findall(codes))
                else:
                    whole = True
                continue
            match = _NOQA.search(comment)
            if match:
                codes = match.group("codes")
                found = (
                    frozenset(code.upper() for code in _CODE.findall(codes))
                    if codes
                    else frozenset({ALL})
                )
                lines[row] = lines.get(row, frozenset()) | found
        return cls(lines=lines, file_codes=frozenset(file_codes), whole_file_all=whole)

    def suppresses(self, diagnostic: Diagnostic) -> bool:
        if diagnostic.code in self.file_codes:
            return True
        for row in {diagnostic.location.row, diagnostic.end_location.row}:
            codes = self.lines.get(row)
            if codes and (ALL in codes or diagnostic.code in codes):
                return True
        return False


@dataclass(frozen=True)
class NoqaDirective:
    """One line's `# noqa` comment, where it is, and the codes it names."""

    row: int
    column: int  # 0-based column of the comment's `#` in its line
    comment: str  # the whole comment
    start: int  # the directive's span within the comment (it starts at a `#`)
    end: int
    codes: tuple[str, ...]  # upper-case, in order; () for a directive without codes


def noqa_directives(text: str) -> list[NoqaDirective]:
    """Every line-level `# noqa` comment of the text (file-level directives are not)."""
    if not _may_hold_noqa(text):
        return []
    found: list[NoqaDirective] = []
    for row, column, comment in _comments(text):
        if _FILE_NOQA.search(comment):
            continue
        match = _NOQA.search(comment)
        if match:
            codes = match.group("codes")
            found.append(
                NoqaDirective(
                    row,
                    column,
                    comment,
                    match.start(),
                    match.end(),
                    tuple(code.upper() for code in _CODE.findall(codes or "")),
                )
            )
    return found


def _may_hold_noqa(text: str) -> bool:
    """Whether the text may hold a `noqa` comment, in any case (`# NoQA` as `# noqa`, as
    the directive patterns read it), before the tokenizer looks for comments."""
    return "noqa" in text.lower()


def _comments(text: str) -> list[tuple[int, int, str]]:
    """(row, 0-based column, text) of each comment."""
    found: list[tuple[int, int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.start[1], token.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # Unfinished input: fall back to a line scan, which may see `#` in strings.
        found = [
            (row, line.index("#"), line[line.index("#") :])
            for row, line in enumerate(text.splitlines(), start=1)
            if "#" in line
        ]
    return found


def per_file_ignored(diagnostic: Diagnostic, settings: Settings) -> bool:
    """Whether `per-file-ignores` silences the diagnostic's code for its file."""
    if not settings.per_file_ignores:
        return False
    path = Path(diagnostic.filename)
    try:
        relative = path.resolve().relative_to(settings.project_root).as_posix()
    except ValueError:
        relative = PurePosixPath(path.as_posix()).as_posix()
    for pattern, codes in settings.per_file_ignores:
        matched = fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(path.name, pattern)
        if matched and any(diagnostic.code.startswith(code) for code in codes):
            return True
    return False
