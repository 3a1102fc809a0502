"""Facts across functions and modules: summaries per module, joined over the project.

`summary` computes one module's facts on its stdlib tree, `facts` joins them,
`view` answers them by call site, `modules` names a file as an import would.
`for_file` is what the engine asks when no project-wide facts were computed
(a single file, standard input): the facts of the module alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

from runguard_lint.analysis.project.facts import EMPTY, ProjectFacts, join
from runguard_lint.analysis.project.modules import module_name, package_of
from runguard_lint.analysis.project.summary import summarise
from runguard_lint.catalog import Catalog

__all__ = ["EMPTY", "ProjectFacts", "for_file", "module_of"]


def module_of(filename: str) -> tuple[str, str]:
    """The dotted module name of a file and the package its relative imports start from."""
    path = Path(filename)
    module = module_name(path) if path.suffix in (".py", ".pyi") else path.stem
    return module, package_of(module, path)


def for_file(
    filename: str, tree: ast.Module, text: str, catalog: Catalog, project: ProjectFacts | None
) -> ProjectFacts:
    """The project's facts when they were computed, else this module's own.

    A module that names no catalog resource defines no factory and releases
    nothing the catalog knows: it needs no summary of its own.
    """
    if project is not None:
        return project
    if not catalog.distinctive_pattern.search(text):
        return EMPTY
    module, package = module_of(filename)
    return join([summarise(tree, module, package, catalog.release_methods)], catalog)
