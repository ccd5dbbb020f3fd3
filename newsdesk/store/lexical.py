"""The BM25 half of the index: terms, building from the ledger, persisting, loading.

The BM25 index is derived data: it is rebuilt from the ledger (never from the article files)
when ingest changes the index, saved under `bm25/`, and stamped with the ledger generation it
reflects so that a reader can tell when it is stale and reload it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.core import text
from newsdesk.core.errors import IndexCorruptError, IndexWriteError
from newsdesk.store import schema
from newsdesk.store.ledger import Ledger

log = logging.getLogger(__name__)

STAMP_FILE = "stamp.json"


@dataclass
class Bm25:
    """A loaded BM25 index over the chunks of one ledger generation."""

    model: Any  # bm25s.BM25
    chunk_ids: list[str]
    generation: int

    def scores(self, query_terms: list[str]) -> np.ndarray:
        if not self.chunk_ids:  # an emptied index: its model was never fitted
            return np.zeros(0, dtype=np.float32)
        vocab = self.model.vocab_dict
        known = [t for t in query_terms if t in vocab]
        if not known:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)


def _bm25s() -> Any:
    """Import bm25s, which sets its own logger to DEBUG at import; put it back to WARNING."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def build(ledger: Ledger) -> Bm25:
    bm25s = _bm25s()

    chunk_ids: list[str] = []
    corpus: list[list[str]] = []
    for c in ledger.iter_chunks():
        chunk_ids.append(c.chunk_id)
        corpus.append(text.content_terms(schema.embedding_text(c.title, c.text)) or ["\u2205"])
    model = bm25s.BM25()
    if corpus:
        model.index(corpus, show_progress=False)
    return Bm25(model, chunk_ids, ledger.generation)


def save(index: Bm25, index_dir: Path) -> None:
    """Write atomically: a new folder, then rename over the old one. Savers take turns (a lock
    file beside the folder serves threads and processes alike: an ingest and a reader that
    rebuilt BM25 may save at once), and a saved index is never replaced by one of an older
    generation. Raises IndexWriteError when the folder cannot be written (read-only, disk
    full), leaving the old one in place."""
    try:
        with _turn(Path(index_dir)):
            current = stamp(index_dir)
            if current is not None and current > index.generation:
                return
            _replace(index, Path(index_dir))
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the BM25 index in {index_dir}: {exc.strerror or exc}"
        ) from exc


@contextlib.contextmanager
def _turn(index_dir: Path) -> Iterator[None]:
    """Hold the index's BM25 write lock (flock: released by the kernel if the holder dies)."""
    with open(index_dir / f"{schema.BM25_DIR}.lock", "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace(index: Bm25, index_dir: Path) -> None:
    final = index_dir / schema.BM25_DIR
    tmp = index_dir / f"{schema.BM25_DIR}.tmp-{os.getpid()}"
    old = index_dir / f"{schema.BM25_DIR}.old-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if index.chunk_ids:
            index.model.save(str(tmp), show_progress=False)
        (tmp / "chunk_ids.json").write_text(json.dumps(index.chunk_ids), encoding="utf-8")
        (tmp / STAMP_FILE).write_text(
            json.dumps({"generation": index.generation, "analyser": text.ANALYSER_VERSION}),
            encoding="utf-8",
        )
        if final.exists():
            final.rename(old)
        tmp.rename(final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # a half-written copy only takes space
        if old.exists() and not final.exists():
            with contextlib.suppress(OSError):
                old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def stamp(index_dir: Path) -> int | None:
    """The ledger generation the saved BM25 index reflects; None when there is none, or when
    it was built by another text analysis (then it must be rebuilt, not read)."""
    try:
        data = json.loads((Path(index_dir) / schema.BM25_DIR / STAMP_FILE).read_text("utf-8"))
        if data.get("analyser", 1) != text.ANALYSER_VERSION:
            return None
        return int(data["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(index_dir: Path) -> Bm25:
    bm25s = _bm25s()

    folder = Path(index_dir) / schema.BM25_DIR
    generation = stamp(index_dir)
    if generation is None:
        raise IndexCorruptError(f"no BM25 index at {folder}")
    try:
        chunk_ids = json.loads((folder / "chunk_ids.json").read_text("utf-8"))
        model = bm25s.BM25.load(str(folder), show_progress=False) if chunk_ids else bm25s.BM25()
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"BM25 index at {folder} is damaged: {exc}") from exc
    # An ingest may swap the folder while it is read: only a model whose stamp still holds
    # afterwards, and whose documents are its chunk ids, is of one piece.
    documents = int(model.scores.get("num_docs", 0) or 0) if chunk_ids else 0
    if stamp(index_dir) != generation or documents != len(chunk_ids):
        raise IndexCorruptError(f"BM25 index at {folder} changed while it was read")
    return Bm25(model, chunk_ids, generation)


def load_or_build(ledger: Ledger, index_dir: Path) -> Bm25:
    """The BM25 index of the ledger's generation: the saved one if it is of that generation,
    else built from the ledger and saved (atomically) for the next reader: an index made by an
    older analysis, or one whose ingest was killed before it saved, is rebuilt once."""
    if stamp(index_dir) == ledger.generation:
        try:
            index = load(index_dir)
            if index.generation == ledger.generation:
                return index
        except IndexCorruptError as exc:
            log.warning("rebuilding BM25: %s", exc)
    index = build(ledger)
    try:
        save(index, index_dir)
    except IndexWriteError as exc:  # a read-only index can still be searched
        log.warning("could not save the rebuilt BM25 index: %s", exc)
    return index
