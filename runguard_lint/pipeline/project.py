"""The project-wide fact pass of a run, before any file is checked.

Each file is hashed (read only when its status changed since the last run hashed
it, see `fact_stores.Stamps`); the fact pass parses only the modules that can
matter (the rounds of `survey_project`, asking analysis.project.collect) and
reuses summaries from earlier runs by content hash. When no file changed, or the
few that changed tell the project what they told it before, the facts the last
run joined are kept (`_same_facts`). The facts then travel to the workers in the
worker context, and their digest joins the content hash in the result cache's
key: a file's findings depend on what the other modules tell about their
functions and classes. What is kept between runs, and how it is protected, is
`pipeline.fact_stores`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from runguard_lint import __version__
from runguard_lint.analysis.project import module_of, out_of_reach, reachable
from runguard_lint.analysis.project.collect import (
    dependency_names,
    interesting_names,
    modules_under,
    summary_key,
    summary_of_text,
    wants_summary,
    words_of,
)
from runguard_lint.analysis.project.facts import ProjectFacts, join
from runguard_lint.analysis.project.modules import forget_layout
from runguard_lint.analysis.project.summary import SUMMARY_FORMAT, ModuleSummary
from runguard_lint.catalog import Catalog
from runguard_lint.config import Settings
from runguard_lint.diagnostics import FileReport
from runguard_lint.pipeline.apart import run_apart
from runguard_lint.pipeline.fact_stores import (
    FactsStore,
    Joined,
    Pass,
    ReachStore,
    Stamps,
    Summaries,
    SummaryStore,
)
from runguard_lint.pipeline.files import (
    DecodeFailure,
    InputFile,
    content_hash,
    decode,
    read_bytes,
    text_if_unchanged,
)
from runguard_lint.pipeline.pool import WorkerContext, WorkItem


def project_facts(
    files: Sequence[InputFile], settings: Settings, cache_dir: Path | None
) -> ProjectFacts:
    """The facts of the files being checked, as `survey_project` finds them, in this
    process (the language server, a thread among others, forks nothing): a run after a
    few files changed reads the others' status, not their text, and keeps the facts
    joined last when the changed files tell the project what they told it before."""
    survey = survey_project(files, settings, cache_dir, lambda: in_process(settings), apart=False)
    return survey.facts


def facts_item(context: WorkerContext, item: WorkItem) -> Surveyed:
    """The fact pass alone for one file (`--fix` and the language server, which check
    nothing on the way): its summary (the survey's rounds send only the files whose
    summary they want, see `_survey_rounds`)."""
    data = read_bytes(item.path)
    if isinstance(data, str):
        return Surveyed("", None, None)
    try:
        text = decode(data).text
    except DecodeFailure:
        return Surveyed(content_hash(data), None, None)
    return Surveyed(
        content_hash(data), summary_of_text(str(item.path), text, context.settings.catalog), None
    )


@contextmanager
def in_process(settings: Settings) -> Iterator[SurveyRound]:
    """The survey's rounds (`facts_item`) run one file after the other, here."""
    context = WorkerContext(settings, frozenset())

    def survey_round(items: Sequence[WorkItem]) -> Iterator[tuple[WorkItem, Surveyed]]:
        for item in items:
            try:
                yield item, facts_item(context, item)
            except Exception:  # as a worker's crash: the file tells the project nothing
                yield item, Surveyed("", None, None)

    yield survey_round


