"""Which grammar reads a file: the running interpreter's, else any Python's up to the newest.

The stdlib `ast` only reads the grammar of the interpreter that runs the tool:
on Python 3.9, `type Alias = ...`, `def f[T]()`, PEP 701 f-strings, `match`
and `except*` are syntax errors, although the project being checked may well
require 3.12. LibCST's native parser reads every grammar from 3.0 to 3.14
whatever runs it, so when `ast.parse` fails the file is parsed by LibCST and
written back in the grammar the running `ast` knows (`older_grammar`), with
the same names, calls and blocks: the stdlib tree the prefilter, the project
facts and the class facts read is the tree of that rewrite. The checks
themselves read the original text with LibCST, so what they report, and
where, does not depend on the interpreter.

A file that LibCST rejects too, or whose rewrite the running `ast` still
rejects (a mistake that no grammar accepts), raises the interpreter's own
SyntaxError: that is the RG900. There is no `target-version` setting: the
union of the grammars is read, and reporting code that is too new for a
project's oldest Python is a compiler's job, not this linter's.

LibCST is imported only when the running `ast` fails, so the main process of a
run (the project fact pass) does not load it for files in its own grammar.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class StdlibTree:
    """A file's stdlib tree and the text it was parsed from.

    `rewritten` is True when the file needed a newer grammar than the running
    interpreter's: `text` is then its rewrite in the older grammar, whose line
    and column numbers need not be the file's own.
    """

    tree: ast.Module
    text: str
    rewritten: bool = False


def stdlib_tree(text: str, filename: str = "<unknown>") -> StdlibTree:
    """The file's stdlib tree, in whatever grammar the file is written.

    Raises the running parser's SyntaxError when no grammar accepts the file,
    and, as `ast.parse` does, ValueError (null bytes), RecursionError or
    MemoryError.
    """
    try:
        return StdlibTree(ast.parse(text, filename=filename), text)
    except SyntaxError as error:
        if any(limit in (error.msg or "") for limit in _LIMITS):
            raise  # no grammar accepts it, and LibCST's parser could crash on it
        # LibCST only now: a run whose files all parse never loads it for this.
        from runguard_lint.older_grammar import older_grammar

        older = older_grammar(text)
        if older is None:
            raise
        try:
            return StdlibTree(ast.parse(older, filename=filename), older, rewritten=True)
        except SyntaxError:
            raise error from None


# What every CPython refuses, whatever its grammar: nesting past the tokenizer's limits
# (200 brackets, 100 indentation levels). LibCST's native parser may die on such input.
_LIMITS = ("too many nested parentheses", "too many levels of indentation")
