"""Loaders: every input format, doc ids, metadata, bad inputs, URLs on a loopback server."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.loaders import SUPPORTED_SUFFIXES, Source, discover, load

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def load_all(*args: str | Path, **limits: float) -> tuple[list[Article], list[IngestError]]:
    """discover + load everything, collecting whole-file errors like the pipeline does."""
    sources, errors = discover([str(a) for a in args])
    articles: list[Article] = []
    for source in sources:
        try:
            found, record_errors = load(source, **limits)  # type: ignore[arg-type]
        except IngestError as exc:
            errors.append(exc)
            continue
        articles.extend(found)
        errors.extend(record_errors)
    return articles, errors


def load_file(path: Path, **limits: float) -> Article:
    sources, errors = discover([str(path)])
    assert not errors and len(sources) == 1
    articles, errors = load(sources[0], **limits)  # type: ignore[arg-type]
    assert not errors and len(articles) == 1
    return articles[0]


def reason_of(path: Path, **limits: float) -> str:
    with pytest.raises(IngestError) as caught:
        load(Source(origin=str(path), rel=path.name, path=path), **limits)  # type: ignore[arg-type]
    assert caught.value.path == str(path)
    return caught.value.reason


# --------------------------------------------------------------------------- text and markdown


def test_txt_headline_and_verbatim_body(tmp_path: Path) -> None:
    body = "First paragraph,  with  spaces.\n\n\tSecond paragraph.\n"
    path = write(tmp_path, "story.txt", f"\ufeff\r\n  Big News Today  \r\n\r\n{body}\r\n\r\n")
    article = load_file(path)
    assert article.doc_id == "story.txt"
    assert article.title == "Big News Today"
    assert article.text == body.strip()
    assert (article.source, article.category, article.published) == ("", "", "")


def test_text_is_nfc_normalised_and_lone_cr_is_a_newline(tmp_path: Path) -> None:
    decomposed = "Cafe\u0301 owners\rsay prices rose.\rMore text."
    article = load_file(write(tmp_path, "a.txt", f"Title\r{decomposed}"))
    assert article.text == unicodedata.normalize("NFC", decomposed).replace("\r", "\n")
    assert "Café" in article.text


def test_markdown_heading_is_the_title(tmp_path: Path) -> None:
    article = load_file(
        write(tmp_path, "post.md", "## Markets rally ##\n\nStocks rose *sharply*.\n")
    )
    assert article.title == "Markets rally"
    assert article.text == "Stocks rose *sharply*."


def test_front_matter(tmp_path: Path) -> None:
    text = (
        "---\n"
        'title: "Oil hits \x07record"\n'
        "source: Reuters\n"
        "date: 1 March 2005\n"
        "url: https://example.com/oil\n"
        "category: energy\n"
        "author: Jane Doe\n"
        "tags:\n"
        "  - oil\n"
        "---\n\n"
        "Oil prices rose again.\n\nTraders said so.\n"
    )
    article = load_file(write(tmp_path, "x/y/z/oil.md", text))
    assert article.title == "Oil hits record"
    assert article.text == "Oil prices rose again.\n\nTraders said so."
    assert article.source == "Reuters"
    assert article.published == "2005-03-01"
    assert article.url == "https://example.com/oil"
    assert article.category == "energy"
    assert article.author == "Jane Doe"


def test_front_matter_without_title_uses_first_line_and_published_key(tmp_path: Path) -> None:
    text = "---\npublished: 2021-06-30T23:59:00-05:00\n---\nHeadline\nBody here.\n"
    article = load_file(write(tmp_path, "a.txt", text))
    assert (article.title, article.text, article.published) == (
        "Headline",
        "Body here.",
        "2021-06-30",
    )


def test_a_rule_is_not_front_matter(tmp_path: Path) -> None:
    text = "---\nThis opening line is prose, not a key.\n---\nMore prose follows here.\n"
    article = load_file(write(tmp_path, "a.md", text))
    assert article.title == "---"
    assert article.text.startswith("This opening line is prose")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2005-03-01", "2005-03-01"),
        ("Tue, 01 Mar 2005 10:00:00 GMT", "2005-03-01"),
        ("March 1, 2005", "2005-03-01"),
        ("2005-02-30", ""),
        ("March 5", ""),
        ("yesterday", ""),
        ("3 days ago", ""),
        ("not a date", ""),
    ],
)
def test_published_dates_are_never_guessed(tmp_path: Path, value: str, expected: str) -> None:
    article = load_file(write(tmp_path, "a.txt", f"---\ndate: {value}\n---\nTitle\nBody.\n"))
    assert article.published == expected


def test_long_first_line_is_body_and_title_is_its_first_sentence(tmp_path: Path) -> None:
    first = "Ministers agreed a plan on Monday. " + "More words follow in this paragraph. " * 20
    article = load_file(write(tmp_path, "a.txt", first + "\n\nSecond paragraph.\n"))
    assert article.title == "Ministers agreed a plan on Monday."
    assert article.text.startswith("Ministers agreed")


def test_ten_megabyte_single_line_loads(tmp_path: Path) -> None:
    line = ("word " * 2_000_000).strip()
    path = write(tmp_path, "huge.txt", line)
    started = time.perf_counter()
    article = load_file(path)
    assert time.perf_counter() - started < 10
    assert article.text == line
    assert 0 < len(article.title) <= 120


# --------------------------------------------------------------------------- discovery, doc ids


def test_folder_argument_rel_ids_and_derived_metadata(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    write(root, "bbc/business/001.txt", "Profits up\n\nBody one.\n")
    write(root, "bbc/business/002.txt", "Profits down\n\nBody two.\n")
    write(root, "notes/003.txt", "Note\n\nBody three.\n")
    write(root, "top.txt", "Top\n\nBody four.\n")
    write(root, ".hidden/004.txt", "Hidden\n\nNo.\n")
    write(root, "bbc/.DS_Store", b"\x00\x01")
    write(root, "bbc/photo.jpg", b"\xff\xd8\xff")
    sources, errors = discover([str(root)])
    assert errors == []
    assert [s.rel for s in sources] == [
        "bbc/business/001.txt",
        "bbc/business/002.txt",
        "notes/003.txt",
        "top.txt",
    ]
    assert {s.origin for s in sources} == {str(root.resolve())}
    articles = {a.doc_id: a for a in load_all(root)[0]}
    assert (articles["bbc/business/001.txt"].source, articles["bbc/business/001.txt"].category) == (
        "bbc",
        "business",
    )
    assert (articles["notes/003.txt"].source, articles["notes/003.txt"].category) == ("", "notes")
    assert (articles["top.txt"].source, articles["top.txt"].category) == ("", "")


def test_file_argument_rel_is_the_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "deep/er/story.txt", "T\n\nBody.\n")
    monkeypatch.chdir(tmp_path)
    sources, errors = discover(["deep/er/story.txt"])
    assert errors == []
    assert sources == [
        Source(
            origin=str((tmp_path / "deep/er/story.txt").resolve()),
            rel="story.txt",
            path=(tmp_path / "deep/er/story.txt").resolve(),
        )
    ]
    assert load(sources[0])[0][0].category == ""


def test_discover_reports_bad_arguments(tmp_path: Path) -> None:
    write(tmp_path, "report.pages", b"PK\x03\x04")  # an Apple Pages file
    sources, errors = discover(
        [str(tmp_path / "missing"), "ftp://example.com/a.txt", str(tmp_path / "report.pages")]
    )
    assert sources == []
    reasons = [e.reason for e in errors]
    assert reasons[0] == "no such file or folder"
    assert "unsupported URL scheme 'ftp'" in reasons[1]
    assert "unsupported file type '.pages'" in reasons[2]
    assert errors[0].path == str(tmp_path / "missing")


def test_supported_suffixes() -> None:
    assert {".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".csv", ".xml", ".rss", ".atom"} <= (
        SUPPORTED_SUFFIXES
    )
    assert ".urls" in SUPPORTED_SUFFIXES


# --------------------------------------------------------------------------- records


def test_json_array_doc_ids_field_aliases_and_html_bodies(tmp_path: Path) -> None:
    records = [
        {
            "id": 42,
            "headline": "With id",
            "body": "<p>First <b>para</b>.</p><p>Second &amp; last.</p>",
        },
        {
            "link": "https://e.com/a",
            "title": "With url",
            "content": "Plain text.",
            "pubDate": "Tue, 01 Mar 2005 10:00:00 GMT",
        },
        {
            "Title": "Neither",
            "Article": "Text\u0007 here.",
            "Publisher": {"name": "The Times"},
            "byline": ["A. One", "B. Two"],
            "section": "World",
            "published_at": "2019-12-31",
        },
    ]
    path = write(tmp_path, "feeds/items.json", json.dumps(records))
    articles, errors = load_all(tmp_path)
    assert errors == []
    by_id = {a.doc_id: a for a in articles}
    assert set(by_id) == {"42", "https://e.com/a", "feeds/items.json#2"}
    assert by_id["42"].title == "With id"
    assert by_id["42"].text == "First para.\n\nSecond & last."
    assert by_id["42"].category == "feeds"  # from the folder
    assert by_id["https://e.com/a"].url == "https://e.com/a"
    assert by_id["https://e.com/a"].published == "2005-03-01"
    third = by_id["feeds/items.json#2"]
    assert (third.title, third.text) == ("Neither", "Text here.")
    assert (third.source, third.author, third.category, third.published) == (
        "The Times",
        "A. One, B. Two",
        "World",
        "2019-12-31",
    )
    assert path.exists()


def test_json_object_and_articles_wrapper(tmp_path: Path) -> None:
    write(tmp_path, "one.json", json.dumps({"title": "Solo", "text": "Only one."}))
    write(tmp_path, "many.json", json.dumps({"articles": [{"title": "A", "text": "a."}]}))
    articles, errors = load_all(tmp_path)
    assert errors == []
    assert sorted(a.doc_id for a in articles) == ["many.json#0", "one.json"]


def test_json_record_errors_keep_the_good_records(tmp_path: Path) -> None:
    path = write(tmp_path, "r.json", json.dumps([{"text": "ok"}, {"title": "no text"}, "str"]))
    articles, errors = load(Source(str(path), "r.json", path))
    assert [a.doc_id for a in articles] == ["r.json#0"]
    assert [e.path for e in errors] == [f"{path}#1", f"{path}#2"]
    assert "record has no text" in errors[0].reason
    assert "expected a JSON object, found a string" in errors[1].reason


def test_json_whole_file_problems(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.json", '[\n{"text": "a"},\n{"text": oops}\n]')
    assert reason_of(bad).startswith("malformed JSON on line 3: ")
    deep = write(tmp_path, "deep.json", "[" * 200_000 + "]" * 200_000)
    assert reason_of(deep) == "JSON is nested too deeply to read"
    scalar = write(tmp_path, "n.json", "42")
    assert "found a number" in reason_of(scalar)
    empty = write(tmp_path, "e.json", "[]")
    assert "no records" in reason_of(empty)


def test_jsonl_lines_errors_and_huge_field(tmp_path: Path) -> None:
    huge = "x" * 1_000_000
    lines = [
        json.dumps({"title": "First", "text": "One."}),
        '{"title": "broken", ',
        "",
        json.dumps({"id": "abc", "text": huge}),
        "[" * 100_000,
        json.dumps({"title": "no text"}),
    ]
    path = write(tmp_path, "d.jsonl", "\n".join(lines) + "\n")
    articles, errors = load(Source(str(path), "d.jsonl", path))
    assert [a.doc_id for a in articles] == ["d.jsonl#1", "abc"]
    assert articles[1].text == huge
    assert [e.path for e in errors] == [f"{path}#2", f"{path}#5", f"{path}#6"]
    assert errors[0].reason.startswith("malformed JSON on line 2")
    assert "nested too deeply" in errors[1].reason


def test_jsonl_with_no_json_at_all_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "prose.jsonl", "This is not JSON.\nNor is this.\n")
    assert reason_of(path).startswith("not JSON Lines: malformed JSON on line 1")


def test_csv_rows_line_ids_and_huge_field(tmp_path: Path) -> None:
    huge = "y" * 1_000_000
    content = (
        "id,Title,Text,Date,Source\n"
        ',"Multi\nline",Body one,2005-03-01,BBC\n'
        f"r2,Second,{huge},,\n"
        ",,,,\n"
        ",No text,,,\n"
        ",Last,<p>Html <i>body</i></p>,,\n"
    )
    path = write(tmp_path, "bbc/t.csv", content)
    articles, errors = load(Source(str(tmp_path), "bbc/t.csv", path))
    assert [a.doc_id for a in articles] == ["bbc/t.csv#2", "r2", "bbc/t.csv#7"]
    assert articles[0].title == "Multi line"
    assert (articles[0].published, articles[0].source, articles[0].category) == (
        "2005-03-01",
        "BBC",
        "bbc",
    )
    assert articles[1].text == huge
    assert articles[2].text == "Html body"
    assert [e.path for e in errors] == [f"{path}#6"]


def test_csv_without_a_text_column(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "name,value\na,1\n")
    assert reason_of(path).startswith("no text column (expected one of text, body")


# --------------------------------------------------------------------------- feeds

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Example News</title><link>https://news.example/</link>
<item><title>Rates rise</title><link>https://news.example/rates</link>
<guid>urn:news:1</guid><pubDate>Tue, 01 Mar 2005 10:00:00 GMT</pubDate>
<category>business</category>
<description>&lt;p&gt;The bank &lt;b&gt;raised&lt;/b&gt; rates.&lt;/p&gt;
&lt;script&gt;x()&lt;/script&gt;</description>
</item>
<item><title>Only a link</title><link>https://news.example/link</link>
<description>Plain summary.</description></item>
<item><title>No id</title><description>Anonymous entry.</description></item>
<item><title>Empty</title></item>
</channel></rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Times</title>
<entry><title>Storm hits coast</title><id>tag:atom.example,2021:1</id>
<link href="https://atom.example/storm"/><updated>2021-06-30T23:59:00-05:00</updated>
<author><name>Sam Reporter</name></author>
<summary>Short.</summary>
<content type="html">&lt;p&gt;A storm hit the coast on Wednesday.&lt;/p&gt;
&lt;p&gt;Many homes lost power.&lt;/p&gt;</content>
</entry></feed>
"""


