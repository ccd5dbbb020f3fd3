"""Ingest end to end: real loaders, real model, real Chroma, real BM25."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SAMPLE, SHARED_DATA, make_settings, short_and_long
from index_checks import (
    ARTICLE,
    assert_consistent,
    chroma_metadata,
    new_text,
    snapshot,
    vectors_of,
)

from newsdesk.core.errors import ConfigError, EmbeddingModelMismatchError, IndexCorruptError
from newsdesk.core.types import Article
from newsdesk.ingest.pipeline import ingest
from newsdesk.store import schema
from newsdesk.store.index import Alias, Index
from newsdesk.store.ledger import Ledger


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_archive_ingests_every_format(sample_index: Path) -> None:
    led = Ledger.open(sample_index, create=False)
    try:
        stats = led.stats()
        assert stats.articles == 6
        assert stats.embedding_model == "all-MiniLM-L6-v2"
        ids = set(led.all_article_hashes())
        assert "world/ibtimes-russia-urges-kyiv-peace-talks.md" in ids
        assert "science/comet-brightens" in ids  # a JSON record's id
        assert "local/market.html" in ids
        seed = led.article("world/ibtimes-russia-urges-kyiv-peace-talks.md")
        assert seed is not None and seed.source == "IBTimes" and seed.published == "2022-11-24"
        html = led.article("local/market.html")
        assert html is not None and "trackingPixel" not in html.text and "Cookie" not in html.text
        for c in led.iter_chunks():  # offsets point into the article text
            art = led.article(c.doc_id)
            assert art is not None and art.text[c.start : c.end] == c.text
    finally:
        led.close()
    assert_consistent(snapshot(sample_index))


def test_reingest_is_a_noop_and_update_replaces_chunks(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(tmp_path / "index")
    first = ingest(settings, [str(folder)], embedder=embedder)
    assert first.chunks_truncated == 0  # default chunking fits the model's limit
    assert "truncated" not in first.summary()
    before = snapshot(tmp_path / "index")

    again = ingest(settings, [str(folder)], embedder=embedder)
    assert (again.articles_added, again.articles_updated, again.chunks_added) == (0, 0, 0)
    assert again.articles_unchanged == first.articles_added
    assert snapshot(tmp_path / "index") == before

    target = folder / "local" / "library-reopens.txt"
    target.write_text(target.read_text() + "\nThe cafe also repairs laptops.\n")
    changed = ingest(settings, [str(folder)], embedder=embedder)
    assert changed.articles_updated == 1 and changed.articles_added == 0
    assert changed.chunks_removed >= 1 and changed.chunks_added >= 1
    after = snapshot(tmp_path / "index")
    assert_consistent(after)
    assert len(after["chunks"]) == len(before["chunks"])  # old chunks replaced, no orphans
    assert set(after["chunks"]) != set(before["chunks"])


def test_prune_removes_articles_whose_files_are_gone(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    write(folder / "a.txt", ARTICLE)
    write(folder / "b.txt", ARTICLE.replace("east", "west").replace("Harbour", "Dock"))
    settings = make_settings(tmp_path / "index")
    ingest(settings, [str(folder)], embedder=embedder)
    (folder / "b.txt").unlink()
    kept = ingest(settings, [str(folder)], embedder=embedder)
    assert kept.articles_removed == 0  # without --prune nothing is removed
    pruned = ingest(settings, [str(folder)], prune=True, embedder=embedder)
    assert pruned.articles_removed == 1 and pruned.chunks_removed >= 1
    snap = snapshot(tmp_path / "index")
    assert [a for a, _ in snap["articles"]] == ["a.txt"]  # type: ignore[union-attr]
    assert_consistent(snap)


def test_duplicates_are_embedded_once_and_recorded_as_aliases(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    write(folder / "sport" / "x.txt", ARTICLE)
    write(folder / "world" / "y.txt", ARTICLE)
    write(folder / "z.txt", "Another story\n\nSomething else entirely happened in the town.\n")
    settings = make_settings(tmp_path / "index")
    report = ingest(settings, [str(folder)], embedder=embedder)
    assert report.articles_added == 2 and report.duplicates == 1
    led = Ledger.open(tmp_path / "index", create=False)
    try:
        assert led.all_aliases() == {"world/y.txt": "sport/x.txt"}
        assert led.stats().articles == 2
    finally:
        led.close()
    # Removing the original promotes the alias; the shared chunks stay.
    (folder / "sport" / "x.txt").unlink()
    pruned = ingest(settings, [str(folder)], prune=True, embedder=embedder)
    assert pruned.articles_removed == 1 and pruned.chunks_removed == 0
    led = Ledger.open(tmp_path / "index", create=False)
    try:
        assert led.all_aliases() == {}
        art = led.article("world/y.txt")
        assert art is not None and art.category == "world"
    finally:
        led.close()
    assert_consistent(snapshot(tmp_path / "index"))


def test_index_store_alias_promotion_and_remove(tmp_path: Path, embedder) -> None:
    """The index's write verbs on their own: each leaves ledger and Chroma in step, bumps the
    generation when readers must reload, and a promoted alias's metadata reaches Chroma."""
    idx = Index.open(make_settings(tmp_path / "index"), create=True)
    try:
        led = idx.ledger
        original = Article(
            "sport/x.txt",
            "Harbour crane collapse",
            ARTICLE,
            "Port News",
            "2024-03-04",
            category="sport",
        )
        other = Article("z.txt", "Another story", "Something else entirely happened in town.")
        texts = [new_text(original), new_text(other)]
        ids = [c.chunk_id for c in texts[0].chunks]
        generation = led.generation

        written = idx.store(texts, vectors_of(embedder, texts))
        assert written.chunks_added == sum(len(t.chunks) for t in texts)
        assert written.chunks_removed == 0 and led.generation == generation + 1
        assert_consistent(snapshot(tmp_path / "index"))
        assert {m["doc_id"] for m in chroma_metadata(idx, ids).values()} == {"sport/x.txt"}

        copy = Article(
            "world/y.txt", original.title, ARTICLE, "Wire", "2024-03-05", category="world"
        )
        written = idx.add_aliases([Alias(copy, texts[0].content, "test", copy.doc_id)])
        assert (written.chunks_added, written.chunks_removed) == (0, 0)
        assert led.all_aliases() == {"world/y.txt": "sport/x.txt"}
        assert led.generation == generation + 1  # chunks and canonicals unchanged

        written = idx.remove("sport/x.txt")  # the alias is promoted, the chunks stay
        assert written.chunks_removed == 0 and led.generation == generation + 2
        assert led.all_aliases() == {} and led.canonical(texts[0].content) == "world/y.txt"
        metas = chroma_metadata(idx, ids)
        assert {m["doc_id"] for m in metas.values()} == {"world/y.txt"}
        assert {(m["source"], m["category"], m["published"]) for m in metas.values()} == {
            ("Wire", "world", "2024-03-05")
        }

        written = idx.remove("world/y.txt")  # the last article of the text: its chunks go
        assert written.chunks_removed == len(ids) and led.generation == generation + 3
        assert not idx.vectors.embeddings(ids)
        snap = snapshot(tmp_path / "index")
        assert_consistent(snap)
        assert [a for a, _ in snap["articles"]] == ["z.txt"]  # type: ignore[union-attr]
    finally:
        idx.close()


