"""The exception model of `analysis.flow`, asked directly (SPEC: ownership v2, "Exceptions").

What can raise between an acquisition and its `try`, which handlers catch
everything a body can raise, and which guards hold nothing: the fixtures test
these through RG301's findings; here each decision is pinned on its own, so a
change to one shows up as that decision, not as a moved finding.
"""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from runguard_lint import registry
from runguard_lint.analysis.flow import ReleasePaths
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.tree import walk
from runguard_lint.config import Settings
from runguard_lint.prefilter import analysis_plan
from tests.conftest import ROOT

HEADER = """\
import contextlib
import logging
import os
import os.path as osp
import time
from logging import getLogger
from typing import Callable, Literal

from loguru import logger as loguru_logger

logger = logging.getLogger(__name__)
named_logger = getLogger("jobs")
not_a_logger = object()
"""
# What the plan keeps in view for the exception-safety rule alone.
RG301_NEEDS = registry.needs(frozenset({"RG301"}))


def _function(
    body: str, params: str = "a, b, d, path, self", header: str = HEADER
) -> tuple[ModuleFacts, cst.FunctionDef]:
    """The module `header` then `def f(params)` with body; the facts and f."""
    source = header + f"\n\ndef f({params}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    facts = ModuleFacts(cst.MetadataWrapper(cst.parse_module(source)))
    function = facts.module.body[-1]
    assert isinstance(function, cst.FunctionDef)
    return facts, function


def _first_statement(
    body: str, params: str = "a, b, d, path, self"
) -> tuple[ReleasePaths, cst.CSTNode]:
    facts, function = _function(body, params)
    return ReleasePaths(facts), function.body.body[0]


@pytest.mark.parametrize(
    "statement",
    [
        "x = 1",
        "x = a",
        "x: list[int] = []",  # the annotation is not evaluated in a function
        "x = self.timeout",
        "x = a.b.c",
        "self.x = a",
        "x = f'{a} and {b!r:>{d}}'",
        "x = '%s/%s' % (a, b)",
        "x = '{} in {}'.format(a, b)",
        "x = ' '.join(a)",
        "x = (a, [b], {a: b}, {a})",
        "x = a + b * 2",
        "x = not a and b or a is None",
        "x = a if b else d",
        "n += 1",
        "del a, b",
        "pass",
        "'a docstring'",
        "started = time.monotonic()",
        "name = os.path.join(a, os.path.basename(b))",
        "name = osp.splitext(path)",
        "logger.info('reading %s', path)",
        "named_logger.exception('failed: %s', a)",
        "logging.warning('x')",
        "logging.getLogger(__name__).debug(f'{a}')",
        "loguru_logger.info('reading {}', path)",
        "if logger.isEnabledFor(logging.DEBUG):\n    logger.debug('x')\nelse:\n    x = 1",
        "try:\n    x = d[a]\nexcept Exception:\n    x = None",
        "try:\n    x = d[a]\nexcept (KeyError, Exception):\n    logger.warning('x')",
        "try:\n    x = d[a]\nexcept:\n    pass",
        "with contextlib.suppress(Exception):\n    x = d[a]",
    ],
)
def test_harmless(statement: str) -> None:
    paths, node = _first_statement(statement)
    assert paths.raising.harmless(node)


@pytest.mark.parametrize(
    "statement",
    [
        "x = d[a]",  # KeyError, IndexError
        "d[a] = b",
        "x = a / b",  # ZeroDivisionError
        "x = a % b",  # modulo unless the left side is a string literal
        "a, b = d",  # unpacking raises on a length mismatch
        "x = len(a)",  # a call not known to be quiet
        "print(a)",  # writes to a stream that may be a closed pipe
        "not_a_logger.info('x')",  # spelled like a logger, bound to something else
        "loguru_logger.info('x', d[a])",  # an argument that raises
        "x = list(a)",  # iterates its argument
        "x = [*a]",
        "x = time.monotonic() + d['timeout']",
        "logger.info('x', d[a])",  # an argument that raises
        "x = await a",
        "x = yield a",
        "assert a",
        "raise ValueError(a)",
        "return a",
        "import json",
        "for x in a:\n    pass",
        "if d[a]:\n    pass",
        "if a:\n    return",
        "try:\n    x = d[a]\nexcept KeyError:\n    x = None",  # catches too little
        "try:\n    x = d[a]\nexcept Exception:\n    raise",  # does not swallow
        "try:\n    return d[a]\nexcept Exception:\n    pass",  # leaves
        "try:\n    x = d[a]\nexcept Exception:\n    x = d[b]",  # the handler raises
        "with contextlib.suppress(KeyError):\n    x = d[a]",
        "with open(path):\n    pass",
    ],
)
def test_may_raise(statement: str) -> None:
    paths, node = _first_statement(statement)
    assert not paths.raising.harmless(node)


