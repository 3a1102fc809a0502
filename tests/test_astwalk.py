"""The fast stdlib walks answer what `ast` answers, and the walks built on them find
what they found before they were fast: the summariser's one walk of a function
(`summary._Own`) and the acquisition stage's pruned walk."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from runguard_lint.analysis.project import summary
from runguard_lint.astwalk import children, imports_in, walk
from runguard_lint.config import Settings
from runguard_lint.prefilter import acquisitions
from runguard_lint.prefilter.syntax import SCOPES, regions, statements
from runguard_lint.prefilter.text import hit_rows, text_pattern

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Nodes that carry no code of their own: contexts and operators.
_LEFT_OUT = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)

SNIPPET = """
import os, httpx as h
from a import (b as c, d)

def outer(x, /, y=1, *args, z: int = 2, **kw) -> "T":
    global G
    def inner():
        nonlocal x
        return [q for q in x if q] or {k: v async for k, v in y}
    with h.Client() as client, open(x) as f:
        client.get(f"{x!r:>{y}}", **kw)
    try:
        return inner()
    except (ValueError, KeyError) as error:
        raise error from None
    finally:
        del z
    lam = lambda a, *, b=3: a + b
    yield from (await w for w in args)

@decorator(arg=1)
class Box(Base, metaclass=Meta):
    size: int = 3
    def method(self):
        return self.size if self else -self.size
"""


# Python 3.10 syntax: parsed only where the interpreter reads it.
MATCH = """
def handle(x):
    match x:
        case {"a": 1, **rest}:
            return rest
        case [first, *others] if first:
            return others
        case Point(x=0) | None:
            pass
"""


def _trees() -> list[ast.Module]:
    trees = [ast.parse(SNIPPET)]
    if sys.version_info >= (3, 10):
        trees.append(ast.parse(MATCH))
    if sys.version_info >= (3, 12):
        trees.append(ast.parse("def f[T](x: T) -> T:\n    type Alias[U] = list[U]\n    return x\n"))
    for path in sorted(FIXTURES.glob("*.py")):
        try:
            trees.append(ast.parse(path.read_text(encoding="utf-8")))
        except SyntaxError:
            continue  # a fixture of bad input
    return trees


TREES = _trees()


def test_children_are_the_child_nodes_without_contexts_and_operators() -> None:
    for tree in TREES:
        for node in ast.walk(tree):
            expected = [c for c in ast.iter_child_nodes(node) if not isinstance(c, _LEFT_OUT)]
            assert children(node) == expected, ast.dump(node)[:200]


def test_walk_finds_what_ast_walk_finds() -> None:
    for tree in TREES:
        expected = sorted(id(n) for n in ast.walk(tree) if not isinstance(n, _LEFT_OUT))
        assert sorted(id(n) for n in walk(tree)) == expected


def test_imports_in_finds_what_ast_walk_finds_in_its_order_once_per_tree() -> None:
    found = 0
    for tree in TREES:
        imports = imports_in(tree)
        assert list(imports) == [
            n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
        ]
        assert imports_in(tree) is imports  # asked again of the same tree: kept
        found += len(imports)
    assert found > 100


def test_statements_are_those_of_every_block_field_in_the_walks_order() -> None:
    """Read only from the block fields a node's type has, the statements come out as
    when every field was asked of every node."""
    fields = ("body", "orelse", "finalbody", "handlers", "cases")

    def every_field(tree: ast.Module, into: bool) -> Iterator[ast.stmt]:
        stack: list[ast.AST] = list(reversed(tree.body))
        while stack:
            node = stack.pop()
            if isinstance(node, ast.stmt):
                yield node
                if not into and isinstance(node, (*SCOPES, ast.ClassDef)):
                    continue
            for field in fields:
                block = getattr(node, field, None)
                if block:
                    stack.extend(reversed(block))

    for tree in TREES:
        for into in (True, False):
            assert list(statements(tree, into_definitions=into)) == list(every_field(tree, into))


def _functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


# The two walks the summariser made before `summary._Own` replaced them, kept here as
# the reference that one walk must match.
_NOT_OWN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_NESTING = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)
_DIRECT = (ast.Return, ast.Assign, ast.AnnAssign)
_HOLDING = tuple(summary._HOLDING_TYPES)


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of a function body, not those of nested functions, lambdas or classes."""
    own: list[ast.AST] = []
    stack = children(function)
    while stack:
        node = stack.pop()
        own.append(node)
        if not isinstance(node, _NOT_OWN):
            stack.extend(children(node))
    return own


