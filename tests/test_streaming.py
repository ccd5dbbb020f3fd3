"""Big record files are streamed: JSON Lines, CSV and web archives are read a line or a record
at a time, the size limit applies to each line or page rather than to the file, memory holds
one part whatever the file's size, and a file cut short keeps what was stored (no prune of
what the cut hid)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from helpers import SHARED_DATA, make_settings, open_ledger, short_and_long
from test_documents import WXR, warc_file
from test_loaders import ATOM, RSS, write

from newsdesk.core.errors import IngestError
from newsdesk.ingest.loaders import PART_ITEMS, Source, load, load_parts
from newsdesk.ingest.pipeline import ingest

BODY = "The harbour in the east of the town reopened after the storm, the council said."


def records(n: int, *, start: int = 0) -> list[str]:
    return [
        json.dumps({"id": f"r{i}", "title": f"Harbour news {i}", "text": f"{BODY} Day {i}."})
        for i in range(start, start + n)
    ]


def source(path: Path) -> Source:
    return Source(str(path), path.name, path)


def test_a_jsonl_file_over_the_file_limit_is_read_record_by_record(tmp_path: Path) -> None:
    lines = records(200)
    lines.insert(100, json.dumps({"id": "huge", "text": "x" * 5000}))  # one record too big
    path = write(tmp_path, "big.jsonl", "\n".join(lines) + "\n")
    assert path.stat().st_size > 4 * 4096
    articles, errors = load(source(path), max_file_bytes=4096)
    assert [a.doc_id for a in articles] == [f"r{i}" for i in range(200)]
    assert [(e.path, e.reason) for e in errors] == [
        (f"{path}#101", "line 101 is over the 4 KB limit")
    ]


def test_a_csv_file_over_the_file_limit_is_read_row_by_row(tmp_path: Path) -> None:
    rows = ["id,title,text"] + [f"c{i},Harbour {i},{BODY} Day {i}." for i in range(300)]
    rows.insert(51, f'big,Too big,"{"y" * 5000}"')
    path = write(tmp_path, "big.csv", "\n".join(rows) + "\n")
    articles, errors = load(source(path), max_file_bytes=4096)
    assert len(articles) == 300 and articles[-1].doc_id == "c299"
    assert [(e.path, e.reason) for e in errors] == [
        (f"{path}#52", "line 52: line 52 is over the 4 KB limit")
    ]


def test_an_unclosed_csv_quote_does_not_swallow_the_file(tmp_path: Path) -> None:
    rows = ["id,text", "a,The harbour reopened.", 'b,"An open quote never closed'] + [
        f"row {i} of a body that goes on" for i in range(400)
    ]
    path = write(tmp_path, "open.csv", "\n".join(rows) + "\n")
    articles, errors = load(source(path), max_file_bytes=2048)
    assert [a.doc_id for a in articles] == ["a"]
    assert len(errors) == 1 and errors[0].path == f"{path}#3"
    assert (
        "malformed CSV" in errors[0].reason and "field larger than field limit" in errors[0].reason
    )


def test_parts_are_bounded_and_ids_stay_unique_across_them(tmp_path: Path) -> None:
    lines = records(3 * PART_ITEMS + 7)
    lines.append(lines[5])  # the same id again, in a later part
    path = write(tmp_path, "many.jsonl", "\n".join(lines) + "\n")
    parts = list(load_parts(source(path)))
    assert len(parts) == 4
    assert all(len(a) + len(e) <= PART_ITEMS for a, e in parts)
    assert sum(len(a) for a, _ in parts) == 3 * PART_ITEMS + 7
    assert [e.reason for _, errs in parts for e in errs] == [
        "duplicate id 'r5' (the first one was kept)"
    ]


def test_reading_a_big_jsonl_file_holds_one_part(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    padding = "Harbour news from the east of the town. " * 100  # ~4 KB a record
    with path.open("w", encoding="utf-8") as handle:
        for i in range(6000):  # ~24 MB: over the 20 MB file limit
            handle.write(json.dumps({"id": f"e{i}", "text": f"{padding}{i}"}) + "\n")
    assert path.stat().st_size > 20 * 1024 * 1024
    tracemalloc.start()
    try:
        count = 0
        for articles, errors in load_parts(source(path)):
            assert errors == []
            count += len(articles)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert peak < 8 * 1024 * 1024  # a part (256 x ~8 KB of text and article) and the line


def test_a_utf16_jsonl_file_is_read_whole_within_the_file_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "u16.jsonl", ("\n".join(records(10)) + "\n").encode("utf-16"))
    assert path.stat().st_size > 1024
    assert [a.doc_id for a in load(source(path))[0]] == [f"r{i}" for i in range(10)]
    with pytest.raises(IngestError, match="over the 1 KB limit"):
        load(source(path), max_file_bytes=1024)


def test_an_empty_or_blank_record_file(tmp_path: Path) -> None:
    for name, content, reason in [
        ("e.jsonl", b"", "empty file"),
        ("w.jsonl", b"\n  \n\n", "empty file (only whitespace)"),
        ("e.csv", b"", "empty file"),
    ]:
        with pytest.raises(IngestError) as caught:
            load(source(write(tmp_path, name, content)))
        assert caught.value.reason == reason


def test_ingest_of_a_file_over_the_limit_is_complete_and_idempotent(
    tmp_path: Path, embedder
) -> None:
    path = write(tmp_path, "feed" / Path("export.jsonl"), "\n".join(records(2 * PART_ITEMS + 3)))
    settings = make_settings(tmp_path / "index", max_file_bytes=1024)
    first = ingest(settings, [str(path)], embedder=embedder)
    assert (first.articles_added, first.errors) == (2 * PART_ITEMS + 3, [])
    again = ingest(settings, [str(path)], prune=True, embedder=embedder)
    assert (again.articles_added, again.articles_unchanged, again.articles_removed) == (
        0,
        2 * PART_ITEMS + 3,
        0,
    )
    write(tmp_path, "feed/export.jsonl", "\n".join(records(PART_ITEMS, start=PART_ITEMS + 3)))
    pruned = ingest(settings, [str(path)], prune=True, embedder=embedder)
    assert pruned.articles_removed == PART_ITEMS + 3 and pruned.articles_unchanged == PART_ITEMS
    with open_ledger(tmp_path / "index") as ledger:
        assert len(ledger.all_article_hashes()) == PART_ITEMS


@pytest.mark.parametrize("share", [0.3, 0.5, 0.9])
def test_a_web_archive_cut_short_keeps_what_the_cut_hid(
    tmp_path: Path, embedder, share: float
) -> None:
    """Pages stored from the whole archive stay when a later copy of it is cut short: the
    cut file does not count as read, so --prune removes nothing of it."""
    path = warc_file(tmp_path / "crawl.warc.gz")
    settings = make_settings(tmp_path / "index")
    whole = ingest(settings, [str(path)], embedder=embedder)
    assert whole.articles_added == 2
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])  # mid-record, in a gzip member
    cut = ingest(settings, [str(path)], prune=True, embedder=embedder)
    assert cut.articles_removed == 0
    assert [e.reason.split(" (")[0] for e in cut.errors] == ["the archive is damaged or cut short"]
    with open_ledger(tmp_path / "index") as ledger:
        assert len(ledger.all_article_hashes()) == 2


# --------------------------------------------------------------------------- XML record files


@pytest.mark.parametrize(
    ("name", "fixture"), [("news.rss", RSS), ("a.atom", ATOM), ("wp.xml", WXR)]
)
def test_a_feed_over_the_limit_reads_as_the_whole_feed_does(
    tmp_path: Path, name: str, fixture: str
) -> None:
    path = write(tmp_path, name, fixture)
    whole = load(source(path))
    streamed = load(source(path), max_file_bytes=path.stat().st_size - 1)
    assert whole[0] and streamed[0] == whole[0]
    assert [(e.path, e.reason) for e in streamed[1]] == [(e.path, e.reason) for e in whole[1]]


def big_rss(path: Path, n: int, *, huge: int | None = None, cut: bool = False) -> Path:
    items = [
        f"<item><title>Harbour news {i}</title><guid>urn:h:{i}</guid>"
        f"<dc:creator>Sam Reporter</dc:creator><pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[<p>{BODY} Day {i}.</p>"
        f"{'<p>' + 'z' * 3000 + '</p>' if i == huge else ''}]]></content:encoded></item>"
        for i in range(n)
    ]
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Harbour Times</title>'
        + "\n".join(items)
        + "</channel></rss>"
    )
    if cut:
        data = data[: len(data) * 3 // 4]
    path.write_text(data, encoding="utf-8")
    return path


def test_a_big_feed_is_read_an_entry_at_a_time(tmp_path: Path) -> None:
    path = big_rss(tmp_path / "big.rss", 400, huge=7)
    articles, errors = load(source(path), max_file_bytes=2048)
    assert len(articles) == 399 and articles[0].doc_id == "urn:h:0"
    first = articles[0]
    assert (first.source, first.author, first.published) == (
        "Harbour Times",
        "Sam Reporter",
        "2024-03-04",
    )
    assert [(e.path, e.reason) for e in errors] == [(f"{path}#8", "entry 8 is over the 2 KB limit")]
    parts = list(load_parts(source(path), max_file_bytes=2048))
    assert len(parts) == 2 and all(len(a) + len(e) <= PART_ITEMS for a, e in parts)


def test_a_big_feed_cut_short_keeps_the_entries_before_the_cut(tmp_path: Path) -> None:
    path = big_rss(tmp_path / "cut.rss", 100, cut=True)
    articles, errors = load(source(path), max_file_bytes=1024)
    assert 50 < len(articles) < 100
    assert len(errors) == 1 and errors[0].reason.startswith(
        f"malformed XML after entry {len(articles)}"
    )


def test_a_big_feed_declaring_entities_is_refused(tmp_path: Path) -> None:
    path = big_rss(tmp_path / "e.rss", 50)
    data = path.read_text("utf-8").replace(
        "\n<rss", '\n<!DOCTYPE rss [<!ENTITY boom "boom">]>\n<rss', 1
    )
    path.write_text(data, "utf-8")
    with pytest.raises(IngestError) as caught:
        load(source(path), max_file_bytes=1024)
    assert "declares entities" in caught.value.reason


# --------------------------------------------------------------------------- kill -9


def _streaming_corpus(tmp_path: Path) -> Path:
    """A JSON Lines export, a web archive, a PDF and Word files."""
    from test_documents import word_file
    from test_pdf import pdf_bytes

    folder = tmp_path / "corpus"
    bbc = sorted((SHARED_DATA / "bbc" / "business").glob("*.txt"))[:100]
    lines = [
        json.dumps({"id": f"bbc-{p.stem}", "text": p.read_text("utf-8")}) for p in bbc
    ] or records(100)
    write(folder, "export.jsonl", "\n".join(lines) + "\n")
    warc_file(folder / "crawl.warc.gz")
    write(folder, "walls.pdf", pdf_bytes())
    write(folder, "note.docx", word_file(paragraphs=("The harbour reopened on Monday.",)))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("runs, killed_at_least", short_and_long((3, 2), (4, 3)))
def test_kill_9_while_streaming_formats_then_rerun_equals_uninterrupted(
    tmp_path: Path, embedder, runs: int, killed_at_least: int
) -> None:
    """A JSON Lines export read in parts, a web archive, a PDF and Word files: killed at
    random moments (early, midway, late), then run again, the index is the one an
    uninterrupted ingest makes (which stores all but the web archive's page of no text)."""
    from test_ingest import _kill_9_and_rerun

    _kill_9_and_rerun(
        _streaming_corpus(tmp_path),
        tmp_path,
        embedder,
        runs=runs,
        killed_at_least=killed_at_least,
        seed=20261204,
        code=4,
    )
