"""The finally shape: the uses of a resource go into `try:`, its release into `finally:`.

    conn = await pool.acquire()             conn = await pool.acquire()
    rows = await conn.fetch(q)      ->      try:
    await pool.release(conn)                    rows = await conn.fetch(q)
                                            finally:
                                                await pool.release(conn)

For RG301, the existing release moves: when the acquisition and the single
release are statements of the same block and the release line holds nothing
but the release call. For a resource never released whose release must not
be a `with` (an executor: `shutdown(wait=False)`, which neither waits for nor
cancels its work, never a `with` exit that joins it; a `multiprocessing` pool:
`close()`; a pooled connection given back with `putconn`), the release is
added in `finally` around the rest of the block.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.diagnostics import Applicability, Fix
from runguard_lint.fixes.edits import make_fix
from runguard_lint.fixes.release import release_for
from runguard_lint.fixes.tree import Rewrite, binding_of, block_of, expression_statement, index_in
from runguard_lint.fixes.with_block import end_of_uses, rest_of_block, without_blank_head


def moved_release_fix(context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
    """RG301: move the one release that an exception (or an early exit) skips into `finally`."""
    facts = context.facts
    if fate.outcome is Outcome.UNSAFE_RELEASE:
        release = fate.unsafe_release
    elif fate.outcome is Outcome.PARTIAL:
        release = fate.release_sites[0] if fate.release_sites else None
    else:
        return None
    if release is None or len(fate.release_sites) != 1:
        return None
    acquiring = facts.statement_of(acquisition.constructor)
    releasing = facts.statement_of(release)
    if not isinstance(acquiring, cst.SimpleStatementLine) or releasing is None:
        return None
    if not expression_statement(releasing, release):
        return None
    block = block_of(facts, acquiring)
    if block is None or facts.parent(releasing) is not block:
        return None
    start = index_in(block.body, acquiring)
    end = index_in(block.body, releasing)
    if end <= start + 1:
        return None
    rewrite = Rewrite(facts)
    rewrite.rebuild(block, lambda updated: _wrap(updated, start, end))
    return make_fix(context, rewrite.apply(), Applicability.SAFE, "Move the release into `finally`")


def added_release_fix(context: FileContext, acquisition: Acquisition, fate: Fate) -> Fix | None:
    """A release in `finally` around the rest of the block, for a resource never released."""
    facts = context.facts
    binding = binding_of(facts, acquisition.constructor)
    if binding is None:
        return None
    rewrite = Rewrite(facts)
    found = rest_of_block(context, binding, fate, rewrite)
    if found is None:
        return None
    block, index = found
    if index + 1 >= len(block.body):
        return None
    # The `try` ends after the last statement that uses it or what is made from it.
    end = end_of_uses(context, block.body, index, binding.target.value)
    receiver = None
    if isinstance(acquisition.constructor.func, cst.Attribute):
        receiver = facts.module.code_for_node(acquisition.constructor.func.value)
    release = release_for(acquisition, context.catalog, binding.target.value, receiver)
    if release is None:
        return None
    line = cst.parse_statement(release.statement())
    rewrite.rebuild(block, lambda updated: _wrap(updated, index, end, line))
    return make_fix(
        context,
        rewrite.apply(),
        Applicability.SAFE,
        f"Release `{binding.target.value}` with `{release.statement()}` in `finally`",
    )


def _wrap(
    updated: cst.CSTNode, start: int, end: int, added: cst.BaseStatement | None = None
) -> cst.CSTNode:
    """Statements start+1..end-1 into `try:`; statement `end` (or `added`) into `finally:`."""
    assert isinstance(updated, cst.IndentedBlock)
    body: Sequence[cst.BaseStatement] = updated.body
    guarded = without_blank_head(body[start + 1 : end])
    if added is None:
        final = without_blank_head([body[end]])[0]
        after = list(body[end + 1 :])
    else:
        final = added
        after = list(body[end:])
    try_statement = cst.Try(
        body=cst.IndentedBlock(body=guarded),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=[final])),
    )
    return updated.with_changes(body=[*body[: start + 1], try_statement, *after])
