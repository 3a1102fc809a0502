"""The lines a fix writes, wrapped to the project's line length as Ruff's formatter would.

A fix renders new lines (a `with` header, an ExitStack registration, an
import) and changes some of the user's (`file=scope.enter(open(p))`); one
longer than the project's `line-length` fails its `ruff format --check`. So
each such line that is too long is split the way Ruff's formatter (and Black)
split a line: at the last bracket pair with something inside (the "right-hand
split"), its content on one indented line if it fits there, else one element
per line with a trailing comma, each element split again if still too long.
Two shapes get the formatter's invisible parentheses: `from m import a, b`
(one name per line) and, when every targeted Python parses it (3.10 grammar),
a `with` of several items; for older targets a `with` is split inside its
last call instead. Trailing comments end up after the closing bracket.

Only lines the fix created or changed are touched: a line whose text (less
its indentation) is in the original code is the user's, re-indented or not,
and stays as written. A line that is not a whole logical line of its own (part
of a bracketed or triple-quoted span) is left alone, and so is any line the
split cannot reproduce exactly (the same syntax tree).
"""

from __future__ import annotations

import ast
import io
import keyword
import textwrap
import tokenize
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from runguard_lint.code_style import CodeStyle

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset(_OPEN.values())
# Pragma comments the formatters do not count in a line's width.
_PRAGMAS = ("# noqa", "# type:", "# pyright:", "# pylint:", "# nosec", "# isort:", "# ruff:")
_LAYOUT = frozenset(
    {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)
# Python 3.12+ tokenizes f-strings (3.14: t-strings) into parts: one leaf here.
_STRING_STARTS = frozenset(
    getattr(tokenize, name)
    for name in ("FSTRING_START", "TSTRING_START")
    if hasattr(tokenize, name)
)
_STRING_ENDS = frozenset(
    getattr(tokenize, name) for name in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, name)
)


@dataclass(frozen=True)
class _Leaf:
    """One token of the line (an f-string whole), with the spaces before it."""

    text: str
    space: str
    kind: int


_Line = tuple[int, Sequence[_Leaf]]  # (extra indentation levels, leaves)


def wrap_written_lines(old: str, new: str, style: CodeStyle, indent_unit: str) -> str:
    """`new` (the rewrite of `old`) with its too-long created or changed lines wrapped."""
    limit = style.line_length
    lines = _physical_lines(new)
    if all(_width(line.rstrip("\r\n")) <= limit for line in lines) or "\t" in indent_unit:
        return new
    users = {line.strip() for line in _physical_lines(old)}
    candidates = {
        row
        for row, line in enumerate(lines, start=1)
        if _width(line.rstrip("\r\n")) > limit and line.strip() not in users
    }
    if not candidates:
        return new
    candidates &= _single_line_rows(new)
    out: list[str] = []
    for row, line in enumerate(lines, start=1):
        body = line.rstrip("\r\n")
        wrapped = _wrap(body, line[len(body) :], style, indent_unit) if row in candidates else None
        out.append(wrapped if wrapped is not None else line)
    return "".join(out)


def _physical_lines(text: str) -> list[str]:
    """The lines as the tokenizer counts them (`\\n`, `\\r\\n`, `\\r`), endings kept: not
    str.splitlines, which also splits at a form feed or U+2028 inside a string."""
    return io.StringIO(text, newline="").readlines()


def _single_line_rows(text: str) -> frozenset[int]:
    """The rows that hold one whole logical line (and nothing of another one)."""
    rows: set[int] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    except (tokenize.TokenError, SyntaxError):
        return frozenset()
    first: int | None = None
    for token in tokens:
        if token.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        if token.type == tokenize.NL and first is None:
            continue  # a blank or comment-only line
        if token.type == tokenize.COMMENT and first is None:
            continue
        if first is None:
            first = token.start[0]
        if token.type == tokenize.NEWLINE:
            if token.start[0] == first and token.start[0] == token.end[0]:
                rows.add(first)
            first = None
    return frozenset(rows)


def _wrap(body: str, ending: str, style: CodeStyle, unit: str) -> str | None:
    indent = body[: len(body) - len(body.lstrip())]
    if "\t" in indent:
        return None
    leaves = _leaves(body[len(indent) :])
    if not leaves:
        return None
    comment = leaves[-1] if leaves[-1].kind == tokenize.COMMENT else None
    code = leaves[:-1] if comment is not None else leaves
    if not code or any(leaf.text == ";" for leaf in _top_level(code)):
        return None
    pragma = comment is not None and comment.text.startswith(_PRAGMAS)
    counted = len(indent) + _width(_render(code)) + (0 if pragma or comment is None else 2)
    if comment is not None and not pragma:
        counted += _width(comment.text)
    if counted <= style.line_length:
        return None
    splitter = _Splitter(style, unit, len(indent))
    lines = splitter.statement(code, counted - len(indent) - _width(_render(code)))
    if len(lines) == 1:
        return None
    rendered = [indent + unit * level + _render(leaves) for level, leaves in lines]
    if not _same_code(indent + _render(code), "".join(line + "\n" for line in rendered)):
        return None
    if comment is not None:
        rendered[-1] += "  " + comment.text
    # The line's own ending between the new lines (and after them, if it had one).
    return (ending or "\n").join(rendered) + ending


