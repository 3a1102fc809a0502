"""A file in a grammar newer than the running interpreter's, rewritten in Python 3.9's.

See `runguard_lint.grammar`: the stdlib tree of a file that only a newer
Python reads is the tree of this rewrite. It keeps every name, call,
assignment and block the stdlib-tree readers (the prefilter, the project
facts, the class facts) look at, and drops only what 3.9 cannot say: type
parameters, the PEP 701 freedoms of f-strings, `match`, `except*`. What the
code does is not kept; nothing runs or is written from it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import TypeVar, Union

import libcst as cst


def older_grammar(text: str) -> str | None:
    """The file rewritten in the grammar of Python 3.9 (a superset of every later
    interpreter's), or None when LibCST cannot parse it either."""
    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return None
    try:
        return module.visit(_OlderGrammar()).code
    except (cst.CSTValidationError, RecursionError, TypeError):
        return None  # a shape the rewrite does not know: no grammar is said to accept it


_Pattern = Union[cst.MatchPattern, cst.MatchStar]
_Generic = TypeVar("_Generic", cst.FunctionDef, cst.ClassDef)


class _OlderGrammar(cst.CSTTransformer):
    """Rewrites the constructs newer than Python 3.9 into 3.9 code that uses the same
    names the same way (what the stdlib-tree readers look at); behaviour is not kept.

    - `type X[T] = v` (3.12) -> `X = v`; `def f[T]`, `class C[T]` lose their parameters;
    - an f-string (or t-string, 3.14) the running parser rejects (PEP 701's nested
      quotes, comments, line breaks) -> a tuple of its expressions;
    - `match` (3.10) -> `if subject:` with one `if (pattern, guard):` per case, the
      pattern written as the expression it looks like (`Point(x=0)`, `[a, *rest]`);
    - `except*` (3.11) -> `except`; `a[*b]` (3.11) -> `a[b]`; `except A, B:` (3.14)
      -> `except (A, B):`.
    """

    def leave_TypeAlias(self, original: cst.TypeAlias, updated: cst.TypeAlias) -> cst.Assign:
        return cst.Assign(
            targets=[cst.AssignTarget(updated.name)],
            value=updated.value,
            semicolon=updated.semicolon,
        )

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        return _without_type_parameters(updated)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        return _without_type_parameters(updated)

    def __init__(self) -> None:
        super().__init__()
        # Inside an implicit concatenation (`"a" f"{x}"`) a string is rewritten with
        # the whole concatenation: a tuple cannot stand among string literals.
        self._concatenations = 0

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        self._concatenations += 1
        return True

    def leave_ConcatenatedString(
        self, original: cst.ConcatenatedString, updated: cst.ConcatenatedString
    ) -> cst.BaseExpression:
        self._concatenations -= 1
        return updated if self._concatenations else _older_string(updated)

    def leave_FormattedString(
        self, original: cst.FormattedString, updated: cst.FormattedString
    ) -> cst.BaseExpression:
        return updated if self._concatenations else _older_string(updated)

    def leave_TemplatedString(
        self, original: cst.TemplatedString, updated: cst.TemplatedString
    ) -> cst.BaseExpression:
        return updated if self._concatenations else _older_string(updated)

    def leave_Match(self, original: cst.Match, updated: cst.Match) -> cst.If:
        cases = [
            cst.If(
                test=_as_tuple([_pattern_expression(case.pattern), *_optional(case.guard)]),
                body=case.body,
                leading_lines=case.leading_lines,
            )
            for case in updated.cases
        ]
        return cst.If(
            test=updated.subject,
            body=cst.IndentedBlock(
                body=cases,
                header=updated.whitespace_after_colon,
                indent=updated.indent,
                footer=updated.footer,
            ),
            leading_lines=updated.leading_lines,
        )

    def leave_TryStar(self, original: cst.TryStar, updated: cst.TryStar) -> cst.Try:
        handlers = [
            cst.ExceptHandler(
                body=handler.body,
                type=handler.type,
                name=handler.name,
                leading_lines=handler.leading_lines,
            )
            for handler in updated.handlers
        ]
        return cst.Try(
            body=updated.body,
            handlers=handlers,
            orelse=updated.orelse,
            finalbody=updated.finalbody,
            leading_lines=updated.leading_lines,
        )

    def leave_ExceptHandler(
        self, original: cst.ExceptHandler, updated: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        caught = updated.type
        if isinstance(caught, cst.Tuple) and not caught.lpar:
            return updated.with_changes(
                type=caught.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            )
        return updated

    def leave_Index(self, original: cst.Index, updated: cst.Index) -> cst.Index:
        return updated.with_changes(star=None) if updated.star is not None else updated


def _without_type_parameters(node: _Generic) -> _Generic:
    if node.type_parameters is None:
        return node
    return node.with_changes(type_parameters=None)


_String = Union[cst.FormattedString, cst.TemplatedString, cst.ConcatenatedString]


def _older_string(string: _String) -> cst.BaseExpression:
    """The string itself when the running parser reads it, else its expressions."""
    code = cst.Module(body=[]).code_for_node(string)
    try:
        ast.parse(f"({code})", mode="eval")
    except SyntaxError:
        return _as_tuple(list(_interpolations(string)))
    return string


def _interpolations(node: cst.CSTNode) -> Iterator[cst.BaseExpression]:
    """The expressions of an f-string's or t-string's parts (format specs included),
    or of every such string in a concatenation."""
    if isinstance(node, cst.ConcatenatedString):
        yield from _interpolations(node.left)
        yield from _interpolations(node.right)
    elif isinstance(node, (cst.FormattedString, cst.TemplatedString)):
        for part in node.parts:
            yield from _interpolations(part)
    elif isinstance(node, (cst.FormattedStringExpression, cst.TemplatedStringExpression)):
        yield node.expression
        for part in node.format_spec or ():
            yield from _interpolations(part)


def _optional(node: cst.BaseExpression | None) -> list[cst.BaseExpression]:
    return [] if node is None else [node]


def _as_tuple(values: Sequence[cst.BaseExpression]) -> cst.Tuple:
    return cst.Tuple(
        elements=[cst.Element(value) for value in values],
        lpar=[cst.LeftParen()],
        rpar=[cst.RightParen()],
    )


def _pattern_expression(pattern: _Pattern) -> cst.BaseExpression:
    """What a pattern looks like as an expression: the names, calls and literals it holds."""
    if isinstance(pattern, (cst.MatchValue, cst.MatchSingleton)):
        return pattern.value
    if isinstance(pattern, cst.MatchStar):
        return pattern.name or cst.Name("_")
    if isinstance(pattern, cst.MatchAs):
        inner = [] if pattern.pattern is None else [_pattern_expression(pattern.pattern)]
        named = [] if pattern.name is None else [pattern.name]
        parts = inner + named
        return parts[0] if len(parts) == 1 else _as_tuple(parts or [cst.Name("_")])
    if isinstance(pattern, cst.MatchSequence):
        return cst.List(
            elements=[cst.Element(_pattern_expression(_element(p))) for p in pattern.patterns]
        )
    if isinstance(pattern, cst.MatchMapping):
        elements: list[cst.BaseDictElement] = [
            cst.DictElement(element.key, _pattern_expression(element.pattern))
            for element in pattern.elements
        ]
        if pattern.rest is not None:
            elements.append(cst.StarredDictElement(pattern.rest))
        return cst.Dict(elements=elements)
    if isinstance(pattern, cst.MatchClass):
        # `case Session(host=h):` tests the class and binds `h`; it calls nothing (a
        # call here would read as a construction of `Session`).
        parts = [_pattern_expression(p.value) for p in pattern.patterns]
        parts += [_pattern_expression(k.pattern) for k in pattern.kwds]
        return _as_tuple([pattern.cls, *parts])
    if isinstance(pattern, cst.MatchOr):
        return _as_tuple([_pattern_expression(p.pattern) for p in pattern.patterns])
    raise TypeError(f"unknown pattern {type(pattern).__name__}")


def _element(element: cst.MatchSequenceElement | cst.MatchStar) -> _Pattern:
    return element.value if isinstance(element, cst.MatchSequenceElement) else element
