"""The values the ownership analysis hands out: acquisitions, fates and typed verdicts.

Control flow branches on the enums here, never on reason text: the wording of a
reason is built from a typed verdict only where a human reads it, so rewording
it cannot change what the analysis concludes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union

import libcst as cst

from runguard_lint.analysis.names import FunctionNode
from runguard_lint.catalog import ResourceKind


class Outcome(enum.Enum):
    """Where an acquired value ends up."""

    RELEASED = "released"
    ESCAPED = "escaped"
    LEAKED = "leaked"
    LOOP_LEAK = "loop-leak"
    WITH_NOT_CLOSING = "with-not-closing"
    PARTIAL = "partial"
    UNSAFE_RELEASE = "unsafe-release"


@enum.unique
class EscapeKind(enum.Enum):
    """How a value leaves the function's care; each value is the wording of its reason,
    with `{}` where the escape's detail (a name, a callee) goes."""

    RETURNED = "returned"
    RETURNED_BY_LAMBDA = "returned by a lambda"
    # Weaker than the others: a generator that closes it after the yield still releases it.
    YIELDED = "yielded"
    HANDED_TO_SINK = "handed to `{}`"
    CAPTURED_BY_CALL = "captured by `{}`"
    CONSTRUCTOR = "passed to the constructor `{}`"
    KEPT_BY_SETTER = "kept by `{}`"
    KEPT_BY_CALLEE = "kept by `{}`, which stores it or builds an owner with it"
    PASSED_TO_CLASS = "passed to `{}`"
    CAPTURED_BY_NESTED_FUNCTION = "`{}` is captured by a nested function"
    BOUND_TO_GLOBAL = "bound to global `{}`"
    STORED_ATTRIBUTE = "stored in attribute `{}`"
    STORED_IN_NAME = "stored in `{}`"
    STORED_IN_CONTAINER = "stored in a container"
    ADDED_TO_CONTAINER = "added to a container"
    UNPACKED = "unpacked into several names"
    ELEMENTS_TAKEN_OUT = "held in a container whose elements are taken out"
    RELEASER_HANDED_OVER = "its `{}` is handed over"
    BOUND_METHOD_HANDED_OVER = "its bound `{}` is handed over"
    ENTERED_BY_HAND = "entered by hand"
    LOADED_INTO_ATTRIBUTE = "loaded into an attribute"
    RECEIVER_OWNED_OUTSIDE = "the index object is owned outside the function"
    WRAPS_BORROWED_TRANSPORT = "wraps a transport it does not own"
    PERMIT_RETURNED_ELSEWHERE = "given back to `{}` by other code of the module"
    PERMIT_TAKEN_BACK = "the caller's permit of `{}`, given back first and taken again"
    # Weaker than the others: a call's result followed for what it wraps ignores it.
    UNFOLLOWED_EXPRESSION = "used in an expression the analysis does not follow"


@dataclass(frozen=True)
class Escape:
    """One way the value escapes, with what the reason names (a callee, a variable)."""

    kind: EscapeKind
    detail: str = ""

    @property
    def reason(self) -> str:
        """The human wording, for messages only."""
        return self.kind.value.format(self.detail)


class Handoff(enum.Enum):
    """What a call does with a resource passed to it, when it does not take it over."""

    # Returns it wrapped so that `with` on the result closes it (`contextlib.closing`).
    CLOSING_WRAPPER = "closing-wrapper"
    # Returns it, or a view still holding it (`asyncio.wait_for`, `enumerate(clients)`).
    TRANSPARENT = "transparent"
    # Gives it back to its pool, which releases it (`pool.putconn(conn)`).
    OWNER_RELEASE = "owner-release"
    # Puts it into the receiver (`clients.append(client)`).
    STORE = "store"
    # Uses it up and keeps nothing (`json.load(f)`), whatever its result becomes.
    CONSUME = "consume"
    # A plain call: uses it and leaves it with the caller, unless its result wraps it.
    BORROW = "borrow"


# A call's verdict on an argument: a handoff, or an escape when the callee takes it over.
ArgumentVerdict = Union[Handoff, Escape]


@dataclass(frozen=True)
class Acquisition:
    """A call inside a function that acquires a catalog resource."""

    # The acquiring expression: a call, or the access of a property that builds a resource.
    call: cst.Call | cst.Attribute
    kind: ResourceKind
    function: FunctionNode
    callee: str

    @property
    def constructor(self) -> cst.Call:
        """The acquiring call, for the fixes, which are offered only for calls (a
        property that builds a resource is fixed in its class, not at its uses)."""
        if not isinstance(self.call, cst.Call):
            raise TypeError("a property access has no call to rewrite")
        return self.call

    @property
    def call_text(self) -> str:
        """How a message writes the acquiring call: `sqlite3.connect(...)`, a factory's
        `self.connect()`, or `self.connect(...)` when it is given arguments."""
        if not self.callee.endswith("()"):
            return f"{self.callee}(...)"
        if isinstance(self.call, cst.Call) and self.call.args:
            return f"{self.callee[:-2]}(...)"
        return self.callee

    @property
    def by_call(self) -> bool:
        """Whether the acquisition is a call (not the access of a property factory)."""
        return isinstance(self.call, cst.Call)

    @property
    def function_name(self) -> str:
        if isinstance(self.function, cst.FunctionDef):
            return self.function.name.value
        return "<lambda>"

    @property
    def in_async_function(self) -> bool:
        return isinstance(self.function, cst.FunctionDef) and self.function.asynchronous is not None


@dataclass(frozen=True)
class StoredAttribute:
    """`self.<attribute> = <resource>` inside a method: the instance owns it."""

    attribute: str
    statement: cst.CSTNode
    class_def: cst.ClassDef


@dataclass(frozen=True)
class Fate:
    """The ownership analysis' answer for one acquisition."""

    outcome: Outcome
    reason: str = ""
    holder: str | None = None
    release_sites: tuple[cst.CSTNode, ...] = ()
    # For UNSAFE_RELEASE: the release that an exception would skip.
    unsafe_release: cst.CSTNode | None = None
    # For PARTIAL: the statement through which a path leaves without releasing.
    open_exit: cst.CSTNode | None = None
    after_yield: bool = False
    stored: StoredAttribute | None = None
    released_by_with: bool = False
    # For UNSAFE_RELEASE: the resource closes itself when the `for` loop that
    # `unsafe_release` is runs it to its end (`for line in fileinput.input(files):`).
    closed_by_exhaustion: bool = False
    # For ESCAPED: how, as a typed verdict (reason is its wording): branch on this.
    escape: Escape | None = None
    # Values derived from the resource (a future from `submit`, a stream, a wrapper
    # made by an unknown callee) that outlive the function: they keep the resource
    # alive without owning it, so closing it at the end of the function breaks them.
    derived_escapes: tuple[Escape, ...] = ()
