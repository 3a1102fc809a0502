"""Following an acquired value through its function to every place it ends up.

From the acquiring call the walk goes up the tree while the expression still
is the value (`await`, conditional expressions, containers, pass-through
calls), and at the first parent that does something with it records what:
a release, a `with`, a handoff to a call, a binding (whose loads are then
followed in turn), or an escape. Each kind of parent has its own handler.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata.scope_provider import Assignment, Scope

from runguard_lint.analysis.caches.syntax import local_value
from runguard_lint.analysis.names import FunctionNode, ModuleFacts, dotted_name
from runguard_lint.analysis.ownership.handoff import Handoffs
from runguard_lint.analysis.ownership.loads import LoadsOfBinding
from runguard_lint.analysis.ownership.model import (
    Acquisition,
    Escape,
    EscapeKind,
    Handoff,
    StoredAttribute,
)
from runguard_lint.analysis.ownership.uses import AttributeUses, Release, release_site
from runguard_lint.analysis.syntax import (
    guards_only,
    is_self,
    is_within,
    root_name,
    small_statements,
    target_names,
)
from runguard_lint.analysis.tree import walk
from runguard_lint.catalog import Catalog


@dataclass
class Trace:
    """What following one value through a function has found so far."""

    escapes: list[Escape] = field(default_factory=list)
    releases: list[cst.CSTNode] = field(default_factory=list)
    with_releases: list[cst.CSTNode] = field(default_factory=list)
    with_not_closing: bool = False
    yielded: bool = False
    stored: StoredAttribute | None = None
    holder: str | None = None
    element_released: bool = False
    # How values derived from the resource leave the function (see Tracer._derived).
    derived: list[Escape] = field(default_factory=list)
    # How many call results deep this trace follows (see Tracer._derived).
    depth: int = 0
    # The `for` loop that runs a resource which closes itself when exhausted
    # (`for line in fileinput.input(files):`): its normal end releases it.
    exhausted_by: cst.For | None = None
    visited: set[int] = field(default_factory=set)


# Builtins that run a generator expression handed to them before they return.
_GENERATOR_CONSUMERS = frozenset(
    f"builtins.{name}"
    for name in (
        "any",
        "all",
        "sum",
        "min",
        "max",
        "sorted",
        "list",
        "tuple",
        "set",
        "frozenset",
        "dict",
        "len",
    )
)


class _Step(enum.Enum):
    """What a handler made of the parent of the value's expression."""

    # The parent still is the value (or holds it): go on up from it.
    CLIMB = "climb"
    # The use is recorded, or the value is used on the spot and dropped.
    STOP = "stop"
    # A parent the walk does not model: a temporary value counts as escaped.
    UNFOLLOWED = "unfollowed"


@dataclass
class _Walk:
    """One walk up from an expression that evaluates to the resource."""

    acquisition: Acquisition
    trace: Trace
    start: cst.BaseExpression
    node: cst.CSTNode
    # The value is an expression's result (the acquiring call's, or a call's that may
    # wrap it), not a load of a name that keeps it.
    temporary: bool
    # The current expression holds the resource (a list of clients).
    container: bool
    # The value came out of such a container, so releasing it releases the resource.
    element: bool
    # It went through a closing wrapper (`contextlib.closing`), whose `with` closes it.
    wrapped_by_closing: bool = False
    # The current expression is a part of a temporary resource (`OpenAI().files`), which
    # keeps it alive; anywhere but in a chain of attributes it counts as a container.
    part: bool = False


_Parent = TypeVar("_Parent", bound=cst.CSTNode)