def test_os_path_is_resolved_not_spelled() -> None:
    paths, node = _first_statement("name = os.path.join(a, b)", params="os, a, b")
    assert not paths.raising.harmless(node)


@pytest.mark.parametrize(
    ("statement", "catches"),
    [
        ("try:\n    x = d[a]\nexcept Exception:\n    pass", True),
        # asyncio.CancelledError arrives at an await, GeneratorExit at a yield
        ("try:\n    x = await a\nexcept Exception:\n    pass", False),
        ("try:\n    async for x in a:\n        pass\nexcept Exception:\n    pass", False),
        ("try:\n    x = yield a\nexcept Exception:\n    pass", False),
        ("try:\n    x = await a\nexcept BaseException:\n    pass", True),
        ("try:\n    x = await a\nexcept:\n    pass", True),
        # an await in a nested function does not suspend this body
        ("try:\n    async def g():\n        await a\nexcept Exception:\n    pass", True),
        ("try:\n    x = d[a]\nexcept LookupError:\n    pass", False),
    ],
)
def test_catches_everything(statement: str, catches: bool) -> None:
    paths, try_node = _first_statement(statement)
    assert isinstance(try_node, cst.Try)
    handler = try_node.handlers[0]
    assert paths.raising.catches_everything(handler.type, try_node.body) is catches


def _close_calls(function: cst.FunctionDef) -> list[cst.Call]:
    """Every `<x>.close()` of the function: the releases of the resource in question."""
    return [
        node
        for node in walk(function)
        if isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "close"
    ]


def _finally_closes(body: str) -> bool:
    """Whether the `finally` after `f = open(path)` releases `f` on every path."""
    source = "f = open(path)\nshould_close = True\ntry:\n    pass\nfinally:\n" + textwrap.indent(
        textwrap.dedent(body), "    "
    )
    facts, function = _function(source)
    acquiring = function.body.body[0]
    assert isinstance(acquiring, cst.BaseStatement)
    sites = _close_calls(function)
    paths = ReleasePaths(facts)
    releases = paths.releases_of(acquiring, function, sites, "f", "builtins.open")
    try_node = next(node for node in walk(function) if isinstance(node, cst.Try))
    assert try_node.finalbody is not None
    return paths.closes(try_node.finalbody, releases)


@pytest.mark.parametrize(
    "body",
    [
        "f.close()",
        "if f is not None:\n    f.close()",
        "if f != None:\n    f.close()",
        "if f:\n    f.close()",
        "if not f.closed:\n    f.close()",
        "if f is None:\n    pass\nelse:\n    f.close()",
        "if f is not None and not f.closed:\n    f.close()",
        "if f.returncode is None:\n    f.close()",  # a process not reaped yet
        "if should_close and f is not None:\n    f.close()",
        "try:\n    f.close()\nexcept OSError:\n    pass",
        "with contextlib.suppress(OSError):\n    f.close()",
    ],
)
def test_guards_on_the_resource_close(body: str) -> None:
    assert _finally_closes(body)


@pytest.mark.parametrize(
    "body",
    [
        "if f.closed:\n    f.close()",  # closes only what is closed already
        "if f.returncode is not None:\n    f.close()",  # only what is reaped already
        "if a:\n    f.close()",  # a guard on something else
        "if f is not None and a:\n    f.close()",
        "if f is None or a:\n    pass\nelse:\n    f.close()",
        "try:\n    f.flush()\n    f.close()\nexcept OSError:\n    pass",  # flush fails first
        "with contextlib.suppress(OSError):\n    f.flush()\n    f.close()",
    ],
)
def test_other_guards_keep_the_path_open(body: str) -> None:
    assert not _finally_closes(body)


@pytest.mark.parametrize(
    "statement",
    [
        "def g(x):\n    return d[x]",  # the body runs when g is called, not here
        "async def g(x: int = 1, *rest: str, **named: bytes) -> None:\n    await x",
        "def g(x: dict[str, list[int]], y: a.B | None = None) -> 'Thing':\n    pass",
        "def g(f: Callable[[int], str], m: Literal[1, 'a'] = 'a', *, k=(1, a)) -> ...:\n    pass",
    ],
)
def test_a_plain_definition_is_harmless(statement: str) -> None:
    paths, node = _first_statement(statement)
    assert paths.raising.harmless(node)


