"""Paths through a function after an acquisition: which leave without a release, and
what on them can raise.

One model of control flow answers both halves of "is it released on every
path". `RaisingCode` says which code can raise in practice, and which `try`
or `with contextlib.suppress` swallows everything its body can raise.
`ReleasePaths` runs the statements after a point abstractly, in the spirit of
mypy's binder: each one leaves the paths open (nothing released yet), closes
them (a release, or a `finally` that releases), or ends one path by leaving
the function (`return`, `raise`; `break` and `continue` of the loop around the
acquisition, which skip what follows in it); a `raise` that a handler of an
enclosing `try` surely takes leaves nothing: the path goes on in that handler.
Branches join: a path stays open if any
branch leaves it open, and the first branch that leaves the function
unreleased is the answer. Loop bodies may run zero times, so a release inside
one does not close the path.

Two facts keep paths from being counted open when nothing on them is held.
A handler (or a `with contextlib.suppress`) entered only by an exception the
release itself raised starts closed: the release was attempted. And a guard
on the resource itself (`if x is not None:`, `if x:`, `if not x.closed:`)
has one branch in which there is nothing to release, which therefore counts
as closed whatever it does; a guard on anything else keeps both branches.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Union

import libcst as cst
from libcst.metadata.scope_provider import Assignment, Scope

from runguard_lint.analysis.names import FunctionNode, ModuleFacts, dotted_name
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.analysis.syntax import (
    block_statements,
    guards_only,
    is_none,
    is_within,
    small_statements,
)
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
        # An object's identity, a type test, and the running task or loop (which
        # raise only outside a running event loop: a bug every run hits).
        "builtins.id",
        "builtins.isinstance",
        "asyncio.current_task",
        "asyncio.get_running_loop",
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

# Attributes by which a resource tells that it is released already.
_CLOSED_ATTRIBUTES = frozenset({"closed", "is_closed"})
# Attributes that are None until the resource is released (`Popen.returncode`, set
# once the child is reaped).
_SET_WHEN_RELEASED = frozenset({"returncode"})
# The methods of a child process that reap it when they answer anything but None.
_REAPING_QUERIES = frozenset({"poll"})
# The resource `_REAPING_QUERIES` reap: a child process.
CHILD_PROCESS = "subprocess.Popen"

_NESTED_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)

# What an annotation may subscript without running a lookup (PEP 585, `typing`).
_BUILTIN_GENERICS = frozenset({"list", "dict", "set", "frozenset", "tuple", "type"})
_TYPING_MODULES = frozenset({"typing", "typing_extensions", "types", "re"})


# What a release that times out raises, and the types that catch it.
_TIMEOUT_CATCHERS = frozenset(
    {
        "subprocess.TimeoutExpired",
        "subprocess.SubprocessError",
        "builtins.Exception",
        "builtins.BaseException",
        "builtins.TimeoutError",
        "asyncio.TimeoutError",
        "concurrent.futures.TimeoutError",
    }
)


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

    def __init__(self, facts: ModuleFacts, project: ProjectView | None = None) -> None:
        self.facts = facts
        # The project's facts, for loggers it defines in one module and logs with in
        # others (None for a file on its own).
        self.project = project
        # Functions of this module by id: whether a call of each returns without
        # raising (`_quiet_function`); False while one is being decided, which ends a
        # recursion in doubt.
        self._quiet: dict[int, bool] = {}

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
        if isinstance(statement, cst.FunctionDef):
            return self._harmless_definition(statement)
        return False

    def _harmless_definition(self, function: cst.FunctionDef) -> bool:
        """A `def` runs none of its body: only its decorators (calls, which may raise),
        its parameters' defaults and, unless the module postpones them (`from
        __future__ import annotations`), its annotations. An annotation raises only on
        a mistake every run makes (`list[int]` on a type that is not generic), so a type
        expression counts as quiet."""
        if function.decorators:
            return False
        params = function.params
        listed = [*params.posonly_params, *params.params, *params.kwonly_params]
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                listed.append(star)
        if any(
            param.default is not None and not self.harmless_expression(param.default)
            for param in listed
        ):
            return False
        if self.facts.postponed_annotations:
            return True
        annotations = [param.annotation for param in listed if param.annotation is not None]
        if function.returns is not None:
            annotations.append(function.returns)
        return all(self._type_expression(annotation.annotation) for annotation in annotations)

    def _type_expression(self, node: cst.BaseExpression) -> bool:
        """A name, a dotted name, a string, `None`, `...`, a union with `|`, or a
        subscript of a generic that the standard library defines (`dict[str, int]`,
        `Optional[X]`, `Callable[[int], str]`, `Literal[1, "a"]`): evaluating one raises
        only on a mistake every run makes. A subscript of anything else (`PARSERS[kind]`)
        may be a lookup that fails on data."""
        if isinstance(node, (cst.Name, cst.BaseString, cst.BaseNumber, cst.Ellipsis)):
            return True
        if isinstance(node, cst.Attribute):
            return self._type_expression(node.value)
        if isinstance(node, cst.BinaryOperation):
            return (
                isinstance(node.operator, cst.BitOr)
                and self._type_expression(node.left)
                and self._type_expression(node.right)
            )
        if isinstance(node, cst.List):
            return all(
                isinstance(element, cst.Element) and self._type_expression(element.value)
                for element in node.elements
            )
        if isinstance(node, cst.Subscript):
            return any(_generic(name) for name in self.facts.external_names(node.value)) and all(
                isinstance(element.slice, cst.Index) and self._type_expression(element.slice.value)
                for element in node.slice
            )
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
        names = self.caught_names(caught)
        if "builtins.BaseException" in names:
            return True
        return "builtins.Exception" in names and not _suspends(body)

    def caught_names(self, caught: cst.BaseExpression) -> set[str]:
        """The qualified names of the exception types a handler names."""
        names: set[str] = set()
        for kind in _handled_types(caught):
            names |= self.facts.external_names(kind)
        return names

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
        if "builtins.getattr" in names:
            # With a default, `getattr` answers as reading the attribute does.
            return len(call.args) == 3 and not any(argument.keyword for argument in call.args)
        func = call.func
        callee = self._module_function(func)
        if callee is not None:
            return self._quiet_function(callee)
        if not isinstance(func, cst.Attribute):
            return False
        # `"{}: {}".format(a, b)`, `" ".join(command)`: string building from names,
        # which raises only on a type mistake (a list of str joins; the arguments are
        # names or other harmless expressions, checked above).
        if func.attr.value in ("format", "join") and _is_string(func.value):
            return True
        return func.attr.value in _LOGGER_METHODS and self._is_logger(func.value)

    def _module_function(self, func: cst.BaseExpression) -> cst.FunctionDef | None:
        """The module-level function a call runs, by its one binding (`_cancel_event()`).
        Not a method through `self`: a subclass, here or in another module, or an
        instance attribute may put other code in its place."""
        if not isinstance(func, cst.Name):
            return None
        assignments = self.facts.assignments_of(func)
        if len(assignments) != 1:
            return None
        (assignment,) = assignments
        node = assignment.node if isinstance(assignment, Assignment) else None
        if isinstance(node, cst.FunctionDef) and isinstance(self.facts.parent(node), cst.Module):
            return node
        return None

    def _quiet_function(self, function: cst.FunctionDef) -> bool:
        """Whether calling the function returns without raising: a plain `def` (no
        decorator, not async, no `yield`) whose every statement is harmless, a `return`
        of a harmless value, an `if` on a harmless test with such branches, or a `try`
        whose handler catches whatever its body raises and whose handlers are such
        code (`try: state = get_state() except Exception: return None`). A recursion
        is not known to end: it is not quiet. Nor is a body that is a lone `pass`,
        which may be the plan's stub of a body no check needs (`prefilter.plan`)."""
        known = self._quiet.get(id(function))
        if known is not None:
            return known
        self._quiet[id(function)] = False
        body = block_statements(function.body)
        smalls = list(small_statements(body[0])) if len(body) == 1 else []
        stub = len(smalls) == 1 and isinstance(smalls[0], cst.Pass)
        quiet = (
            not stub
            and not function.decorators
            and function.asynchronous is None
            and not any(isinstance(node, cst.Yield) for node in _own_nodes(function.body))
            and self._quiet_block(function.body)
        )
        self._quiet[id(function)] = quiet
        return quiet

    def _quiet_block(self, block: cst.CSTNode) -> bool:
        return all(self._quiet_statement(statement) for statement in block_statements(block))

    def _quiet_else(self, orelse: cst.If | cst.Else) -> bool:
        if isinstance(orelse, cst.If):
            return self._quiet_statement(orelse)
        return self._quiet_block(orelse.body)

    def _quiet_statement(self, statement: cst.CSTNode) -> bool:
        """One statement of a quiet function: it runs through, or returns quietly."""
        if self.harmless(statement):
            return True
        if isinstance(statement, cst.SimpleStatementLine):
            *before, last = statement.body
            return (
                isinstance(last, cst.Return)
                and all(self.harmless_small(small) for small in before)
                and (last.value is None or self.harmless_expression(last.value))
            )
        if isinstance(statement, cst.If):
            return (
                self.harmless_expression(statement.test)
                and self._quiet_block(statement.body)
                and (statement.orelse is None or self._quiet_else(statement.orelse))
            )
        if isinstance(statement, cst.Try):
            return (
                any(
                    self.catches_everything(handler.type, statement.body)
                    for handler in statement.handlers
                )
                and all(self._quiet_block(handler.body) for handler in statement.handlers)
                and (statement.orelse is None or self._quiet_block(statement.orelse.body))
                and statement.finalbody is None
            )
        return False

    def _is_logger(self, receiver: cst.BaseExpression) -> bool:
        """`logging.getLogger(...)` itself, or a name every binding of which (in this
        module: a module-level `logger`, a local `log`) is such a call; or loguru's
        `logger`, whose sinks catch their own errors unless told not to (`catch=True`
        is loguru's default), as logging's handlers do."""
        if "loguru.logger" in self.facts.external_names(receiver):
            return True
        if self.project is not None and self.project.is_logger(receiver):
            return True
        if isinstance(receiver, cst.Call):
            return self._makes_logger(receiver.func) and self._harmless_call(receiver)
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
        return isinstance(value, cst.Call) and self._makes_logger(value.func)

    def _makes_logger(self, func: cst.BaseExpression) -> bool:
        """`logging.getLogger`, or a project function that returns a logger."""
        if "logging.getLogger" in self.facts.external_names(func):
            return True
        return self.project is not None and self.project.makes_logger(func)

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
class Releases:
    """What releases one resource: the ids of its release nodes, the name that holds it
    and the flags that are true whenever it is held (whose guards, `if holder is not
    None:`, `if should_close:`, tell where nothing is held)."""

    ids: frozenset[int]
    holder: str | None = None
    flags: frozenset[str] = frozenset()
    # Whether it is a child process (`subprocess.Popen`), which `poll()` reaps.
    child: bool = False
    # A name or attribute chain that is false whenever the resource is held, and not
    # rebound in the function: the one a value built only in its absence falls back
    # from (`session = self._session or ClientSession()`), whose guards (`if
    # self._session is None:`, `if not self._session:`) tell where the session was
    # built here. A given value that is false but not None (an empty pool) is taken
    # as never given: `is None` is read as `not`.
    borrowed_from: str | None = None
    # Whether it was built wherever `borrowed_from` is merely false (`if not x:` /
    # `else` of `if x:`), not only None: a guard `x is None` then does not tell.
    borrowed_when_false: bool = False


