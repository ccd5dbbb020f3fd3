"""Faults of the index's disk, on real mounts: a read-only index directory and a full disk.

Each gets a clear one-line error, nothing half-written counts as done, a read-only index still
answers, and after space is freed a re-run completes with a consistent index. The mounts are
real tmpfs file systems (root, or CAP_SYS_ADMIN, is needed; the tests skip without it).

Also writes interrupted between the steps of the index's write protocol (a failure injected at
one step): what the intent log left behind is exactly what the next open's repair finishes.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import SAMPLE, SEED_QUESTION, make_settings
from index_checks import ARTICLE, assert_consistent, chroma_metadata, new_text, snapshot, vectors_of

from newsdesk.assistant import Assistant, build_answerer
from newsdesk.core.config import Settings
from newsdesk.core.errors import IndexWriteError
from newsdesk.core.types import Article
from newsdesk.ingest.pipeline import ingest
from newsdesk.retriever.search import Searcher
from newsdesk.store.index import Alias, Index, NewText
from newsdesk.store.ledger import Ledger

SEED_DOC = "world/ibtimes-russia-urges-kyiv-peace-talks.md"


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount tmpfs file systems of a given size; unmounted (lazily) after the test."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        done = mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def remount(point: Path, options: str) -> None:
    done = mount("-o", f"remount,{options}", str(point))
    if done.returncode != 0:
        pytest.skip(f"cannot remount {point} with {options}: {done.stderr.strip()}")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The CLI failed with exactly one line on stderr, no traceback; returns that line."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsdesk: error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------ read-only index


def test_read_only_index_answers_and_refuses_writes_clearly(
    tmpfs: Callable[[str], Path], sample_index: Path, embedder
) -> None:
    point = tmpfs("16m")
    index = point / "index"
    subprocess.run(["cp", "-a", str(sample_index), str(index)], check=True)
    for stale in index.glob("ledger.sqlite-*"):  # as after a clean close: no WAL files
        stale.unlink()
    before = digest(index)
    remount(point, "ro")
    settings = make_settings(index)

    with pytest.raises(IndexWriteError, match="read-only file system"):
        ingest(settings, [str(SAMPLE)], embedder=embedder)
    line = one_line_error(cli("ingest", str(SAMPLE), "--index", str(index)))
    assert "read-only" in line and str(index) in line

    # Reading needs no write: the ledger is opened immutable, Chroma from a private copy.
    searcher = Searcher.open(settings, embedder=embedder)
    try:
        assistant = Assistant(settings, searcher, build_answerer(settings))
        answer = assistant.ask(SEED_QUESTION)
        assert not answer.refused and answer.citations[0].passage.doc_id == SEED_DOC
        assert assistant.stats().articles == 6
    finally:
        searcher.close()
    stats = cli("stats", "--index", str(index), "--json")
    assert stats.returncode == 0, stats.stderr

    remount(point, "rw")
    assert digest(index) == before  # nothing was written, not even a WAL file


# ------------------------------------------------------------------ full disk


def synthetic_corpus(folder: Path, n: int, words_per_article: int = 320) -> list[str]:
    """`n` distinct articles made of the sample archive's words; returns their doc ids."""
    vocab = sorted(
        {w for p in SAMPLE.rglob("*") if p.suffix in (".md", ".txt") for w in p.read_text().split()}
    )
    ids = []
    for i in range(n):
        rng = random.Random(i)
        words = [rng.choice(vocab) for _ in range(words_per_article)]
        sentences = [" ".join(words[j : j + 14]) + "." for j in range(0, len(words), 14)]
        rel = f"desk{i % 3}/story{i:03d}.txt"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Story {i} of the full disk\n\n" + " ".join(sentences) + "\n")
        ids.append(rel)
    return ids


def test_full_disk_is_a_clear_error_and_a_rerun_completes(
    tmpfs: Callable[[str], Path], tmp_path: Path, embedder
) -> None:
    corpus = tmp_path / "corpus"
    doc_ids = synthetic_corpus(corpus, 48)
    point = tmpfs("1100k")
    index = point / "index"
    settings = make_settings(index, ingest_batch_chunks=16)

    with pytest.raises(IndexWriteError) as failed:
        ingest(settings, [str(corpus)], embedder=embedder)
    message = str(failed.value)
    assert "\n" not in message and re.search(r"full|space", message), message

    # The CLI, still on the full disk: one line, no traceback, nothing new counted.
    committed = set(stored_articles(index))
    line = one_line_error(cli("ingest", str(corpus), "--index", str(index)))
    assert re.search(r"full|space", line), line
    assert set(stored_articles(index)) == committed

    remount(point, "size=64m")  # space freed
    # Whatever counts as stored is whole: each stored chunk is in the vector store.
    partial = snapshot(index)
    assert set(partial["chunks"]) <= set(partial["vectors"])  # type: ignore[arg-type]
    assert len(committed) < len(doc_ids)

    report = ingest(settings, [str(corpus)], embedder=embedder)
    assert not report.errors
    assert report.articles_unchanged == len(committed)
    assert report.articles_added == len(doc_ids) - len(committed)
    final = snapshot(index)
    assert_consistent(final)
    assert sorted(a for a, _ in final["articles"]) == sorted(doc_ids)  # type: ignore[union-attr]


def stored_articles(index: Path) -> list[str]:
    ledger = Ledger.open(index, create=False)
    try:
        return sorted(ledger.all_article_hashes())
    finally:
        ledger.close()


# ------------------------------------------------------------------ interrupted writes


CRANE = ("a.txt", "Harbour crane collapse", ARTICLE)


def _fail(*args: object, **kwargs: object) -> None:
    raise IndexWriteError("injected failure")


