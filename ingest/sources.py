"""Managing what is in the archive: add uploaded files or a feed URL, remove a source.

The UI's Sources view calls these. Each is a generator of `Step`s, what it is doing now (for
a status line), the last of which carries the `Change` it made. Adding goes through
`ingest.pipeline.ingest`, the contract of `newsdesk ingest` (doc_ids, hashes, one error per
bad file or record, nothing stored lost); removing goes through `Index.remove`, the path the
pipeline's prune takes. Both then run the second phase (`ingest.enrich`) as `newsdesk ingest`
does, so that the sentence reader still covers the whole archive. A running `Assistant` sees
the change at its next question: every write moves the ledger's generation, and its searcher
reloads when that moves.

An uploaded file is copied into the index's `uploads/` folder and ingested from there, as a
source of its own: its doc_id is its file name, the same on every re-upload, and checks,
repairs and prunes never need the browser's temporary copy. A name an article of another
source already has is refused (the new file would replace that article).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from newsdesk.core.config import Settings
from newsdesk.core.errors import IngestError, NewsdeskError
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import enrich
from newsdesk.ingest.loaders import SUPPORTED_SUFFIXES, suffix_of
from newsdesk.ingest.pipeline import IngestReport, ingest
from newsdesk.store import lexical, schema
from newsdesk.store.index import Index
from newsdesk.store.ledger import Ledger
from newsdesk.store.origins import OriginTable

log = logging.getLogger(__name__)

MAX_URL_CHARS = 2000
MAX_NAME_CHARS = 120
REMOVE_STEP = 25  # articles removed between two status lines
_UNSAFE = re.compile(r"[^\w.\- ]+")


@dataclass(frozen=True)
class Change:
    """What one add or remove did to the archive."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: tuple[IngestError, ...] = ()  # one per file or record that could not be read

    def summary(self) -> str:
        """ "2 articles added, 0 updated, 0 unchanged, 0 removed; 1 error"."""
        n = self.added
        line = (
            f"{n} article{'s' * (n != 1)} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed"
        )
        if self.errors:
            line += f"; {len(self.errors)} error{'s' * (len(self.errors) != 1)}"
        return line


@dataclass(frozen=True)
class Step:
    """One status line of a change at work; the last one carries what it did."""

    message: str
    change: Change | None = None


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept: `uploads/` in the index."""
    return Path(settings.index).expanduser().resolve() / schema.UPLOADS_DIR


def upload_name(name: str) -> str:
    """A safe file name for an upload: its last path part, without characters outside
    letters, digits, space, `.`, `-` and `_`, and never hidden."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip().lstrip(".")
    if len(base) > MAX_NAME_CHARS:
        suffix = suffix_of(Path(base))
        base = base[: MAX_NAME_CHARS - len(suffix)] + suffix
    return base or "upload"