@dataclass(frozen=True)
class _Flow:
    """Whether paths remain open (unreleased) after some statements, or one left open."""

    open: bool
    exit: cst.CSTNode | None = None


_TryNode = Union[cst.Try, cst.TryStar]


@dataclass(frozen=True)
class _Walk:
    """Where the statements being run stand. `tries`: the `try` statements whose
    handlers take what a `raise` in them raises, innermost first; `reached`: the ids of
    the handlers such a `raise` reached, shared by every context of one walk (that
    `raise` ends no path: the handler goes on with it). `in_loop`: inside a loop that
    the run entered, where `break` and `continue` stay in the run; outside one, in a
    loop around the acquisition, `continue` leaves what the walk follows (the next
    round binds another resource), as `return` does, and `break` goes on after that
    loop: `broken` holds the ids of the loops a `break` left (shared, as `reached`)."""

    tries: tuple[_TryNode, ...] = ()
    reached: set[int] = field(default_factory=set)
    in_loop: bool = True
    broken: set[int] = field(default_factory=set)

    def inside(self, node: _TryNode) -> _Walk:
        return replace(self, tries=(node, *self.tries))

    def outside(self, node: _TryNode) -> _Walk:
        tries = self.tries
        index = next((i for i, t in enumerate(tries) if t is node), None)
        return replace(self, tries=tries[index + 1 :] if index is not None else tries)

    def looping(self) -> _Walk:
        return self if self.in_loop else replace(self, in_loop=True)

    def pending(self) -> bool:
        """Whether a handler of a `try` around, or the code after a loop around, is
        still to run a path that a `raise` or a `break` sent there."""
        return bool(self.broken) or any(
            id(handler) in self.reached for t in self.tries for handler in t.handlers
        )


