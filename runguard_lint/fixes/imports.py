"""Naming what a fix needs (`contextlib.closing`, `ResourceScope`) in the file's own style.

An existing import is reused as written (`from functools import cache as c`
gives `c`, `import functools as ft` gives `ft.cache`); otherwise one import is
added, by LibCST's AddImportsVisitor, which merges into an existing
`from module import ...` line and never duplicates one. A name that would
clash with another binding of the module, or that a function shadows where it
is used, gives no fix rather than a wrong one.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import GlobalScope

from runguard_lint.analysis.names import FunctionNode, ModuleFacts
from runguard_lint.fixes.tree import with_head

if TYPE_CHECKING:
    from libcst.codemod.visitors import ImportItem

# LibCST's codemod package (its import visitors) is imported where a fix adds or
# removes an import, not with this module: it loads LibCST's matchers, 130 ms in each
# process that checks files, and most runs render no such fix.


class NameUnavailable(Exception):
    """The file has no free name for what a fix needs: the fix is not offered."""


@dataclass(frozen=True)
class _ModuleImport:
    index: int  # position of the import statement in the module body
    local: str  # the name it binds


@dataclass
class Imports:
    """The imports one fix needs, and how the file lets the fix spell each name."""

    facts: ModuleFacts
    needed: list[ImportItem] = field(default_factory=list)
    unused: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def name(
        self,
        module: str,
        obj: str,
        *,
        prefer_from: bool = False,
        before_index: int | None = None,
        used_in: FunctionNode | None = None,
    ) -> cst.BaseExpression:
        """An expression naming `module.obj` where the fix uses it.

        `before_index`: the use runs at import time in the module body statement
        at that index, so an existing import must come before it (added imports
        go to the top). `used_in`: the function the use is in, which must not
        shadow the name.
        """
        text = self._spell(module, obj, prefer_from, before_index)
        head = text.split(".", 1)[0]
        if used_in is not None and _shadowed(self.facts, used_in, head):
            raise NameUnavailable(head)
        return cst.parse_expression(text)

    def _spell(self, module: str, obj: str, prefer_from: bool, before_index: int | None) -> str:
        from_imports, module_imports, from_modules = _module_imports(self.facts.module)

        def usable(found: _ModuleImport) -> bool:
            return before_index is None or found.index < before_index

        direct = from_imports.get((module, obj))
        if direct is not None and usable(direct):
            return direct.local
        whole = module_imports.get(module)
        if whole is not None and usable(whole):
            return f"{whole.local}.{obj}"
        bound = _global_names(self.facts)
        root = module.split(".", 1)[0]
        # An import that is there but too late must not be repeated in the same form.
        from_style = (
            prefer_from or module in from_modules or root in bound or whole is not None
        ) and direct is None
        if from_style and obj not in bound:
            self._need(module, obj)
            return obj
        if root not in bound:
            self._need(module)
            return f"{module}.{obj}"
        raise NameUnavailable(f"{module}.{obj}")

    def _need(self, module: str, obj: str | None = None) -> None:
        from libcst.codemod.visitors import ImportItem

        item = ImportItem(module, obj)
        if item not in self.needed:
            self.needed.append(item)

    def drop_if_unused(self, local: str) -> None:
        """Remove the module-level import binding `local` if the fix leaves it unused."""
        for module, obj, bound in _bindings(self.facts.module):
            if bound == local:
                name = obj or module
                self.unused.append((module, obj, local if local != name else None))

    def add_to(self, module: cst.Module) -> cst.Module:
        """The module with the needed imports added and the now unused ones removed."""
        if self.needed:
            # The visitor only reads and changes the docstring and the first block of
            # imports (and the blank lines after it): give it just that head, so its
            # cost does not grow with the file, and the rest stays the same objects.
            cut = _head_length(module) + 1
            new_head = _with_imports(
                module.with_changes(body=module.body[:cut], footer=()), tuple(self.needed)
            )
            module = with_head(module, cut, new_head)
        if self.unused:
            from libcst.codemod import CodemodContext
            from libcst.codemod.visitors import RemoveImportsVisitor

            context = CodemodContext()
            for module_name, obj, alias in self.unused:
                RemoveImportsVisitor.remove_unused_import(context, module_name, obj, alias)
            module = RemoveImportsVisitor(context).transform_module(module)
        return module


@lru_cache(maxsize=4)
def _module_imports(
    module: cst.Module,
) -> tuple[dict[tuple[str, str], _ModuleImport], dict[str, _ModuleImport], set[str]]:
    """Module-body imports: `from m import o [as a]`, `import m [as a]`, modules imported from.
    Once per module (every fix of a file asks); the answer is only read."""
    from_imports: dict[tuple[str, str], _ModuleImport] = {}
    module_imports: dict[str, _ModuleImport] = {}
    from_modules: set[str] = set()
    for index, statement in enumerate(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and small.module:
                source = cst.Module([]).code_for_node(small.module)
                from_modules.add(source)
                if isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    name = cst.Module([]).code_for_node(alias.name)
                    local = alias.evaluated_alias or name
                    from_imports.setdefault((source, name), _ModuleImport(index, local))
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    name = cst.Module([]).code_for_node(alias.name)
                    # `import a.b` binds `a`, through which `a.b.obj` is reachable.
                    local = alias.evaluated_alias or name
                    module_imports.setdefault(name, _ModuleImport(index, local))
    return from_imports, module_imports, from_modules


# The findings of one file mostly need the same import added to the same head:
# (head statements, imports) -> new head statements. Keys hold their statements,
# so an id is never reused while its entry lives.
_HEADS: OrderedDict[
    tuple[int, ...],
    tuple[tuple[cst.CSTNode, ...], tuple[ImportItem, ...], tuple[cst.BaseStatement, ...]],
] = OrderedDict()


def _with_imports(
    head: cst.Module, needed: tuple[ImportItem, ...]
) -> tuple[cst.BaseStatement, ...]:
    key = tuple(id(statement) for statement in head.body)
    found = _HEADS.get(key)
    if found is not None and found[1] == needed:
        _HEADS.move_to_end(key)
        return found[2]
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    result = head.visit(AddImportsVisitor(CodemodContext(), list(needed)))
    assert isinstance(result, cst.Module)
    old_code = {head.code_for_node(statement) for statement in head.body}
    body: list[cst.BaseStatement] = list(result.body)
    for statement in [s for s in body if head.code_for_node(s) not in old_code]:
        line = _import_line(statement)
        if line is not None:
            body = _sorted_in(body, line, _names_sorted(line))
    _HEADS[key] = (tuple(head.body), needed, tuple(body))
    while len(_HEADS) > 16:
        _HEADS.popitem(last=False)
    return tuple(body)


def _import_line(statement: cst.BaseStatement) -> cst.SimpleStatementLine | None:
    """The statement if it is an import line (not `from __future__`), else None."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return statement
    if isinstance(small, cst.ImportFrom) and _imported_module(small) != "__future__":
        return statement
    return None


