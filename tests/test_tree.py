"""The fast children/parents in analysis/tree.py answer exactly what LibCST's own do."""

from __future__ import annotations

import asyncio
import locale
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.tree import TRIVIA, children, index, walk
from runguard_lint.fixes.tree import Rewrite
from tests.conftest import FIXTURES

# Real modules beside the fixtures: f-strings with format specs (a field LibCST visits
# only when present), match statements, decorators, type comments.
STDLIB = [Path(locale.__file__), Path(asyncio.__file__).parent / "queues.py"]
# RG900.py is the one fixture that is meant not to parse.
SAMPLES = sorted(p for p in FIXTURES.glob("*.py") if p.name != "RG900.py") + STDLIB

EDGE_CASES = textwrap.dedent("""
    x = f"{value!r:>{width}.{precision}}" f"{a=}" f"{b:{c}}"
    match command:
        case [Point(x=0, y=0), *rest] if rest:
            pass
        case {"k": v, **others} | str() as s:
            pass
    @decorator(arg)
    async def f(a, /, b: int = 1, *args, c, **kwargs) -> None:
        async with a as (b, c), d:
            yield from (i async for i in b if i)
        lambda: (yield)
    class C(Base, metaclass=M):
        x: int = 1
    del a[1:2, ::3], b.c
    try:
        pass
    except* (A, B) as e:
        raise X from e
""")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_children_and_parents_match_libcst(path: Path) -> None:
    _assert_same(cst.parse_module(path.read_text(encoding="utf-8")))


def test_children_match_libcst_on_edge_cases() -> None:
    _assert_same(cst.parse_module(EDGE_CASES))


def _assert_same(module: cst.Module) -> None:
    expected_parents = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider)
    parents = index(module)[1]
    count = trivia = 0
    for node in walk(module):
        count += 1
        slow = list(node.children)
        fast = children(node)
        assert [id(child) for child in fast] == [id(child) for child in slow], type(node)
        for child in fast:
            assert expected_parents[child] is node
            if type(child) in TRIVIA:
                trivia += 1
                # Holds nothing an analysis asks about, and is left out of the index.
                assert not any(type(inner) not in TRIVIA for inner in walk(child)), child
                assert child not in parents
            else:
                assert parents[child] is node
    assert count == len(expected_parents) + 1
    assert len(parents) == count - trivia - 1 and trivia > 0
    # `index`'s parents are checked above against LibCST's; its nodes are every node in
    # `walk`'s order but the trivia.
    nodes, _parents = index(module)
    assert [id(node) for node in nodes] == [
        id(node) for node in walk(module) if node is module or node in parents
    ]


def test_a_fix_that_targets_trivia_is_refused() -> None:
    """Trivia is not in the parent map, so a change to it would reach nothing: the
    rewrite says so rather than dropping the change (a rule's error is reported)."""
    module = cst.parse_module("x = f(a, b)\n")
    facts = ModuleFacts(MetadataWrapper(module, unsafe_skip_copy=True))
    comma = next(node for node in walk(module) if isinstance(node, cst.Comma))
    rewrite = Rewrite(facts)
    rewrite.replace(comma, cst.Comma())
    with pytest.raises(ValueError, match="trivia"):
        rewrite.apply()
    call = next(node for node in walk(module) if isinstance(node, cst.Call))
    fine = Rewrite(facts)
    fine.replace(call, cst.parse_expression("g()"))
    assert fine.apply().code == "x = g()\n"