def test_rss_feed(tmp_path: Path) -> None:
    path = write(tmp_path, "news.rss", RSS)
    articles, errors = load(Source(str(path), "news.rss", path))
    assert [a.doc_id for a in articles] == ["urn:news:1", "https://news.example/link", "news.rss#3"]
    first = articles[0]
    assert first.title == "Rates rise"
    assert first.text == "The bank raised rates."
    assert (first.published, first.source, first.category, first.url) == (
        "2005-03-01",
        "Example News",
        "business",
        "https://news.example/rates",
    )
    assert [e.path for e in errors] == [f"{path}#4"]


def test_atom_feed_and_sniffed_feed_in_html_file(tmp_path: Path) -> None:
    for name in ("a.atom", "saved.html"):
        path = write(tmp_path, name, ATOM)
        articles, errors = load(Source(str(path), name, path))
        assert errors == []
        (article,) = articles
        assert article.doc_id == "tag:atom.example,2021:1"
        assert article.text == "A storm hit the coast on Wednesday.\n\nMany homes lost power."
        assert (article.published, article.author, article.source) == (
            "2021-06-30",
            "Sam Reporter",
            "Atom Times",
        )


def test_xml_that_is_not_a_feed(tmp_path: Path) -> None:
    path = write(tmp_path, "data.xml", "<?xml version='1.0'?><config><a>1</a></config>")
    assert reason_of(path).startswith("not an RSS or Atom feed")


