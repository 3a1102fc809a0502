"""Which attributes of a class something releases: what RG401 asks of a class.

Read from the stdlib tree of the whole file, since the LibCST tree may have
function bodies stubbed out and a release can sit in any of them: a release
method called on `<obj>.<attr>`, a `with`/`closing` over it, its closer
handed over (`weakref.finalize(self, self.x.close)`), a local alias of it
released, or a getter that only returns it. Matching by attribute name across
the module (not only the class) errs toward silence, which is the right side
for a rule about other people's classes.
"""

from __future__ import annotations

import ast

import libcst as cst

from runguard_lint.analysis.attribute_releases import getters, releases_in, releasing_helpers
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition


def released_attributes(context: FileContext, class_def: cst.ClassDef) -> set[str]:
    """Names of attributes that the class, its in-module relatives, or module code releases.

    Read from the stdlib tree of the whole file: the LibCST tree may have
    function bodies stubbed out, and a release can sit in any of them.
    Releases inside other, unrelated classes do not count: they close their
    own attributes.
    """
    classes = {node.name: node for node in ast.walk(context.tree) if isinstance(node, ast.ClassDef)}
    related = _relatives(class_def.name.value, classes)
    released = _releases_in(
        context, [node for node in context.tree.body if not isinstance(node, ast.ClassDef)]
    )
    for name in related:
        released |= _releases_in(context, [classes[name]])
    return released


def _relatives(name: str, classes: dict[str, ast.ClassDef]) -> set[str]:
    """The class, its bases and its subclasses defined in the same module."""

    def bases(node: ast.ClassDef) -> set[str]:
        found = set()
        for base in node.bases:
            if isinstance(base, ast.Name):
                found.add(base.id)
            elif isinstance(base, ast.Attribute):
                found.add(base.attr)
        return found & set(classes)

    related = {name}
    changed = True
    while changed:
        changed = False
        for candidate, node in classes.items():
            if candidate in related:
                new = bases(node) - related
            elif bases(node) & related:
                new = {candidate}
            else:
                continue
            if new:
                related |= new
                changed = True
    return related


def _releases_in(context: FileContext, roots: list[ast.stmt]) -> set[str]:
    release_names = context.catalog.release_methods
    return releases_in(
        roots,
        release_names,
        releasing_helpers(context.tree, release_names),
        getters(ast.walk(context.tree)),
    )


# Standard-library base classes that release an attribute of their subclasses.
_BASE_RELEASES = {
    "HTTPConnection": frozenset({"sock"}),
    "HTTPSConnection": frozenset({"sock"}),
    "SocketServer": frozenset({"socket"}),
    "TCPServer": frozenset({"socket"}),
    "UDPServer": frozenset({"socket"}),
}


def parent_attribute(acquisition: Acquisition) -> str | None:
    """`self.engine` for `self.conn = self.engine.connect()`: disposing it ends the child."""
    if not acquisition.by_call:
        return None
    func = acquisition.constructor.func
    if acquisition.kind.method and isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            return receiver.attr.value
    return None


def closed_by_base(class_def: cst.ClassDef, attribute: str) -> bool:
    for base in class_def.bases:
        name = base.value
        terminal = (
            name.attr.value
            if isinstance(name, cst.Attribute)
            else (name.value if isinstance(name, cst.Name) else "")
        )
        if attribute in _BASE_RELEASES.get(terminal, frozenset()):
            return True
    return False
