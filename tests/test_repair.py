"""An index that checks itself: `newsdesk check` finds each part deleted or damaged in turn,
`newsdesk repair` rebuilds it from the ledger alone (resumably, after kill -9 too), ingest
restores the lost vectors of unchanged articles, and readers are warned in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fakes import HashingEmbedder
from helpers import SAMPLE, SEED_QUESTION, make_settings, open_ledger

from newsdesk.assistant import build_assistant
from newsdesk.cli import main
from newsdesk.core.errors import EmbeddingModelMismatchError, StoreError
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import enrich
from newsdesk.ingest.pipeline import ingest
from newsdesk.ingest.repair import repair
from newsdesk.store import health
from newsdesk.store.index import Index

TOPICS = ["harbour", "tram", "glacier", "orchard", "museum", "festival", "bridge", "library"]
QUESTIONS = ["glacier melt", "tram line extension", "orchard harvest", "museum reopening"]


def write_archive(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        (root / f"story{i:03d}.txt").write_text(
            f"The {topic} story number {i}\n\nNews of the {topic} came on day {i}. The {topic} "
            f"committee met about the {topic} budget and the {topic} plans for year {i % 7}.",
            encoding="utf-8",
        )


def tamper(action: object) -> None:
    """After damaging files: a process opening the index now would not have Chroma's cached
    view of them (this one does: Chroma keeps one client per path), so forget it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def states(index: Path) -> dict[str, str]:
    settings = make_settings(index)
    opened = Index.open(settings, create=False)
    try:
        found = health.check(opened, HashingEmbedder().identity)
    finally:
        opened.close()
    return {p.name: p.state for p in found.parts}


def rankings(index: Path) -> dict[tuple[str, str], frozenset[str]]:
    """The five articles each question finds per mode (as sets: the synthetic stories tie)."""
    assistant = build_assistant(make_settings(index), embedder=HashingEmbedder())
    try:
        return {
            (q, mode): frozenset(h.doc_id for h in assistant.searcher.search(q, mode=mode, k=5))
            for q in QUESTIONS
            for mode in ("dense", "hybrid")
        }
    finally:
        assistant.close()


def on_topic(index: Path) -> bool:
    """Does dense search find five stories of each question's topic?"""
    for question, found in rankings(index).items():
        topic = question[0].split()[0]
        numbers = [int(doc.removeprefix("story").removesuffix(".txt")) for doc in found]
        if len(numbers) != 5 or any(TOPICS[n % len(TOPICS)] != topic for n in numbers):
            return False
    return True


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[tuple[str, str], frozenset[str]]]:
    """A 60-article archive ingested with the hashing embedder and read: (index, rankings)."""
    root, index = tmp_path / "archive", tmp_path / "index"
    write_archive(root, 60)
    emb = HashingEmbedder()
    ingest(make_settings(index), [str(root)], embedder=emb)
    enrich(make_settings(index, enrich="sentences"), embedder=emb)
    assert set(states(index).values()) == {"ok"}
    return index, rankings(index)


def test_a_deleted_vector_store_is_found_and_rebuilt_from_the_ledger(
    built: tuple[Path, dict[tuple[str, str], frozenset[str]]],
) -> None:
    index, before = built
    tamper(shutil.rmtree(index / "chroma"))
    assert states(index)["vectors"] == "repairable"
    opened = Index.open(make_settings(index), create=False)
    try:
        warning = health.quick_check(opened.ledger, opened.vectors, opened.dir)
    finally:
        opened.close()
    assert warning and "0 vectors" in warning and "newsdesk repair" in warning
    assert all(not r for (_, mode), r in rankings(index).items() if mode == "dense")

    report = repair(make_settings(index), embedder=HashingEmbedder())
    assert report.vectors_restored == 60 and report.before["state"] == "repairable"
    assert set(states(index).values()) == {"ok"}
    assert rankings(index) == before  # the same vectors: the same answers
    again = repair(make_settings(index), embedder=HashingEmbedder())
    assert again.vectors_restored == 0 and not again.bm25_rebuilt  # nothing left to do


def test_stray_vectors_bm25_and_sentences_are_each_found_and_repaired(
    built: tuple[Path, dict[tuple[str, str], frozenset[str]]],
) -> None:
    index, before = built
    opened = Index.open(make_settings(index), create=False)
    try:  # a vector of no chunk, as a crash between two stores could leave
        opened.vectors.upsert(["stray-0001"], np.ones((1, 384), dtype=np.float32), [{"x": 1}])
    finally:
        opened.close()
    tamper(shutil.rmtree(index / "bm25"))
    with open_ledger(index) as ledger, ledger.transaction():
        ledger._conn.execute(
            "DELETE FROM sentences WHERE rowid IN (SELECT rowid FROM sentences LIMIT 5)"
        )
    found = states(index)
    assert (found["vectors"], found["bm25"], found["sentences"]) == ("repairable",) * 3

    report = repair(make_settings(index, enrich="sentences"), embedder=HashingEmbedder())
    assert report.vectors_deleted == 1 and report.bm25_rebuilt
    assert report.enrich is not None and report.enrich.sentences.articles == 5
    assert set(states(index).values()) == {"ok"}
    assert rankings(index) == before


