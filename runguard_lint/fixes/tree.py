"""Rewriting one parsed module by node identity, and the small tree questions fixes ask.

A fix names the nodes of the analysed tree it changes (the very objects the
ownership analysis returned) and how: replaced, removed, with statements
inserted before or after them, or rebuilt from their updated form. One
`Rewrite` applies all of that in a single LibCST transform, so changes to a
statement and to the block around it compose.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union, cast

import libcst as cst
from libcst.metadata import GlobalScope

from runguard_lint.analysis.names import FunctionNode, ModuleFacts
from runguard_lint.analysis.tree import TRIVIA, walk

LeaveResult = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel[cst.CSTNode]]
# Given the updated form of a node (its own children already rewritten), build
# what replaces it.
Rebuild = Callable[[cst.CSTNode], LeaveResult]

Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]


@dataclass
class Rewrite:
    """Changes to a module, keyed by the identity of its original nodes.

    Applying them visits only the paths from the module to the changed nodes,
    so every untouched statement stays the very same object (which is how
    `edits.make_fix` finds what changed without re-rendering the file).
    """

    facts: ModuleFacts
    rebuilds: dict[int, Rebuild] = field(default_factory=dict)
    before: dict[int, list[Statement]] = field(default_factory=dict)
    after: dict[int, list[Statement]] = field(default_factory=dict)
    targets: dict[int, cst.CSTNode] = field(default_factory=dict)

    def replace(self, node: cst.CSTNode, new: cst.CSTNode) -> None:
        self.rebuild(node, lambda _updated: new)

    def rebuild(self, node: cst.CSTNode, rebuild: Rebuild) -> None:
        self.targets[id(node)] = node
        self.rebuilds[id(node)] = rebuild

    def remove(self, statement: cst.CSTNode) -> None:
        self.rebuild(statement, lambda _updated: cst.RemovalSentinel.REMOVE)

    def insert_before(self, statement: cst.CSTNode, new: Sequence[Statement]) -> None:
        self.targets[id(statement)] = statement
        self.before.setdefault(id(statement), []).extend(new)

    def insert_after(self, statement: cst.CSTNode, new: Sequence[Statement]) -> None:
        self.targets[id(statement)] = statement
        self.after.setdefault(id(statement), []).extend(new)

    def apply(self) -> cst.Module:
        """The rewritten module. Only the module-level statements that hold a change are
        visited, found through the parent map, and the new body is spliced from slices
        of the old: the cost follows the change, not the file (one fix per finding,
        so a file of many findings stays linear). `changed_spans` tells what moved."""
        module = self.facts.module
        paths: set[int] = set()
        tops: dict[int, cst.CSTNode] = {}
        index = _body_index(module)
        for node in self.targets.values():
            if type(node) in TRIVIA:
                # Left out of the parent map (`analysis.tree.index`): the change would
                # reach nothing. Rewrite what holds it instead.
                raise ValueError(f"a fix cannot target trivia ({type(node).__name__})")
            chain = [node, *self.facts.ancestors(node)]
            paths.update(id(ancestor) for ancestor in chain[1:])
            top = chain[-2] if len(chain) > 1 and chain[-1] is module else None
            if top is None or id(top) not in index:
                return self._apply_to_module(paths)  # the module itself changes
            tops[index[id(top)]] = top
        transformer = _Apply(self, paths)
        body: list[Sequence[cst.BaseStatement]] = []
        spans: list[Span] = []
        last = 0
        offset = 0
        for position in sorted(tops):
            body.append(module.body[last:position])
            result = tops[position].visit(transformer)
            if isinstance(result, cst.RemovalSentinel):
                replacement: tuple[cst.BaseStatement, ...] = ()
            elif isinstance(result, cst.FlattenSentinel):
                replacement = tuple(cast(Sequence[cst.BaseStatement], result.nodes))
            else:
                replacement = (cast(cst.BaseStatement, result),)
            body.append(replacement)
            start = position + offset
            spans.append((position, position + 1, start, start + len(replacement)))
            offset += len(replacement) - 1
            last = position + 1
        body.append(module.body[last:])
        result_module = module.with_changes(body=tuple(itertools.chain.from_iterable(body)))
        _remember(result_module, module, tuple(spans))
        return result_module

    def _apply_to_module(self, paths: set[int]) -> cst.Module:
        result = self.facts.module.visit(_Apply(self, paths))
        assert isinstance(result, cst.Module)
        return result


# (first, end) of old module-level statements replaced by new ones (first, end).
Span = tuple[int, int, int, int]

# The last few rewrites' spans, by the identity of the rewritten module (a LibCST node
# takes no weak reference): `edits.make_fix` is handed the module right after `apply`.
_RECENT: OrderedDict[int, tuple[cst.Module, cst.Module, tuple[Span, ...]]] = OrderedDict()


def _remember(new: cst.Module, old: cst.Module, spans: tuple[Span, ...]) -> None:
    _RECENT[id(new)] = (new, old, spans)
    while len(_RECENT) > 8:
        _RECENT.popitem(last=False)


def changed_spans(new: cst.Module, old: cst.Module) -> tuple[Span, ...] | None:
    """Which module-level statements of `old` a `Rewrite.apply` replaced to make `new`,
    or None when `new` was not made so (then compare the bodies)."""
    entry = _RECENT.get(id(new))
    if entry is None or entry[0] is not new or entry[1] is not old:
        return None
    return entry[2]


def with_head(module: cst.Module, cut: int, head: Sequence[cst.BaseStatement]) -> cst.Module:
    """The module with its first `cut` statements replaced by `head` (imports added);
    what a `Rewrite` changed further down stays known to `changed_spans`."""
    new = module.with_changes(body=(*head, *module.body[cut:]))
    entry = _RECENT.get(id(module))
    if entry is not None and entry[0] is module and all(span[2] >= cut for span in entry[2]):
        delta = len(head) - cut
        below = tuple((i1, i2, j1 + delta, j2 + delta) for i1, i2, j1, j2 in entry[2])
        _remember(new, entry[1], ((0, cut, 0, len(head)), *below))
    return new


@lru_cache(maxsize=4)
def _body_index(module: cst.Module) -> dict[int, int]:
    """The position of each module-level statement, by identity (once per module)."""
    return {id(statement): position for position, statement in enumerate(module.body)}


class _Apply(cst.CSTTransformer):
    def __init__(self, rewrite: Rewrite, paths: set[int]) -> None:
        super().__init__()
        self.rewrite = rewrite
        self.paths = paths

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.paths

    # A rebuild may change a node's type (a block line into a `with`), hence the override.
    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> LeaveResult:
        key = id(original_node)
        result: LeaveResult = updated_node
        rebuild = self.rewrite.rebuilds.get(key)
        if rebuild is not None:
            result = rebuild(updated_node)
        if isinstance(result, cst.IndentedBlock) and not result.body:
            result = result.with_changes(body=[_pass()])
        before = self.rewrite.before.get(key, [])
        after = self.rewrite.after.get(key, [])
        if before or after:
            middle: list[cst.CSTNode] = []
            if isinstance(result, cst.CSTNode):
                middle = [result]
            elif isinstance(result, cst.FlattenSentinel):
                middle = list(result.nodes)
            return cst.FlattenSentinel([*before, *middle, *after])
        return result


def _pass() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Pass()])


# --- statements and blocks -----------------------------------------------------------


def simple_statement(facts: ModuleFacts, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The statement line that holds node, unless node sits in a compound header or a suite."""
    for ancestor in facts.ancestors(node):
        if isinstance(ancestor, cst.SimpleStatementLine):
            return ancestor
        if isinstance(ancestor, (cst.BaseCompoundStatement, cst.SimpleStatementSuite, cst.Lambda)):
            return None
    return None


