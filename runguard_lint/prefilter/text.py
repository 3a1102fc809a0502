"""The text stage: names as whole words in one regex, and the lines they are on."""

from __future__ import annotations

import re
from functools import lru_cache

from runguard_lint.wordmatch import words


@lru_cache(maxsize=8)
def text_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """The catalog's names as whole words, in one pattern (kept: built once per run)."""
    return words(names)


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
