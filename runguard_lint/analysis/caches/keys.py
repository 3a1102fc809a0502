"""Whether a key written into a cache is call data, which grows with traffic.

Literals, module-level names and locals computed only from them are bounded
by the code; parameters (and locals, loop and comprehension variables fed by
them) carry the caller's data. Some parameters carry none: classes, types and
functions (type_params.py), flags, attribute and module names, and the
parameters of a private function that every call here passes a constant
(the literal-callers rule).
"""

from __future__ import annotations

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
from runguard_lint.analysis.caches.calls import callers
from runguard_lint.analysis.caches.classes import Classes, is_class_param
from runguard_lint.analysis.caches.syntax import (
    arguments_for,
    bound_value,
    is_test_module,
    local_value,
    param_references,
    positional_params,
    table_lookup,
)
from runguard_lint.analysis.caches.type_params import TypeParams
from runguard_lint.analysis.dict_uses import CACHE_DECORATORS
from runguard_lint.analysis.names import ModuleFacts
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


class Keys:
    """Which expressions of one module derive from call data."""

    def __init__(
        self, facts: ModuleFacts, filename: str, classes: Classes, type_params: TypeParams
    ) -> None:
        self.facts = facts
        self.filename = filename
        self.classes = classes
        self.type_params = type_params

    def key_is_data(self, key: cst.BaseExpression, key_type: cst.BaseExpression | None) -> bool:
        """Whether a written key derives from call data, given the cache's key annotation."""
        facts = self.facts
        if key_type is None:
            return self._is_data(key, set())
        if bounded_key_annotation(facts, key_type):
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
                not is_type_annotation(facts, part) and self._is_data(element.value, set())
                for element, part in zip(expression.elements, parts)
            )
        return self._is_data(key, set())

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
        if not isinstance(function, cst.FunctionDef) or not self._calls_visible(function):
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

    def _calls_visible(self, function: cst.FunctionDef) -> bool:
        """No decorator that could hand the function to code outside the module."""
        for decorator in function.decorators:
            expression = decorator.decorator
            if isinstance(expression, cst.Call):
                expression = expression.func
            if not self.facts.external_names(expression) & _CALL_TRANSPARENT_DECORATORS:
                return False
        return True
