"""Names as whole words in one fast regex, for the text stages that run on every file.

Kept apart from the prefilter package (which loads LibCST through its plan) so
that the main process can match names without loading it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def words(names: Iterable[str]) -> re.Pattern[str]:
    """Any of names as a whole word. The alternatives share their prefixes
    (`Async(?:Client|OpenAI|...)`): the regex engine then tries one branch per
    character instead of every name."""
    trie: dict[str, dict[str, Any]] = {}
    for name in names:
        node = trie
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}
    # Looking ahead for a possible first letter before `\b` lets the engine skip most
    # positions at once (0.7 s instead of 1.1 s over the benchmark corpus).
    if not trie:
        return re.compile(r"(?!)")
    first = "".join(sorted(re.escape(char) for char in trie))
    return re.compile(rf"(?=[{first}])\b" + _alternatives(trie) + r"\b")


def _alternatives(node: dict[str, dict[str, Any]]) -> str:
    branches = [
        re.escape(char) + _alternatives(rest) for char, rest in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return f"(?:{group})?"
    return group


def is_capwords(name: str) -> bool:
    """A CapWords identifier, the convention for classes (not ALL_CAPS constants)."""
    bare = name.lstrip("_")
    return bool(bare) and bare[0].isupper() and any(ch.islower() for ch in bare)