def _leaves(code: str) -> list[_Leaf] | None:
    """The tokens of one line of code, f-strings whole; None if it does not tokenize."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    leaves: list[_Leaf] = []
    column = 0
    depth = 0
    start = 0
    for token in tokens:
        if token.type in _LAYOUT:
            continue
        if token.start[0] != 1 or token.end[0] != 1:
            return None
        if token.type in _STRING_STARTS:
            if depth == 0:
                start = token.start[1]
            depth += 1
            continue
        if token.type in _STRING_ENDS:
            depth -= 1
            if depth == 0:
                leaves.append(
                    _Leaf(code[start : token.end[1]], code[column:start], tokenize.STRING)
                )
                column = token.end[1]
            continue
        if depth:
            continue
        leaves.append(_Leaf(token.string, code[column : token.start[1]], token.type))
        column = token.end[1]
    return leaves


def _render(leaves: Sequence[_Leaf]) -> str:
    return "".join((leaf.space if index else "") + leaf.text for index, leaf in enumerate(leaves))


def _width(text: str) -> int:
    """Columns the text takes, as the formatters count them (wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _top_level(leaves: Sequence[_Leaf]) -> Iterator[_Leaf]:
    depth = 0
    for leaf in leaves:
        if leaf.text in _CLOSE and leaf.kind == tokenize.OP:
            depth -= 1
        if depth == 0:
            yield leaf
        if leaf.text in _OPEN and leaf.kind == tokenize.OP:
            depth += 1


def _pairs(leaves: Sequence[_Leaf]) -> list[tuple[int, int]]:
    """The outermost bracket pairs (opening, closing index), in order."""
    pairs: list[tuple[int, int]] = []
    depth = 0
    opening = 0
    for index, leaf in enumerate(leaves):
        if leaf.kind != tokenize.OP:
            continue
        if leaf.text in _OPEN:
            if depth == 0:
                opening = index
            depth += 1
        elif leaf.text in _CLOSE:
            depth -= 1
            if depth == 0:
                pairs.append((opening, index))
    return pairs


class _Splitter:
    """Ruff's right-hand split, on the leaves of one statement or header."""

    def __init__(self, style: CodeStyle, unit: str, indent: int) -> None:
        self.style = style
        self.unit = unit
        self.indent = indent

    def fits(self, leaves: Sequence[_Leaf], level: int) -> bool:
        width = self.indent + level * len(self.unit) + _width(_render(leaves))
        return width <= self.style.line_length

    def statement(self, leaves: Sequence[_Leaf], comment: int) -> list[_Line]:
        """The statement's lines, with the formatter's invisible parentheses first.

        `comment`: the columns its trailing comment takes, which count (as in Ruff)
        for whether the statement must be split at all.
        """
        texts = [leaf.text for leaf in leaves]
        if texts[0] == "from" and "import" in texts and "(" not in texts:
            at = texts.index("import") + 1
            return self._bracketed(
                [*leaves[:at], _Leaf("(", " ", tokenize.OP)],
                leaves[at:],
                [_Leaf(")", "", tokenize.OP)],
                0,
                explode=True,
            )
        start = 1 if texts[0] == "async" else 0
        if (
            len(texts) > start
            and texts[start] == "with"
            and texts[-1] == ":"
            and self.style.parenthesized_with
            and texts[start + 1] != "("
        ):
            items = leaves[start + 1 : -1]
            if len(self._elements(items) or ()) > 1:
                return self._bracketed(
                    [*leaves[: start + 1], _Leaf("(", " ", tokenize.OP)],
                    items,
                    [_Leaf(")", "", tokenize.OP), _Leaf(":", "", tokenize.OP)],
                    0,
                    explode=True,
                )
        fluent = self._fluent(leaves)
        if fluent is not None:
            return fluent
        return self.split(leaves, 0, must=comment > 0)

    def _fluent(self, leaves: Sequence[_Leaf]) -> list[_Line] | None:
        """Ruff's "fluent" layout of a call chain returned or assigned, when it has at
        least two links after a call (`a().b().c()`): in parentheses, one link a line.

            return (
                make_index()
                .get_collection("docs")
                .query(query_texts=[text])
            )
        """
        texts = [leaf.text for leaf in leaves]
        if texts[0] == "return":
            at = 1
        else:
            equals = [i for i, leaf in enumerate(_top_level(leaves)) if leaf.text == "="]
            if len(equals) != 1:
                return None
            at = next(i for i, leaf in enumerate(leaves) if leaf.text == "=") + 1
            if any(leaf.text in _OPEN for leaf in leaves[:at]):
                return None
        links = _chain(leaves[at:])
        if links is None or len(links) < 3:
            return None
        lines: list[_Line] = [(0, [*leaves[:at], _Leaf("(", " ", tokenize.OP)])]
        for link in links:
            lines.extend(self.split(link, 1))
        lines.append((0, [_Leaf(")", "", tokenize.OP)]))
        return lines

    def split(self, leaves: Sequence[_Leaf], level: int, *, must: bool = False) -> list[_Line]:
        """The leaves at `level`, split at their last bracket pair if they do not fit
        (or `must`: the line's comment makes it too long)."""
        if not must and self.fits(leaves, level):
            return [(level, leaves)]
        pair = next(
            (pair for pair in reversed(_pairs(leaves)) if pair[1] > pair[0] + 1),
            None,
        )
        if pair is None:
            return [(level, leaves)]
        opening, closing = pair
        explode = leaves[closing - 1].text == ","  # the magic trailing comma
        head = leaves[: opening + 1]
        return self._bracketed(
            head, leaves[opening + 1 : closing], leaves[closing:], level, explode=explode
        )

    def _bracketed(
        self,
        head: Sequence[_Leaf],
        body: Sequence[_Leaf],
        tail: Sequence[_Leaf],
        level: int,
        *,
        explode: bool,
    ) -> list[_Line]:
        inner = level + 1
        if not explode and self.fits(body, inner):
            return [(level, head), (inner, body), (level, tail)]
        elements = self._elements(body) if self._comma_safe(head, body, explode) else None
        if elements is None or (len(elements) == 1 and not explode):
            return [(level, head), *self.split(body, inner), (level, tail)]
        lines: list[_Line] = [(level, head)]
        for element in elements:
            lines.extend(self.split([*element, _Leaf(",", "", tokenize.OP)], inner))
        lines.append((level, tail))
        return lines

    @staticmethod
    def _elements(body: Sequence[_Leaf]) -> list[list[_Leaf]] | None:
        """The body split at its top-level commas (a trailing one dropped); None when a
        comma there is not a separator (a lambda's parameters, a comprehension's target)."""
        elements: list[list[_Leaf]] = [[]]
        depth = 0
        for leaf in body:
            is_op = leaf.kind == tokenize.OP
            if is_op and leaf.text in _CLOSE:
                depth -= 1
            if depth == 0 and leaf.kind == tokenize.NAME and leaf.text in ("lambda", "for"):
                return None
            if depth == 0 and is_op and leaf.text == ",":
                elements.append([])
            else:
                elements[-1].append(leaf)
            if is_op and leaf.text in _OPEN:
                depth += 1
        if not elements[-1]:
            elements.pop()
        return elements if elements and all(elements) else None

    @staticmethod
    def _comma_safe(head: Sequence[_Leaf], body: Sequence[_Leaf], explode: bool) -> bool:
        """Whether a trailing comma leaves the meaning alone: the brackets of a call, a
        display, or the invisible ones of an import or a `with` (not a subscript, where
        `x[a,]` is a tuple, nor a parenthesized expression, where `(a,)` is one)."""
        if explode:
            return True
        opening = head[-1].text
        before = head[-2] if len(head) > 1 else None
        follows_value = before is not None and (
            (before.kind == tokenize.NAME and not keyword.iskeyword(before.text))
            or before.text in (")", "]")
            or before.kind == tokenize.STRING
        )
        if opening == "(":
            return follows_value or any(leaf.text == "," for leaf in _top_level(body))
        if opening == "[":
            return not follows_value
        return True


def _chain(value: Sequence[_Leaf]) -> list[list[_Leaf]] | None:
    """A call chain cut before each `.name` that follows a call or a subscript, or None
    if `value` is not a chain (a name, then `.name`, `(...)` and `[...]` trailers)."""
    if not value or value[0].kind != tokenize.NAME or keyword.iskeyword(value[0].text):
        return None
    closing = {opening: closing for opening, closing in _pairs(value)}
    links: list[list[_Leaf]] = [[value[0]]]
    index = 1
    after_call = False
    while index < len(value):
        leaf = value[index]
        if leaf.kind == tokenize.OP and leaf.text == "." and index + 1 < len(value):
            if after_call:
                links.append([])
            links[-1].extend(value[index : index + 2])
            index += 2
            after_call = False
        elif leaf.kind == tokenize.OP and leaf.text in ("(", "[") and index in closing:
            end = closing[index] + 1
            links[-1].extend(value[index:end])
            index = end
            after_call = True
        else:
            return None
    return links


def _tree(text: str) -> str | None:
    """The syntax tree of one statement or header (given a body), as text to compare."""
    code = textwrap.dedent(text)
    if code.rstrip().endswith(":"):
        code += " " * 4 + "pass\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _same_code(old: str, new: str) -> bool:
    """Whether `new` is `old` split over lines: the same syntax tree (a trailing comma
    or the parentheses of an import or a `with` change nothing in it)."""
    before = _tree(old + "\n")
    return before is not None and before == _tree(new)
