"""Paths through a function after an acquisition: which leave without a release, and
what on them can raise.

`RaisingCode` says which code can raise in practice, and which `try` or `with
contextlib.suppress` swallows everything its body can raise. `ReleasePaths`
runs the statements after a point abstractly, in the spirit of mypy's binder:
each one either leaves every path open (nothing released yet), closes them all
(a release, or a `finally` that releases), or ends one path by leaving the
function (`return`, `raise`). Branches join: a path stays open if any branch
leaves it open, and the first branch that leaves the function unreleased is
the answer. Loop bodies may run zero times, so a release inside one does not
close the path. Releases are given as the ids of their nodes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata.scope_provider import Assignment

from runguard_lint.analysis.names import FunctionNode, ModuleFacts
from runguard_lint.analysis.syntax import block_statements
from runguard_lint.analysis.tree import children, walk

# Calls that cannot fail when given no arguments: an empty container, a clock
# reading, a fresh lock or event.
_INFALLIBLE_CALLS = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "builtins.set",
        "builtins.tuple",
        "builtins.frozenset",
        "builtins.object",
        "collections.deque",
        "collections.OrderedDict",
        "collections.Counter",
        "time.monotonic",
        "time.time",
        "time.perf_counter",
        "time.monotonic_ns",
        "time.time_ns",
        "time.perf_counter_ns",
        "threading.Lock",
        "threading.RLock",
        "threading.Event",
        "asyncio.Lock",
        "asyncio.Event",
    }
)

# The logging calls. The logging module reports its handlers' failures itself
# (`Handler.handleError`) instead of raising them into the caller, and formats
# the message inside the handler, so a logging call does not raise into its caller.
_LOGGING_CALLS = (
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "fatal",
    "log",
)

# Functions that do not raise in practice, whatever harmless arguments they get: path
# arithmetic on strings, the logging API, and building a `contextlib.suppress`.
_HARMLESS_FUNCTIONS = frozenset(
    {
        *(
            f"os.path.{name}"
            for name in (
                "join",
                "basename",
                "dirname",
                "split",
                "splitext",
                "splitdrive",
                "normpath",
                "normcase",
                "abspath",
                "isabs",
                "commonprefix",
                "expanduser",
                "expandvars",
            )
        ),
        *(f"logging.{name}" for name in (*_LOGGING_CALLS, "getLogger")),
        "contextlib.suppress",
    }
)

# The methods of a `logging.Logger` that log or ask whether they would.
_LOGGER_METHODS = frozenset({*_LOGGING_CALLS, "isEnabledFor"})

# Operators that raise only on a type mistake (`None + 1`), a bug every run hits, not on
# values that well-typed data can take. Division, modulo, powers and shifts raise on
# values (ZeroDivisionError, OverflowError, ValueError), so they count as raising.
_TYPE_ONLY_OPERATORS = (cst.Add, cst.Subtract, cst.Multiply, cst.BitAnd, cst.BitOr, cst.BitXor)
_TYPE_ONLY_AUGMENTED = (
    cst.AddAssign,
    cst.SubtractAssign,
    cst.MultiplyAssign,
    cst.BitAndAssign,
    cst.BitOrAssign,
    cst.BitXorAssign,
)

_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class RaisingCode:
    """Which code of one module can raise in practice.

    Raising means what well-typed data can make it do: a call into code not
    known to be quiet (I/O, a timeout, a rate limit), an `await` (cancellation),
    a `yield` (the consumer may close the generator), `raise`, `assert`, a
    subscript (KeyError, IndexError), division. A type mistake (`None + 1`, an
    attribute missing from `None`) is a bug that fails on every run, not a
    failure that comes with load, so reading an attribute of a name, `+` or a
    comparison does not count: a property that does I/O on read is the rare
    exception, and counting every `self.timeout` would flag the commonest
    shape of correct code. `print` counts: it writes to a stream that can be a
    closed pipe, and unlike logging does not swallow the error. Callees are
    resolved by qualified name through imports, never by spelling.
    """

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

    def harmless(self, statement: cst.CSTNode) -> bool:
        """Whether the statement runs through to the next one without raising.

        A statement that may leave the block (`return`, `break`, `continue`)
        does not run through either. A `try` or `with contextlib.suppress`
        that swallows everything its body can raise does, if what it runs
        besides its body is harmless.
        """
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            return all(self.harmless_small(small) for small in statement.body)
        if isinstance(statement, cst.If):
            return (
                self.harmless_expression(statement.test)
                and self.harmless_block(statement.body)
                and (statement.orelse is None or self.harmless_else(statement.orelse))
            )
        if isinstance(statement, cst.Try):
            return self._try_swallows_everything(statement)
        if isinstance(statement, cst.With):
            return self._suppresses_everything(statement)
        return False

    def harmless_block(self, block: cst.CSTNode) -> bool:
        return all(self.harmless(statement) for statement in block_statements(block))

    def harmless_else(self, orelse: cst.If | cst.Else) -> bool:
        if isinstance(orelse, cst.If):
            return self.harmless(orelse)
        return self.harmless_block(orelse.body)

    def harmless_small(self, small: cst.CSTNode) -> bool:
        """One `;`-separated statement: an assignment, an expression, `pass`, `del`."""
        if isinstance(small, cst.Assign):
            return self.harmless_expression(small.value) and all(
                self._harmless_target(target.target) for target in small.targets
            )
        if isinstance(small, cst.AnnAssign):
            # A local variable's annotation is never evaluated (PEP 526).
            return self._harmless_target(small.target) and (
                small.value is None or self.harmless_expression(small.value)
            )
        if isinstance(small, cst.AugAssign):
            return (
                isinstance(small.operator, _TYPE_ONLY_AUGMENTED)
                and self._harmless_target(small.target)
                and self.harmless_expression(small.value)
            )
        if isinstance(small, cst.Expr):
            return self.harmless_expression(small.value)
        if isinstance(small, cst.Del):
            return _names_only(small.target)
        return isinstance(small, (cst.Pass, cst.Global, cst.Nonlocal))

    def harmless_expression(self, node: cst.BaseExpression) -> bool:
        """Whether evaluating the expression cannot raise on well-typed data."""
        if isinstance(node, (cst.Name, cst.BaseNumber, cst.SimpleString, cst.Ellipsis)):
            return True
        if isinstance(node, cst.ConcatenatedString):
            return self.harmless_expression(node.left) and self.harmless_expression(node.right)
        if isinstance(node, cst.FormattedString):
            return self._harmless_parts(node.parts)
        if isinstance(node, cst.Attribute):
            # `self.timeout`, `os.sep`, `args.config.url`: a read of a name's attribute.
            return isinstance(node.value, (cst.Name, cst.Attribute)) and self.harmless_expression(
                node.value
            )
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            # A starred element iterates its value, which may run any code.
            return all(
                isinstance(element, cst.Element) and self.harmless_expression(element.value)
                for element in node.elements
            )
        if isinstance(node, cst.Dict):
            return all(
                isinstance(element, cst.DictElement)
                and self.harmless_expression(element.key)
                and self.harmless_expression(element.value)
                for element in node.elements
            )
        if isinstance(node, cst.UnaryOperation):
            return self.harmless_expression(node.expression)
        if isinstance(node, cst.BooleanOperation):
            return self.harmless_expression(node.left) and self.harmless_expression(node.right)
        if isinstance(node, cst.Comparison):
            return self.harmless_expression(node.left) and all(
                self.harmless_expression(target.comparator) for target in node.comparisons
            )
        if isinstance(node, cst.IfExp):
            return all(
                self.harmless_expression(part) for part in (node.test, node.body, node.orelse)
            )
        if isinstance(node, cst.BinaryOperation):
            formatting = isinstance(node.operator, cst.Modulo) and _is_string(node.left)
            return (
                (formatting or isinstance(node.operator, _TYPE_ONLY_OPERATORS))
                and self.harmless_expression(node.left)
                and self.harmless_expression(node.right)
            )
        if isinstance(node, cst.Call):
            return self._harmless_call(node)
        return False

    def catches_everything(self, caught: cst.BaseExpression | None, body: cst.CSTNode) -> bool:
        """Whether a handler of these exception types catches whatever body can raise.

        A bare `except:` or `BaseException` catches everything. `Exception`
        catches everything but the BaseExceptions, which arrive only at an
        `await` (`asyncio.CancelledError`) or a `yield` (`GeneratorExit`) when
        a program is not being interrupted: it suffices for a body with neither.
        """
        if caught is None:
            return True
        types = (
            [element.value for element in caught.elements]
            if isinstance(caught, cst.Tuple)
            else [caught]
        )
        names: set[str] = set()
        for kind in types:
            names |= self.facts.external_names(kind)
        if "builtins.BaseException" in names:
            return True
        return "builtins.Exception" in names and not _suspends(body)

    def _try_swallows_everything(self, node: cst.Try) -> bool:
        """`try: ... except Exception: log(...)`: whatever the body raises, the handler
        takes it and execution goes on after the `try`."""
        if self._leaves(node.body):
            return False
        if not any(self.catches_everything(handler.type, node.body) for handler in node.handlers):
            return False
        return (
            all(self.harmless_block(handler.body) for handler in node.handlers)
            and (node.orelse is None or self.harmless_block(node.orelse.body))
            and (node.finalbody is None or self.harmless_block(node.finalbody.body))
        )

    def _suppresses_everything(self, node: cst.With) -> bool:
        """`with contextlib.suppress(Exception): ...`, the `try` above in one line."""
        if node.asynchronous is not None or self._leaves(node.body):
            return False
        suppressed = self.suppressed_types(node)
        return suppressed is not None and any(
            self.catches_everything(kind, node.body) for kind in suppressed
        )

    def suppressed_types(self, node: cst.With) -> list[cst.BaseExpression] | None:
        """The exception types a `with contextlib.suppress(...)` swallows, or None when
        the `with` enters anything else (whose entry may raise)."""
        types: list[cst.BaseExpression] = []
        for item in node.items:
            call = item.item
            if not (
                isinstance(call, cst.Call)
                and "contextlib.suppress" in self.facts.external_names(call.func)
                and self.harmless_expression(call)
            ):
                return None
            types.extend(argument.value for argument in call.args)
        return types

    def _harmless_call(self, call: cst.Call) -> bool:
        if not all(self.harmless_expression(argument.value) for argument in call.args):
            return False
        names = self.facts.external_names(call.func)
        if names & _INFALLIBLE_CALLS:
            return not call.args
        if names & _HARMLESS_FUNCTIONS:
            return True
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        if func.attr.value == "format" and _is_string(func.value):
            return True
        return func.attr.value in _LOGGER_METHODS and self._is_logger(func.value)

    def _is_logger(self, receiver: cst.BaseExpression) -> bool:
        """`logging.getLogger(...)` itself, or a name every binding of which (in this
        module: a module-level `logger`, a local `log`) is such a call."""
        if isinstance(receiver, cst.Call):
            return "logging.getLogger" in self.facts.external_names(
                receiver.func
            ) and self._harmless_call(receiver)
        if not isinstance(receiver, cst.Name):
            return False
        assignments = self.facts.assignments_of(receiver)
        return bool(assignments) and all(
            isinstance(assignment, Assignment) and self._bound_to_logger(assignment.node)
            for assignment in assignments
        )

    def _bound_to_logger(self, target: cst.CSTNode) -> bool:
        parent = self.facts.parent(target)
        value: cst.BaseExpression | None = None
        if isinstance(parent, cst.AssignTarget):
            statement = self.facts.parent(parent)
            value = statement.value if isinstance(statement, cst.Assign) else None
        elif isinstance(parent, cst.AnnAssign) and parent.target is target:
            value = parent.value
        return isinstance(value, cst.Call) and "logging.getLogger" in self.facts.external_names(
            value.func
        )

    def _harmless_target(self, target: cst.BaseExpression) -> bool:
        """A name, or an attribute of a name (`self.x = ...`); not a subscript, whose
        `__setitem__` may raise, nor an unpacking, which raises on a length mismatch."""
        return isinstance(target, cst.Name) or (
            isinstance(target, cst.Attribute) and self.harmless_expression(target)
        )

    def _harmless_parts(self, parts: Sequence[cst.BaseFormattedStringContent]) -> bool:
        for part in parts:
            if isinstance(part, cst.FormattedStringExpression):
                if not self.harmless_expression(part.expression):
                    return False
                if part.format_spec is not None and not self._harmless_parts(part.format_spec):
                    return False
        return True

    def _leaves(self, block: cst.CSTNode) -> bool:
        """Whether the block may leave its statement: `return`, or `break`/`continue`
        of a loop outside it."""
        for node in _own_nodes(block):
            if isinstance(node, cst.Return):
                return True
            if isinstance(node, (cst.Break, cst.Continue)):
                for ancestor in self.facts.ancestors(node):
                    if ancestor is block:
                        return True
                    if isinstance(ancestor, (cst.For, cst.While)):
                        break
        return False


@dataclass(frozen=True)
class _Flow:
    """Whether paths remain open (unreleased) after some statements, or one left open."""

    open: bool
    exit: cst.CSTNode | None = None


class ReleasePaths:
    """Finds, within one module, a normal path that leaves a function unreleased."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts

    def path_without_release(
        self, statement: cst.BaseStatement, function: FunctionNode, release_ids: set[int]
    ) -> cst.CSTNode | None:
        """A statement through which some normal path leaves the function unreleased.

        Walks the statements after the acquisition, then those after each
        enclosing compound statement, up to the end of the function. Returns
        the `return`/`raise` (or the function, for falling off its end) of the
        first path found that never releases, or None when every path does.
        """
        facts = self.facts
        current: cst.CSTNode = statement
        while True:
            block = facts.parent(current)
            if block is None:
                return None
            siblings = block_statements(block)
            index = next((i for i, s in enumerate(siblings) if s is current), None)
            if index is not None:
                flow = self._flow(siblings[index + 1 :], release_ids)
                if flow.exit is not None:
                    return flow.exit
                if not flow.open:
                    return None
            owner = facts.parent(block)
            while (
                owner is not None
                and not isinstance(owner, cst.BaseStatement)
                and not isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                owner = facts.parent(owner)
            if (
                owner is None
                or owner is function
                or isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                return function if not isinstance(function, cst.Lambda) else None
            current = owner

    def _flow(self, statements: Sequence[cst.CSTNode], release_ids: set[int]) -> _Flow:
        """Run through statements: does every path release before leaving?"""
        open_paths = True
        for statement in statements:
            if not open_paths:
                break
            step = self._statement_flow(statement, release_ids)
            if step.exit is not None:
                return step
            open_paths = step.open
        return _Flow(open=open_paths)

    def _statement_flow(self, statement: cst.CSTNode, release_ids: set[int]) -> _Flow:
        if isinstance(statement, cst.SimpleStatementLine):
            if _contains_release(statement, release_ids):
                return _Flow(open=False)
            for small in statement.body:
                if isinstance(small, (cst.Return, cst.Raise)):
                    return _Flow(open=False, exit=small)
            return _Flow(open=True)
        if isinstance(statement, cst.If):
            branches: list[Sequence[cst.CSTNode]] = [block_statements(statement.body)]
            orelse = statement.orelse
            if isinstance(orelse, cst.If):
                branches.append([orelse])
            elif isinstance(orelse, cst.Else):
                branches.append(block_statements(orelse.body))
            else:
                branches.append([])
            return self._branches(branches, release_ids)
        if isinstance(statement, (cst.With,)):
            return self._flow(block_statements(statement.body), release_ids)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            if statement.finalbody is not None and _contains_release(
                statement.finalbody, release_ids
            ):
                return _Flow(open=False)
            body = list(block_statements(statement.body))
            if statement.orelse is not None:
                body.extend(block_statements(statement.orelse.body))
            branches = [body] + [block_statements(h.body) for h in statement.handlers]
            return self._branches(branches, release_ids)
        if isinstance(statement, (cst.For, cst.While)):
            # The body may run zero times; a release inside it is not guaranteed.
            loop_body = self._flow(block_statements(statement.body), release_ids)
            if loop_body.exit is not None:
                return loop_body
            if statement.orelse is not None:
                return self._flow(block_statements(statement.orelse.body), release_ids)
            return _Flow(open=True)
        if isinstance(statement, cst.Match):
            branches = [block_statements(case.body) for case in statement.cases]
            branches.append([])
            return self._branches(branches, release_ids)
        return _Flow(open=True)

    def _branches(self, branches: Sequence[Sequence[cst.CSTNode]], release_ids: set[int]) -> _Flow:
        any_open = False
        for branch in branches:
            flow = self._flow(branch, release_ids)
            if flow.exit is not None:
                return flow
            any_open = any_open or flow.open
        return _Flow(open=any_open)


def _contains_release(node: cst.CSTNode, release_ids: set[int]) -> bool:
    return any(id(found) in release_ids for found in walk(node))


def _is_string(node: cst.BaseExpression) -> bool:
    """A string literal (plain, implicitly concatenated or an f-string)."""
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


def _names_only(target: cst.BaseExpression) -> bool:
    """`del x` or `del x, y`: unbinding names, which cannot fail on data."""
    if isinstance(target, cst.Name):
        return True
    return isinstance(target, (cst.Tuple, cst.List)) and all(
        _names_only(element.value) for element in target.elements
    )


def _own_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes under root that run as part of it: not inside nested defs, lambdas or
    classes, whose bodies run elsewhere."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is root or not isinstance(node, _NESTED_SCOPES):
            stack.extend(reversed(children(node)))


def _suspends(body: cst.CSTNode) -> bool:
    """Whether the body can be interrupted by a BaseException from outside: at an
    `await` (also `async for`/`async with`), cancellation; at a `yield`, GeneratorExit."""
    for node in _own_nodes(body):
        if isinstance(node, (cst.Await, cst.Yield)):
            return True
        if isinstance(node, (cst.For, cst.With)) and node.asynchronous is not None:
            return True
    return False
