"""`newsdesk reindex`: a new index built from an old one's ledger (another chunking, another
embedding model) without reading the sources: the same doc_ids, origins, aliases and pages,
answers from the new index, and a later ingest of the same folders finding nothing to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import make_settings, open_ledger
from test_loaders import write
from test_pdf import pdf_bytes

from newsdesk.cli import main
from newsdesk.core.errors import (
    ConfigError,
    EmbeddingModelMismatchError,
    IndexNotFoundError,
    NewsdeskError,
)
from newsdesk.embedding import resolve_model_path
from newsdesk.embedding.models import BUNDLED_MODEL
from newsdesk.ingest.pipeline import ingest
from newsdesk.ingest.reindex import reindex

HARBOUR = (
    "Harbour reopens after storm\n\nThe harbour in the east of the town reopened on Monday "
    "after the storm, the council said. Fishing boats were back at sea by noon."
)
MARKET = (
    "Market moves to the square\n\nThe weekly market moves to the old square in May, the "
    "traders' association said, after a vote of its members."
)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    write(folder, "local/harbour.txt", HARBOUR)
    write(folder, "local/copy-of-harbour.txt", HARBOUR)  # a duplicate: an alias
    write(folder, "local/market.txt", MARKET)
    write(folder, "reports/walls.pdf", pdf_bytes())
    return folder


def table(index: Path) -> dict[str, tuple[str, str]]:
    """doc_id -> (origin, file), and the aliases, of an index."""
    with open_ledger(index) as ledger:
        rows = ledger._conn.execute("SELECT doc_id, origin, file FROM articles").fetchall()
        return {str(d): (str(o), str(f)) for d, o, f in rows}


def test_reindex_with_smaller_chunks_keeps_every_article(
    tmp_path: Path, archive: Path, embedder
) -> None:
    old = make_settings(tmp_path / "old")
    assert ingest(old, [str(archive)], embedder=embedder).errors == []
    new = make_settings(tmp_path / "new", chunk_tokens=48, chunk_overlap=8)
    report = reindex(old, new, embedder=embedder)
    assert (report.articles_added, report.duplicates, report.errors) == (3, 1, [])
    assert table(new.index) == table(old.index)
    with open_ledger(old.index) as a, open_ledger(new.index) as b:
        assert a.all_aliases() == b.all_aliases() and len(b.all_aliases()) == 1
        assert b.get_meta("chunking") == "48/8"
        assert b.stats().chunks > a.stats().chunks  # smaller chunks, more of them
        for doc_id in table(old.index):
            assert b.article(doc_id) == a.article(doc_id)  # text, metadata and pages
        assert b.article("reports/walls.pdf").pages == a.article("reports/walls.pdf").pages
    again = ingest(new, [str(archive)], prune=True, embedder=embedder)
    assert (again.articles_added, again.articles_updated, again.articles_removed) == (0, 0, 0)
    assert again.articles_unchanged + again.duplicates == 4


def test_reindex_with_another_model(tmp_path: Path, archive: Path, embedder) -> None:
    """The bundled weights copied under another name are another model to the index: the new
    index is built with it, and refuses the old one afterwards."""
    other = tmp_path / "models" / "minilm-copy"
    shutil.copytree(resolve_model_path(BUNDLED_MODEL), other)
    old = make_settings(tmp_path / "old")
    ingest(old, [str(archive)], embedder=embedder)
    new = make_settings(tmp_path / "new", embedding_model=str(other), embedding_backend="torch")
    report = reindex(old, new)
    assert report.articles_added == 3 and report.errors == []
    with open_ledger(new.index) as ledger:
        assert ledger.get_meta("embedding_model") == "minilm-copy"
    with pytest.raises(EmbeddingModelMismatchError, match="minilm-copy"):
        ingest(make_settings(new.index), [str(archive)], embedder=embedder)


def test_reindex_refuses_to_overwrite(tmp_path: Path, archive: Path, embedder) -> None:
    old = make_settings(tmp_path / "old")
    ingest(old, [str(archive)], embedder=embedder)
    with pytest.raises(ConfigError, match="is the index being read"):
        reindex(old, make_settings(tmp_path / "old"), embedder=embedder)
    other = make_settings(tmp_path / "other")
    ingest(other, [str(archive / "local")], embedder=embedder)
    with pytest.raises(ConfigError, match="already holds an index"):
        reindex(old, other, embedder=embedder)
    with pytest.raises(IndexNotFoundError):
        reindex(make_settings(tmp_path / "none"), make_settings(tmp_path / "x"), embedder=embedder)
    assert not (tmp_path / "x").exists()


def test_reindex_command(tmp_path: Path, archive: Path, embedder, capsys) -> None:
    old = make_settings(tmp_path / "old")
    ingest(old, [str(archive)], embedder=embedder)
    capsys.readouterr()
    argv = ["reindex", "--index", str(old.index), "--to", str(tmp_path / "new")]
    code = main([*argv, "--chunk-tokens", "64", "--no-enrich", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert report["articles_added"] == 3 and report["duplicates"] == 1
    code = main(["ask", "When did the harbour reopen?", "--index", str(tmp_path / "new"), "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["status"] == "answered"
    assert {c["doc_id"] for c in answer["citations"]} <= {
        "local/harbour.txt",
        "local/copy-of-harbour.txt",
    }
    code = main([*argv, "--chunk-tokens", "5"])  # under the smallest chunk
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "setting chunk_tokens" in err
    code = main([*argv, "--json"])  # --to exists now
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "already holds an index" in err


def test_uploaded_files_move_with_the_index(tmp_path: Path, archive: Path, embedder) -> None:
    """Files uploaded in the Sources tab live in the index: the new index holds copies, its
    articles' origins point at them, and every source keeps its last-ingest time."""
    from newsdesk.ingest.sources import add_files
    from newsdesk.store.origins import OriginTable

    old = make_settings(tmp_path / "old", enrich="none")
    ingest(old, [str(archive / "local")], embedder=embedder)
    upload = write(tmp_path / "desk", "ferry.txt", "Ferry returns\n\nThe ferry returned today.")
    list(add_files(old, [upload], embedder=embedder))
    new = make_settings(tmp_path / "new", enrich="none")
    reindex(old, new, embedder=embedder)
    moved = (tmp_path / "new" / "uploads" / "ferry.txt").resolve()
    assert moved.read_text("utf-8") == upload.read_text("utf-8")
    assert table(new.index)["ferry.txt"] == (str(moved), "ferry.txt")
    with open_ledger(old.index) as a, open_ledger(new.index) as b:
        before = OriginTable.of(a).times()
        after = OriginTable.of(b).times()
    assert len(after) == len(before) == 2 and after[str(moved)] in before.values()


def test_a_failed_reindex_leaves_no_index_behind(tmp_path: Path, archive: Path, embedder) -> None:
    old = make_settings(tmp_path / "old")
    ingest(old, [str(archive / "local")], embedder=embedder)
    missing = make_settings(tmp_path / "new", embedding_model=str(tmp_path / "no-such-model"))
    with pytest.raises(NewsdeskError):
        reindex(old, missing)
    assert not (tmp_path / "new").exists()  # so the same command can simply be run again
    assert reindex(old, make_settings(tmp_path / "new"), embedder=embedder).articles_added == 2
