"""What a use of the value through one of its attributes means: `value.close()`,
`value.write`, `items.pop()`.

Calling a release method releases it (unless the coroutine is never awaited);
handing over a release method or a bound method hands over the resource; a
container whose elements are taken out may have them closed by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import libcst as cst

from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.ownership.model import Acquisition, Escape, EscapeKind
from runguard_lint.analysis.project.summary import STORE_METHODS
from runguard_lint.catalog import Catalog

# Attributes that are plain data: passing `proc.pid` or `tmp.name` on hands nothing over.
_DATA_ATTRIBUTES = frozenset(
    {
        "name",
        "pid",
        "returncode",
        "closed",
        "mode",
        "encoding",
        "errors",
        "newlines",
        "base_url",
        "headers",
        "cookies",
        "timeout",
        "args",
    }
)


@dataclass(frozen=True)
class Release:
    """The value's own release method runs; site stands for the release."""

    site: cst.CSTNode


# A release, an escape, or None for a plain use that changes nothing.
AttributeVerdict = Union[Release, Escape, None]


def release_site(facts: ModuleFacts, call: cst.Call) -> cst.CSTNode:
    """The node that stands for a release: the `await` around the call, if any."""
    parent = facts.parent(call)
    return parent if isinstance(parent, cst.Await) else call


class AttributeUses:
    """Judges `value.<attribute>` for the values of one module."""

    def __init__(self, facts: ModuleFacts, catalog: Catalog) -> None:
        self.facts = facts
        self._release_names = catalog.release_methods

    def verdict(
        self, attribute: cst.Attribute, acquisition: Acquisition, container: bool
    ) -> AttributeVerdict:
        """`value.method(...)`: a release, a closer handed over, or a plain use.

        With container, the value holds resources rather than being one.
        """
        grand = self.facts.parent(attribute)
        name = attribute.attr.value
        if container:
            if name in STORE_METHODS or name in ("copy", "index", "count"):
                return None
            # `items.pop().close()` and the like: someone may close the elements.
            return Escape(EscapeKind.ELEMENTS_TAKEN_OUT)
        releases = acquisition.kind.release or tuple(self._release_names)
        if name in releases:
            if isinstance(grand, cst.Call) and grand.func is attribute:
                if self._unawaited(grand, acquisition):
                    return None
                return Release(release_site(self.facts, grand))
            return Escape(EscapeKind.RELEASER_HANDED_OVER, name)
        if name in ("__enter__", "__aenter__", "__exit__", "__aexit__"):
            return Escape(EscapeKind.ENTERED_BY_HAND)
        component = self._component_release(attribute, grand)
        if component is not None:
            return component
        called = isinstance(grand, cst.Call) and grand.func is attribute
        if not called and name in acquisition.kind.derived:
            return None  # a part that keeps using the resource (`proc.stdout`): followed
        if (
            not called
            and name not in _DATA_ATTRIBUTES
            and isinstance(
                grand,
                (cst.Arg, cst.Assign, cst.AnnAssign, cst.Return, cst.Element, cst.DictElement),
            )
        ):
            # `logger.setwriter(err.write)`: the bound method keeps the resource alive
            # wherever it goes.
            return Escape(EscapeKind.BOUND_METHOD_HANDED_OVER, name)
        return None

    def _component_release(
        self, attribute: cst.Attribute, grand: cst.CSTNode | None
    ) -> Release | None:
        """`value.<part>.aclose()`: closing what the value holds its connections in (an
        SDK wrapper's `_client`, a session's `connector`) releases the value. The value
        is a wrapper around that part; once the part is closed, the wrapper owns no
        descriptor, so saying it leaks would be a false positive."""
        if not (isinstance(grand, cst.Attribute) and grand.value is attribute):
            return None
        if grand.attr.value not in self._release_names:
            return None
        call = self.facts.parent(grand)
        if not (isinstance(call, cst.Call) and call.func is grand):
            return None
        if grand.attr.value == "aclose" and isinstance(self.facts.parent(call), cst.Expr):
            return None
        return Release(release_site(self.facts, call))

    def _unawaited(self, call: cst.Call, acquisition: Acquisition) -> bool:
        """`client.aclose()` as a bare statement: the coroutine never runs, nothing closes."""
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
        if not (acquisition.kind.release_awaited or method == "aclose"):
            return False
        parent = self.facts.parent(call)
        return isinstance(parent, cst.Expr)