class Tracer:
    """Follows acquired values; one per module, sharing its facts and handoff verdicts."""

    def __init__(self, facts: ModuleFacts, catalog: Catalog, handoffs: Handoffs) -> None:
        self.facts = facts
        self.handoffs = handoffs
        self.uses = AttributeUses(facts, catalog)
        self._release_names = catalog.release_methods
        self._loads = LoadsOfBinding(facts)
        self._permit_release_names = catalog.permit_releases
        self._permit_releasers_by_receiver: dict[str, list[cst.Attribute]] | None = None
        # Keyed by exact type: no LibCST node class subclasses one handled here, so
        # this answers as isinstance tests would.
        self._handlers: dict[type[cst.CSTNode], Callable[[Any, _Walk], _Step]] = {}
        self._on(cst.Await, self._await)
        self._on(cst.BooleanOperation, self._climb)
        self._on(cst.IfExp, self._conditional)
        self._on(cst.NamedExpr, self._named_expression)
        self._on(cst.Element, self._element)
        self._on(cst.StarredElement, self._element)
        self._on(cst.DictElement, self._element)
        for holder in (cst.List, cst.Tuple, cst.Set, cst.Dict):
            self._on(holder, self._into_container)
        for comprehension in (cst.ListComp, cst.SetComp, cst.GeneratorExp):
            self._on(comprehension, self._into_container)
        self._on(cst.DictComp, self._dict_comprehension)
        self._on(cst.Arg, self._argument)
        self._on(cst.Attribute, self._attribute)
        self._on(cst.Subscript, self._subscript)
        self._on(cst.WithItem, self._with_item)
        self._on(cst.For, self._for_statement)
        self._on(cst.CompFor, self._comprehension_for)
        self._on(cst.Return, self._returned)
        self._on(cst.Yield, self._yielded)
        self._on(cst.Lambda, self._lambda_body)
        self._on(cst.Assign, self._assigned)
        self._on(cst.AnnAssign, self._annotated_assignment)
        self._on(cst.AugAssign, self._augmented_assignment)
        for on_the_spot in (
            cst.Expr,
            cst.Comparison,
            cst.UnaryOperation,
            cst.If,
            cst.While,
            cst.Assert,
            cst.FormattedStringExpression,
            cst.Global,
            cst.Nonlocal,
            cst.Del,
            cst.Decorator,
        ):
            self._on(on_the_spot, self._used_on_the_spot)

    def _on(self, kind: type[_Parent], handler: Callable[[_Parent, _Walk], _Step]) -> None:
        self._handlers[kind] = handler

    def follow(self, acquisition: Acquisition) -> Trace:
        """Everything that happens to the acquired value in its function."""
        trace = Trace()
        if acquisition.kind.takes_permit:
            self._follow_permit(acquisition, trace)
        elif acquisition.kind.result == "receiver":
            receiver = acquisition.constructor.func
            assert isinstance(receiver, cst.Attribute)
            self._follow_receiver(receiver.value, acquisition, trace)
        else:
            self._follow_value(acquisition.call, acquisition, trace, temporary=True)
        return trace

    # --- names --------------------------------------------------------------------------

    def _follow_permit(self, acquisition: Acquisition, trace: Trace) -> None:
        """A permit taken from a semaphore or lock (`await sem.acquire()`) is owed back
        to the same receiver: each `<receiver>.release()` in the function releases it.

        Only a plain statement takes a permit for sure (`if lock.acquire(timeout=1):`
        may not). A function that takes a permit and never gives it back, while other
        code in the module does (`acquire_slot()` paired with `release_slot()`,
        `__aenter__` with `__aexit__`), hands it to its caller."""
        call = acquisition.constructor
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        statement = self.facts.parent(call)
        if isinstance(statement, cst.Await):
            statement = self.facts.parent(statement)
        if not isinstance(statement, cst.Expr):
            trace.escapes.append(Escape(EscapeKind.UNFOLLOWED_EXPRESSION))
            return
        project = self.handoffs.project
        semaphore = project.permit_taken(acquisition.kind) if project is not None else None
        if project is not None and semaphore is not None:
            # `acquire_slot()`, a project function that takes the permit for its caller:
            # the caller owes it back through the function that gives it back.
            trace.releases.extend(
                release_site(self.facts, node)
                for node in walk(acquisition.function)
                if isinstance(node, cst.Call)
                and self.facts.enclosing_function(node) is acquisition.function
                and project.gives_back(node, semaphore)
            )
            return
        if receiver is None:
            trace.escapes.append(Escape(EscapeKind.UNFOLLOWED_EXPRESSION))
            return
        code = self.facts.module.code_for_node(receiver)
        function = acquisition.function
        # Every `<receiver>.release` of the module, called or handed over as a callback.
        releasers = [
            node
            for node in self._permit_releasers().get(code, ())
            if node.attr.value in acquisition.kind.release
        ]
        own: list[cst.Call] = []
        for node in releasers:
            call_node = self.facts.parent(node)
            if not any(a is function for a in self.facts.ancestors(node)):
                continue
            if (
                isinstance(call_node, cst.Call)
                and call_node.func is node
                and self.facts.enclosing_function(node) is function
            ):
                own.append(call_node)
            else:
                # `loop.call_soon_threadsafe(sem.release)`, a done-callback that
                # releases: whoever runs it gives the permit back.
                trace.escapes.append(Escape(EscapeKind.RELEASER_HANDED_OVER, "release"))
                return
        giver = self._giver_handed_over(receiver, function, acquisition.kind.release)
        if giver is not None:
            # `task.add_done_callback(lambda _: self._on_done())`, `_on_done` giving the
            # permit back: whoever runs the callback gives it back, as with `sem.release`.
            trace.escapes.append(Escape(EscapeKind.RELEASER_HANDED_OVER, giver))
            return
        line = self.facts.position(call).start.line
        if any(self.facts.position(node).start.line < line for node in own) and not any(
            self.facts.position(node).start.line < line
            for node in self._permit_takes(function, code)
            if node is not call
        ):
            # `lock.release()` first, `lock.acquire()` later (`finally:` of a context
            # manager that drops the caller's lock around slow work): the function gives
            # the caller's permit back and takes it again for the caller.
            trace.escapes.append(Escape(EscapeKind.PERMIT_TAKEN_BACK, code))
            return
        elsewhere = len(own) < len(releasers)
        entered = isinstance(function, cst.FunctionDef) and function.name.value in (
            "__enter__",
            "__aenter__",
        )
        if elsewhere and (
            entered
            or (
                not own
                and (
                    self._only_takes(statement, function)
                    or self._given_back_by_a_giver(receiver, function, releasers)
                )
            )
        ):
            # `__aenter__` takes what `__aexit__` gives back; `acquire_slot()` takes
            # what `release_slot()` does: the caller holds the permit. A method that
            # takes a permit per item, given back by another method when the item is
            # done, or a generator that takes one per value, given back by the code
            # that consumes the values, hands it on too.
            trace.escapes.append(Escape(EscapeKind.PERMIT_RETURNED_ELSEWHERE, code))
        elif own:
            trace.releases.extend(release_site(self.facts, node) for node in own)

    def _giver_handed_over(
        self, receiver: cst.BaseExpression, function: FunctionNode, release: Collection[str]
    ) -> str | None:
        """The name of a method that gives back permits of the instance's semaphore
        and takes none, which the function passes to a call rather than calls: as a
        value (`task.add_done_callback(self._on_done)`, `functools.partial(
        self._on_done, ...)`) or in a lambda written as the argument (`lambda _:
        self._on_done()`). The semaphore may be read into a local first (`sem =
        self.sem`). None when there is none."""
        receiver = local_value(self.facts, receiver)
        root = root_name(receiver)
        if root is None or self._receiver_class(function, root) is None:
            return None
        code = self.facts.module.code_for_node(receiver)
        givers: set[str] = set()
        for node in self._permit_releasers().get(code, ()):
            if node.attr.value not in release:
                continue
            call = self.facts.parent(node)
            giver = self.facts.enclosing_function(node)
            if (
                isinstance(call, cst.Call)
                and call.func is node
                and isinstance(giver, cst.FunctionDef)
                and giver is not function
                and not self._permit_takes(giver, code)
                and self._same_object(receiver, function, node.value, giver)
            ):
                givers.add(giver.name.value)
        if not givers:
            return None
        instance = self.facts.assignments_of(root)
        for named in walk(function):
            if not (
                isinstance(named, cst.Attribute)
                and named.attr.value in givers
                and isinstance(named.value, cst.Name)
                and self.facts.assignments_of(named.value) & instance
            ):
                continue
            if self._passed_on(named, function):
                return named.attr.value
        return None

    def _passed_on(self, node: cst.CSTNode, function: FunctionNode) -> bool:
        """Whether node, a bound method, is passed to a call the function makes: as an
        argument itself (`add_done_callback(self._on_done)`), as the function of a
        `functools.partial` passed so, or called in a lambda written as an argument
        (`add_done_callback(lambda _: self._on_done())`). Read any other way (its
        `__name__`, by a builtin such as `callable(...)`), it is not."""
        parent = self.facts.parent(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            # Called: only in a lambda whose body is that call, passed as an argument.
            lambda_node = self.facts.parent(parent)
            if not (isinstance(lambda_node, cst.Lambda) and lambda_node.body is parent):
                return False
            node, parent = lambda_node, self.facts.parent(lambda_node)
        while isinstance(parent, cst.Arg) and parent.value is node:
            call = self.facts.parent(parent)
            if (
                not isinstance(call, cst.Call)
                or self.facts.enclosing_function(call) is not function
            ):
                return False
            names = self.facts.external_names(call.func)
            if "functools.partial" not in names:
                # `callable(self._on_done)`, `print(...)`: a builtin only looks at it.
                return not any(name.startswith("builtins.") for name in names)
            if call.args[0] is not parent or parent.keyword is not None:
                return False
            node, parent = call, self.facts.parent(call)
        return False

    def _given_back_by_a_giver(
        self, receiver: cst.BaseExpression, function: FunctionNode, releasers: list[cst.Attribute]
    ) -> bool:
        """Whether another function gives back permits of the same semaphore while
        taking none itself, so that it gives back what others took: another method of
        the class for an attribute of the instance, any function that sees the same
        binding otherwise (the function that defines a local semaphore, around the
        generator that takes from it). `__exit__` and `__aexit__` give back what
        `__enter__` and `__aenter__` took, not what other methods do."""
        if not self._hands_on_an_item(function):
            return False
        code = self.facts.module.code_for_node(receiver)
        for node in releasers:
            call = self.facts.parent(node)
            if not (isinstance(call, cst.Call) and call.func is node):
                continue
            giver = self.facts.enclosing_function(node)
            if giver is None or is_within(self.facts, node, function):
                continue
            if isinstance(giver, cst.FunctionDef) and giver.name.value in ("__exit__", "__aexit__"):
                continue
            if self._permit_takes(giver, code):
                continue
            if self._same_object(receiver, function, node.value, giver):
                return True
        return False

    def _hands_on_an_item(self, function: FunctionNode) -> bool:
        """Whether the function hands on what each permit stands for: it yields (to
        the code that consumes the values, and gives the permits back), or stores into
        state that outlives the call (`self._pending[key] = item`, `self.queue.put(item)`,
        a container of the function around it), for the code that completes the item.
        A function that only uses the permit for its own work does neither."""
        scope = self.facts.function_scope(function)
        for node in walk(function):
            if self.facts.enclosing_function(node) is not function:
                continue
            if isinstance(node, cst.Yield):
                return True
            containers: list[cst.BaseExpression] = []
            if isinstance(node, cst.Assign):
                containers = [
                    target.target.value
                    for target in node.targets
                    if isinstance(target.target, (cst.Subscript, cst.Attribute))
                ]
            elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and isinstance(
                node.target, (cst.Subscript, cst.Attribute)
            ):
                containers = [node.target.value]
            elif (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in _CONTAINER_STORES
            ):
                containers = [node.func.value]
            for container in containers:
                root = root_name(container)
                if root is not None and self._outlives(root, function, scope):
                    return True
        return False

    def _outlives(self, root: cst.Name, function: FunctionNode, scope: Scope | None) -> bool:
        """Whether a name reaches state that outlives a call of the function: the
        instance (or class) a method is given, or a name the function does not bind."""
        if self._receiver_class(function, root) is not None:
            return True
        return scope is not None and not scope.assignments[root.value]

    def _same_object(
        self,
        taken: cst.BaseExpression,
        taker: FunctionNode,
        given: cst.BaseExpression,
        giver: FunctionNode,
    ) -> bool:
        """Whether two receivers of the same code name one object: the same binding of
        their first name, or the same attribute of the instance (or class) in two
        methods of one class."""
        taken_root, given_root = root_name(taken), root_name(given)
        if taken_root is None or given_root is None:
            return False
        owner = self._receiver_class(taker, taken_root)
        if owner is not None:
            return self._receiver_class(giver, given_root) is owner
        found = self.facts.assignments_of(taken_root)
        return bool(found & self.facts.assignments_of(given_root))

    def _receiver_class(self, function: FunctionNode, root: cst.Name) -> cst.ClassDef | None:
        """The class whose method `function` is, when `root` is its first parameter
        (the instance or the class)."""
        if not isinstance(function, cst.FunctionDef):
            return None
        owner = self.facts.enclosing_class(function)
        params = [*function.params.posonly_params, *function.params.params]
        if owner is None or not params or params[0].name.value != root.value:
            return None
        return owner

    def _permit_takes(self, function: FunctionNode, code: str) -> list[cst.Call]:
        """Every `<receiver>.acquire(...)` call of the function, for the receiver's code."""
        return [
            node
            for node in walk(function)
            if isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "acquire"
            and self.facts.enclosing_function(node) is function
            and self.facts.module.code_for_node(node.func.value) == code
        ]

    def _permit_releasers(self) -> dict[str, list[cst.Attribute]]:
        """`<receiver>.release` attributes of the module by the receiver's code (one walk
        per module, however many permits it takes)."""
        if self._permit_releasers_by_receiver is None:
            found: dict[str, list[cst.Attribute]] = {}
            for node in walk(self.facts.module):
                if (
                    isinstance(node, cst.Attribute)
                    and node.attr.value in self._permit_release_names
                ):
                    found.setdefault(self.facts.module.code_for_node(node.value), []).append(node)
            self._permit_releasers_by_receiver = found
        return self._permit_releasers_by_receiver

    def _only_takes(self, statement: cst.CSTNode, function: FunctionNode) -> bool:
        """The function's job is taking the permit: nothing runs after the acquisition but
        a plain `return` (`return self`), in its block and in every block around it up to
        the function's body (`if self._lock is not None: self._lock.acquire()`), past a
        `try` around it whose every handler leaves (`except CancelledError: return
        False`): after that `try`, the permit is held exactly when it was taken."""
        current = self.facts.parent(statement)
        if not isinstance(current, cst.SimpleStatementLine):
            return False
        while current is not function:
            block = self.facts.parent(current)
            if block is None:
                return False
            if isinstance(block, (cst.IndentedBlock, cst.Module)):
                body: list[cst.CSTNode] = list(block.body)
                after = body[body.index(current) + 1 :] if current in body else [current]
                smalls = [small for later in after for small in small_statements(later)]
                if len(smalls) != len(after) or not all(
                    isinstance(small, cst.Return)
                    and (small.value is None or isinstance(small.value, (cst.Name, cst.Attribute)))
                    for small in smalls
                ):
                    return False
                current = self.facts.parent(block) or function
                if isinstance(current, cst.Try) and guards_only(current, block):
                    continue  # `try: acquire()` / `except X: return False`: on, after it
                if isinstance(current, (cst.For, cst.While, cst.Try, cst.With)):
                    return False  # a loop goes round again; a try or with runs more
                if isinstance(current, cst.Else):
                    current = self.facts.parent(current) or function
            else:
                current = block
        return True

    def _follow_receiver(
        self, receiver: cst.BaseExpression, acquisition: Acquisition, trace: Trace
    ) -> None:
        """For loads into a receiver (`index.load_index(p)`), the receiver is the resource."""
        if not isinstance(receiver, cst.Name):
            trace.escapes.append(Escape(EscapeKind.LOADED_INTO_ATTRIBUTE))
            return
        scope = self.facts.function_scope(acquisition.function)
        for assignment in self.facts.assignments_of(receiver):
            node = getattr(assignment, "node", None)
            if assignment.scope is not scope or not isinstance(node, cst.Name):
                trace.escapes.append(Escape(EscapeKind.RECEIVER_OWNED_OUTSIDE))
                return
            self._follow_name(node, acquisition, trace)

    def _follow_name(
        self,
        target: cst.Name,
        acquisition: Acquisition,
        trace: Trace,
        container: bool = False,
        element: bool = False,
    ) -> None:
        """Follow every load that sees the value bound to `target` here."""
        if id(target) in trace.visited:
            return
        trace.visited.add(id(target))
        if trace.holder is None and not element:
            trace.holder = target.value
        owner_scope = self.facts.function_scope(acquisition.function)
        target_scope = self.facts.scope(target)
        bound_here = target_scope is not None and any(
            isinstance(assignment, Assignment) and assignment.node is target
            for assignment in target_scope.assignments[target.value]
        )
        if not bound_here:
            trace.escapes.append(Escape(EscapeKind.BOUND_TO_GLOBAL, target.value))
            return
        for access in self._loads.after(target, target_scope):
            if self.facts.captured(access.scope, owner_scope):
                trace.escapes.append(Escape(EscapeKind.CAPTURED_BY_NESTED_FUNCTION, target.value))
                continue
            node = access.node
            if isinstance(node, cst.Name):
                self._follow_value(
                    node, acquisition, trace, temporary=False, container=container, element=element
                )

    # --- the walk up from a value -------------------------------------------------------

    def _follow_value(
        self,
        start: cst.BaseExpression,
        acquisition: Acquisition,
        trace: Trace,
        *,
        temporary: bool,
        container: bool = False,
        element: bool = False,
    ) -> None:
        """Walk up from an expression that evaluates to the resource to where it goes."""
        walk = _Walk(acquisition, trace, start, start, temporary, container, element)
        while True:
            parent = self.facts.parent(walk.node)
            if parent is None:
                return
            handler = self._handlers.get(type(parent))
            if not isinstance(parent, cst.Attribute):
                walk.part = False  # out of the chain of attributes: a plain container
            step = _Step.UNFOLLOWED if handler is None else handler(parent, walk)
            if step is _Step.CLIMB:
                continue
            if step is _Step.UNFOLLOWED and temporary:
                trace.escapes.append(Escape(EscapeKind.UNFOLLOWED_EXPRESSION))
            return

    def _climb(self, parent: cst.CSTNode, walk: _Walk) -> _Step:
        """`await value`, `value or other`: the parent evaluates to the value."""
        walk.node = parent
        return _Step.CLIMB

    def _conditional(self, parent: cst.IfExp, walk: _Walk) -> _Step:
        if walk.node is parent.test:
            return _Step.UNFOLLOWED
        return self._climb(parent, walk)

    def _named_expression(self, parent: cst.NamedExpr, walk: _Walk) -> _Step:
        if walk.node is parent.value and isinstance(parent.target, cst.Name):
            self._follow_name(parent.target, walk.acquisition, walk.trace, walk.container)
        return self._climb(parent, walk)

    def _element(
        self, parent: cst.Element | cst.StarredElement | cst.DictElement, walk: _Walk
    ) -> _Step:
        if isinstance(parent, cst.DictElement) and walk.node is parent.key:
            return _Step.STOP
        walk.container = True
        grand = self.facts.parent(parent)
        walk.node = grand if grand is not None else parent
        return _Step.CLIMB

    def _into_container(self, parent: cst.CSTNode, walk: _Walk) -> _Step:
        walk.container = True
        return self._climb(parent, walk)

    def _dict_comprehension(self, parent: cst.DictComp, walk: _Walk) -> _Step:
        if walk.node is not parent.value:
            return _Step.UNFOLLOWED
        return self._into_container(parent, walk)

    def _await(self, parent: cst.Await, walk: _Walk) -> _Step:
        # A derived value (a future, a coroutine) awaited gives data, not the resource.
        if walk.trace.depth > 0:
            return _Step.STOP
        return self._climb(parent, walk)

    def _argument(self, parent: cst.Arg, walk: _Walk) -> _Step:
        call = self.facts.parent(parent)
        if not isinstance(call, cst.Call):
            return _Step.STOP
        acquisition, trace = walk.acquisition, walk.trace
        verdict = self.handoffs.verdict(call, parent, acquisition, walk.container)
        if verdict is Handoff.CLOSING_WRAPPER:
            walk.wrapped_by_closing = True
            return self._climb(call, walk)
        if verdict is Handoff.TRANSPARENT:
            return self._climb(call, walk)
        if verdict is Handoff.OWNER_RELEASE:
            trace.releases.append(release_site(self.facts, call))
        elif verdict is Handoff.STORE:
            receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
            self._store_into(receiver, acquisition, trace)
        elif isinstance(verdict, Escape):
            trace.escapes.append(verdict)
        elif (
            verdict is Handoff.BORROW
            and not self.handoffs.returns_data(call)
            and (trace.depth == 0 or not self._builtin(call))
        ):
            # A plain call borrows it; the caller keeps ownership. What the call returns
            # may hold it (a future, a wrapper): derived, never the owner. So may what a
            # call makes of a derived value (`Store(client.get_collection(n))`), up to
            # the depth `_derived` follows; but a builtin given a derived value
            # (`sum(executor.map(f, xs))`) consumes it and returns data.
            self._derived(call, acquisition, trace)
        return _Step.STOP

    def _attribute(self, parent: cst.Attribute, walk: _Walk) -> _Step:
        if walk.node is not parent.value:
            return _Step.UNFOLLOWED
        if walk.trace.depth > 0:
            # What a derived value gives (`response.text`, `future.result()`) is data.
            return _Step.STOP
        grand = self.facts.parent(parent)
        called = isinstance(grand, cst.Call) and grand.func is parent
        if walk.part:
            if not called:
                return self._climb(parent, walk)  # `OpenAI().chat.completions`
            # `OpenAI().files.list()`: a use of the temporary through its part, which
            # is then dropped; what the call gives may still use it (a stream).
            assert isinstance(grand, cst.Call)
            self._derived(grand, walk.acquisition, walk.trace)
            return _Step.STOP
        if (
            not called
            and not walk.container
            and walk.temporary
            and walk.node is walk.start
            and parent.attr.value not in self._release_names
        ):
            # `OpenAI().embeddings`: the attribute's object keeps the resource alive.
            walk.container = walk.part = True
            return self._climb(parent, walk)
        use = self.uses.verdict(parent, walk.acquisition, walk.container)
        if isinstance(use, Release):
            walk.trace.releases.append(use.site)
            if walk.element:
                walk.trace.element_released = True
        elif use is not None:
            walk.trace.escapes.append(use)
        elif (
            called
            and not walk.container
            and isinstance(grand, cst.Call)
            and parent.attr.value in walk.acquisition.kind.derived
        ):
            # `executor.submit(fn)`, `client.stream(...)`: the result still uses it.
            self._derived(grand, walk.acquisition, walk.trace)
        elif (
            not called and not walk.container and parent.attr.value in walk.acquisition.kind.derived
        ):
            # `proc.stdout` handed to a reader thread: a part of the resource, which
            # goes on using it; the resource stays the caller's.
            self._derived(parent, walk.acquisition, walk.trace)
        return _Step.STOP

    def _subscript(self, parent: cst.Subscript, walk: _Walk) -> _Step:
        if walk.node is parent.value and walk.container:
            walk.container, walk.element = False, True
            return self._climb(parent, walk)
        if (
            walk.node is parent.value
            and walk.trace.depth == 0
            and "__getitem__" in walk.acquisition.kind.derived
        ):
            # `client[db]`: a database handle that still uses the client.
            self._derived(parent, walk.acquisition, walk.trace)
        return _Step.STOP

    def _with_item(self, parent: cst.WithItem, walk: _Walk) -> _Step:
        if walk.node is not parent.item:
            return _Step.UNFOLLOWED
        if walk.container:
            return _Step.STOP
        trace = walk.trace
        if walk.acquisition.kind.with_closes or walk.wrapped_by_closing:
            trace.with_releases.append(parent)
            if walk.element:
                trace.element_released = True
        else:
            trace.with_not_closing = True
            if parent.asname is not None and isinstance(parent.asname.name, cst.Name):
                self._follow_name(parent.asname.name, walk.acquisition, trace)
        return _Step.STOP

    def _for_statement(self, parent: cst.For, walk: _Walk) -> _Step:
        if (
            walk.node is parent.iter
            and not walk.container
            and walk.acquisition.kind.closes_when_exhausted
            and walk.trace.depth == 0
        ):
            # `FileInput.__next__` closes each file as it finishes it: a loop that runs
            # to its end leaves nothing open (see FateJudge for the other ends).
            walk.trace.exhausted_by = parent
            return _Step.STOP
        self._follow_elements(parent, walk)
        return _Step.STOP

    def _comprehension_for(self, parent: cst.CompFor, walk: _Walk) -> _Step:
        if self._follow_elements(parent, walk):
            return _Step.STOP
        if (
            walk.node is parent.iter
            and not walk.acquisition.kind.closes_when_exhausted
            and self._consumed_on_the_spot(parent)
        ):
            # `[line for line in open(p)]`, `any(... for line in open(p))`: read there and
            # dropped, as `for line in open(p):` is.
            return _Step.STOP
        return _Step.UNFOLLOWED

    def _consumed_on_the_spot(self, loop: cst.CompFor) -> bool:
        """A list, set or dict comprehension, or a generator expression handed straight
        to a builtin that runs it (`any`, `sum`, `list`...) or to `str.join`: nothing
        keeps the iterable once the expression is evaluated."""
        comprehension: cst.CSTNode | None = loop
        while isinstance(comprehension, cst.CompFor):
            comprehension = self.facts.parent(comprehension)
        if isinstance(comprehension, (cst.ListComp, cst.SetComp, cst.DictComp)):
            return True
        if not isinstance(comprehension, cst.GeneratorExp):
            return False
        argument = self.facts.parent(comprehension)
        call = self.facts.parent(argument) if isinstance(argument, cst.Arg) else None
        if not isinstance(call, cst.Call) or call.func is comprehension:
            return False
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "join":
            return True
        return bool(self.facts.external_names(call.func) & _GENERATOR_CONSUMERS)

    def _follow_elements(self, loop: cst.For | cst.CompFor, walk: _Walk) -> bool:
        """Over a container of resources, each element the loop binds is one of them."""
        if not (walk.container and walk.node is loop.iter):
            return False
        for name in target_names(loop.target):
            self._follow_name(name, walk.acquisition, walk.trace, element=True)
        return True

    def _returned(self, parent: cst.Return, walk: _Walk) -> _Step:
        walk.trace.escapes.append(Escape(EscapeKind.RETURNED))
        return _Step.STOP

    def _yielded(self, parent: cst.Yield, walk: _Walk) -> _Step:
        walk.trace.yielded = True
        walk.trace.escapes.append(Escape(EscapeKind.YIELDED))
        return _Step.STOP

    def _lambda_body(self, parent: cst.Lambda, walk: _Walk) -> _Step:
        walk.trace.escapes.append(Escape(EscapeKind.RETURNED_BY_LAMBDA))
        return _Step.STOP

    def _assigned(self, parent: cst.Assign, walk: _Walk) -> _Step:
        if walk.node is not parent.value:
            return _Step.UNFOLLOWED
        for target in parent.targets:
            self._bind(target.target, parent, walk.acquisition, walk.trace, walk.container)
        return _Step.STOP

    def _annotated_assignment(self, parent: cst.AnnAssign, walk: _Walk) -> _Step:
        if walk.node is not parent.value:
            return _Step.UNFOLLOWED
        self._bind(parent.target, parent, walk.acquisition, walk.trace, walk.container)
        return _Step.STOP

    def _augmented_assignment(self, parent: cst.AugAssign, walk: _Walk) -> _Step:
        walk.trace.escapes.append(Escape(EscapeKind.ADDED_TO_CONTAINER))
        return _Step.STOP

    def _used_on_the_spot(self, parent: cst.CSTNode, walk: _Walk) -> _Step:
        """A temporary is dropped after such a use; a name keeps it."""
        return _Step.STOP

    # --- what a use does with it -------------------------------------------------------

    def _bind(
        self,
        target: cst.BaseExpression,
        statement: cst.CSTNode,
        acquisition: Acquisition,
        trace: Trace,
        container: bool,
    ) -> None:
        if isinstance(target, cst.Name):
            self._follow_name(target, acquisition, trace, container)
            return
        if isinstance(target, cst.Attribute):
            function = acquisition.function
            if (
                isinstance(function, cst.FunctionDef)
                and isinstance(target.value, cst.Name)
                and is_self(function, target.value)
                and not container
            ):
                class_def = self.facts.enclosing_class(function)
                if class_def is not None and trace.stored is None:
                    trace.stored = StoredAttribute(target.attr.value, statement, class_def)
            trace.escapes.append(
                Escape(EscapeKind.STORED_ATTRIBUTE, dotted_name(target) or target.attr.value)
            )
            return
        if isinstance(target, cst.Subscript):
            trace.escapes.append(Escape(EscapeKind.STORED_IN_CONTAINER))
            return
        trace.escapes.append(Escape(EscapeKind.UNPACKED))

    def _store_into(
        self, receiver: cst.BaseExpression | None, acquisition: Acquisition, trace: Trace
    ) -> None:
        """`receiver.append(value)`: a local container holds it, anything else owns it."""
        if isinstance(receiver, cst.Name):
            scope = self.facts.function_scope(acquisition.function)
            for assignment in self.facts.assignments_of(receiver):
                node = getattr(assignment, "node", None)
                if assignment.scope is scope and isinstance(node, cst.Name):
                    self._follow_name(node, acquisition, trace, container=True)
                else:
                    trace.escapes.append(Escape(EscapeKind.STORED_IN_NAME, receiver.value))
            return
        trace.escapes.append(Escape(EscapeKind.STORED_IN_CONTAINER))

    def _builtin(self, call: cst.Call) -> bool:
        return any(name.startswith("builtins.") for name in self.facts.external_names(call.func))

    def _derived(self, value: cst.BaseExpression, acquisition: Acquisition, trace: Trace) -> None:
        """Follow what a call made from the resource returns, as a derived value.

        Where it goes never moves ownership (an unknown callee, or a method of
        the resource, keeps nothing the caller must not close), but when it
        leaves the function the resource must outlive the function: the fixes
        read that. An awaited result is data, not a view of the resource; three
        calls deep is as far as results are followed.
        """
        if trace.depth >= 3 or isinstance(self.facts.parent(value), cst.Await):
            return
        result = Trace(depth=trace.depth + 1)
        self._follow_value(value, acquisition, result, temporary=True)
        if result.stored is not None and _builds_the_instance(acquisition.function):
            # `self.llm = instructor.from_openai(AsyncOpenAI())` in `__init__`: what the
            # instance keeps holds the resource, which lives as long as the instance
            # does; whether that is a leak is RG401's question, as for `self.x = ...`.
            trace.escapes.append(Escape(EscapeKind.STORED_ATTRIBUTE, result.stored.attribute))
            if trace.stored is None:
                trace.stored = result.stored
        trace.derived.extend(
            e
            for e in (*result.escapes, *result.derived)
            if e.kind is not EscapeKind.UNFOLLOWED_EXPRESSION
        )


# Methods that put an item into a container (`queue.put(item)`, `pending.append(item)`).
_CONTAINER_STORES = frozenset(
    {"append", "appendleft", "add", "put", "put_nowait", "extend", "update", "setdefault"}
)
# Methods in which an instance is being built: what they store on `self` is the
# instance's from its birth.
_INSTANCE_BUILDERS = frozenset(
    {"__init__", "__post_init__", "__attrs_post_init__", "model_post_init", "__new__"}
)


def _builds_the_instance(function: FunctionNode) -> bool:
    return isinstance(function, cst.FunctionDef) and function.name.value in _INSTANCE_BUILDERS