# --------------------------------------------------------------------------- HTML

ARTICLE_HTML = """<!DOCTYPE html>
<html><head><title>Flood defences fail | Daily Planet</title>
<meta property="og:site_name" content="Daily Planet">
<meta property="article:published_time" content="2023-04-05T08:00:00Z">
<script>var tracking = "SECRET-TRACKER";</script><style>body {color: red}</style></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World NAVLINK</a></li></ul></nav>
<article>
<h1>Flood defences fail</h1>
<p>Flood defences along the river failed on Tuesday night, forcing hundreds of residents
from their homes as water levels rose faster than forecast by the agency.</p>
<p>Engineers said the barriers had been scheduled for repair next spring, and the council
promised an inquiry into why the work had been delayed for so long.</p>
<p>Residents described chaotic scenes as emergency crews worked through the night to
reinforce the remaining sections with sandbags and temporary pumps.</p>
</article>
<footer>Copyright FOOTERTEXT 2023. All rights reserved.</footer>
<script>document.write("SCRIPTTEXT")</script>
</body></html>
"""


def assert_clean_article_page(article: Article) -> None:
    assert article.title == "Flood defences fail"
    assert article.text.startswith("Flood defences along the river failed")
    assert "Engineers said" in article.text and "sandbags" in article.text
    for junk in ("SECRET-TRACKER", "SCRIPTTEXT", "NAVLINK", "FOOTERTEXT", "color: red"):
        assert junk not in article.text
    assert article.published == "2023-04-05"
    assert article.source == "Daily Planet"


