"""PDF files (print editions, reports), through pypdf: one article per file, page numbers kept.

The text is each page's text layer in the order pypdf reads it, pages separated by a blank
line; `Article.pages` holds where each page starts in the text, so a chunk or a quotation can
be cited as "p. 3". The title is the document's own title (when it is a real one, not
"Untitled" or a file name), else the first line of the first page; author and date come from
the document information. A PDF locked with a password, one with no text layer (scanned or
image-only: it needs OCR first), a damaged or cut-short file and one over MAX_PAGES pages are
an IngestError naming the file and why.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, make_article, normalise_text, strip_controls

MAX_PAGES = 2000
PDF_MAGIC = b"%PDF-"
# Titles that authoring tools write when the author gave none.
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:untitled\b.*|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pdf|indd|qxd|rtf|txt))$",
    re.IGNORECASE,
)
_TITLE_MAX = 200


def parse_pdf(data: bytes, place: Place) -> Article:
    with _quiet_pypdf():
        reader = _open(data, place)
        texts = _page_texts(reader, place)
    if not any(t.strip() for t in texts):
        raise IngestError(
            place.name,
            f"no text layer in the PDF's {len(texts)} page(s): a scanned or image-only "
            "document (run OCR on it first)",
        )
    text, starts = _joined(texts)
    info = _info(reader)
    title = _real_title(info.get("title", ""))
    first, _, rest = text.partition("\n")
    if not title and len(first.strip()) <= _TITLE_MAX and rest.strip():
        title = first.strip()
    if title and " ".join(first.split()).lower() == " ".join(title.split()).lower() and rest:
        cut = len(first) + 1  # the headline is the title, not body text
        cut += len(rest) - len(rest.lstrip())
        text = text[cut:]
        starts = [max(0, s - cut) for s in starts]
    article = make_article(
        place,
        doc_id=place.rel,
        title=title,
        text=text,
        published=info.get("published", ""),
        author=info.get("author", ""),
    )
    return replace(article, pages=tuple(starts))


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every flaw it repairs; what it cannot read we report."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _open(data: bytes, place: Place) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    if not data.lstrip()[:1024].startswith(PDF_MAGIC) and PDF_MAGIC not in data[:1024]:
        raise IngestError(place.name, "not a PDF file (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are locked with an empty password
            except DependencyError as exc:
                raise IngestError(
                    place.name, "encrypted PDF: reading it needs the `cryptography` package"
                ) from exc
            if not opened:
                raise IngestError(place.name, "encrypted PDF: it needs a password to open")
        count = len(reader.pages)
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IngestError(place.name, f"damaged or cut-short PDF ({_why(exc)})") from exc
    if count > MAX_PAGES:
        raise IngestError(
            place.name, f"a PDF of {count:,} pages, over the {MAX_PAGES:,}-page limit"
        )
    if not count:
        raise IngestError(place.name, "the PDF has no pages")
    return reader


def _page_texts(reader: Any, place: Place) -> list[str]:
    out: list[str] = []
    for n, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - pypdf fails in many ways on bad streams
            raise IngestError(place.name, f"damaged PDF (page {n}: {_why(exc)})") from exc
        out.append(_clean(raw))
    return out


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in strip_controls(normalise_text(text)).split("\n")]
    return "\n".join(line for line in lines if line)


def _joined(texts: list[str]) -> tuple[str, list[int]]:
    """The pages' texts separated by blank lines, and where each page starts in the result
    (an empty page starts where the next one does)."""
    parts: list[str] = []
    starts: list[int] = []
    at = 0
    for page in texts:
        if page and parts:
            at += 2
        starts.append(at)
        if page:
            parts.append(page)
            at += len(page)
    return "\n\n".join(parts), starts


def _info(reader: Any) -> dict[str, str]:
    try:
        meta = reader.metadata
    except Exception:  # noqa: BLE001 - a damaged information dictionary is no reason to fail
        return {}
    if meta is None:
        return {}
    out = {"title": str(meta.title or ""), "author": str(meta.author or "")}
    try:
        created = meta.creation_date
    except Exception:  # noqa: BLE001 - a malformed date string
        created = None
    if created is not None:
        out["published"] = created.date().isoformat()
    return {k: " ".join(strip_controls(v).split()) for k, v in out.items()}


def _real_title(title: str) -> str:
    if not title or _PLACEHOLDER_TITLE.match(title) or len(title) > _TITLE_MAX:
        return ""
    return title


def _why(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


__all__ = ["MAX_PAGES", "parse_pdf"]
