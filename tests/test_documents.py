"""Word (.docx) and wire-service XML (NITF, NewsML-G2) inputs: real files made here (python-docx
writes the Word files), their metadata, their bad cases (damaged, encrypted or old .doc, no
text, malformed XML, entity bombs, external entities), and the ingest contract (doc_ids,
idempotent re-ingest, a bad file reported alone)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import make_settings
from test_loaders import load_all, load_file, reason_of, write

from newsdesk.ingest.documents import OLE_MAGIC
from newsdesk.ingest.loaders import SUPPORTED_SUFFIXES


def word_file(
    *,
    title: str = "",
    heading: str = "",
    paragraphs: tuple[str, ...] = (),
    table: tuple[tuple[str, ...], ...] = (),
    author: str = "",
    created: datetime | None = None,
) -> bytes:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title, props.author = title, author
    props.created = created or datetime(2024, 3, 5, 9, 30)
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- Word


def test_docx_headings_paragraphs_tables_and_core_properties(tmp_path: Path) -> None:
    assert ".docx" in SUPPORTED_SUFFIXES
    data = word_file(
        heading="Council approves flood walls",
        paragraphs=("The council voted on Tuesday.", "Work starts in May."),
        table=(("Item", "Cost"), ("Walls", "4.2m")),
        author="Jane Reporter",
    )
    write(tmp_path, "local/walls.docx", data)
    (article,), errors = load_all(tmp_path)
    assert not errors and article.doc_id == "local/walls.docx" and article.category == "local"
    assert article.title == "Council approves flood walls"
    assert article.text == (
        "The council voted on Tuesday.\n\nWork starts in May.\n\nItem | Cost\n\nWalls | 4.2m"
    )
    assert article.author == "Jane Reporter" and article.published == "2024-03-05"


def test_docx_title_property_wins_and_a_heading_that_differs_stays_in_the_text(
    tmp_path: Path,
) -> None:
    data = word_file(title="Budget 2024", heading="Summary", paragraphs=("Taxes rise.",))
    article = load_file(write(tmp_path, "budget.docx", data))
    assert article.title == "Budget 2024" and article.text == "Summary\n\nTaxes rise."
    plain = load_file(write(tmp_path, "plain.docx", word_file(paragraphs=("Short head", "Body."))))
    assert plain.title == "Short head" and plain.text == "Body."


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is not a zip at all", "not a readable .docx"),
        (OLE_MAGIC + b"\x00" * 512, "encrypted Word file or an older binary .doc"),
        ("truncated", "not a readable .docx"),
        ("no document part", "damaged .docx"),
        ("empty", "no text"),
    ],
)
def test_bad_word_files_are_reported_with_the_reason(
    tmp_path: Path, content: Any, words: str
) -> None:
    whole = word_file(paragraphs=("Some text.",))
    if content == "truncated":
        content = whole[: len(whole) // 2]
    elif content == "no document part":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("[Content_Types].xml", "<Types/>")
        content = out.getvalue()
    elif content == "empty":
        content = word_file()
    path = write(tmp_path, "bad.docx", content)
    assert words in reason_of(path)


# --------------------------------------------------------------------------- NITF

NITF = """<?xml version="1.0" encoding="UTF-8"?>
<nitf xmlns="http://iptc.org/std/NITF/2006-10-18/" version="-//IPTC//DTD NITF 3.6//EN">
  <head>
    <title>Texaco files for bankruptcy</title>
    <tobject tobject.type="news">
      <tobject.subject tobject.subject-refnum="04000000" tobject.subject-matter="energy"/>
    </tobject>
    <docdata>
      <doc-id id-string="TX-0412"/>
      <date.issue norm="19870412T153000Z"/>
      <doc.copyright holder="Example Wire"/>
      <key-list><keyword key="bankruptcy"/></key-list>
    </docdata>
  </head>
  <body>
    <body.head>
      <hedline><hl1>TEXACO FILES FOR CHAPTER 11</hl1></hedline>
      <byline>By Ann Writer</byline>
      <dateline>WHITE PLAINS, N.Y., April 12 -</dateline>
    </body.head>
    <body.content>
      <p>Texaco Inc filed for protection under Chapter 11 on Sunday.</p>
      <hl2>Bond</hl2>
      <p>It would otherwise have to post a <em>large</em> bond.</p>
      <block><p>"We had no choice," a spokesman said.</p></block>
    </body.content>
  </body>
