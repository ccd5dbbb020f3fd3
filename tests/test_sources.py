"""Managing the archive's sources (`ingest.sources`, `store.origins`): the listing of each
source with its articles, dates and last ingest; uploads copied into the index and ingested
from there; a feed fetched from a loopback server; a source removed; and a running assistant
that finds what was added and stops citing what was removed, without a restart. Real index in
a temp dir, the real model."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_server import FEED_TITLES, feed_server
from helpers import SAMPLE, make_settings, open_ledger

from newsdesk.assistant import Assistant, build_assistant
from newsdesk.core.config import Settings
from newsdesk.core.errors import IngestError
from newsdesk.embedding import Embedder
from newsdesk.ingest import sources
from newsdesk.ingest.pipeline import ingest
from newsdesk.store import lexical
from newsdesk.store.origins import Origin, OriginTable
from newsdesk.ui import views

GLACIER = (
    "# Alpine glacier loses a tenth of its ice in one summer\n\n"
    "The Morteratsch glacier lost a tenth of its ice this summer, glaciologists said. "
    "Meltwater from the Alps filled the valley lakes, and the ice front retreated by "
    "forty metres.\n"
)
GLACIER_QUESTION = "How much ice did the Morteratsch glacier lose?"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def archive(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[Settings, Path, Assistant]]:
    """A private copy of the sample archive, ingested, and an assistant serving it:
    (settings, the archive folder, the assistant)."""
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(tmp_path / "index")
    assert not ingest(settings, [str(folder)], embedder=embedder).errors
    assistant = build_assistant(settings, embedder=embedder)
    try:
        yield settings, folder, assistant
    finally:
        assistant.close()


def run(steps: Iterator[sources.Step]) -> tuple[list[str], sources.Change]:
    """Every status line of a change, and what it did."""
    seen = list(steps)
    assert seen and all(s.change is None for s in seen[:-1])
    change = seen[-1].change
    assert change is not None
    return [s.message for s in seen], change


def by_kind(assistant: Assistant, kind: str) -> list[Origin]:
    return [o for o in assistant.archive.origins() if o.kind == kind]


def embedder_of(assistant: Assistant) -> Embedder:
    return assistant.searcher.embedder


def cited(assistant: Assistant, question: str) -> list[str]:
    return [c.passage.doc_id for c in assistant.ask(question).citations]


def test_the_listing_counts_dates_and_last_ingest_of_each_source(
    archive: tuple[Settings, Path, Assistant],
) -> None:
    settings, folder, assistant = archive
    [origin] = assistant.archive.origins()
    assert origin.origin == str(folder.resolve()) and origin.kind == "folder"
    assert origin.name == str(folder.resolve())
    assert (origin.articles, origin.first, origin.last) == (6, "2022-11-24", "2024-05-06")
    assert ISO_UTC.match(origin.ingested), origin.ingested  # written by the pipeline
    parts = {p.name: (p.articles, p.first, p.last) for p in origin.parts}
    assert parts == {
        "local/": (3, "2024-02-14", "2024-05-06"),
        "science/": (2, "2024-03-02", "2024-04-18"),
        "world/": (1, "2022-11-24", "2022-11-24"),
    }
    html = views.sources_html([origin])
    assert "2022-11-24 to 2024-05-06" in html and "3 folders" in html and ">6<" in html

    # A file and a URL are sources of their own kinds; an undated one says so.
    note = folder.parent / "note.txt"
    note.write_text("Parish notice\n\nThe parish hall roof will be mended in spring.\n")
    ingest(settings, [str(note)], embedder=assistant.searcher.embedder)
    listed = {o.origin: o for o in assistant.archive.origins()}
    single = listed[str(note.resolve())]
    assert (single.kind, single.articles, single.first, single.parts) == ("file", 1, "", ())
    assert views.dates_text(single.first, single.last) == "undated"
    assert views.ingested_text("") == "not recorded"
    assert views.ingested_text("2026-03-01T14:02:03Z") == "2026-03-01 14:02 UTC"


def test_an_index_from_before_ingest_times_lists_none(
    archive: tuple[Settings, Path, Assistant],
) -> None:
    settings, _, assistant = archive
    with open_ledger(Path(settings.index)) as ledger, ledger.transaction() as conn:
        conn.execute("DROP TABLE ingests")
    [origin] = assistant.archive.origins()
    assert origin.ingested == "" and origin.articles == 6
    with open_ledger(Path(settings.index)) as ledger, ledger.transaction():
        OriginTable.of(ledger).record([origin.origin], "2026-01-02T03:04:05Z")  # makes it again
    assert assistant.archive.origins()[0].ingested == "2026-01-02T03:04:05Z"


def test_an_upload_is_copied_into_the_index_and_the_chat_finds_it(
    archive: tuple[Settings, Path, Assistant], tmp_path: Path
) -> None:
    settings, _, assistant = archive
    assert "glacier notes.md" not in cited(assistant, GLACIER_QUESTION)
    browser_tmp = tmp_path / "gradio" / "abc123"
    browser_tmp.mkdir(parents=True)
    upload = browser_tmp / "glacier notes.md"
    upload.write_text(GLACIER, encoding="utf-8")
    (browser_tmp / "scan.bmp").write_bytes(b"BM\x00\x00")
    (browser_tmp / "empty.txt").write_text("")

    messages, change = run(
        sources.add_files(
            settings,
            [upload, browser_tmp / "scan.bmp", browser_tmp / "empty.txt"],
            embedder=assistant.searcher.embedder,
        )
    )
    assert messages[0].startswith("Copying 3 files") and any("Ingesting" in m for m in messages)
    assert (change.added, change.removed) == (1, 0)
    errors = {e.path: e.reason for e in change.errors}  # one line per bad file, by its name
    assert set(errors) == {"scan.bmp", "empty.txt"}
    assert errors["scan.bmp"].startswith("unsupported file type '.bmp'")
    assert "empty" in errors["empty.txt"]

    kept = sources.uploads_dir(settings)
    assert kept == Path(settings.index).resolve() / "uploads"
    assert sorted(p.name for p in kept.iterdir()) == ["glacier notes.md"]  # failures not kept
    shutil.rmtree(browser_tmp)  # the browser's copy goes; the archive does not need it
    [up] = by_kind(assistant, "upload")
    assert (up.name, up.articles, up.origin) == ("glacier notes.md", 1, str(kept / up.name))
    assert ISO_UTC.match(up.ingested)
    assert assistant.article("glacier notes.md") is not None  # the doc_id is its name
    # the running assistant answers from it at once: no restart
    assert cited(assistant, GLACIER_QUESTION)[0] == "glacier notes.md"

    # A later prune of it (a re-ingest of the uploads) loses nothing.
    report = ingest(settings, [up.origin], prune=True, embedder=embedder_of(assistant))
    assert report.articles_unchanged == 1 and report.articles_removed == 0


def test_a_re_upload_updates_its_article_and_a_bad_one_keeps_the_old(
    archive: tuple[Settings, Path, Assistant], tmp_path: Path
) -> None:
    settings, _, assistant = archive
    upload = tmp_path / "glacier.md"
    upload.write_text(GLACIER, encoding="utf-8")
    run(sources.add_files(settings, [upload], embedder=embedder_of(assistant)))
    upload.write_text(GLACIER.replace("forty", "sixty"), encoding="utf-8")
    _, change = run(sources.add_files(settings, [upload], embedder=embedder_of(assistant)))
    assert (change.added, change.updated) == (0, 1)
    article = assistant.article("glacier.md")
    assert article is not None and "sixty metres" in article.text

    upload.write_bytes(b"\xff\xfe\x00not text at all")  # unreadable: the stored one stays
    _, change = run(sources.add_files(settings, [upload], embedder=embedder_of(assistant)))
    assert change.updated == 0 and [e.path for e in change.errors] == ["glacier.md"]
    kept = sources.uploads_dir(settings) / "glacier.md"
    assert "sixty metres" in kept.read_text(encoding="utf-8")  # the previous copy is back
    assert sorted(p.name for p in kept.parent.iterdir()) == ["glacier.md"]  # no leftovers
    assert "sixty metres" in (assistant.article("glacier.md") or article).text


def test_an_upload_named_like_an_article_of_another_source_is_refused(
    archive: tuple[Settings, Path, Assistant], tmp_path: Path
) -> None:
    settings, folder, assistant = archive
    (folder / "top.txt").write_text("Top story\n\nThe town's clock tower was repaired.\n")
    ingest(settings, [str(folder)], embedder=embedder_of(assistant))
    clash = tmp_path / "top.txt"
    clash.write_text("Another story\n\nThe bakery on the square closed.\n")
    _, change = run(sources.add_files(settings, [clash], embedder=embedder_of(assistant)))
    assert change.added == 0 and len(change.errors) == 1
    assert "already in the archive" in change.errors[0].reason
    article = assistant.article("top.txt")
    assert article is not None and "clock tower" in article.text
    assert sources.upload_name("../../etc/.passwd") == "passwd"
    assert sources.upload_name("a<b>|c.md") == "a_b_c.md"
    messages, change = run(sources.add_files(settings, []))
    assert messages == ["No files to add: choose some first."] and change == sources.Change()


def test_removing_an_upload_takes_it_out_of_the_index_and_out_of_answers(
    archive: tuple[Settings, Path, Assistant], tmp_path: Path
) -> None:
    settings, folder, assistant = archive
    upload = tmp_path / "glacier.md"
    upload.write_text(GLACIER, encoding="utf-8")
    run(sources.add_files(settings, [upload], embedder=embedder_of(assistant)))
    assert cited(assistant, GLACIER_QUESTION)[0] == "glacier.md"
    [up] = by_kind(assistant, "upload")
    chunks_before = assistant.stats().chunks

    messages, change = run(sources.remove_source(settings, up.origin))
    assert messages[0] == "Removing 1 article\u2026" and change.removed == 1
    assert not change.errors
    assert by_kind(assistant, "upload") == [] and assistant.article("glacier.md") is None
    assert not Path(up.origin).exists()  # the upload's copy goes with it
    assert "glacier.md" not in cited(assistant, GLACIER_QUESTION)  # no restart
    assert assistant.stats().chunks < chunks_before
    with open_ledger(Path(settings.index)) as ledger:
        assert lexical.stamp(Path(settings.index)) == ledger.generation  # BM25 rebuilt
        assert ledger.read_generation == ledger.generation  # the sentence reader still reads
        times = ledger._conn.execute("SELECT origin FROM ingests").fetchall()
        assert [str(o) for (o,) in times] == [str(folder.resolve())]
    assert assistant.index_warning() is None  # every ledger chunk has its vector, no more


def test_removing_a_folder_source_leaves_its_files_alone(
    archive: tuple[Settings, Path, Assistant],
) -> None:
    settings, folder, assistant = archive
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    _, change = run(sources.remove_source(settings, str(folder.resolve())))
    assert change.removed == 6
    assert assistant.archive.origins() == [] and assistant.stats().articles == 0
    assert sorted(p for p in folder.rglob("*") if p.is_file()) == files
    assert assistant.ask("What did Russia demand of Ukraine?").citations == ()
    with pytest.raises(IngestError, match="no such source"):
        run(sources.remove_source(settings, str(folder.resolve())))


def test_a_feed_url_is_fetched_with_the_loaders_and_listed(
    archive: tuple[Settings, Path, Assistant],
) -> None:
    settings, _, assistant = archive
    with feed_server() as url:
        messages, change = run(sources.add_feed(settings, url, embedder=embedder_of(assistant)))
        assert messages[0] == f"Fetching {url}\u2026"
        assert change.added == 2 and not change.errors
        [feed] = by_kind(assistant, "url")
        assert (feed.origin, feed.articles) == (url, 2)
        assert (feed.first, feed.last) == ("2024-06-04", "2024-06-05")
        stored = [assistant.article(d) for d in ("valley-ferry-refit", "orchard-harvest")]
        assert {a.title for a in stored if a is not None} == set(FEED_TITLES)
        assert cited(assistant, "When do the Valley ferry crossings resume?")[0] == (
            "valley-ferry-refit"
        )
        _, again = run(sources.add_feed(settings, url, embedder=embedder_of(assistant)))
        assert (again.added, again.unchanged) == (0, 2)
        missing = url.replace("rss.xml", "gone.xml")
        _, failed = run(sources.add_feed(settings, missing, embedder=embedder_of(assistant)))
        assert failed.added == 0 and [e.reason for e in failed.errors] == ["HTTP 404 Not Found"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("ftp://example.org/feed.xml", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("https://exa mple.org/rss", "no spaces"),
        ("https:///rss.xml", "no host"),
        ("http://example.org:port/rss", "not a URL"),
        ("https://example.org/" + "a" * 2100, "longer than"),
    ],
)
def test_a_bad_feed_url_is_refused_before_anything_is_fetched(url: str, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        sources.check_feed_url(url)
    assert sources.check_feed_url("  https://example.org/rss.xml ") == "https://example.org/rss.xml"


def test_the_listing_escapes_what_it_shows() -> None:
    hostile = Origin("/srv/<script>x</script>", "folder", 1, "", "", "", ())
    html = views.sources_html([hostile])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert views.sources_html([]).count("no articles yet") == 1


def test_status_lines_say_each_error_on_a_line() -> None:
    html = views.status_html("1 article added", ["a.bmp: unsupported", "b.txt: empty <file>"])
    assert html.count("<li") == 2 and "&lt;file&gt;" in html and "nd-failed" in html
    assert "nd-working" in views.status_html("Ingesting\u2026", working=True)