@pytest.mark.parametrize(
    "statement",
    [
        "@functools.wraps(a)\ndef g():\n    pass",  # a decorator is a call
        "@staticmethod\ndef g():\n    pass",
        "def g(x=d[a]):\n    pass",  # a default is evaluated here
        "def g(x=len(a)):\n    pass",
        "def g(x: make_type()):\n    pass",  # an annotation is evaluated here...
        "def g(x: d[a]):\n    pass",  # a subscript of data, not of a generic: a lookup
        "def g() -> None | d[a]:\n    pass",
        "def g() -> d[a]():\n    pass",
        "class C:\n    x = d[a]",  # a class body runs here
    ],
)
def test_a_definition_that_runs_code_may_raise(statement: str) -> None:
    paths, node = _first_statement(statement)
    assert not paths.raising.harmless(node)


@pytest.mark.parametrize(
    ("module", "harmless"),
    [
        ("collections", True),
        ("collections.abc", True),
        ("typing", True),
        # A module whose name only begins like the standard library's: its `Table`
        # may be anything, and subscripting it may run any code.
        ("collections_extra", False),
        ("typingx", False),
    ],
)
def test_only_the_standard_librarys_generics_subscript_harmlessly(
    module: str, harmless: bool
) -> None:
    facts, function = _function(
        "def g(x: Table[int]):\n    pass", "a", header=f"from {module} import Table\n"
    )
    assert ReleasePaths(facts).raising.harmless(function.body.body[0]) is harmless


def test_postponed_annotations_are_not_evaluated() -> None:
    """...unless the module postpones annotations (PEP 563)."""
    facts, function = _function(
        "def g(x: make_type(a)) -> d[a]():\n    pass",
        "a",
        header="from __future__ import annotations\n",
    )
    assert facts.postponed_annotations
    assert ReleasePaths(facts).raising.harmless(function.body.body[0])


HELPERS = '''
def quiet(state):
    """Asks the state, and answers None whatever goes wrong."""
    try:
        current = state.load()
    except Exception:
        logger.exception("no state")
        return None
    if current is None:
        return None
    return getattr(current, "event", None)


def loud(path):
    return os.listdir(path)


def stubbed(path):
    pass


def recursive(depth):
    if depth:
        return recursive(depth - 1)
    return None


def loops(items):
    for item in items:
        pass
    return None


def swallows_then_asserts(state):
    try:
        state.load()
    except Exception:
        assert state
    return None


@contextlib.contextmanager
def decorated():
    yield


async def awaited():
    return None


class Runner:
    def event(self):
        try:
            return self.state.event()
        except Exception:
            return None

    def rebinds(self):
        self = not_a_logger
        return self.event()
'''


@pytest.mark.parametrize(
    ("call", "harmless"),
    [
        ("quiet(a)", True),
        ("loud(path)", False),
        # A lone `pass` may be the plan's stub of a body no check needs.
        ("stubbed(path)", False),
        ("recursive(3)", False),
        ("loops(a)", False),
        ("swallows_then_asserts(a)", False),
        ("decorated()", False),
        ("getattr(a, 'event', None)", True),
        ("getattr(a, 'event')", False),
    ],
)
def test_a_call_of_a_quiet_function_of_the_module_is_harmless(call: str, harmless: bool) -> None:
    """A function of the module whose every statement is harmless or returns a harmless
    value, or whose `try` catches whatever its body raises, returns without raising."""
    facts, function = _function(f"x = {call}", "a, path", header=HEADER + HELPERS)
    assert ReleasePaths(facts).raising.harmless(function.body.body[0]) is harmless


@pytest.mark.parametrize("method", ["event", "rebinds"])
def test_a_method_called_through_self_may_be_another(method: str) -> None:
    """A subclass (here or in another module) or an instance attribute may put other
    code in a method's place: a call through `self` is not known to be quiet."""
    source = (
        HEADER
        + HELPERS
        + f"\n\nclass Caller(Runner):\n    def event(self):\n        return None\n\n"
        f"    def run(self):\n        x = self.{method}()\n"
    )
    facts = ModuleFacts(cst.MetadataWrapper(cst.parse_module(source)))
    caller = facts.module.body[-1]
    assert isinstance(caller, cst.ClassDef)
    run = caller.body.body[-1]
    assert isinstance(run, cst.FunctionDef)
    assert not ReleasePaths(facts).raising.harmless(run.body.body[0])


