"""The plan: what LibCST must see of a file, from what the stages found."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from runguard_lint.astwalk import walk
from runguard_lint.config import Settings
from runguard_lint.needs import Need
from runguard_lint.prefilter.acquisitions import acquisition_candidates
from runguard_lint.prefilter.caches import (
    cache_view,
    has_functools_cache,
    may_hold_dict_cache,
    may_use_functools_cache,
)
from runguard_lint.prefilter.syntax import holds_line, statements
from runguard_lint.prefilter.text import text_pattern


@dataclass(frozen=True)
class AnalysisPlan:
    """What LibCST must see of a file: all of it, or all but some function bodies.

    `stubbed` lists (first, last) line ranges, 1-based and inclusive, of the
    bodies of functions that hold nothing a check could report; they are
    replaced by `pass` and blank lines, so every other line keeps its number
    and the positions LibCST reports are those of the original file.
    """

    stubbed: tuple[tuple[int, int], ...] = ()
    # The needs whose candidates the prefilter kept in view. A rule whose needs are all
    # outside it must not run: what it would look at may be stubbed out (an eviction in a
    # `__del__` blanked because no dict looked like a cache), so anything it said would
    # rest on a partial view of the file.
    kept: frozenset[Need] = frozenset(Need)

    def apply(self, text: str) -> str:
        """The text LibCST parses: stubbed bodies blanked, line structure kept."""
        if not self.stubbed:
            return text
        lines = _LINE.findall(text)
        for first, last in self.stubbed:
            for row in range(first, min(last, len(lines)) + 1):
                line = lines[row - 1]
                body = line.rstrip("\r\n")
                ending = line[len(body) :]
                if row == first:
                    indent = body[: len(body) - len(body.lstrip(" \t"))]
                    lines[row - 1] = f"{indent}pass{ending}"
                else:
                    lines[row - 1] = ending
        return "".join(lines)

    def touches_stub(self, first_row: int, end_row: int) -> bool:
        """Whether an edit of rows [first_row, end_row) (or an insertion at first_row)
        would change a stubbed body, which LibCST never saw."""
        last_row = max(first_row, end_row - 1)
        return any(first_row <= last and last_row >= first for first, last in self.stubbed)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def may_report(
    text: str, settings: Settings, needs: frozenset[Need], project_names: frozenset[str]
) -> bool:
    """Whether `analysis_plan` can keep anything of a file with this text, judged from the
    text alone, before any parse (a superset: each test is the text test that stage
    itself starts with). `project_names`: the last names of the project's factories and
    re-exported constructors, which acquire like the catalog's.

    A file it rules out is neither parsed nor analysed: no rule can report anything
    there, so it needs no syntax check either (RG900, unless `check-syntax`)."""
    if Need.ACQUISITIONS in needs and (
        text_pattern(settings.catalog.distinctive_names()).search(text)
        or (project_names and not project_names.isdisjoint(_WORD.findall(text)))
    ):
        return True
    if Need.DICT_CACHES in needs and may_hold_dict_cache(text):
        return True
    return Need.FUNCTOOLS_CACHES in needs and may_use_functools_cache(text)


_WORD = re.compile(r"\w+")


def analysis_plan(
    tree: ast.Module, text: str, settings: Settings, needs: frozenset[Need], *, stub: bool = True
) -> AnalysisPlan | None:
    """None when no enabled rule can report anything here, else what LibCST must see.

    The bodies of top-level functions and of methods that can matter to no
    check are stubbed out. A function matters to the acquisition rules when it
    holds a candidate acquisition (or, for a method of such a class, mentions a
    pool type RG105 looks up); to the dict-cache rule when it may touch a
    module- or class-level dict, or calls such a function, or is called by one
    (see `caches.cache_view`). A class body is stubbed whole unless it holds a
    candidate acquisition or mentions what the dict-cache rule follows. A short
    top-level function that a function holding a candidate calls keeps its body too,
    for the exception model (`_called_helpers`). The functools-cache rule (preview)
    looks at the whole module.
    """
    catalog = settings.catalog
    candidates: list[ast.expr] = []
    if Need.ACQUISITIONS in needs and text_pattern(catalog.distinctive_names()).search(text):
        candidates = acquisition_candidates(
            tree, text, catalog, keep_with_items=Need.WITH_ITEMS in needs
        )
    view = cache_view(tree, text) if Need.DICT_CACHES in needs else None
    units = None if view is None else view.units
    whole_file = Need.FUNCTOOLS_CACHES in needs and has_functools_cache(tree)
    if not candidates and units is None and not whole_file:
        return None
    if whole_file or not stub:
        return AnalysisPlan()
    kept: set[Need] = {Need.SYNTAX}
    if candidates:
        kept |= {Need.ACQUISITIONS, Need.WITH_ITEMS}
    if units is not None:
        kept.add(Need.DICT_CACHES)
    kept_units = units or set()
    # The dict-cache analysis reads class bodies wherever they are (a nested class's method,
    # a `staticmethod(_get)`, a decorator): with a cache candidate, only methods are stubbed
    # in a class that `cache_view` keeps open.
    open_classes = view.open_classes if view is not None else frozenset()
    lines = sorted(call.lineno for call in candidates)
    type_names = {
        name.rsplit(".", 1)[-1]
        for kinds in catalog.by_method.values()
        for kind in kinds
        for name in kind.on
    }
    stubbed: list[tuple[int, int]] = []
    text_lines = _LINE.findall(text)
    helpers = _called_helpers(tree, lines)
    for statement in statements(tree, into_definitions=False):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if (
                not holds_line(statement, lines)
                and statement not in kept_units
                and statement not in helpers
            ):
                stubbed.extend(_body_range(statement, text_lines))
        elif not isinstance(statement, ast.ClassDef):
            continue
        elif holds_line(statement, lines) or statement in open_classes:
            acquiring = holds_line(statement, lines)
            for member in statement.body:
                if (
                    isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and member not in kept_units
                    and not holds_line(member, lines)
                    and not (acquiring and _mentions(member, type_names))
                ):
                    stubbed.extend(_body_range(member, text_lines))
        else:
            stubbed.extend(_body_range(statement, text_lines))
    return AnalysisPlan(tuple(stubbed), frozenset(kept))


# The longest helper whose body the plan keeps for the exception model: a longer one is
# taken to be able to raise (the model would find a call that can, nearly always).
_HELPER_LINES = 30


def _called_helpers(tree: ast.Module, lines: list[int]) -> set[ast.AST]:
    """Short top-level functions that a top-level function holding a candidate calls by
    name: whether such a call between an acquisition and its `try` can raise asks of
    their bodies (`flow.RaisingCode`), which a stub would hide. Not one whose name a
    `global` statement declares: the function that rebinds it may be stubbed, and the
    analysis would take the one binding it sees for the only one."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    top = {
        node.name: node
        for node in tree.body
        if isinstance(node, functions)
        and (node.end_lineno or node.lineno) - node.lineno <= _HELPER_LINES
    }
    called: set[str] = set()
    if not lines or not top:
        return set()
    for statement in tree.body:
        if not (isinstance(statement, functions) and holds_line(statement, lines)):
            continue
        for node in walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in top
            ):
                called.add(node.func.id)
    if called:
        # Only then the whole module is read for `global` statements.
        for node in walk(tree):
            if isinstance(node, ast.Global):
                called.difference_update(node.names)
    return {top[name] for name in called}


def _body_range(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]
) -> list[tuple[int, int]]:
    """The lines of a body that can be blanked: none when the body shares a line with
    its header (`def f(): return 1`), so that no header text is ever blanked."""
    first_statement = node.body[0]
    # A decorated def starts at its first decorator, not at `def`.
    first = min(
        [
            first_statement.lineno,
            *(d.lineno for d in getattr(first_statement, "decorator_list", ())),
        ]
    )
    last = node.end_lineno or first
    if first > len(lines) or lines[first - 1][: first_statement.col_offset].strip():
        return []
    return [(first, last)]


def _mentions(node: ast.AST, names: set[str]) -> bool:
    for child in walk(node):
        if isinstance(child, ast.Name) and child.id in names:
            return True
        if isinstance(child, ast.Attribute) and child.attr in names:
            return True
    return False