def _imported_module(small: cst.BaseSmallStatement) -> str:
    if isinstance(small, cst.Import):
        return cst.Module([]).code_for_node(small.names[0].name)
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        return cst.Module([]).code_for_node(small.module)
    return ""


def _names_sorted(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """`from m import per_loop, BoundedCache` -> `from m import BoundedCache, per_loop`.

    isort's `order-by-type`: CONSTANTS, Classes, functions. Only for a
    one-line import (a parenthesized one may carry comments).
    """
    small = line.body[0]
    if (
        not isinstance(small, cst.ImportFrom)
        or isinstance(small.names, cst.ImportStar)
        or small.lpar is not None
    ):
        return line
    names = list(small.names)

    def order(alias: cst.ImportAlias) -> tuple[int, str]:
        name = cst.Module([]).code_for_node(alias.name)
        kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return kind, name

    ordered = sorted(names, key=order)
    if ordered == names:
        return line
    commas = [alias.comma for alias in names]
    ordered = [alias.with_changes(comma=comma) for alias, comma in zip(ordered, commas)]
    return line.with_changes(body=[small.with_changes(names=ordered), *line.body[1:]])


def _import_key(statement: cst.SimpleStatementLine) -> tuple[int, str]:
    """isort's order within a section: `import a` lines first, then `from a import b`."""
    small = statement.body[0]
    return (0 if isinstance(small, cst.Import) else 1), _imported_module(small).lower()


def _is_stdlib(statement: cst.SimpleStatementLine) -> bool:
    return _imported_module(statement.body[0]).split(".", 1)[0] in _STDLIB


def _is_third_party(statement: cst.SimpleStatementLine) -> bool:
    """An absolute import outside the standard library."""
    return bool(_imported_module(statement.body[0])) and not _is_stdlib(statement)


def _sorted_in(
    body: Sequence[cst.BaseStatement], added: cst.SimpleStatementLine, new: cst.SimpleStatementLine
) -> list[cst.BaseStatement]:
    """Move an added import (as `new`) into its section (stdlib or not), at its sorted place.

    Sections are the runs of imports separated by blank lines; a standard
    library import goes to the first all-stdlib section, another one to the
    last section holding an absolute non-stdlib import (or, if there is none,
    to a new section after the standard library's). Otherwise it stays where
    AddImportsVisitor put it (the end of the import block).
    """
    rest = [statement for statement in body if statement is not added]
    sections: list[list[tuple[int, cst.SimpleStatementLine]]] = []
    for index, statement in enumerate(rest):
        line = _import_line(statement)
        if line is None:
            continue
        if not sections or line.leading_lines or sections[-1][-1][0] != index - 1:
            sections.append([])
        sections[-1].append((index, line))
    stdlib = _is_stdlib(new)
    if stdlib:
        matching = [section for section in sections if all(_is_stdlib(line) for _, line in section)]
    else:
        matching = [
            section for section in sections if any(_is_third_party(line) for _, line in section)
        ]
    if not matching:
        standard = [section for section in sections if all(_is_stdlib(line) for _, line in section)]
        if stdlib or not standard:
            return [new if statement is added else statement for statement in body]
        # Only standard library and relative imports: a section of its own after the former.
        end = standard[-1][-1][0] + 1
        return [*rest[:end], new.with_changes(leading_lines=(cst.EmptyLine(),)), *rest[end:]]
    section = matching[0] if stdlib else matching[-1]
    key = _import_key(new)
    position = next(
        (index for index, line in section if _import_key(line) > key), section[-1][0] + 1
    )
    moved = new.with_changes(leading_lines=())
    if position == section[0][0]:
        first = section[0][1]
        moved = new.with_changes(leading_lines=first.leading_lines)
        rest[position] = first.with_changes(leading_lines=())
    return [*rest[:position], moved, *rest[position:]]


_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {
        "abc",
        "asyncio",
        "collections",
        "concurrent",
        "contextlib",
        "dataclasses",
        "functools",
        "io",
        "itertools",
        "json",
        "logging",
        "os",
        "pathlib",
        "re",
        "sqlite3",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "typing",
        "weakref",
    }
)