def test_html_file(tmp_path: Path) -> None:
    article = load_file(write(tmp_path, "world/page.html", ARTICLE_HTML))
    assert article.doc_id == "page.html"
    assert_clean_article_page(article)


def test_html_declared_charset_and_undeclared_latin1(tmp_path: Path) -> None:
    page = ARTICLE_HTML.replace("<head>", '<head><meta charset="iso-8859-1">')
    page = page.replace("Engineers said", "Ingénieurs said")
    article = load_file(write(tmp_path, "latin.htm", page.encode("iso-8859-1")))
    assert "Ingénieurs said" in article.text
    raw = ARTICLE_HTML.replace("Engineers", "Ingénieurs").encode("iso-8859-1")
    assert "not valid UTF-8 text (byte 0xe9" in reason_of(write(tmp_path, "bad.html", raw))


def test_html_without_text(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.html", "<html><head><title>x</title></head><body></body></html>")
    assert reason_of(path) == "no article text found in the HTML page"


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\r\n  ", "empty file (only whitespace)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content (NUL bytes) in a text file"),
        (
            bytes(range(1, 9)) * 50 + b"text",
            "binary content (99% control characters) in a text file",
        ),  # noqa: E501
        (b"Title\n\nCaf\xe9 society", "not valid UTF-8 text (byte 0xe9 at offset 10)"),
        (b"\xef\xbb\xbfTitle\n\xff", "not valid UTF-8 text (byte 0xff at offset 9)"),
        (b"Just a headline\n\n", "no body text (only a title line)"),
        (b"---\ntitle: Lonely\n---\n\n", "no body text (only front matter)"),
    ],
)
def test_bad_text_files(tmp_path: Path, content: bytes, reason: str) -> None:
    assert reason_of(write(tmp_path, "bad.txt", content)) == reason


