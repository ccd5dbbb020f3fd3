"""`newsdesk watch`: keep an index up to date with feeds, sitemaps and URL lists.

Every `every_s` seconds a poll asks each source what changed (`ingest.changes`: conditional
GET, sitemaps, summaries replaced by their pages) and hands what did to `pipeline.ingest`, so
the ingest contract holds (idempotent, deduplicated, crash-safe); then it runs the second phase
(`ingest.enrich`) on what was stored. The validators of what was fetched are recorded in the
ledger (`watched`) only after it is stored: a crash means asking again, never missing a change.

- **Sources.** An http(s) URL (a feed, a sitemap or a page, by what the server sends), a local
  `.urls` file of such URLs (re-read each poll), or a local file of any kind ingest reads.
- **Errors.** A source that fails as a whole (cannot connect, HTTP 5xx, not a feed) is tried
  again after 1, 2, 4, ... poll intervals, at most BACKOFF_CAP_S apart (or one interval, when
  that is longer); the other sources go on. A page or item that fails is reported, and asked
  for again at the next poll.
- **Stopping.** `stop()` (the CLI calls it on SIGINT and SIGTERM) ends the watch between steps:
  a poll stopped while fetching stores nothing and records nothing; one stopped while storing
  finishes storing first (and leaves the second phase to the next run).
- **One watcher per index**, by an exclusive `flock` on DIR/.watch.lock (`watch_lock`): the
  kernel drops it when its process dies, so a lock file left behind blocks nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError, IndexWriteError, IngestError
from newsdesk.embedding import Embedder, load_embedder
from newsdesk.ingest.changes import Changes, Finder, is_url
from newsdesk.ingest.loaders import URL_LIST_SUFFIX, discover
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import Recognizer
from newsdesk.store.ledger import Ledger

log = logging.getLogger(__name__)

BACKOFF_CAP_S = 6 * 3600  # the longest wait before a failing source is tried again
LOCK_FILE = ".watch.lock"
_INTERVAL = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_interval(text: str) -> float:
    """Seconds in "30s", "15m", "1h" or "2h30m"; ConfigError for anything else."""
    found = _INTERVAL.fullmatch(text.strip().lower())
    if not text.strip() or found is None:
        raise ConfigError(f"expected an interval like 30s, 15m, 1h or 2h30m, got {text!r}")
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ConfigError(f"the interval must be longer than nothing, got {text!r}")
    return float(total)


def _shown(seconds: float) -> str:
    """9000 -> "2h30m"; 45 -> "45s"."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


