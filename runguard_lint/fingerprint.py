"""What a finding is, apart from where it currently sits: the identity a baseline and
GitLab's Code Quality report match findings by.

A finding keeps its identity while lines are added above it or other code is
edited: the identity is the rule, the file (a path relative to a root, posix
style), the qualified name of the innermost function or class around it, the
flagged line(s) with whitespace normalised, and an occurrence index among
findings that agree on all of that. No line number takes part, nor the
message (some messages name the line of a related statement). Editing the
flagged code itself makes a new finding, as it should.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runguard_lint.diagnostics import Diagnostic


@dataclass(frozen=True)
class Identity:
    """A finding's identity; `fingerprint` is its stable hash."""

    code: str
    path: str
    scope: str  # `Class.method`, `function.inner`, or "" at module level
    source: str  # the flagged line(s), whitespace collapsed
    occurrence: int  # 0 for the first finding with this code, path, scope and source

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            [self.code, self.path, self.scope, self.source, self.occurrence], ensure_ascii=True
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def identities(
    diagnostics: Sequence[Diagnostic],
    source_lines: Callable[[str], Sequence[str]],
    path_of: Callable[[str], str],
) -> list[tuple[Diagnostic, Identity]]:
    """Each diagnostic with its identity, in file, line, column order.

    `source_lines` gives a file's lines by display name (what the report
    quotes); `path_of` turns a display name into the path the identity keeps.
    """
    result: list[tuple[Diagnostic, Identity]] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    files: dict[str, tuple[Sequence[str], _Scopes]] = {}
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        if diagnostic.filename not in files:
            lines = source_lines(diagnostic.filename)
            files[diagnostic.filename] = (lines, _Scopes.of("\n".join(lines)))
        lines, scopes = files[diagnostic.filename]
        key = (
            diagnostic.code,
            path_of(diagnostic.filename),
            scopes.around(diagnostic.location.row),
            flagged_source(lines, diagnostic),
        )
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        result.append((diagnostic, Identity(*key, occurrence)))
    return result


def flagged_source(lines: Sequence[str], diagnostic: Diagnostic) -> str:
    """The lines the finding spans, joined, with every run of whitespace made one space."""
    first = diagnostic.location.row
    last = max(first, diagnostic.end_location.row)
    spanned = lines[max(first, 1) - 1 : last] if 0 < first <= len(lines) else []
    return " ".join(" ".join(spanned).split())


class _Scopes:
    """The functions and classes of a module as (first row, last row, qualified name),
    a decorated definition starting at its first decorator."""

    def __init__(self, spans: list[tuple[int, int, str]]) -> None:
        self._spans = spans

    @classmethod
    def of(cls, text: str) -> _Scopes:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return cls([])  # a file that does not parse has only its module scope
        spans: list[tuple[int, int, str]] = []
        pending: list[tuple[ast.AST, str]] = [(tree, "")]
        while pending:
            node, prefix = pending.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}.{child.name}" if prefix else child.name
                    start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    spans.append((start, child.end_lineno or child.lineno, name))
                    pending.append((child, name))
                else:
                    pending.append((child, prefix))
        return cls(spans)

    def around(self, row: int) -> str:
        """The innermost definition whose lines hold row ("" for none)."""
        best: tuple[int, int, str] | None = None
        for span in self._spans:
            if span[0] <= row <= span[1] and (best is None or span[0] >= best[0]):
                best = span
        return best[2] if best else ""
