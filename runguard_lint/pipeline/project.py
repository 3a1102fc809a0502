"""The project-wide fact pass of a run, before any file is checked.

Every file given is read and decoded once here (cheap next to parsing); the
fact pass parses only the modules that can matter (see
analysis.project.collect) and reuses summaries from earlier runs by content
hash. The facts then travel to the workers in the worker context, and their
digest joins the content hash in the result cache's key: a file's findings
depend on what the other modules tell about their functions and classes.

The summaries file sits in the project's cache directory, where a pull
request can forge it (a summary saying a leaking factory hands its resource
away would silence its callers), so each entry is stored as JSON text with an
HMAC under the user's cache key (see cache_key); one that fails is recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runguard_lint import __version__
from runguard_lint.analysis.project import module_of, out_of_reach, reachable
from runguard_lint.analysis.project.collect import (
    Source,
    collect,
    demand_rounds,
    interesting_names,
    summary_key,
    summary_of_text,
    wants_summary,
    words_of,
)
from runguard_lint.analysis.project.facts import ProjectFacts, join
from runguard_lint.analysis.project.summary import SUMMARY_FORMAT, ModuleSummary
from runguard_lint.catalog import Catalog
from runguard_lint.config import Settings
from runguard_lint.diagnostics import FileReport
from runguard_lint.pipeline.cache_key import cache_key, sign, verify
from runguard_lint.pipeline.files import (
    DecodeFailure,
    InputFile,
    content_hash,
    decode,
    read_bytes,
    replace_cache_file,
)
from runguard_lint.pipeline.pool import WorkItem

if TYPE_CHECKING:
    from runguard_lint.pipeline.check import Surveyed


def project_facts(
    files: Sequence[InputFile], settings: Settings, cache_dir: Path | None
) -> ProjectFacts:
    """The facts of the files being checked, with summaries cached in cache_dir."""
    sources: list[Source] = []
    for file in files:
        data = read_bytes(file.path)
        if isinstance(data, str):
            continue
        try:
            text = decode(data).text
        except DecodeFailure:
            continue
        sources.append(Source(str(file.path), text, content_hash(data)))
    store = _SummaryStore(cache_dir)
    fingerprint = settings.fingerprint()
    known, first = store.load(fingerprint)
    facts, summaries = collect(sources, settings.catalog, known)
    used = {summary_key(d, summary.module): summary for d, summary in summaries.items()}
    # Which modules the first pass took is not told here: what the last survey learnt
    # is kept for the modules still used (the next survey reads the others' text).
    store.save(fingerprint, used, frozenset(first & used.keys()))
    return facts


@dataclass(frozen=True)
class ProjectSurvey:
    """The fact pass of a check run: the facts, and what it learnt of each file."""

    facts: ProjectFacts
    # Display name -> what the survey of the file found (see `settled_report`).
    settled: dict[str, Surveyed]
    # Display name -> its dotted module name, for every file read.
    modules: dict[str, str]

    def independent(self, display: str, text: str) -> bool:
        """Whether a report that read no project fact holds for this file under any
        facts that leave its text out of reach (`analysis.project.out_of_reach`): it is
        then cached under the file's content alone, else with the facts' digest."""
        module = self.modules.get(display)
        return module is not None and out_of_reach(self.facts, module, text)

    def settled_report(self, display: str, digest: str, text: str) -> FileReport | None:
        """The report a survey settled for this content, if no project fact is in reach
        of it after all (exactly as the check would decide, from its imports)."""
        survey = self.settled.get(display)
        module = self.modules.get(display)
        if survey is None or survey.digest != digest or survey.settled is None or module is None:
            return None
        facts = reachable(self.facts, module, text, survey.imported)
        if facts.factories or facts.resource_aliases:
            return None
        return survey.settled


Survey = Callable[[Sequence[WorkItem], frozenset[str]], Iterator[tuple[WorkItem, "Surveyed"]]]


def survey_project(
    files: Sequence[InputFile], settings: Settings, cache_dir: Path | None, survey: Survey
) -> ProjectSurvey:
    """The facts of the files being checked (summaries cached in cache_dir), computed
    as `collect` computes them, with the parsing moved to the workers: `survey(items,
    names)` runs `check.survey_item` in the pool, which also checks each file up to
    LibCST, so a file the fact pass parses is parsed again only if it reaches LibCST.

    The main process reads each file and keeps its hash, never its text. When no file
    changed since the last run (same names, same hashes, same settings), the facts
    that run joined are read back instead (`_FactsStore`): no summary is loaded or
    joined again."""
    digests: dict[str, str] = {}
    modules: dict[str, str] = {}
    readable: list[InputFile] = []
    for file in files:
        data = read_bytes(file.path)
        if isinstance(data, str):
            continue  # the check reports it (RG900)
        digests[file.display] = content_hash(data)
        modules[file.display] = module_of(str(file.path))[0]
        readable.append(file)
    facts_store = _FactsStore(cache_dir)
    project_key = _project_key(digests, modules, settings)
    joined = facts_store.load(project_key)
    if joined is not None:
        return ProjectSurvey(joined, {}, modules)
    store = _SummaryStore(cache_dir)
    fingerprint = settings.fingerprint()
    known, known_first = store.load(fingerprint)
    catalog = settings.catalog
    first: list[InputFile] = []
    rest: list[InputFile] = []
    wanted: list[WorkItem] = []
    for file in readable:
        digest, module = digests[file.display], modules[file.display]
        if summary_key(digest, module) in known_first and _known(known, digest, module):
            first.append(file)  # the first pass took it last time: same text, same answer
            continue
        text = _text(file)
        if text is None:
            continue  # undecodable (or gone since): it tells the project nothing
        if not wants_summary(text, catalog):
            rest.append(file)
            continue
        first.append(file)
        if not _known(known, digest, module):
            wanted.append(WorkItem(file.display, file.path, None, len(text)))
    surveyed = dict(survey(wanted, frozenset()))
    summaries: dict[str, ModuleSummary] = {}
    used: dict[str, ModuleSummary] = {}  # what the store keeps, by `summary_key`
    _add(first, digests, modules, known, surveyed, summaries, used)
    names = interesting_names(summaries.values())
    if names:
        done = {digests[file.display] for file in first}
        second: list[InputFile] = []
        wanted = []
        for file in rest:
            digest = digests[file.display]
            text = _text(file) if digest not in done else None
            if text is None or names.isdisjoint(words_of(text)):
                continue
            second.append(file)
            if not _known(known, digest, modules[file.display]):
                wanted.append(WorkItem(file.display, file.path, None, len(text)))
        surveyed.update(survey(wanted, names))
        _add(second, digests, modules, known, surveyed, summaries, used)
    _add_demanded(readable, digests, modules, known, summaries, used, catalog)
    store.save(
        fingerprint,
        used,
        frozenset(summary_key(digests[f.display], modules[f.display]) for f in first),
    )
    settled = {
        item.display: result for item, result in surveyed.items() if result.settled is not None
    }
    joined = join(summaries.values(), catalog)
    facts_store.save(project_key, joined)
    return ProjectSurvey(joined, settled, modules)


def _add_demanded(
    files: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    known: dict[str, ModuleSummary],
    summaries: dict[str, ModuleSummary],
    used: dict[str, ModuleSummary],
    catalog: Catalog,
) -> None:
    """The modules that the summarised ones depend on (`collect.demand_rounds`),
    summarised here in the main process: a few files, not worth a round of workers."""

    def summarise(wanted: list[InputFile]) -> None:
        for file in wanted:
            digest = digests[file.display]
            key = summary_key(digest, modules[file.display])
            summary = known.get(key)
            if summary is None:
                text = _text(file)
                summary = None if text is None else summary_of_text(str(file.path), text, catalog)
            if summary is not None:
                summaries[digest] = used[key] = summary

    demand_rounds(
        summaries,
        {modules[file.display]: file for file in files},
        lambda file: digests[file.display],
        summarise,
    )


def _text(file: InputFile) -> str | None:
    """A file's text (None: unreadable or undecodable, as the check will report; the
    hashes are taken before, from the bytes alone, so that an unchanged project needs
    no decoding here)."""
    data = read_bytes(file.path)
    if isinstance(data, str):
        return None
    try:
        return decode(data).text
    except DecodeFailure:
        return None


def _project_key(digests: dict[str, str], modules: dict[str, str], settings: Settings) -> str:
    """What the joined facts are a function of: every readable file's name, module name
    and content hash, and the settings that shape the catalog (`Settings.fingerprint`)."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{SUMMARY_FORMAT}\0{settings.fingerprint()}".encode())
    for display in sorted(digests):
        # Names may hold surrogates (undecodable bytes of a file name): kept, not lost.
        entry = f"\0{display}\0{modules[display]}\0{digests[display]}"
        digest.update(entry.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class _FactsStore:
    """The facts the last run joined, with the key of the project they were joined for
    (`_project_key`): one file, replaced by every run that joins facts anew.

    Stored as a pickle, since the facts hold catalog kinds that JSON does not; a pickle
    runs code when loaded, so it is loaded only when its HMAC under the user's cache key
    (see cache_key) checks out, like every other cache file a pull request could forge.
    """

    def __init__(self, directory: Path | None) -> None:
        self._secret = cache_key() if directory else None
        self.path = (
            directory / __version__ / f"facts-{SUMMARY_FORMAT}.pickle"
            if directory and self._secret
            else None
        )

    def load(self, key: str) -> ProjectFacts | None:
        if self.path is None or self._secret is None:
            return None
        try:
            raw = self.path.read_bytes()
        except OSError:
            return None
        header, _, blob = raw.partition(b"\n")
        stored_key, _, mac = header.decode("ascii", "replace").partition(" ")
        if stored_key != key or not verify(
            self._secret, mac, __version__, key, hashlib.sha256(blob).hexdigest()
        ):
            return None
        try:
            facts = pickle.loads(blob)
        except Exception:
            return None
        return facts if isinstance(facts, ProjectFacts) else None

    def save(self, key: str, facts: ProjectFacts) -> None:
        """Write atomically; a failure only costs speed next time."""
        if self.path is None or self._secret is None:
            return
        try:
            blob = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        mac = sign(self._secret, __version__, key, hashlib.sha256(blob).hexdigest())
        with contextlib.suppress(OSError):
            replace_cache_file(self.path, [f"{key} {mac}\n".encode("ascii"), blob])


def _known(known: dict[str, ModuleSummary], digest: str, module: str) -> bool:
    return summary_key(digest, module) in known


def _add(
    files: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    known: dict[str, ModuleSummary],
    surveyed: dict[WorkItem, Surveyed],
    summaries: dict[str, ModuleSummary],
    used: dict[str, ModuleSummary],
) -> None:
    """One pass's summaries, in file order, keyed by content hash as `collect` keys them
    for the join, and by `summary_key` in `used`."""
    by_display = {item.display: result for item, result in surveyed.items()}
    for file in files:
        digest = digests[file.display]
        key = summary_key(digest, modules[file.display])
        summary = known.get(key)
        if summary is None:
            result = by_display.get(file.display)
            if result is None or result.summary is None or result.digest != digest:
                continue
            summary = result.summary
        summaries[digest] = used[key] = summary


class _SummaryStore:
    """Module summaries by `summary_key`, and which of those modules the first pass took
    (their text names a catalog resource: a warm run need not read them to know it).

    One pickle per tool version, loaded only when its HMAC under the user's cache key
    (see cache_key) checks out, as `_FactsStore` is, and only for the settings it was
    made with (the catalog decides both the summaries and the first pass)."""

    def __init__(self, directory: Path | None) -> None:
        self._secret = cache_key() if directory else None
        # No key, no store: a summary that cannot be authenticated is never trusted.
        self.path = (
            directory / __version__ / f"summaries-{SUMMARY_FORMAT}.pickle"
            if directory and self._secret
            else None
        )
        self._known: dict[str, ModuleSummary] = {}
        self._first: frozenset[str] = frozenset()

    def load(self, fingerprint: str) -> tuple[dict[str, ModuleSummary], frozenset[str]]:
        if self.path is None or self._secret is None:
            return {}, frozenset()
        try:
            raw = self.path.read_bytes()
        except OSError:
            return {}, frozenset()
        mac, _, blob = raw.partition(b"\n")
        if not verify(
            self._secret,
            mac.decode("ascii", "replace"),
            __version__,
            fingerprint,
            hashlib.sha256(blob).hexdigest(),
        ):
            return {}, frozenset()
        try:
            known, first = pickle.loads(blob)
        except Exception:
            return {}, frozenset()
        if not isinstance(known, dict) or not isinstance(first, frozenset):
            return {}, frozenset()
        self._known = {
            str(key): summary
            for key, summary in known.items()
            if isinstance(summary, ModuleSummary)
        }
        self._first = first
        return self._known, self._first

    def save(
        self, fingerprint: str, summaries: dict[str, ModuleSummary], first: frozenset[str]
    ) -> None:
        """Write what this run used (atomically); a failure only costs speed next time."""
        if self.path is None or self._secret is None:
            return
        if summaries.keys() == self._known.keys() and first == self._first:
            return
        try:
            blob = pickle.dumps((summaries, first), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        mac = sign(self._secret, __version__, fingerprint, hashlib.sha256(blob).hexdigest())
        with contextlib.suppress(OSError):
            replace_cache_file(self.path, [f"{mac}\n".encode("ascii"), blob])
