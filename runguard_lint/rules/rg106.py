"""RG106: Files, sockets, subprocesses, tempfiles, archives and sqlite3 connections left open.

The shared leak rule says it all, but for a child process started with no pipe and
never waited for: it holds no descriptor of ours, and CPython reaps a dropped one
(`subprocess._cleanup`), so it is a detached child (a browser window, a display
server, a background indexer), not a leak. Waited for on some paths only, it is
still RG301's: that code meant to wait.
"""

from __future__ import annotations

import libcst as cst

from runguard_lint.analysis.ownership import Acquisition, Fate, Outcome
from runguard_lint.analysis.tree import walk
from runguard_lint.rules._leaks import LeakRule


class _Rule(LeakRule):
    code = "RG106"

    def reported(self, acquisition: Acquisition, fate: Fate) -> bool:
        keywords = acquisition.kind.pipe_keywords
        if not keywords or fate.outcome is not Outcome.LEAKED or not acquisition.by_call:
            return True
        return _may_pipe(acquisition.constructor, keywords, acquisition.function)


RULE = _Rule()


def _may_pipe(call: cst.Call, keywords: tuple[str, ...], function: cst.CSTNode) -> bool:
    """Whether the call may give the child a descriptor that only it keeps: a pipe
    keyword that may be `PIPE` or a file opened there, or arguments the call does not
    show (`**options`, the pipes passed by position)."""
    positional = 0
    for argument in call.args:
        if argument.star == "**":
            passed = _dict_built_here(argument.value, function)
            if passed is None or any(
                key in keywords and _may_be_pipe(value, function) for key, value in passed
            ):
                return True
            continue
        if argument.star:
            return True
        if argument.keyword is None:
            positional += 1
        elif argument.keyword.value in keywords and _may_be_pipe(argument.value, function):
            return True
    # Popen(args, bufsize, executable, stdin, ...): a fourth positional is stdin.
    return positional > 3


def _may_be_pipe(value: cst.BaseExpression, function: cst.CSTNode, depth: int = 0) -> bool:
    """`PIPE` (`subprocess.PIPE`, or imported bare), an expression that may choose it
    (`PIPE if capture else None`), or a file opened in the call; not `DEVNULL`,
    `STDOUT`, None, or a file the caller holds, which give the child no descriptor
    that only the process keeps."""
    if isinstance(value, cst.Attribute):
        return value.attr.value == "PIPE"
    if isinstance(value, cst.Name):
        if value.value == "PIPE":
            return True
        # `out = PIPE if capture else None`: what the function binds the name to (a
        # parameter or a name bound elsewhere is a file or descriptor handed in).
        return depth < 3 and any(
            _may_be_pipe(bound, function, depth + 1) for bound in _bound_in(function, value.value)
        )
    if isinstance(value, cst.Call):
        # `open(os.devnull, "w")` made right there: a descriptor that only the process
        # holds, and that stays open until it is waited for. Bound to a name first
        # (`log = open(path)`, `stdout=log`), it is the function's own, judged where it
        # is opened: the child gets a copy of it, and the `Popen` keeps nothing.
        return depth == 0
    return any(isinstance(node, cst.Name) and node.value == "PIPE" for node in walk(value)) or (
        any(isinstance(node, cst.Attribute) and node.attr.value == "PIPE" for node in walk(value))
    )


def _bound_in(function: cst.CSTNode, name: str) -> list[cst.BaseExpression]:
    """The values the function assigns to a plain name."""
    found: list[cst.BaseExpression] = []
    for node in walk(function):
        targets: list[cst.BaseExpression] = []
        value: cst.BaseExpression | None = None
        if isinstance(node, cst.Assign):
            targets, value = [target.target for target in node.targets], node.value
        elif isinstance(node, cst.AnnAssign):
            targets, value = [node.target], node.value
        if value is not None and any(
            isinstance(target, cst.Name) and target.value == name for target in targets
        ):
            found.append(value)
    return found


def _dict_built_here(
    value: cst.BaseExpression, function: cst.CSTNode
) -> list[tuple[str, cst.BaseExpression]] | None:
    """What `**options` passes when `options` is a local the function builds as a dict
    literal with string keys and then only fills by string key (`options["stdout"] =
    log`): each key with each value it may have. None when it may hold anything else
    (a parameter, another binding, `.update()`, any other use of the name)."""
    if not isinstance(value, cst.Name):
        return None
    name = value.value
    bound = _bound_in(function, name)
    if not bound:
        return None
    passed: list[tuple[str, cst.BaseExpression]] = []
    for literal in bound:
        if not isinstance(literal, cst.Dict):
            return None
        for element in literal.elements:
            key = element.key if isinstance(element, cst.DictElement) else None
            if not isinstance(key, cst.SimpleString) or not isinstance(key.evaluated_value, str):
                return None
            passed.append((key.evaluated_value, element.value))
    # Every other mention of the name must be a store under a string key: the
    # bindings above, those stores, and the `**` that passes it.
    uses = 1 + len(bound)
    for node in walk(function):
        if not isinstance(node, cst.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0].target
        if not (isinstance(target, cst.Subscript) and _is_name(target.value, name)):
            continue
        index = _string_index(target)
        if index is None:
            return None
        passed.append((index, node.value))
        uses += 1
    mentions = sum(1 for node in walk(function) if _is_name(node, name))
    return passed if mentions == uses else None


def _is_name(node: cst.CSTNode, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


def _string_index(target: cst.Subscript) -> str | None:
    """The key of `options["key"]`, when it is one string literal."""
    if len(target.slice) != 1:
        return None
    index = target.slice[0].slice
    if not isinstance(index, cst.Index) or not isinstance(index.value, cst.SimpleString):
        return None
    key = index.value.evaluated_value
    return key if isinstance(key, str) else None