def test_utf16_with_bom_is_text(tmp_path: Path) -> None:
    article = load_file(write(tmp_path, "u16.txt", "Título\n\nCuerpo.".encode("utf-16")))
    assert (article.title, article.text) == ("Título", "Cuerpo.")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as handle:  # sparse: no 52 MB written to disk
        handle.truncate(int(52.3 * 1024 * 1024))
    assert reason_of(path) == "file is 52.3 MB, over the 20 MB limit"
    small = write(tmp_path, "small.txt", "Title\n\n" + "x" * 2000)
    assert reason_of(small, max_file_bytes=1024) == "file is 2 KB, over the 1 KB limit"


def test_folder_and_fifo_named_txt(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert reason_of(folder) == "is a folder, not a file"
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert reason_of(fifo) == "not a regular file (a pipe, socket or device)"  # and no hang
    assert reason_of(tmp_path / "gone.txt") == "no such file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.txt", "Title\n\nBody.")
    path.chmod(0)
    try:
        assert reason_of(path) == "cannot read: permission denied"
    finally:
        path.chmod(0o644)


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"id": "1", "text": "a"}\n{"id": "1", "text": "b"}\n')
    articles, errors = load(Source(str(path), "d.jsonl", path))
    assert [a.text for a in articles] == ["a"]
    assert errors[0].reason == "duplicate id '1' (the first one was kept)"


