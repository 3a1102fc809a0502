"""RG100: a `# noqa` code that silences nothing (Ruff's RUF100, for this tool's codes).

Which codes are dead is known only once every other rule has run and before
their findings are silenced, so the pipeline asks `unused_noqa` at that point
(the rule's `check` sees nothing); this module owns the code, the judgement
and the fix.

A code is reported when it names a rule that ran on the file and reported
nothing on that line, or when it carries this tool's prefix but names no rule
at all (a typo, a removed rule). A code of a rule that did not run (not
selected, or silenced for the whole file) is not dead: another run may need
it. A bare `# noqa` and other tools' codes (`E501`) are left alone: they may
be silencing another linter. The fix removes the dead codes from the comment,
the whole directive when none is left, and keeps any other comment text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from runguard_lint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from runguard_lint.rules.base import PipelineRule
from runguard_lint.suppression import NoqaDirective, noqa_directives

if TYPE_CHECKING:
    pass

CODE = "RG100"
_PREFIX = re.compile(r"[A-Z]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def unused_noqa(
    filename: str,
    text: str,
    diagnostics: Iterable[Diagnostic],
    ran: frozenset[str],
    known: Iterable[str],
) -> list[Diagnostic]:
    """The RG100 findings of a file, given the findings of the rules that ran (`ran`,
    before any suppression) and every rule code the tool has (`known`)."""
    if CODE not in ran:
        return []
    known_codes = frozenset(known)
    prefixes = {match.group() for code in known_codes if (match := _PREFIX.match(code))}
    used: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        for row in {diagnostic.location.row, diagnostic.end_location.row}:
            used.setdefault(row, set()).add(diagnostic.code)
    lines = _LINE_BREAK.split(text)  # as the tokenizer counts rows
    found: list[Diagnostic] = []

    def dead(code: str, on_line: set[str]) -> bool:
        if code == CODE:
            return False  # it silences this rule, whose finding would be right here
        if code in known_codes:
            return code in ran and code not in on_line
        prefix = _PREFIX.match(code)
        return prefix is not None and prefix.group() in prefixes

    for directive in noqa_directives(text):
        on_line = used.get(directive.row, set())
        unused = [code for code in directive.codes if dead(code, on_line)]
        if unused and 0 < directive.row <= len(lines):
            found.append(_diagnostic(filename, lines[directive.row - 1], directive, unused))
    return found


def _diagnostic(
    filename: str, line: str, directive: NoqaDirective, unused: Sequence[str]
) -> Diagnostic:
    start = directive.column + directive.start
    end = directive.column + directive.end
    listed = ", ".join(f"`{code}`" for code in unused)
    kept = [code for code in directive.codes if code not in unused]
    edit = _edit(line, directive, kept)
    message = "Remove the unused codes" if kept else "Remove the unused `noqa` directive"
    return Diagnostic(
        code=CODE,
        message=f"unused `noqa` directive (unused: {listed})",
        filename=filename,
        location=Location(directive.row, start + 1),
        end_location=Location(directive.row, end + 1),
        fix=Fix(Applicability.SAFE, message, (edit,)),
    )


def _edit(line: str, directive: NoqaDirective, kept: Sequence[str]) -> Edit:
    """The comment without the dead codes: the directive rewritten with the codes that
    are left, else removed with the blanks before it, other comment text kept."""
    row, column, comment = directive.row, directive.column, directive.comment
    if kept:
        return _replace(row, column + directive.start, column + directive.end, _noqa(kept))
    rest = comment[directive.end :].lstrip()
    if directive.start == 0 and not rest:
        # The comment is only the directive: it goes, with the blanks before it.
        start = column
        while start > 0 and line[start - 1] in " \t":
            start -= 1
        return _replace(row, start, column + len(comment), "")
    if directive.start == 0:
        # A directive followed by a reason: the reason stays a comment.
        replacement = rest if rest.startswith("#") else f"# {rest}"
        return _replace(row, column, column + len(comment), replacement)
    # A reason followed by the directive: the directive goes, with the blanks before it.
    start = directive.start
    while start > 0 and comment[start - 1] in " \t":
        start -= 1
    return _replace(row, column + start, column + directive.end, "")


def _noqa(codes: Sequence[str]) -> str:
    return "# noqa: " + ", ".join(codes)


def _replace(row: int, start: int, end: int, content: str) -> Edit:
    return Edit(content, Location(row, start + 1), Location(row, end + 1))


class _Rule(PipelineRule):
    # Judged by the pipeline once every other rule has run (see unused_noqa).
    code = CODE


RULE = _Rule()
