"""Whether a key written into a cache is call data, which grows with traffic.

Literals, module-level names and locals computed only from them are bounded
by the code; parameters (and locals, loop and comprehension variables fed by
them) carry the caller's data. Some parameters carry none: classes, types and
functions (type_params.py), flags, attribute and module names, and the
parameters of a private function that every call here passes a constant
(the literal-callers rule).
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst
from libcst.metadata.scope_provider import (
    Assignment,
    BaseAssignment,
    ComprehensionScope,
    FunctionScope,
    ImportAssignment,
)

from runguard_lint.analysis.caches.annotations import (
    bounded_key_annotation,
    is_flag,
    is_type_annotation,
    tuple_parts,
)
from runguard_lint.analysis.caches.bindings import dict_kind
from runguard_lint.analysis.caches.calls import callers
from runguard_lint.analysis.caches.classes import Classes, is_class_param
from runguard_lint.analysis.caches.syntax import (
    arguments_for,
    binding_values,
    bound_value,
    decorator_words,
    first_param_is,
    local_value,
    param_references,
    positional_params,
    table_lookup,
)
from runguard_lint.analysis.caches.type_params import TypeParams
from runguard_lint.analysis.dict_vocabulary import CACHE_DECORATORS
from runguard_lint.analysis.names import ModuleFacts, dotted_name
from runguard_lint.analysis.project.modules import is_test_module
from runguard_lint.analysis.syntax import root_name, tests_missing
from runguard_lint.analysis.tree import children

# Decorators that leave every call of a function visible in the module: the literal-callers
# rule still holds for the methods and functools caches they make.
_CALL_TRANSPARENT_DECORATORS = CACHE_DECORATORS | {"builtins.classmethod", "builtins.staticmethod"}
_MODULE_LOADERS = frozenset(
    {
        "importlib.import_module",
        "importlib.util.find_spec",
        "importlib.util.resolve_name",
        "builtins.__import__",
    }
)
# Methods whose second parameter is an attribute name.
_ATTRIBUTE_HOOKS = frozenset(
    {"__setattr__", "__delattr__", "__getattr__", "__getattribute__", "__set_name__"}
)


def _other_table(table: cst.BaseExpression, cache_name: str) -> bool:
    """A table read by a plain or dotted name, or made by a call, that is not the cache."""
    name = dotted_name(table)
    if name is not None:
        return name.rsplit(".", 1)[-1] != cache_name
    return isinstance(table, cst.Call)


def _inserts_missing(facts: ModuleFacts, table: cst.BaseExpression) -> bool:
    """A table whose lookup of a missing key inserts it instead of raising: every binding
    is a defaultdict with a factory (not `defaultdict(None, ...)`), and nothing sets its
    `default_factory` (`table.default_factory = None` freezes it)."""
    if not isinstance(table, cst.Name):
        return False
    values = binding_values(facts, table)
    if not values or not all(_defaultdict_with_factory(facts, value) for value in values):
        return False
    for assignment in facts.assignments_of(table):
        for access in assignment.references:
            attribute = facts.parent(access.node)
            if (
                isinstance(attribute, cst.Attribute)
                and attribute.value is access.node
                and attribute.attr.value == "default_factory"
                and isinstance(facts.parent(attribute), (cst.AssignTarget, cst.AugAssign))
            ):
                return False
    return True


def _defaultdict_with_factory(facts: ModuleFacts, value: cst.BaseExpression) -> bool:
    if dict_kind(facts, value) != "defaultdict" or not isinstance(value, cst.Call):
        return False
    first = value.args[0] if value.args else None
    return (
        first is not None
        and first.keyword is None
        and first.star == ""
        and not (isinstance(first.value, cst.Name) and first.value.value == "None")
    )


def _exits_when_missing(block: cst.CSTNode | None, statement: cst.CSTNode, name: str) -> bool:
    """Right after statement in block: `if name is None:` (or `if not name:`) whose body
    ends in `return` or `raise`."""
    body = getattr(block, "body", None)
    if not isinstance(body, (list, tuple)) or statement not in body:
        return False
    index = list(body).index(statement)
    if index + 1 >= len(body):
        return False
    following = body[index + 1]
    if not isinstance(following, cst.If) or following.orelse is not None:
        return False
    if not tests_missing(following.test, name):
        return False
    statements = following.body.body
    last = statements[-1] if statements else None
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise))
    return False


def _leaves_unless_present(facts: ModuleFacts, test: cst.Comparison, name: cst.Name) -> bool:
    """`if name not in TABLE: raise ...` (or `return`), or `assert name in TABLE`, on any
    table, the cache itself included: past it, the key is one the table holds, so a
    write replaces an entry and adds none (a membership test inserts nothing, even into
    a defaultdict)."""
    if test.left is not name or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if dotted_name(target.comparator) is None:
        return False
    statement = facts.parent(test)
    if isinstance(statement, cst.Assert):
        return statement.test is test and isinstance(target.operator, cst.In)
    if (
        not isinstance(target.operator, cst.NotIn)
        or not isinstance(statement, cst.If)
        or statement.test is not test
        or statement.orelse
    ):
        return False
    body = statement.body.body
    last = body[-1] if body else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(
        last.body[-1], (cst.Return, cst.Raise)
    )


class Keys:
    """Which expressions of one module derive from call data."""

    def __init__(
        self,
        facts: ModuleFacts,
        filename: str,
        classes: Classes,
        type_params: TypeParams,
        constant_params: Callable[[str], frozenset[int]] = lambda name: frozenset(),
        names_enum: Callable[[cst.BaseExpression], bool] = lambda annotation: False,
    ) -> None:
        self.facts = facts
        self.filename = filename
        self.classes = classes
        self.type_params = type_params
        # Module-level function name -> the parameters every call in the checked
        # project passes a constant (the project's facts; none for a file alone).
        self.constant_params = constant_params
        # Whether an annotation names a project enumeration (the project's facts): its
        # values are its members, as many as the code defines.
        self.names_enum = names_enum

    def key_is_data(self, key: cst.BaseExpression, key_type: cst.BaseExpression | None) -> bool:
        """Whether a written key derives from call data, given the cache's key annotation."""
        facts = self.facts
        if key_type is None:
            return self._is_data(key, set())
        if bounded_key_annotation(facts, key_type) or self.names_enum(key_type):
            return False
        parts = tuple_parts(facts, key_type)
        expression = local_value(facts, key)
        if (
            parts is not None
            and isinstance(expression, cst.Tuple)
            and len(parts) == len(expression.elements)
            and not any(isinstance(element, cst.StarredElement) for element in expression.elements)
        ):
            return any(
                not is_type_annotation(facts, part)
                and not self.names_enum(part)
                and self._is_data(element.value, set())
                for element, part in zip(expression.elements, parts)
            )
        return self._is_data(key, set())

    def checked_against_table(
        self, key: cst.BaseExpression, write: cst.CSTNode, cache_name: str
    ) -> bool:
        """Whether the key was looked up in another table before this write, so that only
        that table's keys get this far: `name = _MODELS[lang]` (a KeyError for any other
        key), or `spec = REGISTRY.get(engine)` followed by `if spec is None: return`.
        A tuple key is checked when each of its parts is checked, bounded, or read off
        the entry such a lookup returned (`(engine, spec.impl)`)."""
        value = local_value(self.facts, key)
        if value is not key and isinstance(value, cst.Tuple):
            key = value
        if isinstance(key, cst.Tuple):
            return all(
                not isinstance(element, cst.StarredElement)
                and (
                    self.checked_against_table(element.value, write, cache_name)
                    or not self._is_data(element.value, set())
                    or self._read_off_checked_entry(element.value, write, cache_name)
                )
                for element in key.elements
            )
        if not isinstance(key, cst.Name):
            return False
        function = self.facts.enclosing_function(write)
        if function is None:
            return False
        before = self.facts.position(write).start.line
        for assignment in self.facts.assignments_of(key):
            for access in assignment.references:
                node = access.node
                if (
                    not isinstance(node, cst.Name)
                    or self.facts.enclosing_function(node) is not function
                ):
                    continue
                if self.facts.position(node).start.line >= before:
                    continue
                if self._looked_up(node, cache_name):
                    return True
        return False

    def _read_off_checked_entry(
        self, expression: cst.BaseExpression, write: cst.CSTNode, cache_name: str
    ) -> bool:
        """`spec.impl` where `spec = TABLE.get(k)` was checked: a part of a table's entry
        is as bounded as the table."""
        root = root_name(expression)
        if root is None or root is expression:
            return False
        source = local_value(self.facts, root)
        selector: cst.BaseExpression | None = None
        if (
            isinstance(source, cst.Call)
            and isinstance(source.func, cst.Attribute)
            and source.func.attr.value == "get"
            and source.args
        ):
            selector = source.args[0].value
        elif isinstance(source, cst.Subscript) and len(source.slice) == 1:
            index = source.slice[0].slice
            selector = index.value if isinstance(index, cst.Index) else None
        return (
            isinstance(selector, cst.Name)
            and self._looked_up(selector, cache_name)
            and self.checked_against_table(selector, write, cache_name)
        )

    def _looked_up(self, name: cst.Name, cache_name: str) -> bool:
        """`TABLE[name]` outside any `try`, or `x = TABLE.get(name)` then `if x is None:`
        (or `if not x:`) leaving the function, on a table that is not the cache itself."""
        facts = self.facts
        parent = facts.parent(name)
        if isinstance(parent, cst.Comparison):
            return _leaves_unless_present(facts, parent, name)
        if isinstance(parent, cst.Index):
            subscript = facts.parent(facts.parent(parent) or parent)
            if not isinstance(subscript, cst.Subscript) or not _other_table(
                subscript.value, cache_name
            ):
                return False
            if isinstance(facts.parent(subscript), (cst.AssignTarget, cst.Del)):
                return False
            if _inserts_missing(facts, subscript.value):
                # `queues[name].put(...)` on a defaultdict adds the key: no check.
                return False
            return not any(isinstance(a, cst.Try) for a in facts.ancestors(subscript))
        if not (isinstance(parent, cst.Arg) and parent.keyword is None):
            return False
        call = facts.parent(parent)
        if not (
            isinstance(call, cst.Call)
            and call.args[0] is parent
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "get"
            and _other_table(call.func.value, cache_name)
        ):
            return False
        assign = facts.parent(call)
        statement = facts.statement_of(call)
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and statement is not None
        ):
            return False
        return _exits_when_missing(
            facts.parent(statement), statement, assign.targets[0].target.value
        )

    def code_bounded(self, param: cst.Param) -> bool:
        """A parameter whose values are types or functions, or always constants."""
        return self.type_params.is_type_param(param) or self._constant_callers(param, set())

    def key_params(self, keys: tuple[cst.BaseExpression, ...]) -> tuple[str, ...]:
        """The parameters the written keys come from, through locals, in source order."""
        found: dict[str, cst.Param] = {}
        seen: set[int] = set()
        stack: list[cst.CSTNode] = list(reversed(keys))
        while stack:
            node = stack.pop()
            if not isinstance(node, cst.Name):
                stack.extend(reversed(children(node)))
                continue
            for assignment in self.facts.assignments_of(node):
                bound = (
                    assignment.node
                    if isinstance(assignment, Assignment)
                    and isinstance(assignment.scope, (FunctionScope, ComprehensionScope))
                    else None
                )
                if bound is None or id(bound) in seen:
                    continue
                seen.add(id(bound))
                if isinstance(bound, cst.Param):
                    if bound.name.value not in found and self._param_is_data(bound, set()):
                        found[bound.name.value] = bound
                elif isinstance(bound, cst.Name):
                    source = bound_value(self.facts, bound)
                    if source is not None:
                        stack.append(source)
        position = self.facts.position
        return tuple(
            sorted(
                found,
                key=lambda name: (
                    position(found[name]).start.line,
                    position(found[name]).start.column,
                ),
            )
        )

    def _is_data(self, expression: cst.BaseExpression, seen: set[int]) -> bool:
        """Whether expression derives from a parameter of the function it runs in."""
        stack: list[cst.CSTNode] = [expression]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Attribute) and self._instance_setting(node):
                continue
            if isinstance(node, cst.Name):
                for assignment in self.facts.assignments_of(node):
                    if self._binding_is_data(assignment, seen):
                        return True
                continue
            table = table_lookup(node)
            if table is not None:
                # A table made from call data gives call data (and its names are in
                # `seen` now, so walking it again below would find nothing).
                if self._is_data(table, seen):
                    return True
                # `TABLE[name]`, `TABLE.get(name)`: an entry of a module-level table is
                # bounded by the table, whatever selects it.
                if isinstance(node, cst.Call):
                    stack.extend(arg.value for arg in node.args[1:])
                continue
            stack.extend(children(node))
        return False

    def _instance_setting(self, attribute: cst.Attribute) -> bool:
        """`self.working_directory`, `self.exception_info`: what the instance was configured
        with, read in one of its methods. The instance itself (`cache[self]`, `id(self)`)
        stays call data: there are as many as the code builds."""
        root = root_name(attribute)
        if root is None:
            return False
        for assignment in self.facts.assignments_of(root):
            node = assignment.node if isinstance(assignment, Assignment) else None
            if not isinstance(node, cst.Param):
                return False
            function = self.facts.enclosing_function(node)
            if (
                not isinstance(function, cst.FunctionDef)
                or self.facts.enclosing_class(function) is None
                or not first_param_is(function, node)
                or "staticmethod" in decorator_words(function)
            ):
                return False
        return True

    def _binding_is_data(self, assignment: BaseAssignment, seen: set[int]) -> bool:
        if not isinstance(assignment, Assignment) or isinstance(assignment, ImportAssignment):
            return False
        if not isinstance(assignment.scope, (FunctionScope, ComprehensionScope)):
            return False
        node = assignment.node
        if id(node) in seen:
            return False
        seen.add(id(node))
        if isinstance(node, cst.Param):
            return self._param_is_data(node, seen)
        if not isinstance(node, cst.Name):
            return False
        source = bound_value(self.facts, node)
        return source is not None and self._is_data(source, seen)

    def _param_is_data(self, param: cst.Param, seen: set[int]) -> bool:
        """A parameter carries call data unless it is a class, a type, a flag, or a constant."""
        if (
            is_class_param(self.facts, param)
            or is_flag(self.facts, param)
            or self.type_params.is_type_param(param)
            or self._is_attribute_name(param)
            or self._is_module_name(param)
            or (
                # `*kinds: Kind` is a tuple of any length of them.
                param.star not in ("*", "**")
                and param.annotation is not None
                and self.names_enum(param.annotation.annotation)
            )
        ):
            return False
        return not self._constant_callers(param, seen)

    def _is_module_name(self, param: cst.Param) -> bool:
        """A parameter used as a module's name (`importlib.import_module(p)`,
        `find_spec(p)`, `sys.modules[p]`, `p in sys.modules`): as many values as there
        are importable modules, not as there are requests."""
        facts = self.facts
        for reference in param_references(facts, param):
            parent = facts.parent(reference)
            if isinstance(parent, cst.Arg) and parent.value is reference and not parent.keyword:
                call = facts.parent(parent)
                if (
                    isinstance(call, cst.Call)
                    and call.args[0] is parent
                    and facts.external_names(call.func) & _MODULE_LOADERS
                ):
                    return True
            if isinstance(parent, cst.Index):
                subscript = facts.parent(facts.parent(parent) or parent)
                if isinstance(subscript, cst.Subscript) and "sys.modules" in (
                    facts.external_names(subscript.value)
                ):
                    return True
            if (
                isinstance(parent, cst.Comparison)
                and parent.left is reference
                and isinstance(parent.comparisons[0].operator, (cst.In, cst.NotIn))
                and "sys.modules" in facts.external_names(parent.comparisons[0].comparator)
            ):
                return True
        return False

    def _is_attribute_name(self, param: cst.Param) -> bool:
        """The attribute name handed to `__setattr__`, `__getattr__`, `__set_name__`...:
        an identifier written in the code, so as many as the code has."""
        facts = self.facts
        function = facts.enclosing_function(param)
        if not isinstance(function, cst.FunctionDef):
            return False
        if function.name.value not in _ATTRIBUTE_HOOKS:
            return False
        positional = positional_params(function)
        if facts.enclosing_class(function) is None:
            # A module's own `__getattr__(name)` (PEP 562), at module level.
            module_level = facts.enclosing_function(function) is None
            return module_level and bool(positional) and positional[0] is param
        return len(positional) >= 2 and positional[1] is param

    def _constant_callers(self, param: cst.Param, seen: set[int]) -> bool:
        """Whether every call of a private function passes a constant for param.

        For a private module-level function (`_load(name)`) or method (`cls._get(name)`),
        or any module-level helper of a test module, the module holds every call: when
        each passes a constant (a literal, a module-level name, a loop over module
        data, a type) for the parameter, its values are bounded by the code.
        """
        facts = self.facts
        function = facts.enclosing_function(param)
        if not isinstance(function, cst.FunctionDef):
            return False
        if self._constant_across_project(function, param):
            return True
        if not self._calls_visible(function):
            return False
        name = function.name.value
        private = name.startswith("_") and not name.startswith("__")
        # In a test module no outside code calls a module-level helper either.
        test_helper = (
            is_test_module(self.filename)
            and facts.enclosing_class(function) is None
            and not name.startswith("test")
        )
        if not (private or test_helper):
            return False
        found = callers(facts, self.classes, function)
        if not found:
            return False
        for caller in found:
            arguments = arguments_for(caller.call, function, param, skip_first=caller.binds_first)
            if arguments is None or any(self._is_data(argument, seen) for argument in arguments):
                return False
        return True

    def _constant_across_project(self, function: cst.FunctionDef, param: cst.Param) -> bool:
        """A module-level function that every call in the checked project, in any
        module, passes a constant for param (`get_transformer("openai", ...)` from
        three modules): its values are bounded by the code (project facts)."""
        if self.facts.enclosing_function(function) is not None:
            return False
        if self.facts.enclosing_class(function) is not None:
            return False
        positional = positional_params(function)
        if not any(p is param for p in positional):
            return False
        index = next(i for i, p in enumerate(positional) if p is param)
        return index in self.constant_params(function.name.value)

    def _calls_visible(self, function: cst.FunctionDef) -> bool:
        """No decorator that could hand the function to code outside the module."""
        for decorator in function.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            if not self.facts.external_names(expression) & _CALL_TRANSPARENT_DECORATORS:
                return False
        return True
