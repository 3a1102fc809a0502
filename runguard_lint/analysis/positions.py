"""Where nodes are: LibCST's positions, rendered one top-level statement at a time.

`PositionProvider` renders the whole module to count lines and columns, and the
checks ask the positions of a few nodes, nearly always in one or two functions:
on the agent corpus that rendering was a fifth of the time spent in LibCST. The
standard library's tree of the same text tells on which line each top-level
statement starts, so a statement can be rendered alone from its own first line,
with the provider's own codegen state. The rendering must then reproduce the
text on exactly those lines; when it does not (a statement the two parsers split
otherwise, a text without a final newline), the whole module is rendered as the
provider renders it, once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
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
        if text is not None and tree is not None:
            starts = _first_lines(self._module, tree)
            if starts is not None:
                self._lines = _LINE.findall(text)
                self._starts = starts

    def of(self, node: cst.CSTNode) -> CodeRange:
        found = self._computed.get(node)
        if found is not None:
            return found
        if not self._whole:
            statement = self._top_level(node)
            if statement is None or not self._render(statement):
                self._render_all()
        return self._computed[node]

    def _top_level(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The module-level statement holding node, if its first line is known and it
        was not rendered yet."""
        current = node
        parent = self._parents.get(current)
        while parent is not None and parent is not self._module:
            current = parent
            parent = self._parents.get(current)
        if parent is None or id(current) not in self._starts or id(current) in self._rendered:
            return None
        return current

    def _render(self, statement: cst.CSTNode) -> bool:
        """Positions of the statement's nodes, rendered alone from its first line;
        False when the rendering is not the text on those lines."""
        assert self._lines is not None
        self._rendered.add(id(statement))
        first = self._starts[id(statement)] - _lines_before_first_token(statement)
        if first < 1:
            return False
        provider = PositionProvider()
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=provider,
            line=first,
        )
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


def _first_lines(module: cst.Module, tree: ast.Module) -> dict[int, int] | None:
    """The line of each module-level statement's first token (its first decorator),
    by `id` of the LibCST statement; None when the two trees do not pair up (LibCST
    keeps `a = 1; b = 2` as one line of two small statements, the standard library as
    two statements)."""
    body = tree.body
    found: dict[int, int] = {}
    index = 0
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if count < 1 or index + count > len(body):
            return None
        head = body[index]
        decorators = getattr(head, "decorator_list", None) or []
        found[id(statement)] = min([head.lineno, *(d.lineno for d in decorators)])
        index += count
    return found if index == len(body) else None


def _lines_before_first_token(statement: cst.CSTNode) -> int:
    """The comment and blank lines a statement renders before its first token."""
    lines = len(getattr(statement, "leading_lines", ()))
    decorators = getattr(statement, "decorators", ())
    if decorators:
        lines += len(decorators[0].leading_lines)
    return lines