</nitf>
"""


def test_nitf_headline_byline_dateline_body_date_subject_source(tmp_path: Path) -> None:
    assert ".nitf" in SUPPORTED_SUFFIXES
    for name in ("texaco.xml", "texaco.nitf"):  # sniffed in .xml, named in .nitf
        article = load_file(write(tmp_path, name, NITF))
        assert article.doc_id == name
        assert article.title == "TEXACO FILES FOR CHAPTER 11"
        assert article.published == "1987-04-12" and article.author == "Ann Writer"
        assert article.source == "Example Wire" and article.category == "energy"
        assert article.text == (
            "WHITE PLAINS, N.Y., April 12 -\n\n"
            "Texaco Inc filed for protection under Chapter 11 on Sunday.\n\n"
            "Bond\n\nIt would otherwise have to post a large bond.\n\n"
            '"We had no choice," a spokesman said.'
        )


# --------------------------------------------------------------------------- NewsML-G2

NEWSML_MESSAGE = """<?xml version="1.0" encoding="UTF-8"?>
<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/">
  <header><sent>2024-02-14T10:00:00Z</sent></header>
  <itemSet>
    <newsItem guid="urn:newsml:example.com:20240214:flood" version="1" standard="NewsML-G2">
      <itemMeta>
        <itemClass qcode="ninat:text"/>
        <provider literal="Example Wire"/>
        <versionCreated>2024-02-14T09:30:00Z</versionCreated>
      </itemMeta>
      <contentMeta>
        <creator><name>Sam Desk</name></creator>
        <subject type="cpnat:abstract" qcode="medtop:20000137"><name>flooding</name></subject>
        <headline>River Ash floods Water Lane</headline>
      </contentMeta>
      <contentSet>
        <inlineXML contenttype="application/xhtml+xml">
          <html xmlns="http://www.w3.org/1999/xhtml"><body>
            <p>Forty homes flooded on Water Lane.</p><p>The council met at once.</p>
          </body></html>
        </inlineXML>
      </contentSet>
    </newsItem>
    <newsItem guid="urn:newsml:example.com:20240215:walls" version="1" standard="NewsML-G2">
      <itemMeta><versionCreated>2024-02-15T08:00:00Z</versionCreated></itemMeta>
      <contentMeta><headline>Council backs new walls</headline></contentMeta>
      <contentSet>
        <inlineXML contenttype="application/nitf+xml">
          <nitf xmlns="http://iptc.org/std/NITF/2006-10-18/"><body><body.content>
            <p>The council voted for 4.2 million pounds of walls.</p>
          </body.content></body></nitf>
        </inlineXML>
      </contentSet>
    </newsItem>
    <newsItem guid="urn:newsml:example.com:empty" version="1" standard="NewsML-G2">
      <contentMeta><headline>A picture</headline></contentMeta>
    </newsItem>
  </itemSet>
