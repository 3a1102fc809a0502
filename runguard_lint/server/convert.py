"""Findings, fixes and edits as LSP values.

Our rows and columns are 1-based and count code points on the lines Python's
tokenizer sees (split at \\n, \\r\\n and \\r only, as LSP splits them too); an
LSP position is 0-based and counts code units of the encoding agreed at
`initialize` (UTF-16 unless the client offers another). The lines are split
here rather than by the LSP library, which would also split at form feeds and
other characters that end no line in Python or LSP.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from runguard_lint.diagnostics import Diagnostic, Edit, Location
from runguard_lint.fixes.edits import split_lines
from runguard_lint.output import rule_url
from runguard_lint.rules.rg900 import CODE as SYNTAX_ERROR

SOURCE = "runguard-lint"


class Lines:
    """A text's lines, to turn our locations into positions in the client's units."""

    def __init__(self, text: str, encoding: str) -> None:
        self._lines = [line.rstrip("\r\n") for line in split_lines(text)]
        self._encoding = encoding

    def _units(self, prefix: str) -> int:
        if self._encoding == types.PositionEncodingKind.Utf32:
            return len(prefix)
        if self._encoding == types.PositionEncodingKind.Utf8:
            return len(prefix.encode("utf-8", "surrogatepass"))
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2

    def position(self, location: Location) -> types.Position:
        line = location.row - 1
        if line >= len(self._lines):
            # Past the last line: where an edit that appends to the file ends.
            return types.Position(line=len(self._lines), character=0)
        text = self._lines[max(line, 0)]
        return types.Position(
            line=max(line, 0), character=self._units(text[: max(location.column - 1, 0)])
        )

    def range(self, start: Location, end: Location) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))


def lsp_diagnostic(diagnostic: Diagnostic, lines: Lines) -> types.Diagnostic:
    """A finding as the editor shows it: a warning, or an error when the file cannot be
    read as Python (RG900)."""
    severity = (
        types.DiagnosticSeverity.Error
        if diagnostic.code == SYNTAX_ERROR
        else types.DiagnosticSeverity.Warning
    )
    return types.Diagnostic(
        range=lines.range(diagnostic.location, diagnostic.end_location),
        message=diagnostic.message,
        severity=severity,
        code=diagnostic.code,
        code_description=types.CodeDescription(href=rule_url(diagnostic.code)),
        source=SOURCE,
    )


def text_edits(edits: Sequence[Edit], lines: Lines) -> list[types.TextEdit]:
    return [
        types.TextEdit(range=lines.range(edit.location, edit.end_location), new_text=edit.content)
        for edit in edits
    ]


def workspace_edit(
    uri: str, version: int | None, edits: list[types.TextEdit], versioned: bool
) -> types.WorkspaceEdit:
    """Edits of one document; tied to the document's version when the client accepts
    that (`documentChanges`), so an edit computed for an older text is refused."""
    if versioned:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)]
        )
    return types.WorkspaceEdit(changes={uri: edits})


def overlaps(a: types.Range, b: types.Range) -> bool:
    """Whether two ranges share a position (touching counts: a cursor at either end)."""

    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