@dataclass(frozen=True)
class Surveyed:
    """One file seen before the project's facts are joined (the fact pass, in a worker):
    its summary (None when it does not parse), and its report when the file is settled
    with no project fact in reach (None otherwise), with the names it imports, which
    tell whether a project fact is in reach after all (`analysis.project.reachable`)."""

    digest: str  # the content hash of the bytes surveyed ("" when unreadable)
    summary: ModuleSummary | None
    settled: FileReport | None
    imported: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProjectSurvey:
    """The fact pass of a check run: the facts, and what it learnt of each file."""

    # The facts, or what reads them back from the store when first asked (`facts`).
    source: ProjectFacts | Callable[[], ProjectFacts]
    # What the facts add to a report's cache key.
    facts_digest: str
    # Display name -> what the survey of the file found (see `settled_report`).
    settled: dict[str, Surveyed]
    # Display name -> its dotted module name, for every file read.
    modules: dict[str, str]
    # Display name -> the content hash of the bytes the survey read, for every file read.
    digests: dict[str, str] = field(default_factory=dict)
    # Which files are out of reach of these facts (`independent`), as the last runs
    # under the same facts found: display -> (content hash, module, verdict).
    reach: ReachStore | None = None

    @cached_property
    def facts(self) -> ProjectFacts:
        """The facts: a run whose reports all come from the cache never reads them."""
        source = self.source
        return source if isinstance(source, ProjectFacts) else source()

    def independent(self, display: str, digest: str, text: Callable[[], str | None]) -> bool:
        """Whether a report that read no project fact holds for this file under any
        facts that leave its text out of reach (`analysis.project.out_of_reach`): it is
        then cached under the file's content alone, else with the facts' digest. Read
        from the last run's verdict when neither the facts nor the file changed
        (`text` is asked only when it must be read)."""
        module = self.modules.get(display)
        if module is None:
            return False
        if self.reach is not None:
            known = self.reach.verdict(display, digest, module)
            if known is not None:
                return known
        content = text()
        verdict = content is not None and out_of_reach(self.facts, module, content)
        if self.reach is not None:
            self.reach.note(display, digest, module, verdict)
        return verdict

    def settled_report(
        self, display: str, digest: str, text: Callable[[], str | None]
    ) -> FileReport | None:
        """The report a survey settled for this content, if no project fact is in reach
        of it after all (exactly as the check would decide, from its imports)."""
        survey = self.settled.get(display)
        module = self.modules.get(display)
        if survey is None or survey.digest != digest or survey.settled is None or module is None:
            return None
        content = text()
        if content is None:
            return None
        facts = reachable(self.facts, module, content, survey.imported)
        if facts.factories or facts.resource_aliases:
            return None
        return survey.settled

    def save(self) -> None:
        """Keep what this run learnt for the next (the reach verdicts)."""
        if self.reach is not None:
            self.reach.save(self.modules.keys())


# One round of the survey: the files whose summaries it wants.
SurveyRound = Callable[[Sequence[WorkItem]], Iterator[tuple[WorkItem, "Surveyed"]]]
# The survey's workers, started for every round of one fact pass.
Survey = Callable[[], AbstractContextManager[SurveyRound]]