@dataclass(frozen=True)
class Binding:
    """`holder = <value>` where value is the acquiring call, possibly awaited."""

    statement: cst.SimpleStatementLine
    target: cst.Name
    value: cst.BaseExpression
    awaited: bool


def binding_of(facts: ModuleFacts, call: cst.Call) -> Binding | None:
    """The simple `name = call` (or `name = await call`) statement that binds the call."""
    statement = simple_statement(facts, call)
    if statement is None or len(statement.body) != 1:
        return None
    small = statement.body[0]
    value: cst.BaseExpression | None
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        value = small.value
    elif isinstance(small, cst.AnnAssign):
        target = small.target
        value = small.value
    else:
        return None
    if not isinstance(target, cst.Name) or value is None:
        return None
    if value is call and not call.lpar:
        return Binding(statement, target, value, awaited=False)
    if isinstance(value, cst.Await) and value.expression is call and not value.lpar:
        return Binding(statement, target, value, awaited=True)
    return None


def block_of(facts: ModuleFacts, statement: cst.CSTNode) -> cst.IndentedBlock | None:
    parent = facts.parent(statement)
    return parent if isinstance(parent, cst.IndentedBlock) else None


def index_in(body: Sequence[cst.CSTNode], node: cst.CSTNode) -> int:
    for index, candidate in enumerate(body):
        if candidate is node:
            return index
    raise LookupError("statement not found in its block")


