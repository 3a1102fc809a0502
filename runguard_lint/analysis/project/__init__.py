"""Facts across functions and modules: summaries per module, joined over the project.

`summary` computes one module's facts on its stdlib tree, `facts` joins them,
`view` answers them by call site, `modules` names a file as an import would.
`for_file` is what the engine asks when no project-wide facts were computed
(a single file, standard input): the facts of the module alone.
"""

from __future__ import annotations

import ast
import os
from dataclasses import replace

from runguard_lint.analysis.project.facts import EMPTY, ProjectFacts, join
from runguard_lint.analysis.project.modules import module_name, package_of
from runguard_lint.analysis.project.summary import summarise
from runguard_lint.astwalk import imports_in
from runguard_lint.catalog import Catalog

__all__ = ["EMPTY", "ProjectFacts", "for_file", "module_of"]


def module_of(filename: str) -> tuple[str, str]:
    """The dotted module name of a file and the package its relative imports start from."""
    stem, suffix = os.path.splitext(os.path.basename(filename))
    module = module_name(filename) if suffix in (".py", ".pyi") else stem
    return module, package_of(module, stem)


def for_file(
    filename: str, tree: ast.Module, text: str, catalog: Catalog, project: ProjectFacts | None
) -> ProjectFacts:
    """The project's facts when they were computed, else this module's own.

    A module that names no catalog resource defines no factory and releases
    nothing the catalog knows: it needs no summary of its own.
    """
    module, package = module_of(filename)
    if project is not None:
        return _reachable(project, tree, module, text)
    if not catalog.distinctive_pattern.search(text):
        return EMPTY
    summary = summarise(
        tree,
        module,
        package,
        catalog.release_methods,
        catalog.permit_types,
        process_starters=catalog.ownership.process_starters,
    )
    # Which constants reach a public function is a question for the whole project:
    # alone, a module shows only some of its callers.
    return replace(join([summary], catalog), constant_params={})


def _reachable(project: ProjectFacts, tree: ast.Module, module: str, text: str) -> ProjectFacts:
    """The project's facts with only the factories this module can call by name (its
    own, and top-level functions of modules it imports) and only the re-exported
    constructor names it imports. A factory's or alias's last name makes the prefilter
    keep every call that ends in it, so the rest would only cost time."""
    if not project.factories and not project.resource_aliases:
        return project
    return reachable(project, module, text, imported_names(tree))


def imported_names(tree: ast.Module) -> frozenset[str]:
    """The last names a module imports, or imports from, and the names it binds them to."""
    imported: set[str] = set()
    for node in imports_in(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.rsplit(".", 1)[-1] for alias in node.names)
            imported.update(alias.asname for alias in node.names if alias.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.module:
                imported.add(node.module.rsplit(".", 1)[-1])
            imported.update(alias.name for alias in node.names)
    return frozenset(imported)


def reachable(
    project: ProjectFacts, module: str, text: str, imported: frozenset[str]
) -> ProjectFacts:
    """`_reachable`, given what the module imports (`imported_names`)."""
    found = {}
    for name, kind in project.factories.items():
        owner, _, function = name.rpartition(".")
        if owner == module or owner.startswith(module + "."):
            found[name] = kind  # defined here (a function, or a method via self.)
        elif (
            owner not in project.classes  # another module's methods are not resolved
            and function in text
            and (function in imported or owner.rsplit(".", 1)[-1] in imported)
        ):
            found[name] = kind
    aliases = project.resource_aliases & imported
    if len(found) == len(project.factories) and aliases == project.resource_aliases:
        return project
    return replace(project, factories=found, resource_aliases=aliases)


def out_of_reach(project: ProjectFacts, module: str, text: str) -> bool:
    """Whether, from the text alone, no project factory and no re-exported constructor
    can be in reach of the module (`reachable` would find none, whatever it imports):
    none is defined in it, and the text holds neither the last name of another
    module's factory function nor any re-exported name, even inside a word. Such a
    file's report does not depend on the project's facts."""
    if not project.factories and not project.resource_aliases:
        return True
    for name in project.factories:
        owner, _, function = name.rpartition(".")
        if owner == module or owner.startswith(module + "."):
            return False
        if owner not in project.classes and function in text:
            return False
    return not any(alias in text for alias in project.resource_aliases)