def survey_project(
    files: Sequence[InputFile],
    settings: Settings,
    cache_dir: Path | None,
    survey: Survey,
    *,
    apart: bool = True,
) -> ProjectSurvey:
    """The facts of the files being checked (summaries cached in cache_dir), with the
    parsing moved to the workers: for a check run, `survey(items)` runs
    `check.survey_item` in the pool, which also checks each file up to LibCST, so a
    file the fact pass parses is parsed again only if it reaches LibCST (`--fix` runs
    `facts_item` in the pool, the language server `in_process`).

    The main process reads each file and keeps its hash, never its text. When no file
    changed since the last run (same names, same hashes, same settings), the facts
    that run joined are read back instead (`FactsStore`): no summary is loaded or
    joined again. When a few files changed and each gives the summary it gave before
    (or none, as before), the facts are the same too (`_same_facts`): a one-file edit
    summarises that file alone, and the files whose facts depend on it are exactly
    those whose cached reports carry the facts' digest. Otherwise the summaries are
    joined anew (`_join_anew`), in a forked child (`apart.run_apart`) unless `apart` is
    False."""
    forget_layout()
    facts_store = FactsStore(cache_dir)
    fingerprint = settings.facts_fingerprint()
    last = facts_store.load()
    if last is not None and last.fingerprint != fingerprint:
        last = None
    stamps = Stamps(last)
    digests: dict[str, str] = {}
    modules: dict[str, str] = {}
    readable: list[InputFile] = []
    for file in files:
        digest = stamps.digest(file)
        if digest is None:
            continue  # the check reports it (RG900)
        digests[file.display] = digest
        modules[file.display] = module_of(str(file.path))[0]
        readable.append(file)
    project_key = _project_key(digests, modules, settings)
    catalog = settings.catalog

    def anew() -> ProjectSurvey:
        def work() -> ProjectSurvey:
            return _join_anew(
                readable,
                digests,
                modules,
                settings,
                cache_dir,
                survey,
                facts_store,
                project_key,
                stamps,
            )

        # Apart, so that the check's workers are forked from a main process holding
        # only the facts, not what joining them took (`apart.py`).
        return run_apart(work) if apart else work()

    stored = facts_store.facts(last) if last is not None else None
    if last is None or stored is None:
        return anew()
    if last.key == project_key:
        if stamps.renewed:
            facts_store.save(replace(last, stamps=stamps.taken))
    else:
        same = _same_facts(last, readable, digests, modules, cache_dir, catalog)
        if same is None:
            del stored
            return anew()
        facts_store.save(replace(same, key=project_key, stamps=stamps.taken))
    load = stored

    def facts() -> ProjectFacts:
        # The store was checked, so only an unreadable pickle can fail here: the facts
        # are then joined again, from the summaries these were joined from (the project
        # key, or `_same_facts`, says so), to the same digest. Were it another, nothing
        # would outlive this run under the wrong one: the join stores its own digest,
        # which keys the next run's lookups.
        loaded = load()
        return loaded if loaded is not None else anew().facts

    digest = last.facts_digest
    return ProjectSurvey(facts, digest, {}, modules, digests, ReachStore.of(cache_dir, digest))


def _join_anew(
    readable: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    settings: Settings,
    cache_dir: Path | None,
    survey: Survey,
    facts_store: FactsStore,
    project_key: str,
    stamps: Stamps,
) -> ProjectSurvey:
    """The fact pass in full: each pass's summaries (stored ones reused, the rest made
    in the workers), then the join; stored for the next run.

    One set of workers serves every round of the survey (`pool.Workers`): forked by the
    first round with work, before any summary has come back, and gone before the join
    (idle workers would hold what they made meanwhile)."""
    fingerprint = settings.facts_fingerprint()
    catalog = settings.catalog
    store = SummaryStore(cache_dir)
    with survey() as survey_round:
        known, known_first = store.load(fingerprint)
        rounds = _survey_rounds(
            readable, digests, modules, catalog, known, known_first, survey_round
        )
    first, passes, surveyed, used, asked_by_round, later_taken, heads = rounds
    del rounds
    store.save(
        fingerprint,
        used,
        frozenset(summary_key(digests[f.display], modules[f.display]) for f in first),
    )
    # The settled reports are handed back to the main process (`survey_project`), without
    # the summaries, which the join reads here.
    settled = {
        item.display: replace(result, summary=None)
        for item, result in surveyed.items()
        if result.settled is not None
    }
    facts = join(used.values(), catalog)
    kept = frozenset(used)
    # Done with the summaries: what follows (the facts pickled for the store, and for
    # the main process) reuses their memory rather than adding to it (6 MB less at the
    # fact pass's peak on the agent corpus).
    del used, surveyed, known, store
    entries: dict[str, tuple[str, str, Pass | None, str | None]] = {}
    for file in readable:
        digest, module = digests[file.display], modules[file.display]
        key = summary_key(digest, module)
        entries[file.display] = (
            digest,
            module,
            passes.get(file.display),
            key if key in kept else None,
        )
    joined = Joined(
        project_key,
        fingerprint,
        facts.digest,
        entries,
        asked_by_round,
        later_taken,
        heads,
        {},
        stamps.taken,
    )
    facts_store.save(joined, facts)
    reach = ReachStore.of(cache_dir, facts.digest)
    return ProjectSurvey(facts, facts.digest, settled, modules, digests, reach)