class ReleasePaths:
    """Finds, within one module, a normal path that leaves a function unreleased, and
    whether a release comes before anything that can raise."""

    def __init__(self, facts: ModuleFacts, project: ProjectView | None = None) -> None:
        self.facts = facts
        self.raising = RaisingCode(facts, project)

    def path_without_release(
        self, statement: cst.BaseStatement, function: FunctionNode, releases: Releases
    ) -> cst.CSTNode | None:
        """A statement through which some normal path leaves the function unreleased.

        Walks the statements after the acquisition, then those after each
        enclosing compound statement, up to the end of the function: past a `try`
        body, its `else` and the handlers a `raise` reached; past a loop body, what
        follows the loop when a `break` left it. Returns the `return`, `raise` or
        `continue` (or the function, for falling off its end) of the first path found
        that never releases, or None when every path does.
        """
        facts = self.facts
        current: cst.CSTNode = statement
        catching = _Walk(self._tries_around(statement), in_loop=False)
        open_paths = True
        while True:
            block = facts.parent(current)
            if block is None:
                return None
            owner = facts.parent(block)
            while (
                owner is not None
                and not isinstance(owner, cst.BaseStatement)
                and not isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                owner = facts.parent(owner)
            siblings = block_statements(block)
            index = next((i for i, s in enumerate(siblings) if s is current), None)
            if open_paths and index is not None:
                flow = self._flow(siblings[index + 1 :], releases, catching)
                if flow.exit is not None:
                    return flow.exit
                open_paths = flow.open
            if isinstance(owner, (cst.Try, cst.TryStar)) and block is owner.body:
                flow = self._leave_try_body(owner, open_paths, releases, catching)
                if flow.exit is not None:
                    return flow.exit
                open_paths = flow.open
                catching = catching.outside(owner)
            if (
                isinstance(owner, (cst.For, cst.While))
                and block is owner.body
                and id(owner) in catching.broken
            ):
                # A `break` goes on after the loop (its `else` skipped).
                catching.broken.discard(id(owner))
                open_paths = True
            if not open_paths and not catching.pending():
                return None
            if (
                owner is None
                or owner is function
                or isinstance(owner, (cst.FunctionDef, cst.Lambda))
            ):
                if not open_paths or isinstance(function, cst.Lambda):
                    return None
                return function
            current = owner

    def _loop_of(self, node: cst.CSTNode) -> cst.For | cst.While | None:
        """The loop a `break` leaves: the innermost in its function whose body holds it
        (a `break` in a loop's `else` leaves the loop around that one)."""
        child = node
        for ancestor in self.facts.ancestors(node):
            if isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
                return ancestor
            if isinstance(ancestor, _NESTED_SCOPES):
                return None
            child = ancestor
        return None

    def _leave_try_body(
        self, node: _TryNode, open_paths: bool, releases: Releases, catching: _Walk
    ) -> _Flow:
        """Past the rest of a `try` body the walk began in: its `else` runs on the open
        paths, and each handler that a `raise` in the body reached goes on with it."""
        outer = catching.outside(node)
        if open_paths and node.orelse is not None:
            flow = self._flow(block_statements(node.orelse.body), releases, outer)
            if flow.exit is not None:
                return flow
            open_paths = flow.open
        reached = [handler for handler in node.handlers if id(handler) in catching.reached]
        if reached:
            handlers = self._branches(
                [block_statements(handler.body) for handler in reached], releases, outer
            )
            if handlers.exit is not None:
                return handlers
            open_paths = open_paths or handlers.open
        return _Flow(open=open_paths)

    def _tries_around(self, statement: cst.CSTNode) -> tuple[_TryNode, ...]:
        """The `try` statements whose body holds statement, innermost first, up to the
        function it is in."""
        tries: list[_TryNode] = []
        child = statement
        parent = self.facts.parent(child)
        while parent is not None and not isinstance(parent, _NESTED_SCOPES):
            if isinstance(parent, (cst.Try, cst.TryStar)) and parent.body is child:
                tries.append(parent)
            child, parent = parent, self.facts.parent(parent)
        return tuple(tries)

    def _caught(self, node: cst.Raise, catching: _Walk) -> bool:
        """Whether a handler of an enclosing `try` takes what node raises (then records
        which: the first that does, searching the innermost `try` first). A handler
        that may or may not take it ends the search: the raise counts as leaving."""
        if not catching.tries:
            return False
        raised = None
        if node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, cst.Call) else node.exc
        ancestry = self._ancestry(raised) if raised is not None else None
        for candidate in catching.tries:
            for handler in candidate.handlers:
                taken = self._takes(handler.type, raised, ancestry)
                if taken is None:
                    return False
                if taken:
                    catching.reached.add(id(handler))
                    return True
        return False

    def _names(self, node: cst.BaseExpression) -> set[str]:
        """The qualified names of an exception class, the module's own classes too."""
        return {qualified.name for qualified in self.facts.qualified_names(node)}

    def _takes(
        self,
        caught: cst.BaseExpression | None,
        raised: cst.BaseExpression | None,
        ancestry: tuple[set[str], set[type[BaseException]]] | None,
    ) -> bool | None:
        """Whether `except caught:` takes the class `raised` (None for a bare `raise`,
        which re-raises what is being handled), given its `_ancestry`; None when that is
        not known. A bare handler and `BaseException` take everything, a class takes
        itself; past that, the raised class must be known to its roots: a builtin, or a
        class of this module whose bases are known so (`class Closed(Exception)`).
        Anything else (an imported class, `raise error`, a bare `raise`) is not known."""
        if caught is None:
            return True
        kinds = _handled_types(caught)
        caught_names: set[str] = set()
        for kind in kinds:
            names = self._names(kind)
            if not names:
                return None
            caught_names |= names
        if "builtins.BaseException" in caught_names:
            return True
        if raised is None:
            return None
        if ancestry is None:
            return True if self._names(raised) & caught_names else None
        names, roots = ancestry
        if names & caught_names:
            return True
        bases = [base for base in map(_builtin_exception, caught_names) if base is not None]
        if any(issubclass(root, base) for root in roots for base in bases):
            return True
        # Not taken, if each handled class is known to be another class: a builtin, or a
        # class this module defines. An imported name may be a builtin's alias
        # (`socket.timeout` is TimeoutError).
        if all(
            any(map(_builtin_exception, self._names(kind))) or self._defined_class(kind)
            for kind in kinds
        ):
            return False
        return None

    def _defined_class(self, node: cst.BaseExpression) -> cst.ClassDef | None:
        """The `class` statement of this module that binds a name bound only there."""
        if not isinstance(node, cst.Name):
            return None
        assignments = self.facts.assignments_of(node)
        if len(assignments) != 1:
            return None
        definition = getattr(next(iter(assignments)), "node", None)
        return definition if isinstance(definition, cst.ClassDef) else None

    def _ancestry(
        self, node: cst.BaseExpression, depth: int = 0
    ) -> tuple[set[str], set[type[BaseException]]] | None:
        """The qualified names of an exception class and of the classes of this module
        it derives from, and the builtin classes at its roots; None when some base is
        not known (imported, computed, or deeper than `_MAX_BASES_DEPTH`)."""
        names = self._names(node)
        builtin = {cls for cls in map(_builtin_exception, names) if cls is not None}
        if builtin:
            return names, builtin
        definition = self._defined_class(node) if depth <= _MAX_BASES_DEPTH else None
        if definition is None:
            return None
        bases = [base.value for base in definition.bases if base.keyword is None]
        if not bases:
            return None
        roots: set[type[BaseException]] = set()
        for base in bases:
            found = self._ancestry(base, depth + 1)
            if found is None:
                return None
            names |= found[0]
            roots |= found[1]
        return names, roots

    def releases_of(
        self,
        statement: cst.BaseStatement,
        function: FunctionNode,
        sites: Sequence[cst.CSTNode],
        holder: str | None,
        callee: str,
    ) -> Releases:
        """The releases of the resource that statement acquires by calling callee (its
        qualified name), held by holder."""
        return Releases(
            frozenset(id(site) for site in sites),
            holder,
            self._flags(statement, function, holder),
            callee == CHILD_PROCESS,
            *self._borrowed_from(statement, function),
        )

    def _borrowed_from(
        self, statement: cst.BaseStatement, function: FunctionNode
    ) -> tuple[str | None, bool]:
        """`x = given or Client()`, the acquisition on the right: `given` (a name or an
        attribute chain) is false whenever the client was built here; so is a local
        name tested by the `if` in whose absent branch the acquisition stands (`if
        use_running: session = current / else: session = ClientSession()`), with
        whether that test was of truth (`if not x:`) rather than of None. Only when the
        function binds neither `given` nor any head of it (`cfg` of `cfg.session`) after
        the acquisition (for the `if`, from the `if` on), by any kind of binding, and
        sets no attribute by name (`setattr`, `__dict__`); an attribute may still change
        through a call of something else, which is taken as not happening between the
        two. (None, False) when there is none."""
        nothing: tuple[str | None, bool] = (None, False)
        given = self._given_or(statement)
        since: cst.CSTNode = statement
        # `given or Client()`: `given` stands for the resource (a client the caller may
        # pass), an object false only when None, so a guard `given is None` tells. The
        # name an `if` tests is any data (`proxy = ""`): there false is not None.
        when_false = False
        if given is None:
            branch = self._built_in_absence(statement)
            if branch is None:
                return nothing
            given, since, when_false = branch
        scope = self.facts.function_scope(function)
        if scope is None:
            return nothing
        root = given.split(".", 1)[0]
        assignments = list(scope.assignments[root])
        if since is not statement and self._shared_name(given, function, bool(assignments)):
            return nothing  # another function may rebind it between the two
        # Every binding of the root name in the function (parameters, imports, `case`
        # captures, definitions included) must come before the acquisition (the `if`).
        for assignment in assignments:
            node = getattr(assignment, "node", None)
            if not isinstance(assignment, Assignment) or node is None:
                return nothing
            if (
                self.facts.enclosing_function(node) is not function
                or self._after(node, since)
                or is_within(self.facts, node, since)
            ):
                # Bound later, or by the acquisition itself (`pool = Executor()` under
                # `if pool is None:`, `x = x or Client()`) or in its branch: it then
                # names something else than what the test saw.
                return nothing
        heads = {given, *(given.rsplit(".", depth)[0] for depth in range(1, given.count(".") + 1))}
        for node in walk(function):
            if isinstance(node, cst.Attribute) and node.attr.value == "__dict__":
                return nothing
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Name)
                and node.func.value in ("setattr", "delattr")
            ):
                return nothing
            target = _bound_target(node)
            if (
                target is not None
                and (self._after(node, since) or is_within(self.facts, node, since))
                and any(
                    dotted_name(part) in heads
                    for part in walk(target)
                    if isinstance(part, (cst.Name, cst.Attribute))
                )
            ):
                return nothing
        return given, when_false

    def _shared_name(self, name: str, function: FunctionNode, bound_here: bool) -> bool:
        """Whether a flag may be rebound elsewhere: the function declares it `global` or
        `nonlocal`, or does not bind it and some such statement of the module names it
        (a module constant or a closure's parameter nothing rebinds is kept)."""
        scope_nodes = walk(function) if bound_here else self.facts.nodes
        return any(
            type(node) in (cst.Global, cst.Nonlocal)  # by exact type: asked of every node
            and any(item.name.value == name for item in node.names)  # type: ignore[attr-defined]
            for node in scope_nodes
        )

    def _given_or(self, statement: cst.BaseStatement) -> str | None:
        """`x = given or Client()`: `given`, a name or an attribute chain."""
        smalls = list(small_statements(statement))
        value = smalls[0].value if len(smalls) == 1 and isinstance(smalls[0], cst.Assign) else None
        if not (isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or)):
            return None
        right = value.right.expression if isinstance(value.right, cst.Await) else value.right
        if not isinstance(right, cst.Call) or not isinstance(value.left, (cst.Name, cst.Attribute)):
            return None
        return dotted_name(value.left)

    def _built_in_absence(self, statement: cst.BaseStatement) -> tuple[str, cst.If, bool] | None:
        """A local name false wherever the statement runs: `X` of `if X: ... else:
        session = ClientSession()` or of `if not X: session = ClientSession()` (also
        `X is None` / `X is not None`), the statement right in the branch's block; with
        the `if`, and whether its test was of truth rather than of None."""
        block = self.facts.parent(statement)
        branch = self.facts.parent(block) if isinstance(block, cst.IndentedBlock) else None
        if isinstance(branch, cst.Else):
            owner = self.facts.parent(branch)
            absent = False
        else:
            owner, absent = branch, True
        if not isinstance(owner, cst.If) or (absent and owner.body is not block):
            return None
        tested = _tested_absence(owner.test, chains=False)
        if tested is None or tested[1] is not absent:
            return None
        of_none = _tested_absence(owner.test, truthiness=False, chains=False) is not None
        return tested[0], owner, not of_none

    def closes(self, block: cst.CSTNode, releases: Releases) -> bool:
        """Whether every normal path through the block releases (or holds nothing)."""
        flow = self._flow(block_statements(block), releases)
        return flow.exit is None and not flow.open

    def quiet(self, statement: cst.CSTNode, releases: Releases) -> bool:
        """Whether the statement, run while the resource is held, neither raises nor
        leaves: harmless, or a guard whose branch that holds it is harmless (`if x is
        None: return` holds nothing where it returns)."""
        if isinstance(statement, cst.If):
            empty = self._guard(statement.test, releases)
            if empty is not None:
                return (empty or self._quiet_block(statement.body, releases)) and (
                    not empty
                    or statement.orelse is None
                    or self._quiet_else(statement.orelse, releases)
                )
            if not self.raising.harmless(statement):
                # `if state is CLOSED: lock.release(); raise Closed()`: a branch that
                # releases before anything in it can raise holds nothing afterwards,
                # whatever it then does; the other branch goes on holding it quietly.
                return (
                    self.raising.harmless_expression(statement.test)
                    and self._quiet_or_releasing(statement.body, releases)
                    and (
                        statement.orelse is None
                        or self._quiet_else(statement.orelse, releases, releasing=True)
                    )
                )
        return self.raising.harmless(statement)

    def releases_first(self, statement: cst.CSTNode, releases: Releases) -> bool:
        """Whether every path through the statement releases before anything in it can
        raise: `x.close()`, `try: x.close() except OSError: pass`, `with
        contextlib.suppress(OSError): x.close()`, `if x is not None: x.close()`."""
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in statement.body:
                if _contains_release(small, releases):
                    return self._release_runs_first(small, releases)
                if not self.raising.harmless_small(small):
                    return False
            return False
        if isinstance(statement, cst.If):
            if not self.raising.harmless_expression(statement.test):
                return False
            empty = self._guard(statement.test, releases)
            body = empty is True or self.releases_before_raising(statement.body, releases)
            orelse = statement.orelse
            if empty is False:
                return body
            if orelse is None:
                return False
            if isinstance(orelse, cst.If):
                return body and self.releases_first(orelse, releases)
            return body and self.releases_before_raising(orelse.body, releases)
        if isinstance(statement, cst.Try):
            # The handlers and the finally run only after the release was attempted.
            return self.releases_before_raising(statement.body, releases)
        if isinstance(statement, cst.With):
            return (
                statement.asynchronous is None
                and self.raising.suppressed_types(statement) is not None
                and self.releases_before_raising(statement.body, releases)
            )
        return False

    def releases_before_raising(self, block: cst.CSTNode, releases: Releases) -> bool:
        """Whether the block releases before anything in it can raise."""
        for statement in block_statements(block):
            if _contains_release(statement, releases):
                return self.releases_first(statement, releases)
            if not self.quiet(statement, releases):
                return False
        return False

    def _release_runs_first(self, small: cst.CSTNode, releases: Releases) -> bool:
        """In `return report(p.wait())`, the release is the first call that runs; in
        `proc.communicate(timeout=30)` the release itself raises on timeout and leaves
        the process running, unless the `try` around it releases in the handler that
        takes the timeout (`except TimeoutExpired: proc.kill(); proc.communicate()`)."""
        site = next(node for node in walk(small) if id(node) in releases.ids)
        call = site.expression if isinstance(site, cst.Await) else site
        if not isinstance(call, cst.Call):
            return False
        if any(
            argument.keyword is not None and argument.keyword.value == "timeout"
            for argument in call.args
        ) and not self._timeout_released(site, releases):
            return False
        if not self._runs_whenever(site, small):
            return False
        end = self.facts.position(site).end
        ancestors = {id(node) for node in self.facts.ancestors(site)}
        for node in walk(small):
            if node is call or not isinstance(node, cst.Call) or id(node) in ancestors:
                continue
            start = self.facts.position(node).start
            if (start.line, start.column) < (end.line, end.column):
                return False  # another call runs first and may raise
        return True

    def _runs_whenever(self, site: cst.CSTNode, small: cst.CSTNode) -> bool:
        """Whether evaluating `small` always reaches `site`: not in a branch of `a if t
        else b`, nor past the first operand of `and`/`or` (`x.close() if owned else
        None`, `verbose and x.close()` may not release)."""
        child = site
        for ancestor in self.facts.ancestors(site):
            if isinstance(ancestor, cst.IfExp) and child is not ancestor.test:
                return False
            if isinstance(ancestor, cst.BooleanOperation) and child is not ancestor.left:
                return False
            if isinstance(ancestor, cst.Lambda):
                return False
            if ancestor is small:
                return True
            child = ancestor
        return True

    def _timeout_released(self, site: cst.CSTNode, releases: Releases) -> bool:
        """The innermost `try` around a release that can time out has a handler for the
        timeout (`TimeoutExpired`, or anything broader) that releases again."""
        for ancestor in self.facts.ancestors(site):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(ancestor, cst.Try) and is_within(self.facts, site, ancestor.body):
                return any(
                    self._catches_timeout(handler.type)
                    and any(id(node) in releases.ids for node in walk(handler.body))
                    for handler in ancestor.handlers
                )
        return False

    def _catches_timeout(self, caught: cst.BaseExpression | None) -> bool:
        return caught is None or bool(self.raising.caught_names(caught) & _TIMEOUT_CATCHERS)

    def _flags(
        self, statement: cst.BaseStatement, function: FunctionNode, holder: str | None = None
    ) -> frozenset[str]:
        """Local names that are true whenever the resource is held: set to `True` (or
        to the resource itself, `created = client`) right after the acquisition, with
        nothing between that can raise (`f = open(p)`, `should_close = True`), or the
        test of the `if` the acquisition sits in (`if owned: client = Client()`); and in
        either case never rebound afterwards (in source order) to anything but `True`.
        A guard on such a flag is a guard on the resource: where it is false (or
        None), nothing is held."""
        block = self.facts.parent(statement)
        scope = self.facts.function_scope(function)
        if block is None or scope is None:
            return frozenset()
        # Each candidate, with the node after which it may only be rebound to True.
        candidates: dict[str, cst.CSTNode] = {}
        # Counters grown right after the acquisition (`taken += 1`, each permit taken in
        # a loop counted): true whenever one is held, if they start at zero or more and
        # only grow.
        counters: set[str] = set()
        # The bindings that make an alias of the resource a flag (`created = client`).
        aliasing: set[int] = set()
        siblings = block_statements(block)
        index = next((i for i, s in enumerate(siblings) if s is statement), len(siblings))
        for later in siblings[index + 1 :]:
            if not self.raising.harmless(later):
                break
            for small in small_statements(later):
                if isinstance(small, cst.AugAssign) and _grows(small):
                    if isinstance(small.target, cst.Name):
                        counters.add(small.target.value)
                        candidates.setdefault(small.target.value, statement)
                elif isinstance(small, cst.Assign) and (
                    _binds_true(small) or (holder is not None and _is_holder(small.value, holder))
                ):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            candidates.setdefault(target.target.value, statement)
                            aliasing.add(id(target.target))
        owner = self.facts.parent(block)
        if isinstance(owner, cst.Try) and guards_only(owner, block):
            # `if must_open: try: f = open(p) / except OSError: raise ...`: the `try`
            # stands for the acquisition.
            around = self.facts.parent(owner)
            owner = self.facts.parent(around) if around is not None else None
            block = around if around is not None else block
        if isinstance(owner, cst.If) and owner.body is block and isinstance(owner.test, cst.Name):
            candidates.setdefault(owner.test.value, owner)
        for name, since in self._branch_flags(statement, block, scope, function).items():
            candidates.setdefault(name, since)
        return frozenset(
            name
            for name, since in candidates.items()
            # A global or nonlocal flag has its bindings elsewhere: none here.
            if scope.assignments[name]
            and all(
                isinstance(assignment, Assignment)
                and (
                    not self._after(assignment.node, since)
                    or id(assignment.node) in aliasing
                    or _rebinds_true(self.facts, assignment.node)
                )
                and (name not in counters or _counts_up(self.facts, assignment.node))
                for assignment in scope.assignments[name]
            )
        )

    def _branch_flags(
        self,
        statement: cst.BaseStatement,
        block: cst.CSTNode,
        scope: Scope,
        function: FunctionNode,
    ) -> dict[str, cst.CSTNode]:
        """Flags bound, before the branch that acquires, to the test under which that
        branch runs (`owns = client is None` before `if client is not None: ... else:
        client = Client()`, or before `c = client if client is not None else
        Client()`): each with the statement that branches, after which it may not be
        rebound. The tested name must not be rebound between the flag and there."""
        branch = self._acquiring_branch(statement, block)
        if branch is None:
            return {}
        owner, test, branch_runs = branch
        tested_test = _none_test(test)
        if tested_test is None:
            return {}
        tested, missing = tested_test
        held = missing if branch_runs else not missing
        around = self.facts.parent(owner)
        found: dict[str, cst.CSTNode] = {}
        for earlier in block_statements(around) if around is not None else ():
            if earlier is owner:
                break
            for small in small_statements(earlier):
                if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
                    continue
                target = small.targets[0].target
                bound = _none_test(small.value)
                if (
                    isinstance(target, cst.Name)
                    and bound is not None
                    and bound[0] == tested
                    and bound[1] == held
                    and self._unchanged_between(tested, scope, small, owner, function)
                    and self._unchanged_between(target.value, scope, small, owner, function)
                ):
                    found.setdefault(target.value, owner)
        return found

    def _acquiring_branch(
        self, statement: cst.BaseStatement, block: cst.CSTNode
    ) -> tuple[cst.BaseStatement, cst.BaseExpression, bool] | None:
        """The statement that branches around the acquisition, its test, and whether
        the acquiring branch runs when the test holds: the `if` whose body or `else`
        holds the acquiring statement, or the acquiring statement itself when its value
        chooses between a call and a name (`c = client if client else Client()`)."""
        owner = self.facts.parent(block)
        if isinstance(owner, cst.If) and owner.body is block:
            return owner, owner.test, True
        if isinstance(owner, cst.Else):
            outer = self.facts.parent(owner)
            if isinstance(outer, cst.If):
                return outer, outer.test, False
        smalls = list(small_statements(statement))
        value = smalls[0].value if len(smalls) == 1 and isinstance(smalls[0], cst.Assign) else None
        if isinstance(value, cst.IfExp):
            if isinstance(value.body, cst.Name) and not isinstance(value.orelse, cst.Name):
                return statement, value.test, False
            if isinstance(value.orelse, cst.Name) and not isinstance(value.body, cst.Name):
                return statement, value.test, True
        return None

    def _unchanged_between(
        self,
        name: str,
        scope: Scope,
        start: cst.CSTNode,
        end: cst.CSTNode,
        function: FunctionNode,
    ) -> bool:
        """Whether no binding of the local `name` lies after start and before end (the
        binding at start is not after it), and none is made by a nested function
        (`nonlocal`), which binds whenever it is called."""
        assignments = scope.assignments[name]
        return bool(assignments) and all(
            isinstance(assignment, Assignment)
            and self.facts.enclosing_function(assignment.node) is function
            and (not self._after(assignment.node, start) or self._after(assignment.node, end))
            for assignment in assignments
        )

    def _after(self, node: cst.CSTNode, since: cst.CSTNode) -> bool:
        """Whether node starts after since does, in source order."""
        start = self.facts.position(node).start
        reference = self.facts.position(since).start
        return (start.line, start.column) > (reference.line, reference.column)

    def _quiet_block(self, block: cst.CSTNode, releases: Releases) -> bool:
        return all(self.quiet(statement, releases) for statement in block_statements(block))

    def _quiet_else(
        self, orelse: cst.If | cst.Else, releases: Releases, *, releasing: bool = False
    ) -> bool:
        """An `elif` as a statement of its own; an `else` block quiet, or (`releasing`)
        releasing before anything in it can raise."""
        if isinstance(orelse, cst.If):
            return self.quiet(orelse, releases)
        if releasing:
            return self._quiet_or_releasing(orelse.body, releases)
        return self._quiet_block(orelse.body, releases)

    def _quiet_or_releasing(self, block: cst.CSTNode, releases: Releases) -> bool:
        return self._quiet_block(block, releases) or self.releases_before_raising(block, releases)

    def _guard(self, test: cst.BaseExpression, releases: Releases) -> bool | None:
        """Which branch of `if test:` holds nothing to release: True for the body
        (`x is None`, `not x`, `x.closed`), False for the `else` (`x is not None`,
        `x`, `not x.closed`, a flag true whenever it is held), None when the test is
        about anything else.

        `and` of guards whose `else` is empty is one (either failing means nothing
        is held), and `or` of guards whose body is empty.
        """
        holder = releases.holder
        if holder is None and not releases.flags:
            return None
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._guard(test.expression, releases)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left = self._guard(test.left, releases)
            right = self._guard(test.right, releases)
            joined = isinstance(test.operator, cst.Or)
            return joined if left is joined and right is joined else None
        if isinstance(test, cst.Name) and test.value in releases.flags:
            return False
        borrowed = releases.borrowed_from
        if borrowed is not None:
            tested = _tested_absence(test)
            if (
                tested is not None
                and tested[0] == borrowed
                and releases.borrowed_when_false
                and _tested_absence(test, truthiness=False) is not None
            ):
                # Built where it was merely false (`""`), released only where it is None.
                return None
            if tested is not None and tested[0] == borrowed:
                # `if self._session is None:` holds it only where it was built here.
                return not tested[1]
        if holder is None:
            # A permit taken from a receiver is held by no name: only its flags (a
            # counter of the permits taken) tell.
            return None
        if _is_holder(test, holder):
            return False
        if isinstance(test, cst.Attribute) and _is_holder(test.value, holder):
            return True if test.attr.value in _CLOSED_ATTRIBUTES else None
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and _reaped_state(test.left, holder, releases.child)
            and is_none(test.comparisons[0].comparator)
        ):
            # `if proc.returncode is None: proc.wait()`: not reaped yet, so held;
            # `if proc.poll() is None: proc.kill(); proc.wait()`: the same, and a
            # `poll()` that answers has reaped the child.
            operator = test.comparisons[0].operator
            if isinstance(operator, cst.Is):
                return False
            if isinstance(operator, cst.IsNot):
                return True
            return None
        if (
            isinstance(test, cst.Comparison)
            and len(test.comparisons) == 1
            and (
                _is_holder(test.left, holder)
                or (isinstance(test.left, cst.Name) and test.left.value in releases.flags)
            )
            and is_none(test.comparisons[0].comparator)
        ):
            operator = test.comparisons[0].operator
            if isinstance(operator, (cst.Is, cst.Equal)):
                return True
            if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                return False
        return None

    def _flow(
        self,
        statements: Sequence[cst.CSTNode],
        releases: Releases,
        catching: _Walk | None = None,
    ) -> _Flow:
        """Run through statements: does every path release before leaving?"""
        context = catching if catching is not None else _Walk()
        open_paths = True
        for statement in statements:
            if not open_paths:
                break
            step = self._statement_flow(statement, releases, context)
            if step.exit is not None:
                return step
            open_paths = step.open
        return _Flow(open=open_paths)

    def _statement_flow(self, statement: cst.CSTNode, releases: Releases, catching: _Walk) -> _Flow:
        if isinstance(statement, cst.SimpleStatementLine):
            if _contains_release(statement, releases):
                return _Flow(open=False)
            for small in statement.body:
                if isinstance(small, cst.Raise) and self._caught(small, catching):
                    # The handler goes on with this path (flowed with the `try`).
                    return _Flow(open=False)
                if isinstance(small, cst.Break) and not catching.in_loop:
                    loop = self._loop_of(small)
                    if loop is None:
                        return _Flow(open=False, exit=small)
                    catching.broken.add(id(loop))
                    return _Flow(open=False)  # it goes on after the loop
                if isinstance(small, (cst.Return, cst.Raise)) or (
                    isinstance(small, cst.Continue) and not catching.in_loop
                ):
                    return _Flow(open=False, exit=small)
            return _Flow(open=True)
        if isinstance(statement, cst.If):
            # The branch of a guard in which nothing is held is closed, whatever it does.
            empty = self._guard(statement.test, releases)
            branches: list[Sequence[cst.CSTNode]] = []
            if empty is not True:
                branches.append(block_statements(statement.body))
            if empty is not False:
                orelse = statement.orelse
                if isinstance(orelse, cst.If):
                    branches.append([orelse])
                elif isinstance(orelse, cst.Else):
                    branches.append(block_statements(orelse.body))
                else:
                    branches.append([])
            return self._branches(branches, releases, catching)
        if isinstance(statement, cst.With):
            branches = [block_statements(statement.body)]
            if self.raising.suppressed_types(statement) is not None and not (
                self.releases_before_raising(statement.body, releases)
            ):
                # What the body raises before releasing is swallowed: it goes on open.
                branches.append([])
            return self._branches(branches, releases, catching)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            if statement.finalbody is not None and self.closes(statement.finalbody, releases):
                return _Flow(open=False)
            flow = self._flow(
                block_statements(statement.body), releases, catching.inside(statement)
            )
            if flow.exit is not None:
                return flow
            if flow.open and statement.orelse is not None:
                flow = self._flow(block_statements(statement.orelse.body), releases, catching)
                if flow.exit is not None:
                    return flow
            if not self.releases_before_raising(statement.body, releases):
                # Otherwise a handler runs only after the release was attempted.
                handlers = self._branches(
                    [block_statements(h.body) for h in statement.handlers], releases, catching
                )
                if handlers.exit is not None:
                    return handlers
                flow = _Flow(open=flow.open or handlers.open)
            if flow.open and statement.finalbody is not None:
                return self._flow(block_statements(statement.finalbody), releases, catching)
            return flow
        if isinstance(statement, (cst.For, cst.While)):
            if id(statement) in releases.ids:
                # A loop that gives back one permit per pass, as many as were taken.
                return _Flow(open=False)
            # The body may run zero times; a release inside it is not guaranteed.
            loop_body = self._flow(block_statements(statement.body), releases, catching.looping())
            if loop_body.exit is not None:
                return loop_body
            if statement.orelse is not None:
                return self._flow(block_statements(statement.orelse.body), releases, catching)
            return _Flow(open=True)
        if isinstance(statement, cst.Match):
            branches = [block_statements(case.body) for case in statement.cases]
            branches.append([])
            return self._branches(branches, releases, catching)
        return _Flow(open=True)

    def _branches(
        self,
        branches: Sequence[Sequence[cst.CSTNode]],
        releases: Releases,
        catching: _Walk,
    ) -> _Flow:
        any_open = False
        for branch in branches:
            flow = self._flow(branch, releases, catching)
            if flow.exit is not None:
                return flow
            any_open = any_open or flow.open
        return _Flow(open=any_open)


