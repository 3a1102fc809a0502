"""Which calls acquire a catalog resource, and of which kind.

A call acquires when its callee resolves (through imports and aliases) to a
catalog callable, or when it is a catalog method on a receiver whose type is
known from what built it or from an annotation: `pool.getconn()` after
`pool = SimpleConnectionPool(...)`, `self.pool.acquire()` with
`self.pool: asyncpg.Pool`.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.names import FunctionNode, ModuleFacts, dotted_name
from runguard_lint.analysis.ownership.model import Acquisition
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.analysis.syntax import is_self, methods, small_statements, terminal_name
from runguard_lint.analysis.tree import walk
from runguard_lint.catalog import Catalog, ResourceKind

_RAISE_EXPECTERS = frozenset({"raises", "assertRaises", "assertRaisesRegex", "assertRaisesRegexp"})


class AcquisitionFinder:
    """Finds a module's acquiring calls and resolves what a callee or receiver is."""

    def __init__(
        self, facts: ModuleFacts, catalog: Catalog, project: ProjectView | None = None
    ) -> None:
        self.facts = facts
        self.catalog = catalog
        self.project = project

    def find(self) -> list[Acquisition]:
        """Every acquiring call inside a function, in source order, then every read of a
        project property that builds a resource (one walk of the module for both)."""
        distinctive = set(self.catalog.distinctive_names())
        properties = self.catalog.factory_terminals if self.project is not None else frozenset()
        calls: list[cst.Call] = []
        reads: list[cst.Attribute] = []
        # By exact type: an `isinstance` of a LibCST class is an abstract base class's
        # check, and this loop asks it of every node of the module.
        for node in self.facts.nodes:
            if type(node) is cst.Call:
                calls.append(node)
            elif type(node) is cst.Attribute:
                if node.attr.value in properties:
                    reads.append(node)
            elif type(node) is cst.ImportFrom and not isinstance(node.names, cst.ImportStar):
                # `from httpx import AsyncClient as C` makes `C` worth resolving too.
                for alias in node.names:
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        distinctive.add(alias.asname.name.value)
        found: list[Acquisition] = []
        for access in reads:
            function = self.facts.enclosing_function(access)
            found_property = self._property_read(access)
            if function is not None and found_property is not None:
                found.append(
                    Acquisition(access, found_property[0], function, dotted_name(access) or "")
                )
        for call in calls:
            terminal = terminal_name(call.func)
            if terminal is None or terminal not in distinctive:
                continue
            function = self.facts.enclosing_function(call)
            if function is None or self._in_main_block(function):
                continue
            kind, callee = self.resolve_kind(call)
            if kind is None or self._expected_to_raise(call, function):
                continue
            found.append(Acquisition(call=call, kind=kind, function=function, callee=callee))
        return found

    def _property_read(self, node: cst.Attribute) -> tuple[ResourceKind, str] | None:
        """`self.<name>` read (not called, not assigned) where `<name>` is a project
        property that builds a resource on every read: what it builds."""
        parent = self.facts.parent(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            return None
        if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
            isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node
        ):
            return None
        return self.project.property_factory(node) if self.project is not None else None

    def _in_main_block(self, function: FunctionNode) -> bool:
        """A function defined under `if __name__ == "__main__":` is the script's own: no
        other module can call it, and the script runs it for the life of the process."""
        for ancestor in self.facts.ancestors(function):
            if (
                isinstance(ancestor, cst.If)
                and isinstance(self.facts.parent(ancestor), cst.Module)
                and _is_main_test(ancestor.test)
            ):
                return True
        return False

    def _expected_to_raise(self, call: cst.Call, function: FunctionNode) -> bool:
        """Inside `with pytest.raises(...):` or `with self.assertRaises(...):`: the test
        asserts that the block raises, so on the path it expects nothing is acquired."""
        child: cst.CSTNode = call
        for ancestor in self.facts.ancestors(call):
            if ancestor is function:
                return False
            if isinstance(ancestor, cst.With) and child is ancestor.body:
                for item in ancestor.items:
                    expression = item.item
                    if (
                        isinstance(expression, cst.Call)
                        and terminal_name(expression.func) in _RAISE_EXPECTERS
                    ):
                        return True
            child = ancestor
        return False

    def resolve_kind(
        self, call: cst.Call, *, project: bool = True
    ) -> tuple[ResourceKind | None, str]:
        """The resource kind a call acquires (None if it acquires none) and how to name it.

        Without project, only the catalog's own constructors count: what a transport
        check asks ("built right here", not "made by some factory whose owner may
        keep it")."""
        for name in sorted(self.facts.external_names(call.func)):
            kind = self.catalog.by_callable.get(name)
            if kind is not None and name in self.catalog.factories:
                if project and not (self.project is not None and self.project.hands_back(call)):
                    return kind, f"{dotted_name(call.func) or name}()"
            elif kind is not None:
                return kind, name.removeprefix("builtins.")
        if isinstance(call.func, cst.Attribute):
            kinds = self.catalog.by_method.get(call.func.attr.value, ())
            if kinds:
                receiver_types = self.value_types(call.func.value)
                for kind in kinds:
                    if receiver_types & set(kind.on):
                        receiver = dotted_name(call.func.value) or kind.on[0].rsplit(".", 1)[-1]
                        return kind, f"{receiver}.{kind.method}()"
        if self.project is not None and self.catalog.alias_terminals:
            # A catalog constructor imported from the project module that re-exports it.
            callee = self.project.callee(call.func)
            kind = self.catalog.by_callable.get(callee) if callee is not None else None
            if kind is not None and callee not in self.catalog.factories:
                return kind, kind.display_name
        if project and self.project is not None:
            # A project function that returns a fresh resource: calling it acquires one.
            found = self.project.factory(call)
            if found is not None:
                return found[0], f"{dotted_name(call.func) or found[1]}()"
        return None, ""

    # --- what type a receiver has -----------------------------------------------------

    def value_types(self, expression: cst.BaseExpression, depth: int = 0) -> set[str]:
        """Catalog-relevant qualified names an expression is built by or annotated with."""
        if depth > 4:
            return set()
        if isinstance(expression, cst.Await):
            return self.value_types(expression.expression, depth + 1)
        if isinstance(expression, cst.Call):
            return self.facts.external_names(expression.func)
        if isinstance(expression, cst.Name):
            types: set[str] = set()
            for assignment in self.facts.assignments_of(expression):
                node = getattr(assignment, "node", None)
                if isinstance(node, cst.CSTNode):
                    types |= self._binding_types(node, depth)
            return types
        if isinstance(expression, cst.Attribute) and isinstance(expression.value, cst.Name):
            function = self.facts.enclosing_function(expression)
            if isinstance(function, cst.FunctionDef) and is_self(function, expression.value):
                class_def = self.facts.enclosing_class(function)
                if class_def is not None:
                    return self._attribute_types(class_def, expression.attr.value, depth)
        return set()

    def _binding_types(self, node: cst.CSTNode, depth: int) -> set[str]:
        if isinstance(node, cst.Param):
            return self._annotation_types(node.annotation)
        parent = self.facts.parent(node)
        if isinstance(parent, cst.AssignTarget):
            assign = self.facts.parent(parent)
            if isinstance(assign, cst.Assign):
                return self.value_types(assign.value, depth + 1)
        if isinstance(parent, cst.AnnAssign) and parent.target is node:
            types = self._annotation_types(parent.annotation)
            if parent.value is not None:
                types |= self.value_types(parent.value, depth + 1)
            return types
        if isinstance(parent, cst.NamedExpr) and parent.target is node:
            return self.value_types(parent.value, depth + 1)
        if isinstance(parent, cst.AsName):
            item = self.facts.parent(parent)
            if isinstance(item, cst.WithItem):
                # `with ZipFile(p) as bundle:` binds what `__enter__` returns: itself.
                return self.value_types(item.item, depth + 1)
        return set()

    def _annotation_types(self, annotation: cst.Annotation | None) -> set[str]:
        if annotation is None:
            return set()
        names: set[str] = set()
        for node in walk(annotation):
            if isinstance(node, (cst.Name, cst.Attribute)):
                names |= self.facts.external_names(node)
        return names

    def _attribute_types(self, class_def: cst.ClassDef, attribute: str, depth: int) -> set[str]:
        types: set[str] = set()
        for statement in class_def.body.body:
            for small in small_statements(statement):
                if (
                    isinstance(small, cst.AnnAssign)
                    and isinstance(small.target, cst.Name)
                    and small.target.value == attribute
                ):
                    types |= self._annotation_types(small.annotation)
        for method in methods(class_def):
            if not method.params.params:
                continue
            self_name = method.params.params[0].name.value
            for node in walk(method):
                if (
                    isinstance(node, cst.Assign)
                    and len(node.targets) == 1
                    and _is_attribute(node.targets[0].target, self_name, attribute)
                ):
                    types |= self.value_types(node.value, depth + 1)
                elif isinstance(node, cst.AnnAssign) and _is_attribute(
                    node.target, self_name, attribute
                ):
                    types |= self._annotation_types(node.annotation)
                    if node.value is not None:
                        types |= self.value_types(node.value, depth + 1)
        return types


# What these ask of a node is written with isinstance rather than LibCST's matchers:
# importing `libcst.matchers` costs 130 ms in each process that checks a file, about
# a sixth of a one-file edit's run.


def _is_main_test(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either quote)."""
    if not (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
        and len(test.comparisons) == 1
    ):
        return False
    target = test.comparisons[0]
    return (
        isinstance(target.operator, cst.Equal)
        and isinstance(target.comparator, cst.SimpleString)
        and target.comparator.value in ('"__main__"', "'__main__'")
    )


def _is_attribute(node: cst.BaseExpression, owner: str, attribute: str) -> bool:
    """`owner.attribute`, both plain names."""
    return (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == owner
        and node.attr.value == attribute
    )