# --------------------------------------------------------------------------- the shared archive


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "bbc").is_dir(), reason="the shared BBC archive is not here")
def test_whole_bbc_archive_loads_one_article_per_file() -> None:
    sources, errors = discover([str(SHARED)])
    bbc = [s for s in sources if s.rel.startswith("bbc/")]
    assert errors == [] and len(bbc) == 2225
    categories = set()
    for source in bbc:
        articles, record_errors = load(source)
        assert record_errors == [] and len(articles) == 1, source.rel
        (article,) = articles
        assert article.doc_id == source.rel and article.title and article.text
        assert article.source == "bbc"
        categories.add(article.category)
    assert categories == {"business", "entertainment", "politics", "sport", "tech"}


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "seed").is_dir(), reason="the shared seed article is not here")
def test_seed_article() -> None:
    (article,), errors = load_all(SHARED / "seed")
    assert errors == []
    title = "Russia Now Urges Kyiv To Enter Peace Talks: 'Everything Is Up To Ukraine'"
    assert article.title == title
    assert article.text.startswith("KEY POINTS")


# --------------------------------------------------------------------------- URLs

BIG = b"<html><body><p>" + b"big " * 400_000 + b"</p></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, body: bytes, content_type: str, status: int = 200, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/article":
            self._send(ARTICLE_HTML.encode(), "text/html; charset=utf-8")
        elif self.path == "/plain":
            self._send(b"Plain headline\r\n\r\nPlain body.", "text/plain")
        elif self.path == "/feed":
            self._send(RSS.encode(), "application/rss+xml")
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/article")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(1.5)
            self._send(ARTICLE_HTML.encode(), "text/html")
        elif self.path == "/big":
            self._send(BIG, "text/html")
        elif self.path == "/big-unannounced":
            self.close_connection = True
            self._send(BIG, "text/html", length=False)
        elif self.path == "/image":
            self._send(b"\x89PNG\r\n", "image/png")
        else:
            self._send(b"not here", "text/plain", status=404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up early (timeouts, size limits) break the pipe


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def load_url(url: str, **limits: float) -> list[Article]:
    (source,), errors = discover([url])
    assert errors == [] and source == Source(origin=url, rel=url, url=url)
    articles, record_errors = load(source, **limits)  # type: ignore[arg-type]
    assert record_errors == []
    return articles


def url_reason(url: str, **limits: float) -> str:
    with pytest.raises(IngestError) as caught:
        load(Source(origin=url, rel=url, url=url), **limits)  # type: ignore[arg-type]
    assert caught.value.path == url
    return caught.value.reason


def test_url_html_page_drops_boilerplate(server: str) -> None:
    (article,) = load_url(f"{server}/article")
    assert article.doc_id == f"{server}/article"
    assert_clean_article_page(article)
    assert (article.category, article.url) == ("", f"{server}/article")


def test_url_redirect_plain_text_and_feed(server: str) -> None:
    (moved,) = load_url(f"{server}/moved")
    assert moved.doc_id == f"{server}/moved" and moved.url == f"{server}/article"
    (plain,) = load_url(f"{server}/plain")
    assert (plain.title, plain.text, plain.source, plain.category) == (
        "Plain headline",
        "Plain body.",
        "",
        "",
    )
    feed = f"{server}/feed"
    articles, errors = load(Source(origin=feed, rel=feed, url=feed))
    assert [a.doc_id for a in articles] == ["urn:news:1", "https://news.example/link", f"{feed}#3"]
    assert [e.path for e in errors] == [f"{feed}#4"]


def test_url_list_file(tmp_path: Path, server: str) -> None:
    path = write(
        tmp_path,
        "reading.urls",
        f"# today's reading\n\n{server}/article\n  {server}/plain  \nfile:///etc/passwd\n",
    )
    sources, errors = discover([str(path)])
    assert [s.url for s in sources] == [f"{server}/article", f"{server}/plain"]
    assert all(s.path is None and s.rel == s.url == s.origin for s in sources)
    assert [e.path for e in errors] == [f"{path.resolve()}#5"]
    assert errors[0].reason == "not an http(s) URL: file:///etc/passwd"
    assert [len(load(s)[0]) for s in sources] == [1, 1]
    in_folder, _ = discover([str(tmp_path)])
    assert in_folder == sources
    write(tmp_path, "empty.urls", "# nothing yet\n")
    assert [e.reason for e in discover([str(tmp_path / "empty.urls")])[1]] == [
        "no URLs in the list"
    ]


def test_url_timeout(server: str) -> None:
    started = time.perf_counter()
    assert url_reason(f"{server}/slow", url_timeout_s=0.3) == "timed out after 0.3 s"
    assert time.perf_counter() - started < 1.4


def test_url_bodies_over_the_limit(server: str) -> None:
    assert url_reason(f"{server}/big", url_max_bytes=1024 * 1024) == (
        "the page is 1.5 MB, over the 1 MB limit"
    )
    reason = url_reason(f"{server}/big-unannounced", url_max_bytes=1024 * 1024)
    assert reason == "the page is over the 1 MB limit"


def test_url_failures(server: str) -> None:
    assert url_reason(f"{server}/nowhere") == "HTTP 404 Not Found"
    assert url_reason(f"{server}/image") == (
        "unsupported content type 'image/png' (expected HTML, text or a feed)"
    )
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert url_reason(f"http://127.0.0.1:{port}/").startswith("cannot connect")
    assert url_reason("ftp://127.0.0.1/x") == "only http:// and https:// URLs are supported"


# --------------------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def prop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _normalised(text: str) -> str:
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=400),
        st.builds("{}\n\n{}".format, st.text(max_size=80), st.text(max_size=300)),
        st.builds("---\n{}\n---\n{}".format, st.text(max_size=80), st.text(max_size=300)),
    )
)
def test_any_text_file_loads_or_fails_cleanly(prop_dir: Path, text: str) -> None:
    path = write(prop_dir, "prop.txt", text)
    try:
        articles, errors = load(Source(str(path), "prop.txt", path))
    except IngestError as exc:
        assert exc.path == str(path) and exc.reason
        return
    assert errors == [] and len(articles) == 1
    (article,) = articles
    assert article.text and article.text in _normalised(text)
    assert article.title and "\n" not in article.title
    assert not any(unicodedata.category(c) == "Cc" for c in article.title)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(sorted(SUPPORTED_SUFFIXES - {".urls"})))
