"""What the stages ask of the stdlib `ast` tree: imports, statements, regions, names."""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterator

from runguard_lint.astwalk import block_fields, imports_in

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
# Node type -> those of the fields above it has (most statements have none).
_BLOCKS: dict[type[ast.AST], tuple[str, ...]] = {}
_IMPORTS: dict[int, tuple[ast.Module, dict[str, set[str]]]] = {}


def import_map(tree: ast.Module) -> dict[str, set[str]]:
    """Local name -> every qualified name an import anywhere in the file binds it to
    (a name imported differently in two functions has both: LibCST resolves each use in
    its own scope, so the prefilter must allow for either).

    Made from `astwalk.imports_in` (no expression visited) and kept for the tree at
    hand, which several stages ask.
    """
    known = _IMPORTS.get(id(tree))
    if known is not None and known[0] is tree:
        return known[1]
    mapping: dict[str, set[str]] = {}
    for node in imports_in(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    mapping.setdefault(alias.asname, set()).add(alias.name)
                else:
                    head = alias.name.split(".", 1)[0]
                    mapping.setdefault(head, set()).add(head)
        elif node.module and not node.level:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                mapping.setdefault(alias.asname or alias.name, set()).add(qualified)
    _IMPORTS.clear()
    _IMPORTS[id(tree)] = (tree, mapping)
    return mapping


def statements(tree: ast.Module, *, into_definitions: bool = True) -> Iterator[ast.stmt]:
    """Every statement in the file, no expression visited; with `into_definitions=False`,
    only those that run at module level: the module's own, and those inside its
    `if`/`try`/`with`/`for` blocks (`if TYPE_CHECKING:`, `try: ... except ImportError:`),
    whose functions and classes are as global as the others."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.stmt):
            yield node
            if not into_definitions and isinstance(node, (*SCOPES, ast.ClassDef)):
                continue
        kind = type(node)
        fields = _BLOCKS.get(kind)
        if fields is None:
            fields = _BLOCKS[kind] = block_fields(kind, _BLOCK_FIELDS)
        for field in fields:
            block = getattr(node, field, None)
            if block:
                stack.extend(reversed(block))


def holds_line(node: ast.stmt | ast.expr | ast.keyword, lines: list[int]) -> bool:
    """Whether node (with its decorators) spans one of lines (sorted)."""
    end = node.end_lineno or node.lineno
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    index = bisect.bisect_left(lines, start)
    return index < len(lines) and lines[index] <= end


def regions(tree: ast.Module, rows: list[int]) -> Iterator[ast.AST]:
    """The top-level statements, class members and class headers that span one of rows:
    whatever mentions a name on those rows lies within one of them."""
    for statement in tree.body:
        if not holds_line(statement, rows):
            continue
        if not isinstance(statement, ast.ClassDef):
            yield statement
            continue
        parts: list[ast.expr | ast.keyword] = [
            *statement.decorator_list,
            *statement.bases,
            *statement.keywords,
        ]
        for part in parts:
            if holds_line(part, rows):
                yield part
        for member in statement.body:
            if holds_line(member, rows):
                yield member


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def names_one_of(node: ast.expr, terminals: frozenset[str], imports: dict[str, set[str]]) -> bool:
    """Whether a dotted name ends in one of `terminals`, as written or through an import
    alias (`from collections import OrderedDict as OD`)."""
    name = dotted(node)
    if not name:
        return False
    head, _, rest = name.partition(".")
    if rest or name.rsplit(".", 1)[-1] in terminals:
        return name.rsplit(".", 1)[-1] in terminals
    return any(target.rsplit(".", 1)[-1] in terminals for target in imports.get(head, ()))