def assert_recovered_empty(settings: Settings, index: Path, removed: int) -> None:
    """The next open repairs the interrupted write: `removed` vector ids go, none remain."""
    idx = Index.open(settings, create=False)
    try:
        assert idx.recover() == removed
    finally:
        idx.close()
    snap = snapshot(index)
    assert_consistent(snap)
    assert snap["vectors"] == []


def crane_index(tmp_path: Path) -> tuple[Settings, Index, NewText]:
    """A new index at tmp_path/index, open, and one article's text ready to store in it."""
    settings = make_settings(tmp_path / "index")
    return settings, Index.open(settings, create=True), new_text(Article(*CRANE))


def test_a_store_failing_before_its_commit_is_undone_on_the_next_open(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, idx, text = crane_index(tmp_path)
    ids = [c.chunk_id for c in text.chunks]
    try:
        monkeypatch.setattr(idx.ledger, "put_text", _fail)  # after the upsert, in the commit
        with pytest.raises(IndexWriteError):
            idx.store([text], vectors_of(embedder, [text]))
        # The vectors were written and the intent log says so; nothing counts as stored.
        assert sorted(idx.ledger.pending("add")) == sorted(ids)
        assert idx.vectors.all_ids() == set(ids)
        assert idx.ledger.all_article_hashes() == {}
    finally:
        idx.close()
    assert_recovered_empty(settings, tmp_path / "index", len(ids))


def test_deletes_failing_after_their_commit_are_finished_on_the_next_open(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, idx, text = crane_index(tmp_path)
    ids = [c.chunk_id for c in text.chunks]
    try:
        idx.store([text], vectors_of(embedder, [text]))
        monkeypatch.setattr(idx.vectors, "delete", _fail)
        with pytest.raises(IndexWriteError):
            idx.remove("a.txt")
        # The removal counts (committed with its intents); the vectors are still there.
        assert idx.ledger.all_article_hashes() == {}
        assert sorted(idx.ledger.pending("delete")) == sorted(ids)
        assert idx.vectors.all_ids() == set(ids)
    finally:
        idx.close()
    assert_recovered_empty(settings, tmp_path / "index", len(ids))


def test_a_promotion_failing_before_its_commit_is_redone_by_the_next_write(
    tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Chroma metadata of a promoted alias is rewritten before the commit: if the commit
    fails the old canonical still stands, and removing it again rewrites the metadata again."""
    idx = Index.open(make_settings(tmp_path / "index"), create=True)
    original = Article("x.txt", "Harbour crane collapse", ARTICLE, category="sport")
    copy = Article("y.txt", original.title, ARTICLE, category="world")
    text = new_text(original)
    ids = [c.chunk_id for c in text.chunks]
    try:
        idx.store([text], vectors_of(embedder, [text]), [Alias(copy, text.content, "t", "y.txt")])
        with monkeypatch.context() as patch:
            patch.setattr(idx.ledger, "bump_generation", _fail)  # the commit's last statement
            with pytest.raises(IndexWriteError):
                idx.remove("x.txt")
        assert idx.ledger.canonical(text.content) == "x.txt"  # rolled back
        assert idx.ledger.all_aliases() == {"y.txt": "x.txt"}
        idx.remove("x.txt")
        assert idx.ledger.canonical(text.content) == "y.txt"
        metas = chroma_metadata(idx, ids).values()
        assert {(m["doc_id"], m["category"]) for m in metas} == {("y.txt", "world")}
    finally:
        idx.close()
    assert_consistent(snapshot(tmp_path / "index"))


# ------------------------------------------------------------------ questions at the CLI


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", "empty"),
        ("\x01\x02\x1b\x7f\x08\t\u200b\u2028", "empty"),
        ("why " * 25_000, "limit"),
    ],
    ids=["empty", "control-characters", "100KB"],
)
def test_bad_questions_at_the_cli_are_one_line_errors(
    sample_index: Path, question: str, expected: str
) -> None:
    line = one_line_error(cli("ask", question, "--index", str(sample_index)))
    assert expected in line and len(line) < 300


def test_control_characters_in_a_question_are_dropped_not_echoed(sample_index: Path) -> None:
    asked = "What did Russia\x1b[2J demand\x07 of\r Ukraine?\x1b]0;x\x07"
    done = cli("ask", asked, "--index", str(sample_index), "--history", "\x1b[31mhello")
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout and SEED_DOC in done.stdout
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", done.stdout + done.stderr)


# ------------------------------------------------------------------ one-line errors
def test_a_busy_port_is_one_line_naming_the_flag(sample_index: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli("serve", "--index", str(sample_index), "--port", str(port))
    line = one_line_error(done)
    assert f"port {port} is in use; pick another with --port" in line


def test_since_after_until_is_rejected_at_the_cli_as_in_the_ui(sample_index: Path) -> None:
    done = cli(
        "ask", "What did Russia demand?", "--index", str(sample_index),
        "--since", "2006-01-01", "--until", "2004-01-01",
    )  # fmt: skip
    line = one_line_error(done)
    assert "the 'since' date 2006-01-01 is after the 'until' date 2004-01-01" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["stats"],
        ["stats", "--json"],
        ["ask", "What did Russia demand of Ukraine?"],
        ["ask", "What did Russia demand of Ukraine?", "--json"],
    ],
    ids=["stats", "stats-json", "ask", "ask-json"],
)
def test_a_closed_pipe_ends_quietly(sample_index: Path, argv: list[str]) -> None:
    # `newsdesk stats | head -0`: the reader is gone before anything is written
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "newsdesk.cli", *argv, "--index", str(sample_index)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert done.stderr == ""
