"""The text stage: names as whole words in one regex, and the lines they are on."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def text_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """The catalog's names as whole words, in one pattern (kept: built once per run)."""
    return words(names)


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


def hit_rows(pattern: re.Pattern[str], text: str) -> list[int]:
    """The (1-based, sorted) lines on which pattern matches, numbered as `ast` does."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    rows: list[int] = []
    row, last = 1, 0
    for match in pattern.finditer(text):
        row += text.count("\n", last, match.start())
        last = match.start()
        if not rows or rows[-1] != row:
            rows.append(row)
    return rows