def _focused(text: str) -> str:
    """What LibCST sees of text, planned for RG301 alone."""
    plan = analysis_plan(ast.parse(text), text, Settings(project_root=ROOT), RG301_NEEDS)
    assert plan is not None
    return plan.apply(text)


def test_the_plan_keeps_the_short_helpers_an_acquiring_function_calls() -> None:
    """The plan blanks bodies no check needs; the helpers a function holding a candidate
    calls keep theirs, so that the exception model sees what they run."""
    long_body = "\n".join(f"    x{i} = {i}" for i in range(40))
    focused = _focused(
        "import subprocess\n\n\ndef helper():\n    return None\n\n\n"
        f"def long_helper():\n{long_body}\n    return None\n\n\n"
        "def unrelated():\n    return 1\n\n\n"
        "def run(command):\n    process = subprocess.Popen(command)\n"
        "    helper()\n    long_helper()\n    try:\n        process.communicate()\n"
        "    finally:\n        process.kill()\n        process.wait()\n"
    )
    assert "def helper():\n    return None" in focused
    assert "x39 = 39" not in focused and "    return 1" not in focused


def test_the_plan_leaves_a_helper_another_function_may_rebind_stubbed() -> None:
    """A helper whose name a `global` statement declares keeps its stub: the function
    that rebinds it may be stubbed, and the one binding LibCST sees is not the only one."""
    focused = _focused(
        "import subprocess\n\n\ndef helper():\n    return None\n\n\n"
        "def install(other):\n    global helper\n    helper = other\n\n\n"
        "def run(command):\n    process = subprocess.Popen(command)\n"
        "    helper()\n    try:\n        process.communicate()\n"
        "    finally:\n        process.kill()\n        process.wait()\n"
    )
    assert "    return None" not in focused and "global helper" not in focused


def _exit_of(body: str, header: str = HEADER) -> str | None:
    """The exit (`return`, `raise`, `continue`, as source; "end" for falling off the
    end) of a path that leaves the resource of the function's first `x = open(...)`
    unreleased, wherever that statement is; None when every path releases it."""
    facts, function = _function(body, header=header)
    acquiring = next(
        node
        for node in walk(function)
        if isinstance(node, cst.SimpleStatementLine)
        and isinstance(node.body[0], cst.Assign)
        and " = open(" in facts.module.code_for_node(node)
    )
    assign = acquiring.body[0]
    assert isinstance(assign, cst.Assign)
    target = assign.targets[0].target
    assert isinstance(target, cst.Name)
    paths = ReleasePaths(facts)
    releases = paths.releases_of(
        acquiring, function, _close_calls(function), target.value, "builtins.open"
    )
    exit_node = paths.path_without_release(acquiring, function, releases)
    if exit_node is None:
        return None
    return "end" if exit_node is function else facts.module.code_for_node(exit_node)


def _open_exit(body: str, header: str = HEADER) -> str | None:
    """`_exit_of` with `f = open(path)` first."""
    return _exit_of("f = open(path)\n" + textwrap.dedent(body), header)


_TAKEN = """\
try:
    if a:
        raise {raised}
    x = b
except {caught}:
    f.close()
    raise
f.close()
"""


@pytest.mark.parametrize(
    ("raised", "caught"),
    [
        ("ValueError(a)", "ValueError"),
        ("ValueError", "(KeyError, ValueError)"),
        ("KeyError(a)", "LookupError"),  # a builtin base of a builtin class
        ("RuntimeError('x')", "Exception"),
        ("KeyboardInterrupt", "BaseException"),
        ("Unknown(a)", "BaseException"),
        ("Local(a)", "Local"),  # the module's own class, by its qualified name
        ("Local(a)", "Exception"),  # through its bases
        ("Deeper(a)", "ValueError"),
        ("Deeper(a)", "Local"),
    ],
)
def test_a_raise_that_a_handler_takes_goes_on_in_the_handler(raised: str, caught: str) -> None:
    assert _open_exit(_TAKEN.format(raised=raised, caught=caught), _CLASSES) is None


_CLASSES = (
    HEADER
    + "import socket\n"
    + "\n\nclass Local(Exception):\n    pass\n"
    + "\n\nclass Deeper(Local, ValueError):\n    pass\n"
    + "\n\nclass Stop(BaseException):\n    pass\n"
)


