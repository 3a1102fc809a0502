"""The scopes ModuleFacts computes without MetadataWrapper's batched walk are LibCST's own.

`analysis.names._scopes` runs ScopeProvider and ExpressionContextProvider directly
(see its docstring for why); every node of the tree must get a scope of the same kind,
with the same names assigned and the same accesses, as `MetadataWrapper.resolve` gives.
"""

from __future__ import annotations

import inspect
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, Scope, ScopeProvider, scope_provider
from libcst.metadata.scope_provider import Assignment, FunctionScope

from runguard_lint.analysis import names
from runguard_lint.analysis.names import ModuleFacts, _scopes, kind_set
from runguard_lint.analysis.tree import walk
from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_source
from tests.test_tree import EDGE_CASES, SAMPLES

ENABLED = frozenset({"RG101"})

FORWARD_REFERENCES = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from tools import Tool
def use(tool: "Tool", items: "list[Tool]") -> "Tool":
    global counter
    counter = [t for t in items if t is not tool]
    class Local:
        value = tool
        def method(self) -> None:
            nonlocal_value = Local.value
    return tool
"""


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_scopes_match_the_wrapper(path: Path) -> None:
    _assert_same(cst.parse_module(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("source", [EDGE_CASES, FORWARD_REFERENCES], ids=["edges", "strings"])
def test_scopes_match_the_wrapper_on_edge_cases(source: str) -> None:
    _assert_same(cst.parse_module(source))


def test_positions_are_computed_on_the_first_question() -> None:
    module = cst.parse_module("def f():\n    return open('x')\n")
    facts = ModuleFacts(MetadataWrapper(module, unsafe_skip_copy=True))
    function = module.body[0]
    assert isinstance(function, cst.FunctionDef)
    position = facts.position(function)
    assert (position.start.line, position.end.line) == (1, 2)


def _assert_same(module: cst.Module) -> None:
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    found = _scopes(module)
    checked = skipped = 0
    # Scopes of the two runs, paired as they are first met: each scope of one run must
    # stand for exactly one of the other.
    paired: dict[int, Scope] = {}
    # Each node of the tree by its place in the walk: referents are compared by the
    # node they bind. Only the tree's own nodes: string annotations are parsed anew on
    # each run, so the nodes of those small modules differ between two runs.
    places = {id(node): place for place, node in enumerate(walk(module))}
    for node in walk(module):
        mine, theirs = found.get(node), expected.get(node)
        if type(node) in names.SKIPPED_BY_SCOPES:
            # Whitespace, comments, punctuation, operators: not walked, never asked.
            assert mine is None, node
            skipped += 1
            continue
        assert type(mine) is type(theirs), node
        if mine is None or theirs is None:
            continue
        assert paired.setdefault(id(theirs), mine) is mine, node
        checked += 1
        assert sorted(mine._assignments) == sorted(theirs._assignments)
        assert _accessed(mine) == _accessed(theirs)
        for name in mine._assignments:
            assert len(mine.assignments[name]) == len(theirs.assignments[name])
        # What the analyses ask of a name: what it refers to, what refers to it, and
        # its qualified names.
        if isinstance(node, (cst.Name, cst.Attribute)):
            assert _qualified(mine, node) == _qualified(theirs, node), node
        if isinstance(node, cst.Name):
            assert _referents(mine, node, places) == _referents(theirs, node, places), node
            assert _references(mine, node, places) == _references(theirs, node, places), node
    assert checked > 0 and skipped > 0
    assert len(set(map(id, paired.values()))) == len(paired)


def _qualified(scope: Scope, node: cst.CSTNode) -> list[tuple[str, str]]:
    return sorted((q.name, q.source.name) for q in scope.get_qualified_names_for(node))


def _place(node: object, places: dict[int, int]) -> int:
    """The node's place in the module's walk; -1 for one of a string annotation's."""
    return places.get(id(node), -1)


def _referents(
    scope: Scope, name: cst.Name, places: dict[int, int]
) -> list[list[tuple[str, str, int]]]:
    return sorted(
        sorted(
            (type(r).__name__, r.name, _place(getattr(r, "node", None), places))
            for r in access.referents
        )
        for access in scope.accesses[name]
    )


def _references(scope: Scope, name: cst.Name, places: dict[int, int]) -> list[list[int]]:
    return sorted(
        sorted(_place(access.node, places) for access in assignment.references)
        for assignment in scope.assignments[name.value]
        if isinstance(assignment, Assignment) and assignment.node is name
    )


ONE_LINE_BODIES = """
import httpx
def first(url): pass; client = httpx.Client(); return client.get(url).text
def second(url):
    for _ in url: break
    client = httpx.Client()
    return client.get(url).text
"""


