"""Where nodes are: LibCST's positions, rendered one statement at a time.

`PositionProvider` renders the whole module to count lines and columns, and the
checks ask the positions of a few nodes, nearly always in one or two functions:
on the agent corpus that rendering was a fifth of the time spent in LibCST. The
standard library's tree of the same text tells on which line each top-level
statement starts, so a statement can be rendered alone from its own first line,
with the provider's own codegen state; a member of a top-level class (a method)
is rendered alone in the same way, under the class body's indentation, since most
questions are about one method of a large class. The rendering must then reproduce the
text on exactly those lines; when it does not (a statement the two parsers split
otherwise, a text without a final newline), the whole module is rendered as the
provider renders it, once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import cast

import libcst as cst
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState


class Positions:
    """The positions of one module's nodes, as `PositionProvider` gives them.

    `text` and `tree` are the module's text and its standard-library tree, with the
    same line numbers as the LibCST module; without them every question renders the
    whole module."""

    def __init__(
        self,
        wrapper: cst.MetadataWrapper,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        text: str | None = None,
        tree: ast.Module | None = None,
    ) -> None:
        self._wrapper = wrapper
        self._module = wrapper.module
        self._parents = parents
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._whole = False
        self._rendered: set[int] = set()
        self._lines: list[str] | None = None
        self._starts: dict[int, int] = {}
        # The stdlib statement starting on each line a module-level statement starts on.
        self._ast_statements: dict[int, ast.stmt] = {}
        self._class_starts: dict[int, dict[int, int]] = {}
        if text is not None and tree is not None:
            starts = _paired_lines(self._module.body, tree.body)
            if starts is not None:
                self._lines = _LINE.findall(text)
                self._starts = starts
                self._ast_statements = {_first_line(node): node for node in tree.body}

    def of(self, node: cst.CSTNode) -> CodeRange:
        found = self._computed.get(node)
        if found is not None:
            return found
        if not self._whole and not self._render_holder(node):
            self._render_all()
        return self._computed[node]

    def _render_holder(self, node: cst.CSTNode) -> bool:
        """Render the smallest statement known to hold node: the member of a top-level
        class when node lies in one (a method, not the whole class), else the
        module-level statement; False when neither renders as the text reads."""
        chain = [node]
        parent = self._parents.get(node)
        while parent is not None and parent is not self._module:
            chain.append(parent)
            parent = self._parents.get(parent)
        top = chain[-1]
        if parent is None or id(top) not in self._starts:
            return False
        if isinstance(top, cst.ClassDef) and isinstance(top.body, cst.IndentedBlock):
            members = self._members(top)
            # chain[-2] is the class's IndentedBlock, chain[-3] the member holding node.
            member = chain[-3] if len(chain) >= 3 and chain[-2] is top.body else None
            if member is not None and id(member) in members and id(member) not in self._rendered:
                indent = top.body.indent
                indent = self._module.default_indent if indent is None else indent
                if self._render(member, members[id(member)], indent):
                    return True
        if id(top) in self._rendered:
            return False
        return self._render(top, self._starts[id(top)])

    def _members(self, statement: cst.ClassDef) -> dict[int, int]:
        """The first line of each member of a top-level class, as `_first_lines` finds
        those of the module's statements (empty when the two trees do not pair up)."""
        known = self._class_starts.get(id(statement))
        if known is None:
            known = {}
            pair = self._ast_statements.get(self._starts[id(statement)])
            if isinstance(pair, ast.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                known = _paired_lines(statement.body.body, pair.body) or {}
            self._class_starts[id(statement)] = known
        return known

    def _render(self, statement: cst.CSTNode, start: int, indent: str = "") -> bool:
        """Positions of the statement's nodes, rendered alone from its first line
        (`start`, its first token's) under `indent`; False when the rendering is not the
        text on those lines."""
        assert self._lines is not None
        self._rendered.add(id(statement))
        first = start - _lines_before_first_token(statement)
        if first < 1:
            return False
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=provider,
            line=first,
        )
        if indent:
            state.indent_tokens.append(indent)
        statement._codegen(state)
        code = "".join(state.tokens)
        if code != "".join(self._lines[first - 1 : first - 1 + len(_LINE.findall(code))]):
            return False
        self._computed.update(cast("dict[cst.CSTNode, CodeRange]", provider._computed))
        return True

    def _render_all(self) -> None:
        self._computed.update(self._wrapper.resolve(PositionProvider))
        self._whole = True


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _paired_lines(
    statements: Sequence[cst.BaseStatement], body: list[ast.stmt]
) -> dict[int, int] | None:
    """The line of each statement's first token (its first decorator), by `id` of the
    LibCST statement, from the stdlib statements of the same block; None when the two
    do not pair up (LibCST keeps `a = 1; b = 2` as one line of two small statements,
    the standard library as two statements)."""
    found: dict[int, int] = {}
    index = 0
    for statement in statements:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if count < 1 or index + count > len(body):
            return None
        found[id(statement)] = _first_line(body[index])
        index += count
    return found if index == len(body) else None


def _first_line(node: ast.stmt) -> int:
    """The line of a statement's first token: its first decorator's, if any."""
    lines = [node.lineno]
    lines += [decorator.lineno for decorator in getattr(node, "decorator_list", None) or []]
    return min(lines)


def _lines_before_first_token(statement: cst.CSTNode) -> int:
    """The comment and blank lines a statement renders before its first token."""
    lines = len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        lines += len(decorators[0].leading_lines)
    return lines