def test_any_bytes_in_any_format_load_or_fail_cleanly(
    prop_dir: Path, data: bytes, suffix: str
) -> None:
    path = write(prop_dir, f"prop{suffix}", data)
    try:
        articles, errors = load(Source(str(path), path.name, path))
    except IngestError as exc:
        assert exc.reason
        return
    assert all(isinstance(a, Article) and a.text and a.doc_id for a in articles)
    assert all(isinstance(e, IngestError) for e in errors)


def test_a_jsonl_line_in_another_encoding_is_skipped_alone(tmp_path: Path) -> None:
    good = '{"id": "%s", "title": "Harbour %s", "text": "The harbour reopened on day %s."}'
    latin1 = '{"id": "b", "title": "Caf\u00e9", "text": "Un caf\u00e9 ferm\u00e9."}'.encode(
        "latin-1"
    )
    utf16 = '{"id": "c", "title": "Wide", "text": "A UTF-16 record."}\n'.encode("utf-16-le")
    data = (
        b"\n".join(
            [(good % ("a", "a", "1")).encode(), latin1, utf16 + (good % ("d", "d", "4")).encode()]
        )
        + b"\n"
        + (good % ("e", "e", "5")).encode()
        + b"\n"
    )
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    articles, errors = load(Source(str(path), "mixed.jsonl", path))
    assert [a.doc_id for a in articles] == ["a", "d", "e"]
    assert [e.path for e in errors] == [f"{path}#2", f"{path}#3"]
    assert "line 2: not valid UTF-8 text (byte 0xe9" in errors[0].reason
    assert "line 3:" in errors[1].reason


def test_a_jsonl_file_with_no_readable_line_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"id": "x", "text": "caf\u00e9"}\n'.encode("latin-1"))
    with pytest.raises(IngestError, match="not JSON Lines: line 1: not valid UTF-8"):
        load(Source(str(path), "latin.jsonl", path))


