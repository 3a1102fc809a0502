"""How a dict is used: one vocabulary and one classifier for the check, the prefilter and the fix.

The unbounded-cache rule asks of every use of a module- or class-level dict
what it does to the entries (`UseKind`); its fix asks whether the use still
works once the dict is a `BoundedCache` (a MutableMapping, not a dict); the
prefilter asks the first question of the stdlib `ast` tree, coarsely and
cheaply. All three read the word lists of analysis/dict_vocabulary.py, so they cannot drift apart.

`classify` answers on the LibCST tree with a `UseShape` (how the use stands
in the code); `DictUse.kind` and `DictUse.supported_by_mutable_mapping` read
that one answer two ways. The prefilter walks another tree and keeps its own
walk (prefilter/dict_uses.py), but speaks in the same `UseKind` and word lists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import libcst as cst

from runguard_lint.analysis.dict_vocabulary import (
    EVICTING_METHODS,
    KEYED_WRITE_METHODS,
    MAPPING_READERS,
    MERGE_METHODS,
    MUTABLE_MAPPING_METHODS,
    READ_ONLY_CALLABLES,
    READING_METHODS,
    UseKind,
)
from runguard_lint.analysis.names import ModuleFacts

# --- what a use does -----------------------------------------------------------------------


class UseShape(enum.Enum):
    """How one use of a dict (a Name, or `<receiver>.<name>`) stands in the code."""

    ITEM_SET = "c[k] = v"
    ITEM_DELETED = "del c[k]"
    ITEM_BOUND = "for c[k] in ..., with ... as c[k]"
    ITEM_AUGMENTED = "c[k] += v"
    ITEM_METHOD_CALLED = "c[k].append(v)"
    ITEM_ITEM_STORED = "c[k][j] = v, del c[k][j]"
    ITEM_READ = "c[k]"
    METHOD_CALLED = "c.m(...)"
    METHOD_REFERENCED = "c.m"
    ARGUMENT = "f(c), f(x=c), class C(c)"
    UNPACKED_ARGUMENT = "f(*c), f(**c)"
    SIZE_COMPARED = "len(c) >= n"
    MEMBERSHIP_TESTED = "k in c"
    COMPARED = "c == d"
    NEGATED = "not c"
    UNARY_OPERAND = "-c"
    FORMATTED = "f'{c}'"
    UNPACKED_INTO_DICT = "{**c}"
    ITERATED = "for k in c"
    TESTED = "if c:, while c:, x if c else y"
    ASSERTED = "assert c"
    TESTED_IN_BOOLEAN = "if c and x:"
    BOOLEAN_VALUE = "x = c or d"
    MERGED_INTO = "c |= d"
    AUGMENTED = "c += d"
    REBOUND = "c = ..., del c, for c in ..., x.c = ..."
    DECLARED = "global c"
    # Returned, aliased, put in a container...: handed on.
    HANDED_ON = "return c"
    # LibCST has no scope for the binding: nothing can be said of its uses.
    UNRESOLVED = "?"


_READING_SHAPES = frozenset(
    {
        UseShape.ITEM_READ,
        UseShape.UNPACKED_ARGUMENT,
        UseShape.MEMBERSHIP_TESTED,
        UseShape.COMPARED,
        UseShape.NEGATED,
        UseShape.UNARY_OPERAND,
        UseShape.FORMATTED,
        UseShape.UNPACKED_INTO_DICT,
        UseShape.ITERATED,
        UseShape.TESTED,
        UseShape.ASSERTED,
        UseShape.TESTED_IN_BOOLEAN,
    }
)
_EVICTING_SHAPES = frozenset({UseShape.ITEM_DELETED, UseShape.SIZE_COMPARED, UseShape.REBOUND})
# Writes into a defaultdict only: a plain dict needs the key to be there already.
_DEFAULTDICT_WRITES = frozenset(
    {UseShape.ITEM_AUGMENTED, UseShape.ITEM_METHOD_CALLED, UseShape.ITEM_ITEM_STORED}
)
_ITEM_SHAPES = _DEFAULTDICT_WRITES | {
    UseShape.ITEM_SET,
    UseShape.ITEM_DELETED,
    UseShape.ITEM_BOUND,
    UseShape.ITEM_READ,
}
_MAPPING_SHAPES = _ITEM_SHAPES | {
    UseShape.MEMBERSHIP_TESTED,
    UseShape.ITERATED,
    UseShape.TESTED,
    UseShape.TESTED_IN_BOOLEAN,
    UseShape.BOOLEAN_VALUE,
    UseShape.NEGATED,
    UseShape.DECLARED,
}
_PASSED_SHAPES = frozenset({UseShape.ARGUMENT, UseShape.UNPACKED_ARGUMENT, UseShape.SIZE_COMPARED})


@dataclass(frozen=True)
class DictUse:
    """One use of a dict, as `classify` found it.

    keys/values: what a write inserts. method: the method named (METHOD_*).
    callee/by_keyword: what the dict is handed to, and how (ARGUMENT and the like).
    """

    shape: UseShape
    node: cst.CSTNode
    keys: tuple[cst.BaseExpression, ...] = ()
    values: tuple[cst.BaseExpression, ...] = ()
    method: str = ""
    callee: frozenset[str] = frozenset()
    by_keyword: bool = False

    def kind(self, is_defaultdict: bool) -> UseKind:
        """What the use does to the entries of a dict (or of a defaultdict)."""
        shape = self.shape
        if shape in _READING_SHAPES:
            return UseKind.READ
        if shape in _EVICTING_SHAPES:
            return UseKind.EVICT
        if shape in (UseShape.ITEM_SET, UseShape.MERGED_INTO):
            return UseKind.WRITE
        if shape in _DEFAULTDICT_WRITES:
            return UseKind.WRITE if is_defaultdict else UseKind.READ
        if shape is UseShape.ARGUMENT:
            return UseKind.READ if self.callee & READ_ONLY_CALLABLES else UseKind.ESCAPE
        if shape in (UseShape.METHOD_CALLED, UseShape.METHOD_REFERENCED):
            return self._method_kind()
        return UseKind.ESCAPE

    def _method_kind(self) -> UseKind:
        if self.method in EVICTING_METHODS:
            return UseKind.EVICT
        if self.method in READING_METHODS:
            return UseKind.READ
        if self.shape is UseShape.METHOD_REFERENCED:
            return UseKind.ESCAPE
        if self.method in KEYED_WRITE_METHODS:
            # `c.setdefault()` with no key inserts nothing.
            return UseKind.WRITE if self.keys else UseKind.READ
        if self.method in MERGE_METHODS:
            return UseKind.WRITE
        return UseKind.ESCAPE

    @property
    def supported_by_mutable_mapping(self) -> bool:
        """Whether the use works the same on a MutableMapping that is not a dict."""
        if self.shape in _MAPPING_SHAPES:
            return True
        if self.shape is UseShape.METHOD_CALLED:
            return self.method in MUTABLE_MAPPING_METHODS
        if self.shape in _PASSED_SHAPES:
            return not self.by_keyword and bool(self.callee & MAPPING_READERS)
        return False


# --- the classifier (LibCST) ---------------------------------------------------------------

CONTAINER_PARTS = (cst.Element, cst.StarredElement, cst.Tuple, cst.List)
_READ_PARENTS = {
    cst.Comparison: UseShape.COMPARED,
    cst.ComparisonTarget: UseShape.COMPARED,
    cst.FormattedStringExpression: UseShape.FORMATTED,
    cst.StarredDictElement: UseShape.UNPACKED_INTO_DICT,
}


def classify(facts: ModuleFacts, node: cst.CSTNode) -> DictUse:
    """What `node` (a dict: a Name or `x.<name>`) does where it stands."""
    parent = facts.parent(node)
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return _item_use(facts, node, parent)
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return _method_use(facts, node, parent)
    if isinstance(parent, cst.Arg) and parent.value is node:
        return _argument_use(facts, node, parent)
    if isinstance(parent, cst.ComparisonTarget) and isinstance(
        parent.operator, (cst.In, cst.NotIn)
    ):
        return DictUse(UseShape.MEMBERSHIP_TESTED, node)
    if isinstance(parent, cst.UnaryOperation):
        negated = isinstance(parent.operator, cst.Not)
        return DictUse(UseShape.NEGATED if negated else UseShape.UNARY_OPERAND, node)
    shape = _READ_PARENTS.get(type(parent)) if parent is not None else None
    if shape is not None:
        return DictUse(shape, node)
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        return DictUse(UseShape.ITERATED, node)
    if isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)) and parent.test is node:
        asserted = isinstance(parent, cst.Assert)
        return DictUse(UseShape.ASSERTED if asserted else UseShape.TESTED, node)
    if isinstance(parent, cst.BooleanOperation):
        tested = _in_test(facts, parent)
        return DictUse(UseShape.TESTED_IN_BOOLEAN if tested else UseShape.BOOLEAN_VALUE, node)
    if isinstance(parent, cst.AugAssign) and parent.target is node:
        if isinstance(parent.operator, cst.BitOrAssign):
            keys, values = _mapping_parts(parent.value)
            return DictUse(UseShape.MERGED_INTO, node, keys, values)
        return DictUse(UseShape.AUGMENTED, node)
    if store_statement(facts, node) is not None:
        # `del c`, `x.c = ...`: the dict is dropped or replaced.
        return DictUse(UseShape.REBOUND, node)
    if isinstance(parent, cst.NameItem):
        return DictUse(UseShape.DECLARED, node)
    return DictUse(UseShape.HANDED_ON, node)


def _item_use(facts: ModuleFacts, node: cst.CSTNode, subscript: cst.Subscript) -> DictUse:
    keys = tuple(
        element.slice.value for element in subscript.slice if isinstance(element.slice, cst.Index)
    )
    store = store_statement(facts, subscript)
    if isinstance(store, (cst.Assign, cst.AnnAssign)):
        values = (store.value,) if store.value is not None else ()
        return DictUse(UseShape.ITEM_SET, node, keys, values)
    if isinstance(store, cst.Del):
        return DictUse(UseShape.ITEM_DELETED, node)
    if store is not None:
        return DictUse(UseShape.ITEM_BOUND, node)
    parent = facts.parent(subscript)
    if isinstance(parent, cst.AugAssign) and parent.target is subscript:
        return DictUse(UseShape.ITEM_AUGMENTED, node, keys, (parent.value,))
    grandparent = facts.parent(parent) if parent is not None else None
    if (
        isinstance(parent, cst.Attribute)
        and isinstance(grandparent, cst.Call)
        and grandparent.func is parent
    ):
        arguments = tuple(arg.value for arg in grandparent.args)
        return DictUse(UseShape.ITEM_METHOD_CALLED, node, keys, arguments)
    if (
        isinstance(parent, cst.Subscript)
        and parent.value is subscript
        and store_statement(facts, parent) is not None
    ):
        return DictUse(UseShape.ITEM_ITEM_STORED, node, keys)
    return DictUse(UseShape.ITEM_READ, node)


def _method_use(facts: ModuleFacts, node: cst.CSTNode, attribute: cst.Attribute) -> DictUse:
    method = attribute.attr.value
    call = facts.parent(attribute)
    if not (isinstance(call, cst.Call) and call.func is attribute):
        return DictUse(UseShape.METHOD_REFERENCED, node, method=method)
    keys: tuple[cst.BaseExpression, ...] = ()
    values: tuple[cst.BaseExpression, ...] = ()
    if method in KEYED_WRITE_METHODS and call.args:
        keys = (call.args[0].value,)
        values = (call.args[1].value,) if len(call.args) > 1 else ()
    elif method in MERGE_METHODS:
        merged_keys: list[cst.BaseExpression] = []
        merged_values: list[cst.BaseExpression] = []
        for arg in call.args:
            if arg.keyword is not None:
                merged_values.append(arg.value)
                continue
            arg_keys, arg_values = _mapping_parts(arg.value)
            merged_keys.extend(arg_keys)
            merged_values.extend(arg_values)
        keys, values = tuple(merged_keys), tuple(merged_values)
    return DictUse(UseShape.METHOD_CALLED, node, keys, values, method=method)


def _argument_use(facts: ModuleFacts, node: cst.CSTNode, argument: cst.Arg) -> DictUse:
    call = facts.parent(argument)
    by_keyword = argument.keyword is not None
    if not isinstance(call, cst.Call):
        # `class C(c)`: handed to the class machinery.
        shape = UseShape.UNPACKED_ARGUMENT if argument.star else UseShape.ARGUMENT
        return DictUse(shape, node, by_keyword=by_keyword)
    callee = frozenset(facts.external_names(call.func))
    if argument.star:
        return DictUse(UseShape.UNPACKED_ARGUMENT, node, callee=callee)
    if "builtins.len" in callee and _in_comparison(facts, call):
        # A size check bounds the dict: `if len(c) >= N: ...` before inserting.
        return DictUse(UseShape.SIZE_COMPARED, node, callee=callee, by_keyword=by_keyword)
    return DictUse(UseShape.ARGUMENT, node, callee=callee, by_keyword=by_keyword)


def _in_comparison(facts: ModuleFacts, node: cst.CSTNode) -> bool:
    parent = facts.parent(node)
    while isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
        parent = facts.parent(parent)
    return isinstance(parent, (cst.Comparison, cst.ComparisonTarget))


def _in_test(facts: ModuleFacts, node: cst.CSTNode) -> bool:
    """Whether a boolean expression is only tested, so it hands no value on."""
    child = node
    parent = facts.parent(node)
    while isinstance(parent, (cst.BooleanOperation, cst.UnaryOperation)):
        child, parent = parent, facts.parent(parent)
    if isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)):
        return parent.test is child
    return isinstance(parent, cst.CompIf)


def store_statement(facts: ModuleFacts, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement that stores into node when node is an assignment/del target."""
    child = node
    parent = facts.parent(node)
    while isinstance(parent, CONTAINER_PARTS):
        child, parent = parent, facts.parent(parent)
    if isinstance(parent, cst.AssignTarget) and parent.target is child:
        return facts.parent(parent)
    if isinstance(parent, cst.AnnAssign) and parent.target is child:
        return parent
    if isinstance(parent, cst.Del) and parent.target is child:
        return parent
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is child:
        return parent
    if isinstance(parent, cst.AsName) and parent.name is child:
        return parent
    return None


def _mapping_parts(
    value: cst.BaseExpression,
) -> tuple[tuple[cst.BaseExpression, ...], tuple[cst.BaseExpression, ...]]:
    """Keys and values of what `update`/`|=` merges in: a dict display's parts, else itself."""
    if isinstance(value, cst.Dict):
        keys: list[cst.BaseExpression] = []
        values: list[cst.BaseExpression] = []
        for element in value.elements:
            if isinstance(element, cst.DictElement):
                keys.append(element.key)
                values.append(element.value)
            else:
                keys.append(element.value)
        return tuple(keys), tuple(values)
    if isinstance(value, cst.DictComp):
        return (value.key, value.for_in.iter), (value.value,)
    return (value,), ()
