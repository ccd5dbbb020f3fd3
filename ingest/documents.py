"""Word documents (.docx, through python-docx): one article per file.

The text is the document's paragraphs in order (headings included, each its own paragraph,
tables' cells row by row), separated by blank lines; the title is the core properties' title,
else the first heading, else the first line; author and date come from the core properties.
An older binary .doc, an encrypted document (both are OLE files, not zip) or a damaged one is
an IngestError naming the file and why.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, make_article, normalise_text, strip_controls

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, and encrypted .docx


def parse_docx(data: bytes, place: Place) -> Article:
    import docx  # python-docx: imported when a Word file is read
    from docx.opc.exceptions import PackageNotFoundError

    if data.startswith(OLE_MAGIC):
        raise IngestError(place.name, "not a .docx: an encrypted Word file or an older binary .doc")
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise IngestError(place.name, f"not a readable .docx file ({_why(exc)})") from exc
    except Exception as exc:  # noqa: BLE001 - a damaged part inside a valid zip
        raise IngestError(place.name, f"damaged .docx file ({_why(exc)})") from exc
    paragraphs, heading = _paragraphs(document)
    props = document.core_properties
    title = _clean(props.title) or (paragraphs[heading] if heading is not None else "")
    if heading is not None and paragraphs[heading] == title:
        del paragraphs[heading]  # the headline is the title, not body text
    text = normalise_text("\n\n".join(paragraphs))
    if not text.strip():
        raise IngestError(place.name, "no text in the document")
    if not title:
        first, _, rest = text.partition("\n\n")
        if rest.strip() and len(first) <= 200:
            title, text = first, rest
    return make_article(
        place,
        doc_id=place.rel,
        title=title,
        text=text,
        published=props.created.date().isoformat() if props.created else "",
        author=_clean(props.author),
        category=_clean(props.category),
    )


def _paragraphs(document: Any) -> tuple[list[str], int | None]:
    """The body's paragraphs and table rows in document order, and where the first heading
    is among them (None: no heading)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    heading: int | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            line = _clean_text(block.text)
            if not line:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if heading is None and (style.startswith("Heading") or style == "Title"):
                heading = len(out)
            out.append(line)
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [_clean_text(c.text) for c in row.cells]
                line = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat
                if line:
                    out.append(line)
    return out, heading


def _clean_text(text: str) -> str:
    return strip_controls(text).strip()


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())


def _why(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


__all__ = ["parse_docx"]