def test_a_damaged_vector_index_is_started_afresh(tmp_path: Path) -> None:
    root, index = tmp_path / "archive", tmp_path / "index"
    write_archive(root, 1500)  # enough chunks for Chroma to keep an HNSW segment on disk
    emb = HashingEmbedder()
    ingest(make_settings(index), [str(root)], embedder=emb)
    assert on_topic(index)
    segments = [p for p in (index / "chroma").iterdir() if p.is_dir()]
    assert segments
    for segment in segments:
        shutil.rmtree(segment)  # the search structure gone, its rows still listed
    tamper(None)
    with pytest.raises(StoreError, match="Error finding id"):
        rankings(index)  # what a reader met before: an error naming no file and no remedy
    report = repair(make_settings(index, enrich="none"), embedder=emb)
    assert report.before["parts"]["vectors"]["state"] == "repairable"
    assert "unreadable" in report.before["parts"]["vectors"]["detail"]
    assert report.vector_store_reset and report.vectors_restored == 1500
    assert states(index)["vectors"] == "ok"
    assert on_topic(index)  # (an approximate index over 1,500 near-twins: not the same order)


KILLER = """
import sys
sys.path.insert(0, sys.argv[2])
from fakes import DyingEmbedder
import newsdesk.ingest.repair as repair_module
from newsdesk.core.config import Settings

repair_module.BATCH_CHUNKS = 10
repair_module.repair(Settings(index=sys.argv[1], enrich="none"), embedder=DyingEmbedder(3))
"""


def test_a_killed_repair_is_finished_by_the_next(
    built: tuple[Path, dict[tuple[str, str], frozenset[str]]],
) -> None:
    index, before = built
    tamper(shutil.rmtree(index / "chroma"))
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(index), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    opened = Index.open(make_settings(index), create=False)
    try:
        assert opened.vectors.count() == 20  # two batches written before the kill
    finally:
        opened.close()
    rest = repair(make_settings(index), embedder=HashingEmbedder())
    assert rest.vectors_restored == 40
    assert set(states(index).values()) == {"ok"} and rankings(index) == before


def test_repair_with_another_model_is_refused(
    built: tuple[Path, dict[tuple[str, str], frozenset[str]]],
) -> None:
    index, _ = built
    with pytest.raises(EmbeddingModelMismatchError, match="hashing-384"):
        repair(make_settings(index), embedder=HashingEmbedder(dimension=128))


def test_the_cli_checks_warns_repairs_and_ingest_restores_lost_vectors(
    tmp_path: Path,
    sample_index: Path,
    embedder: Embedder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    assert main(["check", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "ok"

    tamper(shutil.rmtree(index / "chroma"))
    assert main(["check", "--index", str(index)]) == 1
    out = capsys.readouterr()
    assert "vectors: repairable" in out.out
    [line] = out.err.strip().splitlines()
    assert line == "newsdesk: error: the index needs repair: run `newsdesk repair`"

    assert main(["ask", SEED_QUESTION, "--index", str(index), "--mode", "dense"]) == 0
    [warning] = [x for x in capsys.readouterr().err.splitlines() if "warning" in x]
    assert warning.startswith("newsdesk: warning: the vector store holds 0 vectors")

    # ingest of the same, unchanged folder no longer trusts the ledger: it restores them
    assert main(["ingest", str(SAMPLE), "--index", str(index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["articles_unchanged"] > 0 and data["vectors_restored"] > 0
    assert main(["check", "--index", str(index)]) == 0
    capsys.readouterr()

    tamper(shutil.rmtree(index / "chroma"))
    assert main(["repair", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["vectors_restored"] == data["vectors_restored"]
    assert main(["ask", SEED_QUESTION, "--index", str(index), "--mode", "dense"]) == 0
    out = capsys.readouterr()
    assert "warning" not in out.err and "[1]" in out.out


def test_a_damaged_ledger_is_one_line(tmp_path: Path, sample_index: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    ledger = index / "ledger.sqlite"
    data = bytearray(ledger.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header and first page, overwritten
    ledger.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", "check", "--index", str(index)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("newsdesk: error:") and "Traceback" not in done.stderr


def test_the_page_says_when_the_index_is_incomplete(
    built: tuple[Path, dict[tuple[str, str], frozenset[str]]],
) -> None:
    from newsdesk.ui.app import archive_facts

    index, _ = built
    assistant = build_assistant(make_settings(index), embedder=HashingEmbedder())
    try:
        assert "Index incomplete" not in archive_facts(assistant)[0]
    finally:
        assistant.close()
    tamper(shutil.rmtree(index / "chroma"))
    assistant = build_assistant(make_settings(index), embedder=HashingEmbedder())
    try:
        html = archive_facts(assistant)[0]
        assert "Index incomplete" in html and "newsdesk repair" in html
        assert "60 passages" in html or "60</b> passages" in html  # the facts still shown
    finally:
        assistant.close()