def _survey_rounds(
    readable: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    catalog: Catalog,
    known: Summaries,
    known_first: frozenset[str],
    survey: SurveyRound,
) -> tuple[
    list[InputFile],
    dict[str, Pass],
    dict[WorkItem, Surveyed],
    dict[str, ModuleSummary],
    tuple[tuple[frozenset[str], frozenset[str]], ...],
    dict[str, int],
    frozenset[str],
]:
    """The survey's rounds: the first pass (modules whose text names a catalog
    constructor), then, until nothing more is found, later passes (modules that name
    what the modules summarised last give, `collect.interesting_names`) and demand
    steps (the modules where what they use is defined, `collect.dependency_names`).
    Returns the files of the first pass, each file's pass, what the workers found of
    each file they surveyed, the summaries (by `summary_key`: what the join reads and
    the store keeps), what each round asked for (the names new to its later pass, the
    modules new to its demand step), and the round that took each file after the
    first pass, and the first part of every name the demand steps were given.

    A file is taken by the first round whose names it names or whose modules hold it
    (the names first), so its round and pass follow from its own text and module and
    from what the rounds before asked for; `_same_facts` tells them again for a changed
    file and keeps the facts only when both are what they were (then every round after
    it asks the same, since its summary is the same too)."""
    passes: dict[str, Pass] = {}
    first: list[InputFile] = []
    rest: list[InputFile] = []
    wanted: list[WorkItem] = []
    for file in readable:
        digest, module = digests[file.display], modules[file.display]
        if summary_key(digest, module) in known_first and _known(known, digest, module):
            first.append(file)  # the first pass took it last time: same text, same answer
            continue
        text = _text(file, digest)
        if text is None:
            continue  # undecodable (or changed since): it tells the project nothing
        if not wants_summary(text, catalog):
            rest.append(file)
            continue
        first.append(file)
        if not _known(known, digest, module):
            wanted.append(WorkItem(file.display, file.path, None, len(text)))
    passes.update((file.display, Pass.FIRST) for file in first)
    surveyed = dict(survey(wanted))
    used: dict[str, ModuleSummary] = {}
    _add(first, digests, modules, known, surveyed, used)
    names: frozenset[str] = frozenset()
    asked = interesting_names(used.values())
    demanded: set[str] = set()
    tops = _tops(modules)
    # The first part of every name the demand steps were given, under a top-level name
    # of the project or not: a file added under such a name may be wanted now.
    heads: set[str] = set()
    by_module = {modules[file.display]: file for file in readable}
    taken: dict[str, int] = {file.display: 0 for file in first}
    done = {digests[file.display] for file in first}
    # What each round asked for: the names new to its later pass, the modules new to
    # its demand step.
    rounds: list[tuple[frozenset[str], frozenset[str]]] = []
    # Summaries whose demands were not asked yet: one per file, even for files of equal
    # content.
    undemanded = list(used.values())
    # Each file no pass has taken yet, with its words and its size, read once by the
    # first later pass, which keeps only those it leaves.
    waiting: list[tuple[InputFile, set[str], int]] | None = None

    def summarise(
        files: list[InputFile], wanted: list[WorkItem], kind: Pass, index: int
    ) -> list[ModuleSummary]:
        """The files taken by round `index` (those of `wanted` made in the workers, the
        others stored): their new summaries, one per file."""
        taken.update((file.display, index) for file in files)
        passes.update((file.display, kind) for file in files)
        results = dict(survey(wanted)) if wanted else {}
        surveyed.update(results)
        added = _add(files, digests, modules, known, results, used)
        undemanded.extend(added)
        return added

    while True:
        asked = asked - names
        names |= asked
        index = len(rounds) + 1
        added: list[ModuleSummary] = []
        if asked:
            entries = _read_words(rest, digests, done) if waiting is None else waiting
            waiting = []
            later: list[InputFile] = []
            wanted = []
            for file, words, size in entries:
                if file.display in taken:
                    continue
                if asked.isdisjoint(words):
                    waiting.append((file, words, size))
                    continue
                later.append(file)
                if not _known(known, digests[file.display], modules[file.display]):
                    wanted.append(WorkItem(file.display, file.path, None, size))
            added += summarise(later, wanted, Pass.SECOND, index)
        dependencies = dependency_names(undemanded)
        heads.update(name.partition(".")[0] for name in dependencies)
        modules_wanted = modules_under(dependencies, tops) - demanded
        demanded |= modules_wanted
        undemanded = []
        rounds.append((asked, frozenset(modules_wanted)))
        on_demand: list[InputFile] = []
        wanted = []
        for name in sorted(modules_wanted):
            found = by_module.get(name)
            if found is None or found.display in taken:
                continue
            digest = digests[found.display]
            if _known(known, digest, name):
                on_demand.append(found)  # stored: no need to read it
                continue
            text = _text(found, digest)
            if text is not None:
                on_demand.append(found)
                wanted.append(WorkItem(found.display, found.path, None, len(text)))
        added += summarise(on_demand, wanted, Pass.DEMANDED, index)
        if not added:
            break
        asked = interesting_names(added, later=True)
    later_taken = {display: index for display, index in taken.items() if index}
    return first, passes, surveyed, used, tuple(rounds), later_taken, frozenset(heads)


