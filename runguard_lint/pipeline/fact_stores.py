"""What the project-wide fact pass keeps between runs, in the cache directory.

The files sit in the project, where a pull request can forge them (a summary
saying a leaking factory hands its resource away would silence its callers): each
is a pickle signed with an HMAC under the user's cache key (`SignedPickle`, see
cache_key) and is never loaded when that fails. There are four: the module
summaries by content hash (`SummaryStore`); the facts the last run joined, apart
from the record of how each file took part (`FactsStore`, `Joined`), with the
status each file had when it was hashed (`Stamps`); and which files are out of
reach of those facts (`ReachStore`). `pipeline.project` decides when each is read
and written.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import io
import os
import pickle
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO

from runguard_lint import __version__
from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.analysis.project.summary import SUMMARY_FORMAT, ModuleSummary
from runguard_lint.pipeline.cache_key import cache_key, sign, verify
from runguard_lint.pipeline.files import InputFile, content_hash, read_bytes, write_cache_file

# The shape of what the stores below hold: a change of it makes them other files.
STORE_FORMAT = 4


class SignedPickle:
    """One of the fact pass's cache files: a pickle under an HMAC with the user's cache
    key (see cache_key). The files sit in the project's cache directory, where a pull
    request can forge them, and a pickle runs code when loaded: it is loaded only when
    the HMAC checks out. Written atomically; a failure to read or write only costs
    speed. What the value is valid for (a project key, a settings fingerprint) travels
    inside it, for the caller to compare."""

    def __init__(self, directory: Path | None, name: str) -> None:
        self._secret = cache_key() if directory else None
        # No key, no store: what cannot be authenticated is never trusted.
        self.path = directory / __version__ / name if directory and self._secret else None

    def load(self) -> object:
        """The stored value, or None.

        Read as a stream, twice (the HMAC over the pickle, then the pickle itself),
        never whole: the joined facts are tens of megabytes."""
        if self.path is None or self._secret is None:
            return None
        try:
            with self.path.open("rb") as handle:
                mac = handle.readline(_MAC_LENGTH + 1).rstrip(b"\n")
                start = handle.tell()
                digest = hashlib.sha256()
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
                if not self._authentic(mac, digest.hexdigest()):
                    return None
                handle.seek(start)
                return pickle.load(handle)
        except Exception:
            return None

    def load_headed(self) -> tuple[object, Callable[[], object]] | None:
        """What `save_headed` stored: the head, and a call that unpickles the body (None
        when that fails). The file is read and its HMAC checked now; only the body's
        unpickling waits for the call, which may never come (a warm run asks the facts'
        digest, not the facts)."""
        if self.path is None or self._secret is None:
            return None
        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        start = data.find(b"\n", 0, _MAC_LENGTH + 1) + 1
        with memoryview(data)[start:] as body:
            digest = hashlib.sha256(body).hexdigest()
        if not start or not self._authentic(data[: start - 1], digest):
            return None
        stream = io.BytesIO(data)  # shares the bytes, no copy
        stream.seek(start)
        try:
            head = pickle.load(stream)
        except Exception:
            return None
        return head, _Unpickled(memoryview(data)[stream.tell() :])

    def _authentic(self, mac: bytes, digest: str) -> bool:
        """Whether `mac` (the file's first line) signs a pickle of this SHA-256."""
        assert self.path is not None and self._secret is not None
        return verify(
            self._secret, mac.decode("ascii", "replace"), __version__, self.path.name, digest
        )

    def save(self, value: object) -> None:
        """Store the value: pickled straight into the file, under a placeholder for the
        HMAC that is written over it once the pickle's hash is known (a pickle built in
        memory first would hold the whole of it, twice while it grows)."""
        self._save((value,))

    def save_headed(self, head: object, body: object) -> None:
        """Store two values, one pickle after the other, for `load_headed` to read the
        small head without the body."""
        self._save((head, body))

    def _save(self, values: tuple[object, ...]) -> None:
        path, secret = self.path, self._secret
        if path is None or secret is None:
            return

        def write(handle: BinaryIO) -> None:
            handle.write(b"0" * _MAC_LENGTH + b"\n")
            digest = hashlib.sha256()
            for value in values:
                pickle.dump(value, _Hashing(handle, digest), protocol=pickle.HIGHEST_PROTOCOL)
            mac = sign(secret, __version__, path.name, digest.hexdigest())
            handle.seek(0)
            handle.write(mac.encode("ascii"))

        with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError):
            write_cache_file(path, write)