def expression_statement(statement: cst.CSTNode, value: cst.CSTNode) -> bool:
    """A line that is only `value` as an expression statement: cleanly movable or removable."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is value
    )


def remove_releases(facts: ModuleFacts, sites: Sequence[cst.CSTNode], rewrite: Rewrite) -> bool:
    """Remove each release statement, if each is a line of its own (else change nothing)."""
    statements = []
    for site in sites:
        statement = facts.statement_of(site)
        if statement is None or not expression_statement(statement, site):
            return False
        statements.append(statement)
    for statement in statements:
        rewrite.remove(statement)
    return True


def node_ids(nodes: Sequence[cst.CSTNode]) -> set[int]:
    return {id(node) for root in nodes for node in walk(root)}


def uses_confined(facts: ModuleFacts, target: cst.Name, region: Sequence[cst.CSTNode]) -> bool:
    """Whether every load of the name bound by target lies inside region.

    LibCST's scope analysis is not flow-sensitive: a load after the binding
    counts for it wherever it is. One case is told apart here, because code
    binds a client per branch (`if openai: client = OpenAI() ... else: client =
    Anthropic() ...`): a load in another branch of an `if` that holds the
    binding, with no loop around that `if` in the function, never sees it.
    Any other load elsewhere (after the `if`, in a handler) counts: not confined.
    """
    inside = node_ids(region)
    return all(
        id(access.node) in inside or _other_branch(facts, target, access.node)
        for access in facts.references_of_binding(target)
    )


_LOOPS = (cst.For, cst.While)
_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)


def _other_branch(facts: ModuleFacts, binding: cst.CSTNode, load: cst.CSTNode) -> bool:
    """Whether `load` is in another branch of an `if` that holds `binding`, an `if` run at
    most once per call (no loop around it in the function): then it never sees the value."""
    around_load = {id(ancestor) for ancestor in facts.ancestors(load)}
    child = binding
    for ancestor in facts.ancestors(binding):
        if isinstance(ancestor, _SCOPES):
            return False
        if id(ancestor) in around_load:
            # The innermost statement holding both: only an `if` splits them.
            if not isinstance(ancestor, cst.If) or ancestor.orelse is None:
                return False
            branches = (ancestor.body, ancestor.orelse)
            other = branches[1] if child is branches[0] else branches[0]
            if child not in branches or id(other) not in around_load:
                return False
            return not _in_loop(facts, ancestor)
        child = ancestor
    return False


def _in_loop(facts: ModuleFacts, node: cst.CSTNode) -> bool:
    """Whether a loop of the same function runs node more than once."""
    for ancestor in facts.ancestors(node):
        if isinstance(ancestor, _SCOPES):
            return False
        if isinstance(ancestor, _LOOPS):
            return True
    return False


def top_level_statement(facts: ModuleFacts, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of the module body that holds node."""
    module = facts.module
    current = node
    for ancestor in facts.ancestors(node):
        if ancestor is module:
            return current
        current = ancestor
    return None


def function_names(function: FunctionNode) -> set[str]:
    """Every identifier spelled inside a function, for picking fresh local names."""
    return {node.value for node in walk(function) if isinstance(node, cst.Name)}


@lru_cache(maxsize=4)
def module_names(module: cst.Module) -> frozenset[str]:
    """Every identifier spelled in the module, for picking fresh global names."""
    return frozenset(node.value for node in walk(module) if isinstance(node, cst.Name))


def fresh_name(base: str, taken: Set[str]) -> str:
    if base not in taken:
        return base
    for number in range(2, 1000):
        candidate = f"{base}_{number}"
        if candidate not in taken:
            return candidate
    raise LookupError(f"no fresh name for {base}")


def is_global_reference(facts: ModuleFacts, expression: cst.BaseExpression) -> bool:
    """Whether a name or dotted chain resolves only to bindings of the module.

    `import a.b` binds the dotted name, so the access LibCST records for
    `a.b.c` is the `a.b` attribute node: each prefix of the chain is tried,
    shortest first.
    """
    chain: list[cst.BaseExpression] = []
    current = expression
    while isinstance(current, cst.Attribute):
        chain.append(current)
        current = current.value
    if not isinstance(current, cst.Name):
        return False
    chain.append(current)
    scope = facts.scope(current)
    if scope is None:
        return False
    for node in reversed(chain):
        assignments = {
            referent
            for access in scope.accesses[node]
            if access.node is node
            for referent in access.referents
        }
        if assignments:
            return all(isinstance(a.scope, GlobalScope) for a in assignments)
    return False


def docstring_count(body: Sequence[cst.BaseStatement]) -> int:
    """1 when a block starts with a docstring, which stays first when the body is wrapped."""
    if body and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1:
        small = body[0].body[0]
        if isinstance(small, cst.Expr) and isinstance(
            small.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return 1
    return 0