</newsMessage>
"""


def test_newsml_message_items_are_articles_with_their_guids(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds/today.xml", NEWSML_MESSAGE)
    articles, errors = load_all(path)
    by_id = {a.doc_id: a for a in articles}
    flood = by_id["urn:newsml:example.com:20240214:flood"]
    assert flood.title == "River Ash floods Water Lane" and flood.published == "2024-02-14"
    assert flood.text == "Forty homes flooded on Water Lane.\n\nThe council met at once."
    assert flood.source == "Example Wire" and flood.category == "flooding"
    assert flood.author == "Sam Desk"
    walls = by_id["urn:newsml:example.com:20240215:walls"]
    assert walls.text == "The council voted for 4.2 million pounds of walls."
    assert walls.published == "2024-02-15"
    assert [e.path for e in errors] == [f"{path}#urn:newsml:example.com:empty"]
    assert "no text" in errors[0].reason


# --------------------------------------------------------------------------- hostile XML


LADDER = [("abcdefg"[i], "bcdefgh"[i]) for i in range(7)]  # each entity ten of the one before


def test_documents_declaring_entities_are_refused_and_nothing_is_read(tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.txt", "TOP SECRET PASSWORD")
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE nitf [\n<!ENTITY a "aaaaaaaaaa">\n'
        + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">\n' for p, c in LADDER)
        + "]>\n<nitf><body><body.content><p>Text &h; end.</p></body.content></body></nitf>"
    )
    external = (
        f'<?xml version="1.0"?>\n<!DOCTYPE nitf [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<nitf><body><body.content><p>Text &x; end.</p></body.content></body></nitf>"
    )
    for name, content in (("bomb.xml", bomb), ("external.nitf", external)):
        assert "declares entities" in reason_of(write(tmp_path, name, content))


def test_a_doctype_naming_a_dtd_is_read_without_fetching_it(tmp_path: Path) -> None:
    with_dtd = NITF.replace(
        "<nitf ",
        '<!DOCTYPE nitf PUBLIC "-//IPTC//DTD NITF 3.6//EN" "http://10.255.255.1/nitf.dtd">\n<nitf ',
        1,
    )
    assert load_file(write(tmp_path, "dtd.nitf", with_dtd)).title == "TEXACO FILES FOR CHAPTER 11"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("<nitf><body><body.content><p>cut off", "malformed XML"),
        ("<nitf><head><title>Only a title</title></head></nitf>", "no body text"),
        ("<newsMessage><header/></newsMessage>", "no newsItem"),
    ],
)
def test_bad_wire_xml_is_reported_with_the_reason(tmp_path: Path, content: str, words: str) -> None:
    assert words in reason_of(write(tmp_path, "bad.nitf", content))


def test_rss_in_xml_is_still_a_feed(tmp_path: Path) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        "<title>Feed item</title><guid>f1</guid><description>A feed item body.</description>"
        "</item></channel></rss>"
    )
    articles, errors = load_all(write(tmp_path, "feed.xml", rss))
    assert not errors and [a.title for a in articles] == ["Feed item"]


# --------------------------------------------------------------------------- the ingest contract


def test_ingest_of_word_and_wire_files_is_idempotent_and_a_bad_one_fails_alone(
    tmp_path: Path, embedder: Any
) -> None:
    from newsdesk.ingest.pipeline import ingest

    archive = tmp_path / "archive"
    write(archive, "desk/walls.docx", word_file(heading="Walls", paragraphs=("Walls rise.",)))
    write(archive, "wire/texaco.nitf", NITF)
    write(archive, "wire/today.xml", NEWSML_MESSAGE)
    write(archive, "desk/broken.docx", b"not a zip")
    (archive / "crawl").mkdir()
    warc_file(archive / "crawl" / "courier.warc.gz")
    index = tmp_path / "index"
    first = ingest(make_settings(index), [str(archive)], embedder=embedder)
    assert first.articles_added == 6  # Word, NITF, two NewsML items, two archived pages
    reasons = sorted(e.reason for e in first.errors)
    assert len(reasons) == 3
    assert "no text" in reasons[0] and "no article text" in reasons[1]
    assert "not a readable" in reasons[2]
    again = ingest(make_settings(index), [str(archive)], embedder=embedder)
    assert again.articles_added == 0 and again.articles_unchanged == 6


# --------------------------------------------------------------------------- WordPress exports

WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>Millbrook Courier</title>
  <link>https://courier.example</link>
  <wp:wxr_version>1.2</wp:wxr_version>
  <item>
    <title>Flood walls approved</title>
    <link>https://courier.example/2024/02/flood-walls/</link>
    <pubDate>Wed, 14 Feb 2024 09:30:00 +0000</pubDate>
    <dc:creator><![CDATA[jreporter]]></dc:creator>
    <guid isPermaLink="false">https://courier.example/?p=12</guid>
    <content:encoded><![CDATA[<p>The council approved the walls.</p>
      <p>Work starts in May.</p>]]></content:encoded>
    <wp:post_id>12</wp:post_id>
    <wp:post_date_gmt><![CDATA[2024-02-13 22:00:00]]></wp:post_date_gmt>
    <wp:status><![CDATA[publish]]></wp:status>
    <wp:post_type><![CDATA[post]]></wp:post_type>
    <category domain="post_tag" nicename="walls"><![CDATA[walls]]></category>
    <category domain="category" nicename="local"><![CDATA[Local]]></category>
  </item>
  <item>
    <title>Draft: budget</title>
    <link>https://courier.example/?p=13</link>
    <content:encoded><![CDATA[<p>Not yet.</p>]]></content:encoded>
    <wp:status>draft</wp:status><wp:post_type>post</wp:post_type>
  </item>
  <item>
    <title>logo.png</title>
    <link>https://courier.example/logo/</link>
    <wp:status>inherit</wp:status><wp:post_type>attachment</wp:post_type>
  </item>
  <item>
    <title>Empty post</title>
    <link>https://courier.example/empty/</link>
    <content:encoded><![CDATA[]]></content:encoded>
    <wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
  </item>
</channel>
</rss>
"""