def _calls_with_context(
    root: ast.AST,
) -> Iterator[tuple[ast.Call, bool, ast.AST | None, ast.AST | None]]:
    """Calls under root; whether a loop may run them many times per run of root; the
    nested function they sit in (a `def` that is itself one of the body's statements
    too: it runs whenever it is called; only its body, not its decorators and defaults;
    `summary.DEEPER` two levels down); and the statement they are the kept value of."""
    stack: list[tuple[ast.AST, bool, ast.AST | None, ast.AST | None]] = [(root, False, None, None)]
    while stack:
        node, in_loop, nested, parent = stack.pop()
        if isinstance(node, ast.Call):
            yield node, in_loop, nested, parent
        below = children(node)
        if not below:
            continue
        loop = in_loop or isinstance(node, _LOOPS)
        if isinstance(node, _NESTING):
            body = node.body
            inside = {id(b) for b in body} if isinstance(body, list) else {id(body)}
            deeper = node if nested is None else summary.DEEPER
            stack.extend([(c, loop, deeper if id(c) in inside else nested, None) for c in below])
            continue
        if isinstance(node, _DIRECT):
            stack.extend([(child, loop, nested, node) for child in below])
            continue
        if parent is None or not isinstance(node, _HOLDING):
            stack.extend([(child, loop, nested, None) for child in below])
            continue
        kept = {id(part) for part in summary._kept_parts(node)}
        stack.extend(
            [(child, loop, nested, parent if id(child) in kept else None) for child in below]
        )


def test_one_walk_of_a_function_holds_its_own_nodes_by_kind_in_order() -> None:
    kinds: dict[str, tuple[type[ast.AST], ...]] = {
        "calls": (ast.Call,),
        "attributes": (ast.Attribute,),
        "names": (ast.Name,),
        "assigns": (ast.Assign, ast.AnnAssign),
        "returns": (ast.Return,),
        "withs": (ast.With, ast.AsyncWith),
        "shared": (ast.Global, ast.Nonlocal),
        "nested": (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef),
    }
    checked = 0
    for tree in TREES:
        for function in _functions(tree):
            own = summary._Own(children(function), function.body)
            nodes = _own_nodes(function)
            assert own.nodes == nodes
            for name, types in kinds.items():
                assert getattr(own, name) == [n for n in nodes if isinstance(n, types)], name
            assert own.yields == any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes)
            bare = [i for i, n in enumerate(nodes) if isinstance(n, ast.Return) and n.value is None]
            expected_cut = (
                None if not bare else sum(isinstance(n, ast.Call) for n in nodes[: bare[0]])
            )
            assert own.bare_return_at == expected_cut
            # Each statement's calls with their context, as the walk of its own finds them.
            assert own.sites == [list(_calls_with_context(s)) for s in function.body]
            checked += 1
    assert checked > 100


def test_the_acquisition_walk_skips_only_statements_that_name_nothing() -> None:
    """Pruned to the statements on a line that names a resource, the walk still meets
    every call and attribute whose name is on such a line."""
    catalog = Settings(project_root=FIXTURES).catalog
    pattern = text_pattern(catalog.distinctive_names())
    met = 0
    for path in sorted(FIXTURES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        rows = hit_rows(pattern, text)

        def named(node: ast.AST, rows: list[int] = rows) -> bool:
            if isinstance(node, ast.Call):
                node = node.func
            if not isinstance(node, (ast.Attribute, ast.Name)):
                return False
            line = node.end_lineno if isinstance(node, ast.Attribute) else node.lineno
            return line in rows

        everything = {
            id(node) for node, _ in acquisitions._in_functions(regions(tree, rows)) if named(node)
        }
        pruned = {
            id(node)
            for node, _ in acquisitions._in_functions(regions(tree, rows), rows)
            if named(node)
        }
        assert pruned == everything, path.name
        met += len(pruned)
    assert met > 50
