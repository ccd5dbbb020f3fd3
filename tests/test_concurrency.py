"""Questions at the same time: searches from many threads agree with one thread's, a search
running while an ingest (in this process or another) changes the index sees one generation, the
old or the new, never a mix, and the archive's facts read from many threads at once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest
from helpers import SAMPLE, SEED_QUESTION, make_settings

from newsdesk.assistant import Assistant, build_answerer
from newsdesk.core.config import Settings
from newsdesk.core.errors import IndexNotFoundError
from newsdesk.core.types import ArticleHit
from newsdesk.embedding import Embedder
from newsdesk.ingest.pipeline import ingest
from newsdesk.retriever.search import Searcher
from newsdesk.store.ledger import Ledger
from newsdesk.store.readers import LedgerReaders

SEED = "world/ibtimes-russia-urges-kyiv-peace-talks.md"
QUESTIONS = [
    (SEED_QUESTION, "hybrid"),
    ("where can I get my broken toaster fixed", "hybrid"),
    ("Okafor", "bm25"),
    ("comet river", "dense"),
    ("What will the flood walls cost?", "hybrid"),
    ("farmers market moving", "bm25"),
]
GLACIER = (
    "Alpine glacier loses a tenth of its ice in one summer\n\n"
    "The Morteratsch glacier lost a tenth of its ice this summer, glaciologists said. "
    "Meltwater from the Alps filled the valley lakes, and the ice retreated by forty metres.\n"
)
WATCHED = [
    ("glacier melting in the Alps", "bm25"),
    ("how much ice did the glacier lose this summer", "hybrid"),
    (SEED_QUESTION, "hybrid"),
    ("repair cafe library", "dense"),
]

Outcome = tuple[Any, ...]


def outcome(hits: list[ArticleHit]) -> Outcome:
    """Everything a search returns that a reader could tell apart."""
    return tuple(
        (
            h.doc_id,
            h.score,
            h.aliases,
            tuple(
                (p.chunk_id, p.text, p.score, p.similarity, p.lexical, p.published)
                for p in h.passages
            ),
        )
        for h in hits
    )


def test_many_threads_search_as_one_thread_does(sample_assistant: Assistant) -> None:
    searcher = sample_assistant.searcher
    alone = {q: outcome(searcher.search(q, mode=m)) for q, m in QUESTIONS}
    work = QUESTIONS * 6
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda qm: outcome(searcher.search(qm[0], mode=qm[1])), work))
    assert together == [alone[q] for q, _ in work]

    def retrieved(question: str) -> Outcome:
        r = sample_assistant.retrieve(question)
        return (r.standalone_question, r.filters, r.refused, outcome(list(r.hits)))

    asked = [q for q, _ in QUESTIONS] + ["What happened in 2022?", "How do I bake bread?"]
    first = {q: retrieved(q) for q in asked}
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(retrieved, asked * 4)) == [first[q] for q in asked * 4]


def test_archive_facts_from_many_threads(sample_assistant: Assistant) -> None:
    archive = sample_assistant.archive

    def facts(_: int = 0) -> tuple[Any, ...]:
        return (
            archive.stats(),
            archive.article(SEED),
            archive.latest_date(),
            archive.curated_questions(),
            archive.recent_titles(5),
            sample_assistant.example_questions(4),
        )

    alone = facts()
    assert alone[1] is not None and alone[1].doc_id == SEED
    assert alone[2] is not None and len(alone[4]) == 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(facts, range(40))) == [alone] * 40


def test_an_assistant_built_by_hand_reads_facts_from_its_searchers_index(
    sample_assistant: Assistant,
) -> None:
    settings = sample_assistant.settings
    by_hand = Assistant(settings, sample_assistant.searcher, build_answerer(settings))
    assert by_hand.stats() == sample_assistant.stats()
    assert by_hand.article(SEED) == sample_assistant.article(SEED)
    assert by_hand.archive is not sample_assistant.archive


def test_each_thread_reads_through_its_own_connection(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "index", create=True)
    readers = LedgerReaders(ledger.path)
    try:
        mine = readers.ledger()
        assert readers.ledger() is mine
        barrier = threading.Barrier(3)
        seen: list[Ledger] = []

        def read() -> None:
            seen.append(readers.ledger())
            barrier.wait(timeout=10)  # all three alive at once: no connection handed on

        threads = [threading.Thread(target=read) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(x) for x in [mine, *seen]}) == 4

        # A read snapshot keeps its state while the writer commits beside it, unblocked.
        with readers.snapshot() as view:
            before = view.generation
            with ledger.transaction():
                ledger.bump_generation()
            assert view.generation == before
        assert readers.ledger().generation == before + 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            readers.ledger().set_meta("x", "y")
    finally:
        readers.close()
        ledger.close()
    with pytest.raises(IndexNotFoundError):
        readers.ledger()


def test_a_snapshot_cannot_change(sample_assistant: Assistant) -> None:
    snap = sample_assistant.searcher.snapshot
    with pytest.raises(FrozenInstanceError):
        snap.generation = 99  # type: ignore[misc]
    assert not snap.table.day.flags.writeable and not snap.df.flags.writeable
    assert snap.idf("glacier") == sample_assistant.searcher.idf("glacier") > 0


# ------------------------------------------------------------------ ingest while searching


@pytest.fixture
def growing(tmp_path: Path, embedder: Embedder) -> tuple[Settings, Path]:
    """A private copy of the sample archive, ingested: (settings, its folder)."""
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(tmp_path / "index")
    assert not ingest(settings, [str(folder)], embedder=embedder).errors
    return settings, folder


def search_during(
    searcher: Searcher, change: Callable[[], None]
) -> tuple[dict[Any, Outcome], dict[Any, Outcome], list[tuple[Any, Outcome]]]:
    """(results before, results after, what four threads searching all along saw) of
    `change`. The threads start before it and stop once each saw its end."""
    before = {qm: outcome(searcher.search(qm[0], mode=qm[1])) for qm in WATCHED}
    seen: list[tuple[Any, Outcome]] = []
    changed = threading.Event()
    started = threading.Barrier(5)

    def hammer() -> None:
        started.wait(timeout=60)
        rounds_after = 0
        while rounds_after < 2:
            done = changed.is_set()
            for q, m in WATCHED:
                seen.append(((q, m), outcome(searcher.search(q, mode=m))))
            rounds_after += done

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(hammer) for _ in range(4)]
        started.wait(timeout=60)
        time.sleep(0.2)  # let the first searches run
        try:
            change()
        finally:
            changed.set()
        for f in futures:
            f.result(timeout=300)  # a search's exception fails the test here
    after = {qm: outcome(searcher.search(qm[0], mode=qm[1])) for qm in WATCHED}
    return before, after, seen


def assert_one_generation_each(
    before: dict[Any, Outcome], after: dict[Any, Outcome], seen: list[tuple[Any, Outcome]]
) -> None:
    for qm, got in seen:
        assert got in (before[qm], after[qm]), f"{qm}: a result of neither generation"
    assert any(got == before[qm] for qm, got in seen)
    assert any(got == after[qm] != before[qm] for qm, got in seen)


def test_a_search_during_an_ingest_sees_the_old_or_the_new_generation(
    growing: tuple[Settings, Path], embedder: Embedder
) -> None:
    settings, folder = growing
    searcher = Searcher.open(settings, embedder=embedder)
    try:
        old = searcher.snapshot.generation

        def add() -> None:
            (folder / "glacier.txt").write_text(GLACIER)
            assert not ingest(settings, [str(folder)], embedder=embedder).errors

        before, after, seen = search_during(searcher, add)
        assert searcher.snapshot.generation > old
        assert after[WATCHED[0]][0][0] == "glacier.txt"
        assert before[WATCHED[0]] == ()
        assert_one_generation_each(before, after, seen)

        def remove() -> None:  # chunks the searches' snapshot holds disappear under them
            (folder / "glacier.txt").unlink()
            assert not ingest(settings, [str(folder)], prune=True, embedder=embedder).errors

        before, after, seen = search_during(searcher, remove)
        assert before[WATCHED[0]][0][0] == "glacier.txt" and after[WATCHED[0]] == ()
        assert_one_generation_each(before, after, seen)
    finally:
        searcher.close()


def test_a_search_during_another_processs_ingest_sees_one_generation(
    tmp_path: Path, sample_index: Path, embedder: Embedder
) -> None:
    # A copy at a path this process has no vector store open on (as a server started after
    # the ingest it searches): a store this process writes itself never needs reopening.
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    news = tmp_path / "news"
    news.mkdir()
    settings = make_settings(index)
    searcher = Searcher.open(settings, embedder=embedder)
    try:

        def ingest_elsewhere() -> None:
            done = subprocess.run(
                # The ingest's one generation; its second phase, which turns the sentence
                # reader on once everything is read, is tested in test_reader.py.
                [sys.executable, "-m", "newsdesk.cli", "ingest", str(news)]
                + ["--index", str(index), "--prune", "--no-enrich"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr

        (news / "glacier.txt").write_text(GLACIER)
        before, after, seen = search_during(searcher, ingest_elsewhere)
        assert after[WATCHED[0]][0][0] == "glacier.txt"
        assert after[WATCHED[1]][0][0] == "glacier.txt"  # its vectors too: the store reopened
        assert_one_generation_each(before, after, seen)

        (news / "glacier.txt").unlink()
        before, after, seen = search_during(searcher, ingest_elsewhere)
        assert after[WATCHED[0]] == () and after[WATCHED[1]][0][0] != "glacier.txt"
        assert_one_generation_each(before, after, seen)
    finally:
        searcher.close()