def _tops(modules: Mapping[str, str]) -> frozenset[str]:
    """The project's top-level module names (display name -> module name)."""
    return frozenset(module.split(".", 1)[0] for module in modules.values())


def _later_round(
    words: set[str], module: str, rounds: Sequence[tuple[frozenset[str], frozenset[str]]]
) -> tuple[Pass | None, int]:
    """The pass and the round (1, 2, ...) that would take a file with these words and
    this module after the first pass, given what each round asked for (`_survey_rounds`:
    in a round, the later pass before the demand step); (None, 0): none would."""
    for index, (names, wanted) in enumerate(rounds, 1):
        if not names.isdisjoint(words):
            return Pass.SECOND, index
        if module in wanted:
            return Pass.DEMANDED, index
    return None, 0


def _read_words(
    files: list[InputFile], digests: dict[str, str], done: set[str]
) -> Iterator[tuple[InputFile, set[str], int]]:
    """Each file's words and size, one file at a time (a file whose content a first-pass
    file has is left out: the two share one summary)."""
    for file in files:
        digest = digests[file.display]
        text = _text(file, digest) if digest not in done else None
        if text is not None:
            yield file, words_of(text), len(text)


# When more files than this changed since the facts were joined, they are joined anew
# (the summaries in the workers) rather than compared file by file in the main process.
_FEW_CHANGED = 32


