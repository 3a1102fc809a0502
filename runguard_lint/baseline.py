"""A baseline: the findings a team accepted when it adopted the tool.

`--write-baseline FILE` records the identity (runguard_lint.fingerprint) of
every finding of a run; `--baseline FILE`, or `baseline = "FILE"` in the
config, then reports only findings whose identity is not recorded. Since an
identity holds no line number, the recorded findings stay silent while code
moves around them; a new leak, or an edit to a recorded finding's own line,
is reported. The file is JSON, sorted, one entry per finding with what it is
made of beside its fingerprint, so that a change to it reads well in review.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from runguard_lint.diagnostics import Diagnostic
from runguard_lint.fingerprint import identities

FORMAT_VERSION = 1
_FORMAT_KEY = "runguard-lint-baseline"


class BaselineError(Exception):
    """A baseline that cannot be read or written; the run ends with exit status 2."""


def relative_to(root: Path) -> Callable[[str], str]:
    """A display name -> the path a baseline keeps: relative to root (the project's),
    posix style, so the file means the same from any working directory or system."""
    resolved_root = root.resolve()

    def path_of(filename: str) -> str:
        try:
            return Path(filename).resolve().relative_to(resolved_root).as_posix()
        except (ValueError, OSError):
            return Path(filename).as_posix()

    return path_of


def write(
    path: Path,
    diagnostics: Sequence[Diagnostic],
    source_lines: Callable[[str], Sequence[str]],
    root: Path,
) -> int:
    """Record every diagnostic's identity in path; the number recorded."""
    entries = [
        {
            "fingerprint": identity.fingerprint,
            "code": identity.code,
            "file": identity.path,
            "scope": identity.scope,
            "source": identity.source,
        }
        for _diagnostic, identity in identities(diagnostics, source_lines, relative_to(root))
    ]
    entries.sort(key=lambda e: (e["file"], e["code"], e["scope"], e["source"], e["fingerprint"]))
    document = {_FORMAT_KEY: FORMAT_VERSION, "findings": entries}
    try:
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as error:
        raise BaselineError(f"{path}: cannot write the baseline ({error.strerror})") from None
    return len(entries)


def read(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file records."""
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise BaselineError(f"{path}: cannot read the baseline ({error.strerror})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BaselineError(
            f"{path}: not a runguard-lint baseline (invalid JSON: {error})"
        ) from None
    if not isinstance(document, dict) or document.get(_FORMAT_KEY) != FORMAT_VERSION:
        raise BaselineError(
            f"{path}: not a runguard-lint baseline of format {FORMAT_VERSION}; "
            "write it again with --write-baseline"
        )
    findings = document.get("findings")
    if not isinstance(findings, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str) for entry in findings
    ):
        raise BaselineError(f"{path}: `findings` must be a list of entries with a `fingerprint`")
    return frozenset(entry["fingerprint"] for entry in findings)


def new_findings(
    diagnostics: Sequence[Diagnostic],
    recorded: frozenset[str],
    source_lines: Callable[[str], Sequence[str]],
    root: Path,
) -> list[Diagnostic]:
    """The diagnostics whose identity the baseline does not record."""
    if not recorded:
        return list(diagnostics)
    return [
        diagnostic
        for diagnostic, identity in identities(diagnostics, source_lines, relative_to(root))
        if identity.fingerprint not in recorded
    ]
