"""Re-index: build a new index from an old one's ledger, with another embedding model or
chunking, without reading the sources again.

The ledger holds every article's text and metadata (and where it came from), so the new
index is what ingesting the same files would give: the same doc_ids, origins and files (a
later `ingest --prune` of the same folders works on it), the same duplicates as aliases,
each text chunked and embedded anew through the pipeline's own job (batched, crash-safe).
Files uploaded in the UI are copied along (they live in the index), and each source keeps
the time it was last ingested. The old index is only read; the new one must not exist yet.
Its second phase (sentence vectors, entities) is left to `enrich`, as after an ingest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError
from newsdesk.embedding import Embedder, load_embedder
from newsdesk.ingest.loaders import Source
from newsdesk.ingest.pipeline import IngestJob, IngestReport
from newsdesk.store import lexical, schema
from newsdesk.store.index import Index
from newsdesk.store.ledger import Ledger
from newsdesk.store.origins import OriginTable

log = logging.getLogger(__name__)


def reindex(
    source: Settings,
    target: Settings,
    *,
    progress: bool = False,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Every article of the index at `source.index` stored anew in `target.index`, chunked
    and embedded as `target` says. A re-index that fails leaves no new directory behind."""
    old_dir, new_dir = Path(source.index), Path(target.index)
    if old_dir.resolve() == new_dir.resolve():
        raise ConfigError(f"--to {new_dir} is the index being read; choose a new directory")
    if (new_dir / schema.LEDGER_FILE).exists():
        raise ConfigError(f"{new_dir} already holds an index; re-index into a new directory")
    fresh = not new_dir.exists()
    old = Ledger.open(old_dir, create=False)
    try:
        return _copied(old, old_dir, new_dir, target, progress=progress, embedder=embedder)
    except BaseException:
        if fresh:  # a half-built index would only be refused next time: start clean
            shutil.rmtree(new_dir, ignore_errors=True)
        raise
    finally:
        old.close()


def _copied(
    old: Ledger,
    old_dir: Path,
    new_dir: Path,
    target: Settings,
    *,
    progress: bool,
    embedder: Embedder | None,
) -> IngestReport:
    from tqdm import tqdm

    started = time.perf_counter()
    index: Index | None = None
    job: IngestJob | None = None
    try:
        count = old.count_articles()
        index = Index.open(target, create=True)
        job = IngestJob(target, index, lambda: embedder or load_embedder(target))
        moved = _uploads_moved(old_dir, new_dir)
        files: set[tuple[str, str]] = set()
        with tqdm(total=count, unit="article", disable=not progress, leave=False) as bar:
            for article, content, origin, file in old.stored_articles():
                files.add((moved(origin), file))
                job.take(article, content, None, Source(origin=moved(origin), rel=file))
                bar.update(1)
            job.finish()
        job.report.files_seen = len(files)
        questions = old.get_meta("example_questions")
        if questions:
            index.record_example_questions(json.loads(questions))
        with index.ledger.transaction():  # when each source was last ingested, as before
            table = OriginTable.of(index.ledger)
            for origin, at in OriginTable.of(old).times().items():
                table.record([moved(origin)], at)
        lexical.save(lexical.build(index.ledger), index.dir)
    finally:
        if job is not None:
            job.close()
        if index is not None:
            index.close()
    job.report.seconds = time.perf_counter() - started
    log.info("re-indexed %s into %s: %s", old_dir, new_dir, job.report.summary())
    return job.report


def _uploads_moved(old_dir: Path, new_dir: Path) -> Callable[[str], str]:
    """Files uploaded in the UI live in the index (`uploads/`): copied into the new one, and
    the origin of their articles moved with them, so a later upload or removal finds them."""
    old_uploads = old_dir.resolve() / schema.UPLOADS_DIR
    new_uploads = new_dir.resolve() / schema.UPLOADS_DIR
    if old_uploads.is_dir():
        shutil.copytree(old_uploads, new_uploads, dirs_exist_ok=True)
    prefix = f"{old_uploads}{os.sep}"

    def moved(origin: str) -> str:
        if origin.startswith(prefix):
            return str(new_uploads / origin[len(prefix) :])
        return origin

    return moved


__all__ = ["reindex"]