def test_index_writes_refuse_what_would_break_the_index(tmp_path: Path, embedder) -> None:
    idx = Index.open(make_settings(tmp_path / "index"), create=True)
    try:
        text = new_text(Article("a.txt", "Harbour", ARTICLE))
        with pytest.raises(ValueError, match="one vector per chunk"):
            idx.store([text], vectors_of(embedder, [text])[:0])
        stray = Alias(Article("b.txt", "Harbour", ARTICLE), text.content, "test", "b.txt")
        with pytest.raises(ValueError, match="not stored"):
            idx.add_aliases([stray])
        assert idx.ledger.all_article_hashes() == {} and idx.vectors.count() == 0
        assert idx.ledger.pending("add") == []
    finally:
        idx.close()


def test_chunks_over_the_model_limit_are_counted_and_warned_once(
    tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """chunk_tokens=1024 (cl100k tokens) makes chunks far over MiniLM's 256 word pieces."""
    folder = tmp_path / "news"
    body = ARTICLE.split("\n", 2)[2]
    write(folder / "long.txt", "Harbour inquiry\n\n" + " ".join([body.strip()] * 20) + "\n")
    write(folder / "short.txt", "Another story\n\nSomething else entirely happened in town.\n")
    settings = make_settings(tmp_path / "index", chunk_tokens=1024, ingest_batch_chunks=1)
    with caplog.at_level(logging.WARNING, logger="newsdesk.ingest.pipeline"):
        report = ingest(settings, [str(folder)], embedder=embedder)
    led = Ledger.open(tmp_path / "index", create=False)
    try:
        counts = embedder.count_tokens(
            [schema.embedding_text(c.title, c.text) for c in led.iter_chunks()]
        )
    finally:
        led.close()
    over = [n for n in counts if n > embedder.max_tokens]
    assert report.chunks_truncated == len(over) > 0
    assert report.chunks_truncated < report.chunks_added  # the short article fits
    assert report.to_json()["chunks_truncated"] == len(over)
    assert f"{len(over)} truncated" in report.summary()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # once per ingest, not once per batch
    assert f"{len(over)} chunks" in warnings[0] and f"the longest has {max(counts)}" in warnings[0]


@pytest.mark.parametrize("batch_chunks", [1, 512])
def test_duplicates_of_a_batch_still_being_embedded_become_aliases(
    tmp_path: Path, embedder, batch_chunks: int
) -> None:
    """With one chunk per batch, each original is still being embedded (in the background)
    when its duplicate arrives, and the last file is a duplicate with nothing after it."""
    other = "Another story\n\nSomething else entirely happened in the town.\n"
    folder = tmp_path / "news"
    write(folder / "a.txt", ARTICLE)
    write(folder / "b.txt", ARTICLE)
    write(folder / "c.txt", other)
    write(folder / "d.txt", other)
    settings = make_settings(tmp_path / "index", ingest_batch_chunks=batch_chunks)
    report = ingest(settings, [str(folder)], embedder=embedder)
    assert report.articles_added == 2 and report.duplicates == 2 and not report.errors
    led = Ledger.open(tmp_path / "index", create=False)
    try:
        assert led.all_aliases() == {"b.txt": "a.txt", "d.txt": "c.txt"}
    finally:
        led.close()
    snap = snapshot(tmp_path / "index")
    assert_consistent(snap)
    assert len(snap["articles"]) == 4  # type: ignore[arg-type]
    again = ingest(settings, [str(folder)], embedder=embedder)
    assert again.articles_unchanged == 4 and again.chunks_added == 0


def test_bad_inputs_are_reported_and_skipped_without_losing_stored_articles(
    tmp_path: Path, embedder
) -> None:
    folder = tmp_path / "news"
    write(folder / "good.txt", ARTICLE)
    settings = make_settings(tmp_path / "index", max_file_bytes=50_000)
    ingest(settings, [str(folder)], embedder=embedder)
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 100)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin.txt").write_bytes("Caf\xe9 news\n\nA caf\xe9 opened.".encode("latin-1"))
    write(
        folder / "records.jsonl",
        '{"title": "Fine", "text": "A fine record about ports."}\n{"title": "Broken", "text": \n',
    )
    write(folder / "huge.txt", "Big\n\n" + "word " * 20_000)
    report = ingest(settings, [str(folder)], embedder=embedder)
    reasons = {Path(e.path).name.split("#")[0]: e.reason for e in report.errors}
    assert set(reasons) == {"binary.txt", "empty.txt", "latin.txt", "records.jsonl", "huge.txt"}
    assert "2" in [e.path.split("#")[-1] for e in report.errors if "records" in e.path][0] or any(
        "line 2" in e.reason for e in report.errors
    )
    assert report.articles_unchanged == 1 and report.articles_added == 1  # good.txt, the record
    snap = snapshot(tmp_path / "index")
    assert {a for a, _ in snap["articles"]} >= {"good.txt"}  # type: ignore[union-attr]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_cli_ingest_json_contract_and_exit_codes(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write(folder / "a.txt", ARTICLE)
    index = tmp_path / "index"
    done = cli("ingest", str(folder), "--index", str(index), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {
        "files_seen",
        "articles_added",
        "articles_updated",
        "articles_unchanged",
        "articles_removed",
        "duplicates",
        "chunks_added",
        "chunks_removed",
        "chunks_truncated",
        "vectors_restored",
        "errors",
        "seconds",
        "enrich",  # the second phase (here sentence vectors only; entities are off in tests)
    }
    assert out["articles_added"] == 1 and out["files_seen"] == 1
    assert out["enrich"]["sentences"]["articles"] == 1 and out["enrich"]["articles"] == 0
    stats = json.loads(cli("stats", "--index", str(index), "--json").stdout)
    assert {"articles", "chunks", "sources", "earliest", "latest", "embedding_model"} <= set(stats)
    # Every file failing is an error exit with a one-line reason naming the file.
    bad = tmp_path / "bad"
    (bad).mkdir()
    (bad / "empty.txt").write_bytes(b"")
    failed = cli("ingest", str(bad), "--index", str(index))
    assert failed.returncode == 1
    assert "empty.txt" in failed.stderr and "Traceback" not in failed.stderr
    # Some read, some skipped: a status of its own, each skip on stderr and in the JSON.
    write(bad / "b.txt", ARTICLE.replace("harbour", "river"))
    partial = cli("ingest", str(bad), "--index", str(index), "--json")
    assert partial.returncode == 4, partial.stderr
    report = json.loads(partial.stdout)
    assert report["articles_added"] == 1
    assert [e["path"] for e in report["errors"]] == [str(bad / "empty.txt")]
    assert partial.stderr.count("newsdesk: skipped") == 1
    missing = cli("stats", "--index", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "no Newsdesk index" in missing.stderr


def test_model_and_chunking_mismatch_are_clear_errors(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    write(folder / "a.txt", ARTICLE)
    ingest(make_settings(tmp_path / "index"), [str(folder)], embedder=embedder)
    with pytest.raises(ConfigError, match="chunk"):
        ingest(
            make_settings(tmp_path / "index", chunk_tokens=100), [str(folder)], embedder=embedder
        )
    from newsdesk.embedding import resolve_model_path

    copy = tmp_path / "my-minilm"
    shutil.copytree(resolve_model_path("all-MiniLM-L6-v2"), copy)
    with pytest.raises(EmbeddingModelMismatchError, match="my-minilm"):
        ingest(make_settings(tmp_path / "index", embedding_model=str(copy)), [str(folder)])


def test_foreign_directory_is_refused(tmp_path: Path, embedder) -> None:
    foreign = tmp_path / "photos"
    write(foreign / "holiday.jpg", "not an index")
    with pytest.raises(IndexCorruptError, match="not empty"):
        ingest(make_settings(foreign), [str(SAMPLE)], embedder=embedder)
    assert sorted(p.name for p in foreign.iterdir()) == ["holiday.jpg"]
    garbage = tmp_path / "garbage"
    write(garbage / "ledger.sqlite", "this is not sqlite" * 100)
    with pytest.raises(IndexCorruptError):
        ingest(make_settings(garbage), [str(SAMPLE)], embedder=embedder)


@pytest.mark.server
def test_chroma_server_mode_behaves_like_embedded(tmp_path: Path, embedder, chroma_server) -> None:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(tmp_path / "index", chroma_url=chroma_server.url)
    first = ingest(settings, [str(folder)], embedder=embedder)
    assert first.articles_added == 6
    assert not (tmp_path / "index" / "chroma").exists()  # vectors live on the server
    snap = snapshot(tmp_path / "index", chroma_url=chroma_server.url)
    assert_consistent(snap)
    again = ingest(settings, [str(folder)], embedder=embedder)
    assert again.articles_added == 0 and again.articles_unchanged == 6
    (folder / "local" / "library-reopens.txt").unlink()
    ingest(settings, [str(folder)], prune=True, embedder=embedder)
    assert_consistent(snapshot(tmp_path / "index", chroma_url=chroma_server.url))


def _kill_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    bbc = SHARED_DATA / "bbc"
    if bbc.is_dir():
        for cat in ("business", "tech"):
            for f in sorted((bbc / cat).glob("*.txt"))[:20]:
                write(folder / cat / f.name, f.read_text(encoding="utf-8"))
        # An exact duplicate, so the kill can land between a text and its alias.
        write(
            folder / "dupe" / "copy.txt",
            (folder / "tech" / sorted(p.name for p in (folder / "tech").iterdir())[0]).read_text(),
        )
    else:  # pragma: no cover - CI has ../shared
        shutil.copytree(SAMPLE, folder)
    return folder


def _start_ingest(folder: Path, index: Path) -> tuple[subprocess.Popen[bytes], float]:
    """`newsdesk ingest` in a child process with small batches; returns it once its ledger
    exists (model loaded, index created), with that moment."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsdesk.cli", "ingest", str(folder), "--index", str(index)],
        env={**os.environ, "NEWSDESK_INGEST_BATCH_CHUNKS": "24"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (index / "ledger.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, time.monotonic()


def _kill_9_and_rerun(
    folder: Path,
    tmp_path: Path,
    embedder,
    *,
    runs: int,
    killed_at_least: int,
    seed: int,
    code: int = 0,
) -> None:
    """`newsdesk ingest FOLDER` left alone (exiting `code`) is the reference; then `runs`
    more, each killed -9 at a random moment of its own slice of the reference's write phase
    (so even a few runs die early, midway and late), each run again in this process: every
    index must be consistent and hold what the reference holds."""
    # The reference's write phase sets the kill window, so the kills keep landing inside it
    # however fast ingest gets.
    reference = tmp_path / "reference"
    proc, started = _start_ingest(folder, reference)
    assert proc.wait(timeout=600) == code
    window = time.monotonic() - started
    expected = snapshot(reference)
    assert_consistent(expected)
    rng = random.Random(seed)
    outcomes = []
    for run in range(runs):
        index = tmp_path / f"run{run}"
        proc, _ = _start_ingest(folder, index)
        time.sleep(rng.uniform(run, run + 1) * 0.9 * window / runs)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        outcomes.append(killed)
        ingest(make_settings(index, ingest_batch_chunks=24), [str(folder)], embedder=embedder)
        got = snapshot(index)
        assert_consistent(got)
        assert got["articles"] == expected["articles"], f"run {run}"
        assert got["chunks"] == expected["chunks"], f"run {run}"
    assert sum(outcomes) >= killed_at_least, (
        f"too few runs were actually killed: {outcomes} (window {window:.1f}s)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("runs, killed_at_least", short_and_long((4, 3), (10, 7)))
def test_kill_9_at_random_moments_then_rerun_equals_uninterrupted(
    tmp_path: Path, embedder, runs: int, killed_at_least: int
) -> None:
    folder = _kill_corpus(tmp_path)
    _kill_9_and_rerun(
        folder, tmp_path, embedder, runs=runs, killed_at_least=killed_at_least, seed=20261127
    )


@pytest.mark.slow
def test_shared_archive_counts_and_noop_rerun(shared_index: Path, embedder) -> None:
    led = Ledger.open(shared_index, create=False)
    try:
        stats = led.stats()
        aliases = led.all_aliases()
    finally:
        led.close()
    assert stats.articles == 2128
    assert len(aliases) == 98 and len(set(aliases.values())) == 98
    again = ingest(make_settings(shared_index), [str(SHARED_DATA)], embedder=embedder)
    assert again.articles_added == 0 and again.articles_removed == 0
    assert again.chunks_added == 0 and again.articles_unchanged == 2128 + 98
    assert again.duplicates == 0 and not again.errors