@contextmanager
def watch_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's watch lock, or raise IndexWriteError naming the watcher holding it.

    The index is created first when it does not exist (an empty folder holding only a lock
    file would not be a Newsdesk index)."""
    Ledger.open(index_dir, create=True).close()
    path = Path(index_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise IndexWriteError(f"cannot create the watch lock {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise IndexWriteError(
                f"another `newsdesk watch`{who} is already watching {index_dir}; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the lock


@dataclass
class PollReport:
    """What one poll found. `new` counts duplicates of stored texts under new ids too."""

    poll: int
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_modified: int = 0  # 304s, bodies as before, sitemap pages of the same lastmod
    errors: list[IngestError] = field(default_factory=list)
    backing_off: list[str] = field(default_factory=list)  # failing sources not asked this time
    stopped: bool = False  # stopped while fetching: nothing was stored
    seconds: float = 0.0

    def summary(self) -> str:
        waiting = f", {len(self.backing_off)} backing off" if self.backing_off else ""
        stopped = " (stopped: nothing stored)" if self.stopped else ""
        return (
            f"poll {self.poll}: {self.new} new, {self.changed} changed, {self.unchanged} "
            f"unchanged, {len(self.errors)} errors, {self.not_modified} not modified{waiting}"
            f"{stopped}; {self.seconds:.1f}s"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "poll": self.poll,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "not_modified": self.not_modified,
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "backing_off": list(self.backing_off),
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Failing:
    failures: int = 0
    retry_at: float = 0.0


def check_sources(sources: Sequence[str]) -> None:
    """Raise IngestError for a source that can never be watched (a missing file, a folder)."""
    for source in sources:
        if is_url(source):
            continue
        path = Path(source).expanduser()
        if path.is_dir():
            raise IngestError(source, "a folder: watch feeds, sitemaps, URL lists or files")
        if not path.is_file():
            raise IngestError(source, "no such file (watch an http(s) URL or a file)")


class Watcher:
    """Polls `sources` every `every_s` seconds into the index of `settings` (see the module)."""

    def __init__(
        self,
        settings: Settings,
        sources: Sequence[str],
        *,
        every_s: float,
        embedder: Embedder | None = None,
        recognizer: Recognizer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sources = list(dict.fromkeys(sources))
        self.every_s = every_s
        self._embedder = embedder
        self._recognizer = recognizer
        self._clock = clock
        self._failing: dict[str, _Failing] = {}
        self._polls = 0
        self.stopping = False  # a plain flag: a signal handler may set it at any instant

    def stop(self) -> None:
        """End the watch at the next step (safe to call from a signal handler)."""
        self.stopping = True

    def run(self, *, once: bool = False, on_poll: Callable[[PollReport], None]) -> None:
        """Poll, hand the report to `on_poll`, wait; until stopped (or once)."""
        while not self.stopping:
            report = self.poll()
            on_poll(report)
            if once:
                return
            wake = time.monotonic() + self.every_s
            while not self.stopping and time.monotonic() < wake:
                time.sleep(min(0.2, max(0.0, wake - time.monotonic())))

    # ------------------------------------------------------------ one poll
    def poll(self) -> PollReport:
        """One poll of every source; what changed is stored unless it was stopped."""
        started, now = time.perf_counter(), self._clock()
        self._polls += 1
        report = PollReport(self._polls)
        ledger = Ledger.open(Path(self.settings.index), create=True)
        got = Changes(ledger)
        finder = Finder(self.settings, got, lambda: self.stopping)
        try:
            for target in self._targets(got):
                if self.stopping:
                    break
                self._attempt(finder, target, report, now)
        finally:
            ledger.close()
        got.stopped = got.stopped or self.stopping  # stopped before storing: store nothing
        report.not_modified, report.unchanged = got.not_modified, got.unchanged
        report.errors, report.stopped = list(got.errors), got.stopped
        if not got.stopped:
            self._store(got, report)
        report.seconds = time.perf_counter() - started
        log.info("%s", report.summary())
        return report

    def _targets(self, got: Changes) -> Iterator[str]:
        """The URLs and files the sources stand for (a `.urls` list: its URLs, read now)."""
        for source in self.sources:
            if is_url(source):
                yield source
            elif Path(source).suffix.lower() != URL_LIST_SUFFIX:
                yield str(Path(source).expanduser().resolve())
            else:
                listed, errors = discover([source])
                got.errors.extend(errors)
                yield from (s.url for s in listed)

    def _attempt(self, finder: Finder, target: str, report: PollReport, now: float) -> None:
        """Poll one URL or file, unless it is failing and not due; keep its backoff."""
        failing = self._failing.get(target)
        if not finder.got.first_time(target):
            return  # named twice: polled once
        if failing is not None and now < failing.retry_at:
            report.backing_off.append(target)
            return
        try:
            finder.poll(target)
        except IngestError as exc:
            failing = self._failing.setdefault(target, _Failing())
            failing.failures += 1
            wait = min(self.every_s * 2 ** (failing.failures - 1), BACKOFF_CAP_S)
            wait = max(wait, self.every_s)
            failing.retry_at = now + wait
            times = f"failed {failing.failures} times in a row" if failing.failures > 1 else ""
            again = f"{times}{', ' if times else ''}next try in {_shown(wait)}"
            finder.got.errors.append(IngestError(exc.path, f"{exc.reason} ({again})"))
            log.info("%s: %s (%s)", exc.path, exc.reason, again)
        else:
            self._failing.pop(target, None)

    # ------------------------------------------------------------ storing
    def _store(self, got: Changes, report: PollReport) -> None:
        if got.inputs:
            stored = ingest(
                self.settings,
                list(got.inputs),
                embedder=self._model(),
                loader=got.loader(self.settings),
            )
            report.new += stored.articles_added + stored.duplicates
            report.changed += stored.articles_updated
            report.unchanged += stored.articles_unchanged
            report.errors.extend(stored.errors)
        if got.seen:
            ledger = Ledger.open(Path(self.settings.index), create=True)
            try:
                ledger.put_watched(got.seen)
            finally:
                ledger.close()
        if (report.new or report.changed) and self.settings.enrich != "none" and not self.stopping:
            from newsdesk.ingest.enrich import enrich

            done = enrich(self.settings, embedder=self._model(), recognizer=self._nlp())
            log.info("%s", done.summary())

    def _model(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def _nlp(self) -> Recognizer | None:
        if self.settings.enrich == "all" and self._recognizer is None:
            from newsdesk.nlp import load_recognizer

            self._recognizer = load_recognizer(self.settings.ner_model)
        return self._recognizer