def test_wordpress_export_keeps_published_posts_only(tmp_path: Path) -> None:
    path = write(tmp_path, "courier-export.xml", WXR)
    articles, errors = load_all(path)
    assert [a.doc_id for a in articles] == ["https://courier.example/2024/02/flood-walls/"]
    post = articles[0]
    assert post.title == "Flood walls approved" and post.source == "Millbrook Courier"
    assert post.text == "The council approved the walls.\n\nWork starts in May."
    assert post.published == "2024-02-13" and post.author == "jreporter"
    assert post.category == "Local" and post.url == post.doc_id
    assert [e.path for e in errors] == [f"{path}#https://courier.example/empty/"]


# --------------------------------------------------------------------------- web archives

PAGE = """<html><head><title>{title}</title></head><body><nav>Home | World</nav>
<article><h1>{title}</h1><p>{body}</p><p>It was the second paragraph of the story, which
says more about what happened and why it mattered to the people of the town.</p></article>
<footer>Copyright</footer></body></html>"""


def warc_file(path: Path, *, gzip: bool = True, cut: bool = False) -> Path:
    """A small crawl written by warcio: two article pages, one captured twice (a revisit and
    a second response with the same payload), a request, an image, a 404, a page of no text."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzip)

    def response(
        url: str,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        status: str = "200 OK",
        date: str = "2024-02-14T10:00:00Z",
    ) -> None:
        http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        writer.write_record(record)

    site = "https://courier.example"
    flood = PAGE.format(title="River Ash floods Water Lane", body="Forty homes flooded.").encode()
    walls = PAGE.format(title="Council backs new walls", body="The vote was unanimous.").encode()
    response(f"{site}/flood", flood)
    request = io.BytesIO(b"GET /flood HTTP/1.1\r\n\r\n")
    writer.write_record(writer.create_warc_record(f"{site}/flood", "request", payload=request))
    response(f"{site}/flood?utm=x", flood, date="2024-02-15T10:00:00Z")  # the same payload
    response(f"{site}/walls", walls, date="2024-02-16T08:00:00Z")
    response(f"{site}/logo.png", b"\x89PNG\r\n", content_type="image/png")
    response(f"{site}/gone", b"<html>gone</html>", status="404 Not Found")
    response(f"{site}/empty", b"<html><body></body></html>")
    data = out.getvalue()
    path.write_bytes(data[: len(data) - 200] if cut else data)
    return path


def test_a_web_archive_s_html_pages_are_articles(tmp_path: Path) -> None:
    for name, gzip in (("crawl.warc.gz", True), ("crawl.warc", False)):
        path = warc_file(tmp_path / name, gzip=gzip)
        assert discover_one(path)
        articles, errors = load_all(path)
        assert [a.doc_id for a in articles] == [
            "https://courier.example/flood",
            "https://courier.example/walls",
        ]
        flood, walls = articles
        assert flood.title == "River Ash floods Water Lane" and "Forty homes" in flood.text
        assert "Home | World" not in flood.text and "Copyright" not in flood.text
        assert flood.published == "2024-02-14" and walls.published == "2024-02-16"
        assert flood.url == "https://courier.example/flood"
        assert [e.path for e in errors] == [f"{path}#https://courier.example/empty"]


def test_a_web_archive_cut_short_keeps_the_pages_before_the_cut(tmp_path: Path) -> None:
    path = warc_file(tmp_path / "cut.warc.gz", cut=True)
    articles, errors = load_all(path)
    assert [a.doc_id for a in articles][:2] == [
        "https://courier.example/flood",
        "https://courier.example/walls",
    ]
    assert any(e.path == str(path) and "cut short" in e.reason for e in errors)
    assert "not a WARC or ARC file" in reason_of(
        write(tmp_path, "fake.warc", b"hello world\n" * 10)
    )


def test_a_page_over_the_limit_is_reported_alone(tmp_path: Path) -> None:
    path = warc_file(tmp_path / "crawl.warc.gz")
    articles, errors = load_all(path, max_file_bytes=200)
    assert articles == []
    assert [(e.path.rsplit("/", 1)[-1], e.reason) for e in errors] == [
        ("flood", "the page is over the 200-byte limit"),  # its second capture: not again
        ("walls", "the page is over the 200-byte limit"),
        ("empty", "no article text found in the HTML page"),
    ]


def discover_one(path: Path) -> bool:
    from newsdesk.ingest.loaders import discover

    sources, errors = discover([str(path.parent)])
    return not errors and [s.path for s in sources if s.path == path] == [path]