def _same_facts(
    last: Joined,
    readable: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    cache_dir: Path | None,
    catalog: Catalog,
) -> Joined | None:
    """What `last` becomes for the project as it is now, when its facts still hold: a
    few files changed, were added or removed, and each is summarised now exactly when
    it was then, by the same pass, with a summary equal to the one it had (a comment,
    a body edit that moves no fact, a new file that names nothing the facts know).

    The join is a function of the summaries alone, so equal summaries give equal
    facts; the pass and the round of a changed file are decided as `_survey_rounds`
    decides them, from what each round of `last` asked for (every summary it comes
    from is unchanged), and must be what they were: a file added under a name a
    summary asked for (the logger module a module logs with) is summarised on demand.
    A module's name comes from the layout (a new `__init__.py` renames what lies below
    it): every file must keep its module, and no new top-level name may be one the
    demand steps passed over (they ask only under the project's). A changed file whose
    content hash another file shares is not followed here: a guard from when the join
    gave such files one summary, kept (it costs a full join, never a wrong fact)."""
    if any(
        last.files[display][1] != module
        for display, module in modules.items()
        if display in last.files
    ):
        return None
    earlier_tops = _tops({display: entry[1] for display, entry in last.files.items()})
    if not (_tops(modules) - earlier_tops).isdisjoint(last.heads):
        return None  # a new top-level name makes a module the rounds passed over wanted
    changed = sorted(
        display
        for display in digests.keys() | last.files.keys()
        if display not in digests
        or display not in last.files
        or last.files[display][0] != digests[display]
    )
    if len(changed) > _FEW_CHANGED:
        return None
    now = Counter(digests.values())
    before = Counter(entry[0] for entry in last.files.values())
    for display in changed:
        if (display in digests and now[digests[display]] > 1) or (
            display in last.files and before[last.files[display][0]] > 1
        ):
            return None
    by_display = {file.display: file for file in readable}
    store: Summaries | None = None
    files = dict(last.files)
    taken = dict(last.taken)
    newer = dict(last.newer)
    for display in changed:
        _digest, _module, was, old_key = last.files.get(display, ("", "", None, None))
        old: ModuleSummary | None = None
        if old_key is not None:
            old = newer.get(old_key)
            if old is None:
                if store is None:
                    store, _first = SummaryStore(cache_dir).load(last.fingerprint)
                old = store.get(old_key)
                if old is None:
                    return None  # not kept: only a full join can tell
        file = by_display.get(display)
        if file is None:  # removed
            if was is not None:
                return None
            del files[display]
            continue
        same, text = text_if_unchanged(file.path, digests[display])
        if not same:
            return None  # saved again since it was hashed: the next run will tell
        now_pass: Pass | None = None
        now_round = 0
        if text is not None:
            if wants_summary(text, catalog):
                now_pass = Pass.FIRST
            else:
                now_pass, now_round = _later_round(words_of(text), modules[display], last.rounds)
        if now_pass is not was or now_round != last.taken.get(display, 0):
            return None
        summary = None
        if text is not None and now_pass is not None:
            summary = summary_of_text(str(file.path), text, catalog)
        if (summary is None) != (old is None) or repr(summary) != repr(old):
            return None
        key = None
        if summary is not None:
            key = summary_key(digests[display], modules[display])
            newer[key] = summary
        files[display] = (digests[display], modules[display], now_pass, key)
        if now_round:
            taken[display] = now_round
        else:
            taken.pop(display, None)
    kept = {entry[3] for entry in files.values()}
    newer = {key: summary for key, summary in newer.items() if key in kept}
    return replace(last, files=files, taken=taken, newer=newer)


def _text(file: InputFile, digest: str) -> str | None:
    """A file's text (None: unreadable or undecodable, as the check will report, or no
    longer the content hashed as `digest`, see `files.text_if_unchanged`)."""
    same, text = text_if_unchanged(file.path, digest)
    return text if same else None


def _project_key(digests: dict[str, str], modules: dict[str, str], settings: Settings) -> str:
    """What the joined facts are a function of: every readable file's name, module name
    and content hash, and the settings that shape the catalog
    (`Settings.facts_fingerprint`)."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{SUMMARY_FORMAT}\0{settings.facts_fingerprint()}".encode())
    for display in sorted(digests):
        # Names may hold surrogates (undecodable bytes of a file name): kept, not lost.
        entry = f"\0{display}\0{modules[display]}\0{digests[display]}"
        digest.update(entry.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _known(known: Mapping[str, ModuleSummary], digest: str, module: str) -> bool:
    """Whether a usable summary of the module is stored (one that does not load, from
    another build of the same version, is not)."""
    return known.get(summary_key(digest, module)) is not None


def _add(
    files: list[InputFile],
    digests: dict[str, str],
    modules: dict[str, str],
    known: Mapping[str, ModuleSummary],
    surveyed: Mapping[WorkItem, Surveyed],
    used: dict[str, ModuleSummary],
) -> list[ModuleSummary]:
    """One pass's summaries, in file order, into `used` by `summary_key`: by module as
    well as content, since two files with the same bytes are two modules (their
    functions have other names), each with its facts in the join. Returns those new to
    `used` (one per file)."""
    by_display = {item.display: result for item, result in surveyed.items()}
    added: list[ModuleSummary] = []
    for file in files:
        digest = digests[file.display]
        key = summary_key(digest, modules[file.display])
        summary = known.get(key)
        if summary is None:
            result = by_display.get(file.display)
            if result is None or result.summary is None or result.digest != digest:
                continue
            summary = result.summary
        if key not in used:
            added.append(summary)
        used[key] = summary
    return added
