"""Positions rendered one statement at a time are LibCST's own.

`analysis.positions.Positions` renders only the statement that holds the node asked
about (a top-level statement, or a member of a top-level class), starting on the line
the standard library's tree gives; every node of every sample must get the range
`PositionProvider` gives for the whole module, including where the two parsers pair
statements up differently, where the text has no final newline, and where no
standard-library tree of the same lines is at hand.
"""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from runguard_lint.analysis.positions import Positions
from runguard_lint.analysis.tree import index, walk
from tests.test_tree import EDGE_CASES, SAMPLES

TRICKY = {
    "semicolons": "import os; import sys\nx = 1; y = 2;\ndef f(): return open('x')\n",
    "decorators": (
        "# a header comment\n\nimport functools\n\n\n# before the decorator\n"
        "@functools.cache\n# between decorators\n@staticmethod\n\n"
        "def f(\n    a,\n    b,\n):\n    return open(a)\n\n\n"
        "class C(\n    object,\n):\n    @property\n    def p(self):\n        return 1\n"
    ),
    "no final newline": "def f():\n    return open('x')\n\nx = f()",
    "windows newlines": "def f():\r\n    h = open('x')\r\n    return h\r\n\r\n\r\ny = 1\r\n",
    "continuations": "x = \\\n    1\nif (x and\n        x):\n    z = [\n        1,\n    ]\n",
    "strings": 's = """\nline\n"""\ndef f():\n    """doc\n    more"""\n    return s\n',
    "class members": (
        'class C:\n    """Doc."""\n\n    # a comment before a method\n'
        "    @property\n    # between\n    def p(self):\n        return open('x')\n"
        "    x = 1; y = 2\n\n    async def q(self):\n        pass\n"
        "    class Inner:\n        def r(self):\n            return 1\n"
    ),
    "tab-indented class": "class T:\n\tdef f(self):\n\t\treturn open('x')\n\ty = 2\n",
    "one-line class": "class A: pass\nclass B:\n  def f(self): return open('x')\n",
}


def _assert_same(text: str, tree: ast.Module | None) -> Positions:
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    positions = Positions(wrapper, index(module)[1], text, tree)
    # Deepest nodes first: the questions the checks ask, before any whole rendering.
    nodes = [node for node in walk(module) if node is not module]
    for node in reversed(nodes):
        assert positions.of(node) == expected[node], node
    return positions


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_positions_match_the_provider(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _assert_same(text, ast.parse(text))


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_positions_match_the_provider_on_tricky_layouts(name: str) -> None:
    text = TRICKY[name]
    _assert_same(text, ast.parse(text))


def test_positions_match_the_provider_on_edge_cases() -> None:
    _assert_same(EDGE_CASES, ast.parse(EDGE_CASES))


def test_without_a_tree_of_the_same_lines_the_whole_module_is_rendered() -> None:
    text = TRICKY["decorators"]
    positions = _assert_same(text, None)
    assert positions._whole
    # A tree whose lines are not the text's (a rewrite) is caught by the rendering
    # not matching the text on the lines it names, and the answers stay right.
    shifted = ast.parse("\n\n" + text)
    _assert_same(text, shifted)


def test_a_question_renders_only_the_statement_that_holds_the_node() -> None:
    text = "def f():\n    return open('x')\n\n\ndef g():\n    return 2\n"
    module = cst.parse_module(text)
    positions = Positions(
        MetadataWrapper(module, unsafe_skip_copy=True), index(module)[1], text, ast.parse(text)
    )
    second = module.body[1]
    assert isinstance(second, cst.FunctionDef)
    assert positions.of(second.name).start.line == 5
    assert not positions._whole
    assert module.body[0] not in positions._computed


def test_a_question_about_a_method_renders_that_method_alone() -> None:
    """The point of rendering by member: asking about one method of a large class does
    not render the class (the class's own name is still unknown afterwards)."""
    text = TRICKY["class members"]
    module = cst.parse_module(text)
    positions = Positions(
        MetadataWrapper(module, unsafe_skip_copy=True), index(module)[1], text, ast.parse(text)
    )
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    klass = module.body[0]
    assert isinstance(klass, cst.ClassDef) and isinstance(klass.body, cst.IndentedBlock)
    method = klass.body.body[1]
    assert isinstance(method, cst.FunctionDef) and method.name.value == "p"
    call = next(node for node in walk(method) if isinstance(node, cst.Call))
    assert positions.of(call) == expected[call]
    assert klass.name not in positions._computed
    assert positions.of(klass.name) == expected[klass.name]