@pytest.mark.parametrize(
    ("raised", "caught"),
    [
        ("KeyError(a)", "ValueError"),
        ("LookupError(a)", "KeyError"),  # a base is not taken by its subclass
        ("KeyboardInterrupt", "Exception"),
        ("SystemExit(1)", "Exception"),
        ("Stop()", "Exception"),  # the module's class, derived from BaseException alone
        ("Local(a)", "ValueError"),
        # Not known to be taken: the search stops, the raise leaves.
        ("Unknown(a)", "Exception"),  # an imported or unknown class
        ("error", "Exception"),  # whatever a name holds
        ("TimeoutError('x')", "socket.timeout"),  # an imported name may be an alias
    ],
)
def test_a_raise_no_handler_takes_leaves(raised: str, caught: str) -> None:
    exit_code = _open_exit(_TAKEN.format(raised=raised, caught=caught), _CLASSES)
    assert exit_code is not None and exit_code.startswith("raise ")


def test_a_handler_that_may_take_the_raise_ends_the_search() -> None:
    # `socket.timeout` is TimeoutError: the later catch-all must not be taken for it.
    body = """\
try:
    if a:
        raise TimeoutError(a)
    x = b
except socket.timeout:
    return None
except Exception:
    f.close()
    raise
f.close()
"""
    assert _open_exit(body, _CLASSES) == "raise TimeoutError(a)"


def test_a_bare_raise_in_a_try_body_is_followed_only_by_a_catch_all() -> None:
    # It re-raises whatever is being handled: only a handler that takes everything
    # surely takes it.
    bare = _TAKEN.format(raised="", caught="{caught}").replace("raise \n", "raise\n")
    assert _open_exit(bare.format(caught="Exception")) == "raise"
    assert _open_exit(bare.format(caught="BaseException")) is None


def test_the_handler_a_raise_reaches_decides_the_path() -> None:
    body = """\
try:
    if a:
        raise KeyError(a)
    x = b
except KeyError:
    return None
except ValueError:
    f.close()
    raise
f.close()
"""
    assert _open_exit(body) == "return None"


def test_walking_out_of_a_try_body_runs_its_else_and_the_handlers_reached() -> None:
    # Acquired inside the `try`: the `else` releases on the normal path, and the
    # handler the `raise` reaches releases on its own.
    body = (
        "try:\n    g = open(path)\n    if a:\n        raise ValueError(a)\n"
        "except ValueError:\n    g.close()\n    raise\nelse:\n    g.close()\n"
    )
    assert _exit_of(body) is None
    # Without the `else`, the normal path falls off the end unreleased.
    assert _exit_of(body.replace("else:\n    g.close()\n", "x = 1\n")) == "end"
    # A handler that goes on without releasing leaves it open after the `try`.
    assert _exit_of(body.replace("    g.close()\n    raise\n", "    pass\n", 1)) == "end"


def test_a_handler_reached_past_a_closed_inner_block_still_runs() -> None:
    # The acquisition is in an `if` whose paths all close or raise: the handler the
    # raise reaches returns without releasing.
    body = """\
try:
    if a:
        g = open(path)
        if b:
            raise ValueError(b)
        g.close()
except ValueError:
    return None
except BaseException:
    g.close()
    raise
"""
    assert _exit_of(body) == "return None"


@pytest.mark.parametrize("leaving", ["continue", "break"])
def test_leaving_the_loop_around_the_acquisition_skips_its_release(leaving: str) -> None:
    body = f"for p in a:\n    g = open(p)\n    if not p:\n        {leaving}\n    g.close()\n"
    # `continue` binds another resource next round; `break` goes on after the loop.
    assert _exit_of(body) == ("continue" if leaving == "continue" else "end")
    # After the loop, a release closes what `break` left open, not what `continue` did.
    after = _exit_of(body + "g.close()\n")
    assert after == ("continue" if leaving == "continue" else None)
    # A loop the path enters after the acquisition keeps them in the run.
    inner = "g = open(path)\nfor p in a:\n    if not p:\n        " + leaving + "\ng.close()\n"
    assert _open_exit(inner.replace("g = open(path)\n", "").replace("g.close", "f.close")) is None


def test_a_break_in_an_inner_loops_else_leaves_the_loop_around_it() -> None:
    # The `break` is the outer loop's: the path goes on after it, where nothing releases.
    body = """\
for p in a:
    g = open(p)
    while b:
        b = None
    else:
        break
    g.close()
"""
    assert _exit_of(body) == "end"
    assert _exit_of(body + "g.close()\n") is None