def check_feed_url(url: str) -> str:
    """The URL as it will be fetched, or IngestError saying what is wrong with it."""
    url = (url or "").strip()
    what = url[:100] or "the feed URL"
    if not url:
        raise IngestError(what, "empty; type an http:// or https:// address")
    if len(url) > MAX_URL_CHARS:
        raise IngestError(what, f"longer than {MAX_URL_CHARS:,} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise IngestError(what, "a URL holds no spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise IngestError(what, f"not a URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise IngestError(what, "only http:// and https:// URLs can be added")
    if not parts.hostname:
        raise IngestError(what, "the URL has no host name")
    return url


# ------------------------------------------------------------------ adding
@dataclass(frozen=True)
class _Staged:
    """An upload copied into the uploads folder; `previous` is the copy it replaced, `held`
    what the index held from that copy (doc_id -> content hash)."""

    name: str
    dest: Path
    previous: Path | None
    held: dict[str, str]


def add_files(
    settings: Settings, files: Sequence[str | Path], *, embedder: Embedder | None = None
) -> Iterator[Step]:
    """Copy `files` into the uploads folder and ingest them, each as a source of its own."""
    folder = uploads_dir(settings)
    errors: list[IngestError] = []
    staged: list[_Staged] = []
    n = len(files)
    if not n:
        yield Step("No files to add: choose some first.", Change())
        return
    yield Step(f"Copying {n} file{'s' * (n != 1)} into the archive\u2026")
    ledger = Ledger.open(Path(settings.index), create=True)  # the index exists before uploads/
    try:
        held = OriginTable.of(ledger)
        for raw in files:
            source = Path(raw)
            name = upload_name(source.name)
            dest = folder / name
            problem = _upload_problem(name, dest, held, {s.name for s in staged})
            if problem:
                errors.append(IngestError(name, problem))
                continue
            try:
                staged.append(_stage(source, dest, _held(ledger, str(dest))))
            except OSError as exc:
                errors.append(IngestError(name, f"cannot copy it: {exc.strerror or exc}"))
    finally:
        ledger.close()
    if not staged:
        yield Step("Nothing added.", Change(errors=tuple(errors)))
        return
    unread: set[str] = set(map(str, (s.dest for s in staged)))  # all of them, if it fails
    try:
        yield Step(f"Ingesting {', '.join(s.name for s in staged)}\u2026")
        report = ingest(settings, [str(s.dest) for s in staged], prune=True, embedder=embedder)
        unread = {e.path for e in report.errors}  # whole-file errors name the file
    finally:
        _settle(settings, staged, unread)
    errors += [_named(e, folder) for e in report.errors]
    yield from _second_phase(settings, embedder, errors, report)
    yield _done(report, errors)


def add_feed(settings: Settings, url: str, *, embedder: Embedder | None = None) -> Iterator[Step]:
    """Fetch the feed (or page) at `url` with the loaders and ingest its articles. Nothing is
    pruned: a feed lists only its latest items, and the older ones stay."""
    url = check_feed_url(url)
    yield Step(f"Fetching {url}\u2026")
    report = ingest(settings, [url], embedder=embedder)
    errors = list(report.errors)
    if report.articles_ok:
        yield from _second_phase(settings, embedder, errors, report)
    yield _done(report, errors)


def _upload_problem(name: str, dest: Path, held: OriginTable, batch: set[str]) -> str:
    suffix = suffix_of(Path(name))
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "without an extension"
        return f"unsupported file type {kind} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
    if name in batch:
        return "uploaded twice; the first one is added"
    others = sorted(held.holding(name) - {str(dest)})
    if others:
        return (
            f"an article named {name!r} is already in the archive (from {others[0]}); "
            "rename the file to add it beside that one"
        )
    return ""


def _stage(source: Path, dest: Path, held: dict[str, str]) -> _Staged:
    """Copy `source` to `dest`, keeping the file it replaces until the ingest is done."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    incoming = dest.with_name(f".{dest.name}.incoming")
    shutil.copyfile(source, incoming)
    previous = None
    if dest.exists():
        previous = dest.with_name(f".{dest.name}.previous")
        os.replace(dest, previous)
    os.replace(incoming, dest)
    return _Staged(dest.name, dest, previous, held)


def _held(ledger: Ledger, origin: str) -> dict[str, str]:
    """doc_id -> content hash of what the index holds from `origin`."""
    return {
        doc_id: ledger.article_hash(doc_id) or "" for doc_id in ledger.articles_by_origin(origin)
    }


def _settle(settings: Settings, staged: list[_Staged], unread: set[str]) -> None:
    """After the ingest: an upload it could not read (`unread` names it) and stored nothing
    from gives way to the copy it replaced, or goes; the others stay, and the copies they
    replaced go."""
    ledger = Ledger.open(Path(settings.index), create=False)
    try:
        failed = {
            s.dest for s in staged if str(s.dest) in unread and _held(ledger, str(s.dest)) == s.held
        }
    finally:
        ledger.close()
    for s in staged:
        if s.dest not in failed:
            if s.previous is not None:
                s.previous.unlink(missing_ok=True)
        elif s.previous is not None:
            os.replace(s.previous, s.dest)
        else:
            s.dest.unlink(missing_ok=True)


def _named(error: IngestError, folder: Path) -> IngestError:
    """An error about an uploaded copy, named by the file's name rather than its path."""
    prefix = f"{folder}{os.sep}"
    if error.path.startswith(prefix):
        return IngestError(error.path[len(prefix) :], error.reason)
    return error


def _done(report: IngestReport, errors: list[IngestError]) -> Step:
    change = Change(
        added=report.articles_added + report.duplicates,
        updated=report.articles_updated,
        unchanged=report.articles_unchanged,
        removed=report.articles_removed,
        errors=tuple(errors),
    )
    return Step(change.summary(), change)


# ------------------------------------------------------------------ removing
def remove_source(
    settings: Settings, origin: str, *, embedder: Embedder | None = None
) -> Iterator[Step]:
    """Take every article of `origin` out of the index (an upload's copy goes too; files
    elsewhere are never touched)."""
    index = Index.open(settings, create=False)
    try:
        index.recover()  # finish what a killed write left, as an ingest does first
        doc_ids = sorted(index.ledger.articles_by_origin(origin))
        if not doc_ids:
            raise IngestError(origin, "no such source in the archive")
        n = len(doc_ids)
        yield Step(f"Removing {n:,} article{'s' * (n != 1)}\u2026")
        for i, doc_id in enumerate(doc_ids, start=1):
            index.remove(doc_id)
            if i % REMOVE_STEP == 0 and i < n:
                yield Step(f"Removed {i:,} of {n:,} articles\u2026")
        with index.ledger.transaction():
            OriginTable.of(index.ledger).forget(origin)
        if lexical.stamp(index.dir) != index.ledger.generation:
            yield Step("Rebuilding the keyword index\u2026")
            lexical.save(lexical.build(index.ledger), index.dir)
    finally:
        index.vectors.reopen()  # let go of the vector store this write opened
        index.close()
    copy = Path(origin)
    if copy.parent == uploads_dir(settings):
        copy.unlink(missing_ok=True)
    log.info("source removed: %s (%d articles)", origin, n)
    errors: list[IngestError] = []
    yield from _second_phase(settings, embedder, errors, None)
    change = Change(removed=n, errors=tuple(errors))
    yield Step(change.summary(), change)


# ------------------------------------------------------------------ the second phase
def _second_phase(
    settings: Settings,
    embedder: Embedder | None,
    errors: list[IngestError],
    report: IngestReport | None,
) -> Iterator[Step]:
    """Run enrich as `newsdesk ingest` does (it also marks the new generation read, which a
    removal needs too); a failure there is one more error line, the archive stays searchable."""
    if settings.enrich == "none":
        return
    if report is not None and not (
        report.articles_added or report.articles_updated or report.articles_removed
    ):
        return  # no text came or went
    yield Step("Reading the new sentences and names\u2026")
    try:
        enrich(settings, embedder=embedder)
    except NewsdeskError as exc:
        log.warning("the second phase failed: %s", exc)
        errors.append(IngestError("second phase (sentences, names)", str(exc)))


__all__ = [
    "Change",
    "Step",
    "add_feed",
    "add_files",
    "check_feed_url",
    "remove_source",
    "upload_name",
    "uploads_dir",
]