# How deep `_ancestry` follows a module's classes through their bases: `class A(A)` (a
# rebinding, or a mistake) would otherwise never end.
_MAX_BASES_DEPTH = 8


def _handled_types(caught: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The exception types an `except` clause names: each element of a tuple, or the
    one expression."""
    return (
        [element.value for element in caught.elements]
        if isinstance(caught, cst.Tuple)
        else [caught]
    )


def _builtin_exception(qualified: str) -> type[BaseException] | None:
    """The builtin exception class a qualified name names, if it names one."""
    module, _, name = qualified.partition(".")
    value = getattr(builtins, name, None) if module == "builtins" else None
    return value if isinstance(value, type) and issubclass(value, BaseException) else None


def _generic(qualified: str) -> bool:
    """A class or special form the standard library lets annotations subscript."""
    module, _, name = qualified.rpartition(".")
    if module == "builtins":
        return name in _BUILTIN_GENERICS
    return module in _TYPING_MODULES or module == "collections" or module.startswith("collections.")


def _contains_release(node: cst.CSTNode, releases: Releases) -> bool:
    return any(id(found) in releases.ids for found in walk(node))


def _reaped_state(node: cst.BaseExpression, holder: str, child: bool) -> bool:
    """`holder.returncode` (None until the child is reaped) or, for a child process,
    `holder.poll()` (which reaps a child that has exited, and answers None while it
    runs)."""
    if isinstance(node, cst.Attribute):
        return node.attr.value in _SET_WHEN_RELEASED and _is_holder(node.value, holder)
    return (
        child
        and isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _REAPING_QUERIES
        and _is_holder(node.func.value, holder)
    )


_BINDING_NODES = (
    cst.AssignTarget,
    cst.AugAssign,
    cst.AnnAssign,
    cst.NamedExpr,
    cst.For,
    cst.CompFor,
    cst.Del,
)


def _bound_target(node: cst.CSTNode) -> cst.CSTNode | None:
    """What a binding node binds: an assignment's (walrus included), a loop's, a
    `del`'s, a `with ... as`'s or a `case` capture's target."""
    if isinstance(node, _BINDING_NODES):
        return node.target
    if isinstance(node, (cst.AsName, cst.MatchAs, cst.MatchStar)):
        return node.name
    if isinstance(node, cst.MatchMapping):
        return node.rest
    return None


def _tested_absence(
    test: cst.BaseExpression, *, truthiness: bool = True, chains: bool = True
) -> tuple[str, bool] | None:
    """`x.y is None` or `not x.y` as ("x.y", True); `x.y is not None` or `x.y` as
    ("x.y", False); through `not`. `truthiness`: a bare `x.y` counts too; `chains`: an
    attribute chain counts, not only a name. None for any other test."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _tested_absence(test.expression, truthiness=truthiness, chains=chains)
        return None if inner is None else (inner[0], not inner[1])
    subjects = (cst.Name, cst.Attribute) if chains else (cst.Name,)
    if truthiness and isinstance(test, subjects):
        name = dotted_name(test)
        return None if name is None else (name, False)
    if (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.left, subjects)
        and is_none(test.comparisons[0].comparator)
    ):
        name = dotted_name(test.left)
        operator = test.comparisons[0].operator
        if name is None or not isinstance(operator, (cst.Is, cst.IsNot)):
            return None
        return name, isinstance(operator, cst.Is)
    return None


def _none_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """`x is None` as ("x", True), `x is not None` as ("x", False), on a name, through
    `not` and parentheses; None for any other test."""
    return _tested_absence(test, truthiness=False, chains=False)


def _binds_true(assign: cst.Assign) -> bool:
    return isinstance(assign.value, cst.Name) and assign.value.value == "True"


def _binding_statement(
    facts: ModuleFacts, target: cst.CSTNode
) -> cst.Assign | cst.AugAssign | None:
    """The `name = ...` or `name += ...` statement a binding's target belongs to."""
    parent = facts.parent(target)
    if isinstance(parent, cst.AugAssign):
        return parent
    statement = facts.parent(parent) if isinstance(parent, cst.AssignTarget) else None
    return statement if isinstance(statement, cst.Assign) else None


def _rebinds_true(facts: ModuleFacts, target: cst.CSTNode) -> bool:
    """Whether a binding's target is that of `name = True`, or of `name += 1` (a
    counter that grows, whose truth it keeps)."""
    statement = _binding_statement(facts, target)
    if isinstance(statement, cst.AugAssign):
        return _grows(statement)
    return statement is not None and _binds_true(statement)


def _grows(statement: cst.AugAssign) -> bool:
    """`name += 1` (any positive integer literal)."""
    value = statement.value
    return (
        isinstance(statement.operator, cst.AddAssign)
        and isinstance(value, cst.Integer)
        and value.evaluated_value > 0
    )


def _counts_up(facts: ModuleFacts, target: cst.CSTNode) -> bool:
    """A counter's binding: `name += 1`, or `name = 0` (any literal from zero up)."""
    statement = _binding_statement(facts, target)
    if isinstance(statement, cst.AugAssign):
        return _grows(statement)
    return (
        statement is not None
        and isinstance(statement.value, cst.Integer)
        and statement.value.evaluated_value >= 0
    )


def _is_holder(node: cst.BaseExpression, holder: str) -> bool:
    return isinstance(node, cst.Name) and node.value == holder


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