class _Unpickled:
    """A body `load_headed` read: unpickled on the first call, its bytes let go then."""

    def __init__(self, data: memoryview) -> None:
        self._data: memoryview | None = data
        self._value: object = None

    def __call__(self) -> object:
        data, self._data = self._data, None
        if data is not None:
            try:
                self._value = pickle.loads(data)
            except Exception:
                self._value = None
            finally:
                data.release()
        return self._value


# An HMAC-SHA256 in hex (`cache_key.sign`), and how much of a store is hashed at a time.
_MAC_LENGTH = 64
_CHUNK = 1 << 20


class _Hashing:
    """A write-only stream that hashes what it passes on (what `pickle.dump` needs)."""

    def __init__(self, handle: BinaryIO, digest: hashlib._Hash) -> None:
        self._handle = handle
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._handle.write(data)


class Pass(str, enum.Enum):
    """Why the fact pass summarised a module (`pipeline.project`): its own text, a name the first
    pass found, or another summary's demand."""

    FIRST = "first"
    SECOND = "second"
    DEMANDED = "demanded"


@dataclass(frozen=True)
class Joined:
    """What a run that joined the facts leaves for the next: the digest of the facts
    (stored apart, see `FactsStore`), the project key they were joined for
    (`_project_key`), and enough of how to tell, when a few files
    changed, that the facts did not: for each file its module, content hash, and the
    pass that summarised it with the summary's key (None, None: not summarised), and
    what each round after the first pass asked for (`project._survey_rounds`)."""

    key: str
    fingerprint: str
    facts_digest: str
    files: dict[str, tuple[str, str, Pass | None, str | None]]
    # Each round after the first pass: the names its later pass asked for (new in that
    # round) and the module names its demand step asked for (`collect.modules_under`).
    rounds: tuple[tuple[frozenset[str], frozenset[str]], ...]
    # The round (1, 2, ...) that took each file summarised after the first pass.
    taken: dict[str, int]
    # The first part of every name the demand steps were given: they ask only under the
    # project's top-level names (those of `files`' modules), so a file that adds one of
    # these makes a module the rounds passed over wanted now.
    heads: frozenset[str]
    # Summaries of files changed since the summary store was written (`_same_facts`
    # keeps them here rather than rewrite the store for one file).
    newer: dict[str, ModuleSummary]
    # What the files' status said when they were hashed (`Stamps`).
    stamps: Taken


@dataclass(frozen=True)
class Taken:
    """Each file's status (size, modification and change times, inode) when it was
    hashed, and when that was."""

    at: int  # nanoseconds since the epoch
    files: dict[str, tuple[int, int, int, int]]


