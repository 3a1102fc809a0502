"""Processes as /proc shows them, for tests that check what a run leaves behind (Linux)."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> set[int]:
    """The live processes whose parent is pid (from /proc)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (one that ended, unreaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def descendants(pid: int) -> set[int]:
    """The live processes below pid: its children, theirs, and so on."""
    found = children(pid)
    for child in set(found):
        found |= descendants(child)
    return found