def test_a_one_line_body_is_asked_its_scope_through_its_first_statement() -> None:
    """`def f(): pass; ...`: the function's scope is the one of its first small
    statement, a `pass`, which the scope walk must not pass by (it did once, and the
    function lost its findings)."""
    module = cst.parse_module(ONE_LINE_BODIES)
    facts = ModuleFacts(MetadataWrapper(module, unsafe_skip_copy=True))
    first = module.body[1]
    assert isinstance(first, cst.FunctionDef)
    scope = facts.function_scope(first)
    assert isinstance(scope, FunctionScope) and "client" in scope.assignments
    _assert_same(module)
    report = check_source(
        "x.py", ONE_LINE_BODIES.encode(), Settings(project_root=Path(".")), enabled=ENABLED
    )
    assert sorted((d.location.row, d.code) for d in report.diagnostics) == [
        (3, "RG101"),
        (6, "RG101"),
    ]


def _accessed(scope: Scope) -> list[str]:
    return sorted(a.node.value if isinstance(a.node, cst.Name) else "" for a in scope.accesses)


# The classes LibCST's scope visitor counts as assignments (its `_ASSIGNMENT_LIKE_NODES`
# in the versions this project supports), which `names` replaces by a stand-in.
_ASSIGNMENT_LIKE = (
    cst.AnnAssign,
    cst.AsName,
    cst.Assign,
    cst.AugAssign,
    cst.ClassDef,
    cst.CompFor,
    cst.FunctionDef,
    cst.Global,
    cst.Import,
    cst.ImportFrom,
    cst.NamedExpr,
    cst.Nonlocal,
    cst.Parameters,
    cst.WithItem,
)


@pytest.mark.parametrize("source", [EDGE_CASES, FORWARD_REFERENCES], ids=["edges", "strings"])
def test_a_kind_set_answers_isinstance_as_its_tuple(source: str) -> None:
    stand_in = kind_set("Like", _ASSIGNMENT_LIKE)
    nodes = list(walk(cst.parse_module(source)))
    values: list[object] = [*nodes, None, "Assign", 3, cst.Assign, ()]
    for value in values * 2:  # the second time from what it learnt
        assert isinstance(value, stand_in) is isinstance(value, _ASSIGNMENT_LIKE), value
    assert any(isinstance(node, stand_in) for node in nodes)
    # Iterated, measured or asked `in`, it is the tuple too.
    assert tuple(stand_in) == _ASSIGNMENT_LIKE and len(stand_in) == len(_ASSIGNMENT_LIKE)
    assert cst.Assign in stand_in and cst.Name not in stand_in
    assert not all(isinstance(node, stand_in) for node in nodes)


def test_the_scope_visitor_asks_the_stand_in_with_the_classes_it_had() -> None:
    installed = vars(scope_provider)["_ASSIGNMENT_LIKE_NODES"]
    assert isinstance(installed, type) and type(installed) is type(kind_set("X", ()))
    assert names._ASSIGNMENT_LIKE is not None
    assert set(_ASSIGNMENT_LIKE) <= set(installed.members)
    assert installed.members == names._ASSIGNMENT_LIKE


def test_libcst_is_left_as_it_is_outside_a_scope_analysis() -> None:
    """The scope walk takes `CSTNode.visit`'s place only while a scope analysis runs."""
    original = cst.CSTNode.visit
    _scopes(cst.parse_module(FORWARD_REFERENCES))
    assert cst.CSTNode.visit is original is names._LIBCST_VISIT


class _Renamer(cst.CSTTransformer):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


def test_scope_analyses_in_threads_beside_a_transformer() -> None:
    """The language server analyses in threads: scopes made side by side are LibCST's,
    a transformer run meanwhile transforms, and LibCST is restored after."""
    original = cst.CSTNode.visit
    modules = [cst.parse_module(path.read_text(encoding="utf-8")) for path in SAMPLES[:6]]
    source = "def f(a):\n    return g(a)\n" * 200

    def transform() -> str:
        return cst.parse_module(source).visit(_Renamer()).code

    with ThreadPoolExecutor(max_workers=4) as pool:
        # Interleaved, so that transformers run while analyses are walking.
        checks, renamed = [], []
        for index, module in enumerate(modules * 2):
            checks.append(pool.submit(_assert_same, module))
            if index % 3 == 0:
                renamed.append(pool.submit(transform))
        for check in checks:
            check.result()
        assert {future.result() for future in renamed} == {"def F(A):\n    return G(A)\n" * 200}
    assert cst.CSTNode.visit is original


def test_libcst_is_restored_when_a_scope_analysis_fails() -> None:
    """A scope analysis that raises (here, out of stack) leaves LibCST as it was."""
    module = cst.parse_module("x = " + "f(" * 80 + ")" * 80 + "\n")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 120)
    try:
        with pytest.raises(RecursionError):
            _scopes(module)
    finally:
        sys.setrecursionlimit(limit)
    assert cst.CSTNode.visit is names._LIBCST_VISIT and not names._ACTIVE
    _assert_same(module)  # and the next analysis walks as before