def _head_length(module: cst.Module) -> int:
    """How many statements the docstring and the first import block span (or more)."""

    def is_import(statement: cst.BaseStatement) -> bool:
        return isinstance(statement, cst.SimpleStatementLine) and isinstance(
            statement.body[0], (cst.Import, cst.ImportFrom)
        )

    body = module.body
    # A first statement that is not an import may be the docstring (or `__strict__`).
    index = 1 if body and not is_import(body[0]) else 0
    while index < len(body) and is_import(body[index]):
        index += 1
    return index


def _bindings(module: cst.Module) -> list[tuple[str, str | None, str]]:
    """(module, imported name or None, local name) for every module-body import."""
    found: list[tuple[str, str | None, str]] = []
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom)
                and not small.relative
                and small.module
                and not isinstance(small.names, cst.ImportStar)
            ):
                source = cst.Module([]).code_for_node(small.module)
                for alias in small.names:
                    name = cst.Module([]).code_for_node(alias.name)
                    found.append((source, name, alias.evaluated_alias or name))
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    name = cst.Module([]).code_for_node(alias.name)
                    found.append((name, None, alias.evaluated_alias or name))
    return found


@lru_cache(maxsize=4)
def _global_names(facts: ModuleFacts) -> frozenset[str]:
    """Names bound at module level, by any statement anywhere (incl. `global` in functions).
    Once per module: every fix of a file asks it."""
    body = facts.module.body
    scope = facts.scope(body[0]) if body else None
    if not isinstance(scope, GlobalScope):
        return frozenset()
    return frozenset(assignment.name for assignment in scope.assignments)


def _shadowed(facts: ModuleFacts, function: FunctionNode, name: str) -> bool:
    """Whether name is bound locally in function or a function around it."""
    current: cst.CSTNode | None = function
    while current is not None:
        if isinstance(current, (cst.FunctionDef, cst.Lambda)):
            scope = facts.function_scope(current)
            if scope is not None and not isinstance(scope, GlobalScope) and scope.assignments[name]:
                return True
        current = facts.parent(current)
    return False
