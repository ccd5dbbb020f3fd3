"""PDF inputs: real files written by fpdf2 (and encrypted by pypdf), read by pypdf. Text per
page with each page's start kept, so an answer cites "p. 2"; title, author and date from the
document; the bad cases (locked, image-only, cut short, not a PDF, too many pages) reported
by name; the ingest contract (idempotent, prune leaves no page rows behind)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import make_settings, orphans
from hypothesis import given
from hypothesis import strategies as st
from test_loaders import load_all, load_file, reason_of, write

from newsdesk.core.types import Citation, page_at
from newsdesk.ingest import pdf as pdf_module
from newsdesk.ingest.pipeline import ingest

PAGES = (
    "Flood defences for the River Ash\n"
    "The council met on Monday to discuss the flood defences along the river.",
    "The council voted to build new flood walls along Water Lane, at a cost of 4.2 million "
    "pounds, the mayor Jane Hollis said after the vote.",
    "Work on the walls starts in the spring and should end before the winter floods.",
)


def pdf_bytes(
    pages: tuple[str, ...] = PAGES,
    *,
    title: str | None = "River Ash flood walls approved",
    author: str = "Sam Reporter",
    drawing_only: bool = False,
) -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    if title is not None:
        doc.set_title(title)
    doc.set_author(author)
    doc.set_creation_date(datetime(2024, 3, 1, 9, 30, tzinfo=UTC))
    doc.set_font("helvetica", size=12)
    for text in pages:
        doc.add_page()
        if drawing_only:
            doc.rect(20, 20, 100, 60, style="F")  # a scan is an image: no text layer
        else:
            doc.multi_cell(0, 6, text)
    return bytes(doc.output())


def encrypted(data: bytes, *, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_text_pages_and_metadata(tmp_path: Path) -> None:
    article = load_file(write(tmp_path, "reports/walls.pdf", pdf_bytes()))
    assert article.doc_id == "walls.pdf"  # a file named on its own: its name
    assert (article.title, article.author, article.published) == (
        "River Ash flood walls approved",
        "Sam Reporter",
        "2024-03-01",
    )
    assert len(article.pages) == 3 and article.pages[0] == 0
    for n, start in enumerate(article.pages, start=1):
        words = PAGES[n - 1].split()
        assert " ".join(article.text[start:].split()[:4]) == " ".join(words[:4])
        assert page_at(article.pages, start) == n
    vote = article.text.index("The council voted")
    assert page_at(article.pages, vote) == 2
    assert article.text.index("Work on the walls") >= article.pages[2]


def test_the_first_line_is_the_title_when_the_document_has_none(tmp_path: Path) -> None:
    for title in (None, "Untitled", "Microsoft Word - walls.docx"):
        article = load_file(write(tmp_path, "w.pdf", pdf_bytes(title=title)))
        assert article.title == "Flood defences for the River Ash"
        assert article.text.startswith("The council met on Monday")  # not repeated in the body
        assert article.pages[0] == 0 and article.text[article.pages[1] :].startswith("The council")


def test_a_pdf_locked_with_an_empty_password_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "open.pdf", encrypted(pdf_bytes(), user_password=""))
    assert load_file(path).title == "River Ash flood walls approved"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("locked", "encrypted PDF: it needs a password to open"),
        ("scanned", "no text layer in the PDF's 3 page(s): a scanned or image-only document"),
        ("cut", "damaged or cut-short PDF"),
        (b"Just some text in a file named .pdf\n", "not a PDF file (no %PDF- header)"),
    ],
)
def test_bad_pdfs_are_reported_with_the_reason(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    whole = pdf_bytes()
    data = (
        {
            "locked": lambda: encrypted(whole, user_password="letmein"),
            "scanned": lambda: pdf_bytes(drawing_only=True),
            "cut": lambda: whole[: len(whole) // 2],
        }[content]()
        if isinstance(content, str)
        else content
    )
    assert reason_of(write(tmp_path, "bad.pdf", data)).startswith(reason)


def test_too_many_pages_and_too_many_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.pdf", pdf_bytes())
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 2)
    assert reason_of(path) == "a PDF of 3 pages, over the 2-page limit"
    assert reason_of(path, max_file_bytes=100).startswith("file is ")


def test_a_bad_pdf_fails_alone(tmp_path: Path) -> None:
    write(tmp_path, "a/good.pdf", pdf_bytes())
    write(tmp_path, "a/locked.pdf", encrypted(pdf_bytes(), user_password="x"))
    articles, errors = load_all(tmp_path / "a")
    assert [a.doc_id for a in articles] == ["good.pdf"]
    assert [Path(e.path).name for e in errors] == ["locked.pdf"]


@given(st.lists(st.text(alphabet="ab \n", max_size=12), min_size=1, max_size=6))
def test_page_starts_slice_each_page(texts: list[str]) -> None:
    cleaned = [pdf_module._clean(t) for t in texts]
    text, starts = pdf_module._joined(cleaned)
    assert len(starts) == len(cleaned) and starts == sorted(starts)
    for page, start in zip(cleaned, starts, strict=True):
        assert text[start : start + len(page)] == page


def test_an_answer_cites_the_page(tmp_path: Path, embedder, capsys) -> None:
    from newsdesk.assistant import build_assistant
    from newsdesk.cli import main
    from ui.render import cited_sources_html

    folder = tmp_path / "archive"
    write(folder, "council/walls.pdf", pdf_bytes())
    write(folder, "council/notes.txt", "Parking rules\n\nThe council changed the parking rules.")
    settings = make_settings(tmp_path / "index")
    first = ingest(settings, [str(folder)], embedder=embedder)
    assert (first.articles_added, first.errors) == (2, [])
    again = ingest(settings, [str(folder)], embedder=embedder)
    assert (again.articles_added, again.articles_unchanged) == (0, 2)

    assistant = build_assistant(settings, embedder=embedder)
    try:
        answer = assistant.ask("How much will the flood walls along Water Lane cost?")
    finally:
        assistant.close()
    cited = [c for c in answer.citations if c.passage.doc_id == "council/walls.pdf"]
    assert answer.status == "answered" and cited, answer.text
    assert any("4.2 million" in c.quote for c in cited)
    (walls,) = [c for c in cited if "4.2 million" in c.quote]
    first, last = walls.page_span  # the quote may take in the sentences around it
    assert first <= 2 <= last
    assert walls.page_label == (f"pp. {first}-{last}" if first < last else "p. 2")
    html = cited_sources_html(answer, 0, {})
    assert walls.page_label.replace(" ", "\u00a0") in html

    code = main(
        [
            "ask",
            "How much will the flood walls along Water Lane cost?",
            "--index",
            str(settings.index),
            "--json",
        ]
    )
    assert code == 0
    got = json.loads(capsys.readouterr().out)
    assert [(c["page"], c["page_end"]) for c in got["citations"] if "4.2" in c["quote"]] == [
        (first, last)
    ]

    (folder / "council" / "walls.pdf").unlink()
    pruned = ingest(settings, [str(folder)], prune=True, embedder=embedder)
    assert pruned.articles_removed == 1
    assert orphans(settings.index, "pages") == 0


def test_a_citation_of_an_unpaged_source_has_no_page() -> None:
    from newsdesk.core.types import Passage

    plain = Passage("c", "d", "Some text.", 0, 10, 0, 1.0)
    assert plain.page == 0 and Citation(1, plain, "Some text.").page == 0
    paged = Passage("c", "d", "One. Two.", 100, 109, 0, 1.0, pages=(0, 50, 105))
    assert paged.page == 2 and Citation(1, paged, "Two.").page == 3
    assert Citation(1, paged, "One. Two.").page_label == "pp. 2-3"
    assert Citation(1, paged, "Two.").page_label == "p. 3"
