"""`analysis.contexts` gives every node the context LibCST's ExpressionContextProvider
gives it (the scope analysis reads them): same nodes, same load, store or delete."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import ExpressionContext, ExpressionContextProvider

from runguard_lint.analysis.contexts import expression_contexts
from tests.test_tree import EDGE_CASES, SAMPLES

# Every rule of the provider, with targets nested in each other.
TARGETS = """
import os.path as osp, json
from a.b import c as d, e
a = b = (c, [d, *e]) = f.g[h] = call()[i:j, k]
x: list[int] = y
n += m.attr[o]
if (w := v) and [q for q, (r, s) in items if q for t in r]:
    pass
for (u, *rest), item.field in pairs:
    del u, item.field, rest[0], (p, q2)
else:
    del z
with open(p) as handle, lock as (one, two):
    pass
try:
    pass
except (ValueError, TypeError) as error:
    raise error from None
@decorate(arg=value)
class Box(Base, metaclass=Meta):
    size: int = 3
    def method(self, first: int = default, *args: str, key=lambda k=1: k, **kwargs) -> Ret:
        global g
        nonlocal_ = {k: v for k, v in kwargs.items()}
        return {*args}, {**kwargs}
match point:
    case Point(x=0, y=yy) as matched:
        pass
    case [first, *others]:
        pass
async def agen(items):
    async for a.b in items:
        yield [c async for c in items]
"""


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_contexts_match_libcst(path: Path) -> None:
    _assert_same(cst.parse_module(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("source", [EDGE_CASES, TARGETS], ids=["edges", "targets"])
def test_contexts_match_libcst_on_edge_cases(source: str) -> None:
    found = _assert_same(cst.parse_module(source))
    assert {ExpressionContext.LOAD, ExpressionContext.STORE} <= set(found.values())
    if source is TARGETS:
        assert ExpressionContext.DEL in set(found.values())


def _assert_same(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    provider = ExpressionContextProvider()
    provider.visit_Module(module)
    expected = provider._computed
    found = expression_contexts(module)
    assert found.keys() == expected.keys()
    assert all(found[node] is context for node, context in expected.items())
    return found
