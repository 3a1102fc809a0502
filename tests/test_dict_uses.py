"""The one classifier of dict uses: what each shape does to a dict, and to a BoundedCache."""

from __future__ import annotations

import libcst as cst
import pytest

from runguard_lint.analysis.dict_uses import UseShape, classify
from runguard_lint.analysis.dict_vocabulary import UseKind
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.tree import walk

READ, WRITE, EVICT, ESCAPE = UseKind.READ, UseKind.WRITE, UseKind.EVICT, UseKind.ESCAPE

# A statement using the dict `c`; its shape; what it does to a dict and to a defaultdict;
# whether it works the same on a MutableMapping (the bounded-cache fix's question).
CASES = [
    ("c[k] = v", UseShape.ITEM_SET, WRITE, WRITE, True),
    ("del c[k]", UseShape.ITEM_DELETED, EVICT, EVICT, True),
    ("for c[k] in x: pass", UseShape.ITEM_BOUND, ESCAPE, ESCAPE, True),
    ("c[k] += 1", UseShape.ITEM_AUGMENTED, READ, WRITE, True),
    ("c[k].append(v)", UseShape.ITEM_METHOD_CALLED, READ, WRITE, True),
    ("c[k][j] = v", UseShape.ITEM_ITEM_STORED, READ, WRITE, True),
    ("x = c[k]", UseShape.ITEM_READ, READ, READ, True),
    ("c.pop(k)", UseShape.METHOD_CALLED, EVICT, EVICT, True),
    ("c.copy()", UseShape.METHOD_CALLED, READ, READ, False),
    ("c.setdefault(k, v)", UseShape.METHOD_CALLED, WRITE, WRITE, True),
    ("c.setdefault()", UseShape.METHOD_CALLED, READ, READ, True),
    ("c.update({k: v})", UseShape.METHOD_CALLED, WRITE, WRITE, True),
    ("c.frobnicate()", UseShape.METHOD_CALLED, ESCAPE, ESCAPE, False),
    ("f = c.get", UseShape.METHOD_REFERENCED, READ, READ, False),
    ("f = c.pop", UseShape.METHOD_REFERENCED, EVICT, EVICT, False),
    ("f = c.setdefault", UseShape.METHOD_REFERENCED, ESCAPE, ESCAPE, False),
    ("sorted(c)", UseShape.ARGUMENT, READ, READ, True),
    ("json.dumps(c)", UseShape.ARGUMENT, READ, READ, False),
    ("register(c)", UseShape.ARGUMENT, ESCAPE, ESCAPE, False),
    ("sorted(iterable=c)", UseShape.ARGUMENT, READ, READ, False),
    ("class C(c): pass", UseShape.ARGUMENT, ESCAPE, ESCAPE, False),
    ("f(*c)", UseShape.UNPACKED_ARGUMENT, READ, READ, False),
    ("list(*c)", UseShape.UNPACKED_ARGUMENT, READ, READ, True),
    ("if len(c) > 3: pass", UseShape.SIZE_COMPARED, EVICT, EVICT, True),
    ("k in c", UseShape.MEMBERSHIP_TESTED, READ, READ, True),
    ("c == d", UseShape.COMPARED, READ, READ, False),
    ("not c", UseShape.NEGATED, READ, READ, True),
    ("-c", UseShape.UNARY_OPERAND, READ, READ, False),
    ('f"{c}"', UseShape.FORMATTED, READ, READ, False),
    ("{**c}", UseShape.UNPACKED_INTO_DICT, READ, READ, False),
    ("for k in c: pass", UseShape.ITERATED, READ, READ, True),
    ("if c: pass", UseShape.TESTED, READ, READ, True),
    ("assert c", UseShape.ASSERTED, READ, READ, False),
    ("if c and x: pass", UseShape.TESTED_IN_BOOLEAN, READ, READ, True),
    ("x = c or d", UseShape.BOOLEAN_VALUE, ESCAPE, ESCAPE, True),
    ("c |= {k: v}", UseShape.MERGED_INTO, WRITE, WRITE, False),
    ("c += d", UseShape.AUGMENTED, ESCAPE, ESCAPE, False),
    ("del c", UseShape.REBOUND, EVICT, EVICT, False),
    ("global c", UseShape.DECLARED, ESCAPE, ESCAPE, True),
    ("return c", UseShape.HANDED_ON, ESCAPE, ESCAPE, False),
]


@pytest.mark.parametrize(
    ("statement", "shape", "on_dict", "on_defaultdict", "on_mapping"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_one_classification_read_two_ways(
    statement: str, shape: UseShape, on_dict: UseKind, on_defaultdict: UseKind, on_mapping: bool
) -> None:
    source = f"import json\n\ndef use(k, v, j, x, d):\n    {statement}\n"
    facts = ModuleFacts(cst.MetadataWrapper(cst.parse_module(source)))
    [node] = [n for n in walk(facts.module) if isinstance(n, cst.Name) and n.value == "c"]
    use = classify(facts, node)
    assert use.shape is shape
    assert use.kind(is_defaultdict=False) is on_dict
    assert use.kind(is_defaultdict=True) is on_defaultdict
    assert use.supported_by_mutable_mapping is on_mapping


def test_every_shape_is_covered() -> None:
    # UNRESOLVED is made by the analysis, never by `classify`.
    assert {case[1] for case in CASES} == set(UseShape) - {UseShape.UNRESOLVED}