class Stamps:
    """Content hashes without reading the files that did not change since the last run
    hashed them, as Git's index and Ruff's cache decide it: same size, modification and
    change times (a `chmod` changes the last) and inode. A file modified less than
    `_RACY_NS` before it was hashed may have changed again within one tick of the
    file system's clock: it is read again, as Git reads its "racily clean" entries."""

    _RACY_NS = 2_000_000_000

    def __init__(self, last: Joined | None) -> None:
        self._last = last
        self.taken = Taken(time.time_ns(), {})
        # Whether a file was read only for being racily clean then: storing what this
        # run saw lets the next run skip it.
        self.renewed = False

    def digest(self, file: InputFile) -> str | None:
        """The file's content hash; None when it cannot be read."""
        try:
            status = os.stat(file.path)
        except OSError:
            status = None
        if status is not None:
            stamp = (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
            last = self._last
            if (
                last is not None
                and last.stamps.files.get(file.display) == stamp
                and file.display in last.files
            ):
                if max(stamp[1], stamp[2]) < last.stamps.at - self._RACY_NS:
                    self.taken.files[file.display] = stamp
                    return last.files[file.display][0]
                self.renewed = True
        data = read_bytes(file.path)
        if isinstance(data, str):
            return None
        if status is not None:
            self.taken.files[file.display] = stamp
        return content_hash(data)


class FactsStore:
    """The facts the last run joined, and what it learnt of the project (`Joined`), in
    two files: the facts are megabytes and change only when joined anew, while a run
    that finds them unchanged after an edit rewrites the rest alone."""

    def __init__(self, directory: Path | None) -> None:
        name = f"{SUMMARY_FORMAT}.{STORE_FORMAT}.pickle"
        self._joined = SignedPickle(directory, f"joined-{name}")
        self._facts = SignedPickle(directory, f"facts-{name}")

    def load(self) -> Joined | None:
        joined = self._joined.load()
        if not isinstance(joined, Joined):
            return None
        # A pickle restores the fields it was made with: one from a build of the same
        # version with other fields is not used.
        if any(not hasattr(joined, name.name) for name in fields(Joined)):
            return None
        return joined

    def facts(self, joined: Joined) -> Callable[[], ProjectFacts | None] | None:
        """The facts `joined` was made with, if they are still stored: checked now (the
        file's HMAC, then the digest stored ahead of the facts), unpickled when first
        asked (None if that fails). Most warm runs never ask: a report found in the
        cache needs the facts' digest alone."""
        stored = self._facts.load_headed()
        if stored is None or stored[0] != joined.facts_digest:
            return None
        body = stored[1]

        def facts() -> ProjectFacts | None:
            value = body()
            return value if isinstance(value, ProjectFacts) else None

        return facts

    def save(self, joined: Joined, facts: ProjectFacts | None = None) -> None:
        """Store `joined`, and the facts when they were joined anew (their digest,
        which every cache key asks, is computed by then and stored with them)."""
        if facts is not None:
            self._facts.save_headed(facts.digest, facts)
        self._joined.save(joined)


class ReachStore:
    """Which files are out of reach of the facts (`ProjectSurvey.independent`), as the
    runs under the same facts found: a warm run or a one-file edit need not decode
    every file and search it for every factory's name to pick its cache key."""

    def __init__(self, directory: Path | None, digest: str) -> None:
        self._file = SignedPickle(directory, f"reach-{SUMMARY_FORMAT}.{STORE_FORMAT}.pickle")
        self._digest = digest
        self._verdicts: dict[str, tuple[str, str, bool]] = {}
        self._changed = False

    @classmethod
    def of(cls, directory: Path | None, digest: str) -> ReachStore | None:
        """The verdicts stored for the facts of this digest (none yet when they were
        others')."""
        if directory is None:
            return None
        store = cls(directory, digest)
        stored = store._file.load()
        if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == digest:
            verdicts = stored[1]
            if isinstance(verdicts, dict):
                store._verdicts = verdicts
        return store

    def verdict(self, display: str, digest: str, module: str) -> bool | None:
        found = self._verdicts.get(display)
        if found is None or found[0] != digest or found[1] != module:
            return None
        return found[2]

    def note(self, display: str, digest: str, module: str, verdict: bool) -> None:
        self._verdicts[display] = (digest, module, verdict)
        self._changed = True

    def save(self, files: Collection[str]) -> None:
        """Store the verdicts of `files` (those of files gone are dropped)."""
        if self._changed:
            kept = {
                display: self._verdicts[display] for display in files if display in self._verdicts
            }
            self._file.save((self._digest, kept))
            self._changed = False


class Summaries(Mapping[str, ModuleSummary]):
    """Module summaries by `summary_key`, each kept pickled until it is asked for: a run
    after a one-file edit asks for one or two of thousands."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self._loaded: dict[str, ModuleSummary] = {}

    def __getitem__(self, key: str) -> ModuleSummary:
        found = self._loaded.get(key)
        if found is None:
            blob = self.blobs[key]
            try:
                summary = pickle.loads(blob)
            except Exception:
                raise KeyError(key) from None
            if not isinstance(summary, ModuleSummary):
                raise KeyError(key)
            self._loaded[key] = found = summary
        return found

    def __contains__(self, key: object) -> bool:
        return key in self.blobs

    def __iter__(self) -> Iterator[str]:
        return iter(self.blobs)

    def __len__(self) -> int:
        return len(self.blobs)


class SummaryStore:
    """Module summaries by `summary_key`, and which of those modules the first pass took
    (their text names a catalog resource: a warm run need not read them to know it),
    for the settings they were made with (the catalog decides both)."""

    def __init__(self, directory: Path | None) -> None:
        self._file = SignedPickle(directory, f"summaries-{SUMMARY_FORMAT}.{STORE_FORMAT}.pickle")
        self._known = Summaries({})
        self._first: frozenset[str] = frozenset()

    def load(self, fingerprint: str) -> tuple[Summaries, frozenset[str]]:
        stored = self._file.load()
        if not isinstance(stored, tuple) or len(stored) != 3:
            return self._known, self._first
        stored_fingerprint, blobs, first = stored
        if stored_fingerprint != fingerprint or not isinstance(blobs, dict):
            return self._known, self._first
        if not isinstance(first, frozenset):
            return self._known, self._first
        self._known, self._first = Summaries(blobs), first
        return self._known, self._first

    def save(
        self, fingerprint: str, summaries: dict[str, ModuleSummary], first: frozenset[str]
    ) -> None:
        """Keep what this run used; a summary loaded from the store keeps its bytes."""
        if summaries.keys() == self._known.keys() and first == self._first:
            return
        blobs: dict[str, bytes] = {}
        for key, summary in summaries.items():
            blob = self._known.blobs.get(key)
            blobs[key] = (
                blob if blob is not None else pickle.dumps(summary, pickle.HIGHEST_PROTOCOL)
            )
        self._file.save((fingerprint, blobs, first))