def test_a_csv_row_in_another_encoding_is_skipped_alone(tmp_path: Path) -> None:
    rows = [
        b"title,text",
        b"Harbour one,The harbour reopened on day one.",
        "Caf\u00e9 news,Un caf\u00e9 ferm\u00e9 pour la saison.".encode("latin-1"),
        b'Harbour three,"A quoted body',
        "that runs over a line in Latin-1: caf\u00e9".encode("latin-1"),
        b'and ends here."',
        b"Harbour six,The harbour closed again on day six.",
    ]
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    articles, errors = load(Source(str(path), "mixed.csv", path))
    assert [a.title for a in articles] == ["Harbour one", "Harbour six"]
    assert [e.path for e in errors] == [f"{path}#3", f"{path}#4"]  # each row where it starts
    assert "line 3: not valid UTF-8 text (byte 0xe9" in errors[0].reason
    assert errors[1].reason.startswith("line 5: not valid UTF-8")  # the spoilt line itself


def test_a_csv_whose_header_cannot_be_read_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("t\u00edtulo,text\nUno,Un caf\u00e9.\n".encode("latin-1"))
    with pytest.raises(IngestError, match="CSV header: not valid UTF-8"):
        load(Source(str(path), "latin.csv", path))


FEED = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Wire</title>\n'
    + b"%s\n</channel></rss>\n"
)


def feed_item(n: int, title: bytes, body: bytes) -> bytes:
    return (
        b"<item><title>"
        + title
        + b"</title><link>http://example.test/%d</link>" % n
        + b"<description>"
        + body
        + b"</description></item>"
    )


def test_a_feed_entry_in_another_encoding_is_skipped_alone(tmp_path: Path) -> None:
    items = [
        feed_item(1, "Caf\u00e9s reopen".encode(), b"The harbour caf\xc3\xa9s reopened today."),
        feed_item(
            2, "Caf\u00e9 news".encode("latin-1"), "Un caf\u00e9 ferm\u00e9.".encode("latin-1")
        ),
        feed_item(3, b"Trams", b"The tram line extension opened on Monday morning."),
    ]
    path = tmp_path / "wire.xml"
    path.write_bytes(FEED % b"\n".join(items))
    articles, errors = load(Source(str(path), "wire.xml", path))
    assert [a.title for a in articles] == ["Caf\u00e9s reopen", "Trams"]  # UTF-8 stays UTF-8
    assert "caf\u00e9s" in articles[0].text
    assert [e.path for e in errors] == [f"{path}#2"]
    assert errors[0].reason.startswith("entry 2: not valid UTF-8 text (byte 0xe9")


def test_a_feed_that_declares_its_encoding_is_read_in_it(tmp_path: Path) -> None:
    body = feed_item(
        1, "Caf\u00e9 news".encode("latin-1"), "Un caf\u00e9 ferm\u00e9.".encode("latin-1")
    )
    data = (FEED % body).replace(b'encoding="utf-8"', b'encoding="iso-8859-1"')
    path = tmp_path / "latin.xml"
    path.write_bytes(data)
    articles, errors = load(Source(str(path), "latin.xml", path))
    assert [a.title for a in articles] == ["Caf\u00e9 news"] and not errors


def test_a_sitemap_is_a_list_of_urls(tmp_path: Path, server: str) -> None:
    path = write(
        tmp_path,
        "sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"  <url><loc>{server}/article</loc><lastmod>2024-02-14</lastmod></url>\n"
        f"  <url><loc> {server}/plain </loc></url>\n"
        "  <url><loc>ftp://files.example/x</loc></url>\n"
        "</urlset>\n",
    )
    sources, errors = discover([str(path)])
    assert [s.url for s in sources] == [f"{server}/article", f"{server}/plain"]
    assert [e.path for e in errors] == [f"{path.resolve()}#3"]
    assert [len(load(s)[0]) for s in sources] == [1, 1]
    assert discover([str(tmp_path)])[0] == sources  # found in a folder too
    index = write(
        tmp_path,
        "index/sitemap.xml",
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{server}/sitemap-1.xml</loc></sitemap></sitemapindex>",
    )
    assert "a sitemap index of 1 sitemaps" in discover([str(index)])[1][0].reason
    empty = write(tmp_path, "empty/sitemap.xml", "<urlset></urlset>")
    assert discover([str(empty)])[1][0].reason == "no page URLs in the sitemap"
