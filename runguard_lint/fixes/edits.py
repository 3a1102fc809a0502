"""From a rewritten module to a Fix: minimal line edits, only for code that compiles.

Every shape rewrites the LibCST module (so formatting and comments are kept).
The module-level statements the rewrite replaced are rendered, checked (they
must parse with LibCST and the stdlib parser, and compile; else the fix is
dropped) and diffed against the original lines into the smallest line-range
replacements: the form Ruff's JSON gives, and what lets the non-overlapping
fixes of one file be applied together. Lines the fix wrote that are longer
than the project's line length are wrapped first (fixes/wrap.py). The fixer
checks the whole file again after applying them.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.diagnostics import Applicability, Edit, Fix, Location
from runguard_lint.fixes.tree import changed_spans
from runguard_lint.fixes.wrap import wrap_written_lines
from runguard_lint.grammar import stdlib_tree

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split as Python's tokenizer does (\\r\\n, \\r, \\n)."""
    return _LINE.findall(text)


def problem_with(text: str, filename: str = "<fixed>") -> str | None:
    """Why text is not valid Python for both parsers and the compiler, or None (in a
    grammar newer than the running interpreter's, the compiler sees its rewrite)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = stdlib_tree(text, filename).tree
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"line {error.lineno}: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"cannot compile: {type(error).__name__}: {error}"
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return f"line {error.raw_line}: {error.message}"
    except RecursionError:
        return "too deeply nested for LibCST"
    return None


def line_edits(old_text: str, new_text: str, first_row: int = 1) -> tuple[Edit, ...]:
    """The smallest set of whole-line replacements that turn old_text into new_text.

    Rows are counted from `first_row`, the row old_text starts at in its file.
    """
    old = split_lines(old_text)
    new = split_lines(new_text)
    # Common head and tail first: the differing middle is usually small.
    head = 0
    while head < len(old) and head < len(new) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < len(old) - head
        and tail < len(new) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    old_middle = old[head : len(old) - tail]
    new_middle = new[head : len(new) - tail]
    matcher = difflib.SequenceMatcher(None, old_middle, new_middle, autojunk=False)
    edits: list[Edit] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            Edit(
                content="".join(new_middle[j1:j2]),
                location=Location(first_row + head + i1, 1),
                end_location=Location(first_row + head + i2, 1),
            )
        )
    return tuple(edits)


def make_fix(
    context: FileContext, new_module: cst.Module, applicability: Applicability, message: str
) -> Fix | None:
    """A Fix from the analysed module and its rewrite, or None if the rewrite is not valid.

    Only the module-level statements that the rewrite replaced (they are new
    objects; untouched ones are the very same) are rendered, checked and
    diffed, so the cost follows the size of the change, not of the file.
    """
    if not context.settings.fix_edits:
        # The report only says a fix exists ([*], the summary); rendering and
        # compiling it is left to the runs that apply or print it.
        return Fix(applicability=applicability, message=message, edits=())
    old_module = context.facts.module
    starts = _statement_rows(old_module)
    if starts is None or _outer_code(new_module) != _outer_code(old_module):
        new_text = _wrapped(context, context.source, new_module.code, new_module.default_indent)
        return _whole_text_fix(context.source, new_text, applicability, message)
    old_lines = _lines(context.source)
    spans = changed_spans(new_module, old_module)
    if spans is None:
        matcher = difflib.SequenceMatcher(
            None, [id(s) for s in old_module.body], [id(s) for s in new_module.body], autojunk=False
        )
        spans = tuple(op[1:] for op in matcher.get_opcodes() if op[0] != "equal")
    edits: list[Edit] = []
    for i1, i2, j1, j2 in spans:
        chunk = "".join(new_module.code_for_node(s) for s in new_module.body[j1:j2])
        old_chunk = "".join(old_lines[starts[i1] : starts[i2]])
        chunk = _wrapped(context, old_chunk, chunk, new_module.default_indent)
        if chunk and problem_with(chunk) is not None:
            return None
        chunk = _keep_final_newline(old_chunk, chunk)
        edits.extend(line_edits(old_chunk, chunk, first_row=starts[i1] + 1))
    if not edits:
        return None
    return Fix(applicability=applicability, message=message, edits=tuple(edits))


@lru_cache(maxsize=4)
def _lines(text: str) -> tuple[str, ...]:
    """The file's lines, split once for all its fixes (not once per finding)."""
    return tuple(split_lines(text))


def _wrapped(context: FileContext, old: str, new: str, indent_unit: str) -> str:
    """`new` with the too-long lines the fix wrote wrapped to the project's line length
    (fixes/wrap.py); as rendered if the wrapped text does not compile."""
    wrapped = wrap_written_lines(old, new, context.settings.code_style, indent_unit)
    if wrapped != new and problem_with(wrapped) is not None:
        return new
    return wrapped


def _whole_text_fix(
    old_text: str, new_text: str, applicability: Applicability, message: str
) -> Fix | None:
    new_text = _keep_final_newline(old_text, new_text)
    if new_text == old_text or problem_with(new_text) is not None:
        return None
    edits = line_edits(old_text, new_text)
    return Fix(applicability=applicability, message=message, edits=edits) if edits else None


def _keep_final_newline(old: str, new: str) -> str:
    """LibCST drops the last line ending of a file that uses bare `\r` newlines;
    a rewrite keeps the ending the original text had."""
    for ending in ("\r\n", "\r", "\n"):
        if old.endswith(ending):
            return new if new.endswith(("\r", "\n")) or not new else new + ending
    return new


def _outer_code(module: cst.Module) -> str:
    """What the module renders around its statements: header and footer comments."""
    return "".join(module.code_for_node(line) for line in (*module.header, *module.footer))


@lru_cache(maxsize=4)
def _statement_rows(module: cst.Module) -> tuple[int, ...] | None:
    """The 0-based first line of each module-level statement, and the line after the last.

    None when the statements' own renderings do not add up to the file (no
    newline at its end, say): then the whole text is diffed instead.
    """
    pieces = [module.code_for_node(line) for line in module.header]
    row = len(split_lines("".join(pieces)))
    rows = [row]
    for statement in module.body:
        code = module.code_for_node(statement)
        pieces.append(code)
        row += len(split_lines(code))
        rows.append(row)
    pieces.extend(module.code_for_node(line) for line in module.footer)
    if "".join(pieces) != module.code:
        return None
    return tuple(rows)


def line_starts(text: str) -> list[int]:
    """The offset of each line's first character, plus the text's length."""
    starts = [0]
    for line in split_lines(text):
        starts.append(starts[-1] + len(line))
    return starts


def edit_span(starts: Sequence[int], edit: Edit) -> tuple[int, int]:
    """An edit's (start, end) character offsets, given the text's `line_starts`."""

    def offset(location: Location) -> int:
        if location.row - 1 >= len(starts):
            return starts[-1]
        return min(starts[location.row - 1] + location.column - 1, starts[-1])

    return offset(edit.location), offset(edit.end_location)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits (1-based row/column locations, end exclusive)."""
    starts = line_starts(text)
    return apply_spans(text, [(*edit_span(starts, edit), edit.content) for edit in edits])


def apply_spans(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """Replace each non-overlapping (start, end) character range by its content."""
    pieces: list[str] = []
    cursor = 0
    for start, end, content in sorted(spans, key=lambda span: (span[0], span[1])):
        if start < cursor:
            raise ValueError("overlapping edits")
        pieces.append(text[cursor:start])
        pieces.append(content)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
