"""Wire-service XML: NITF documents and IPTC NewsML-G2 items (a `newsItem`, or a
`newsMessage` of several), as AP, Reuters and AFP deliver them.

Parsed by lxml with the rules defusedxml sets for untrusted XML: a document declaring
entities is refused (an entity bomb, an external entity naming a file), no DTD is loaded
(a DOCTYPE naming NITF's DTD is fine: it is not fetched), nothing is read from the network
or the disk. Elements are matched by local name, so any
namespace prefix (or none) is read the same.

- NITF: headline (`hl1`, else `title`), byline as author, dateline as the first paragraph,
  the body's paragraphs and subheads, date (`date.issue` / `date.release` / `pubdata`),
  subject or keyword as category, copyright holder or publication as source.
- NewsML-G2: `contentMeta` headline, creator, subject, `infoSource`/`provider`, the item's
  `versionCreated`/`firstCreated`, and the text of its `inlineXML` (NITF or XHTML) or
  `inlineData`. A message's items are articles of their own, with their `guid` as doc_id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import etree

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, make_article, normalise_text, strip_controls

ROOTS = ("nitf", "newsItem", "newsMessage")
_ROOT = re.compile(rb"<(?:[\w.-]+:)?(nitf|newsItem|newsMessage)[\s>/]")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T|$)")
_ENTITY = re.compile(rb"<!ENTITY\s", re.I)  # defusedxml's forbid_entities
_BLOCKS = ("p", "hl2", "h1", "h2", "h3", "h4", "li", "blockquote")


def is_news_xml(data: bytes) -> bool:
    """Whether `data` is NITF or NewsML-G2 (by its root element, read from the head)."""
    head = re.sub(rb"<!--.*?-->", b"", data[:4096], flags=re.S)
    found = _ROOT.search(head)
    return found is not None and not re.search(
        rb"<(?:rss|feed|rdf:RDF)[\s>]", head[: found.start()]
    )


def parse_news_xml(data: bytes, place: Place) -> tuple[list[Article], list[IngestError]]:
    root = parse_xml(data, place)
    kind = _local(root)
    if kind == "nitf":
        return [_nitf(root, place, doc_id=place.rel)], []
    if kind == "newsItem":
        return [_item(root, place, doc_id=place.rel)], []
    if kind != "newsMessage":
        raise IngestError(place.name, f"not NITF or NewsML-G2 (the root is <{kind}>)")
    articles: list[Article] = []
    errors: list[IngestError] = []
    items = list(_all(root, "newsItem"))
    for n, item in enumerate(items, start=1):
        guid = (item.get("guid") or "").strip()
        try:
            articles.append(_item(item, place, doc_id=guid or f"{place.rel}#{n}"))
        except IngestError as exc:
            errors.append(IngestError(place.record(guid or n), exc.reason))
    if not items:
        raise IngestError(place.name, "a NewsML-G2 message with no newsItem")
    return articles, errors


# How every XML input is parsed (lxml's options; `xmlstream` reads big files with the same).
SAFE_PARSING: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def refuses_entities(data: bytes, place: Place) -> None:
    """IngestError if `data` declares XML entities (expanding them is unsafe)."""
    if _ENTITY.search(data):
        raise IngestError(
            place.name, "the XML declares entities, which are refused (expansion is unsafe)"
        )


def parse_xml(data: bytes, place: Place) -> Any:
    """The root element of `data`, parsed by the rules above; IngestError if it breaks them."""
    refuses_entities(data, place)
    parser = etree.XMLParser(dtd_validation=False, **SAFE_PARSING)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise IngestError(place.name, f"malformed XML ({exc.msg})") from exc


# --------------------------------------------------------------------------- NITF


def _nitf(root: Any, place: Place, *, doc_id: str) -> Article:
    head = _first(root, "head")
    body = _first(root, "body")
    body_head = _first(body, "body.head")
    title = _text(_first(body_head, "hl1")) or _text(_first(head, "title"))
    paragraphs = [_text(_first(body_head, "dateline"))]
    paragraphs += _blocks(_first(body, "body.content"))
    text = _joined(paragraphs)
    if not text:
        raise IngestError(place.name, "an NITF document with no body text")
    docdata = _first(head, "docdata")
    date = (
        _attr(_first(docdata, "date.issue"), "norm")
        or _attr(_first(docdata, "date.release"), "norm")
        or _attr(_first(head, "pubdata"), "date.publication")
    )
    subject = _first(head, "tobject.subject")
    category = _attr(subject, "tobject.subject-matter") or _attr(subject, "tobject.subject-type")
    category = category or _attr(_first(docdata, "keyword"), "key")
    source = _attr(_first(docdata, "doc.copyright"), "holder") or _attr(
        _first(head, "pubdata"), "name"
    )
    byline = re.sub(r"^\s*by\s+", "", _text(_first(body_head, "byline")), flags=re.I)
    return make_article(
        place,
        doc_id=doc_id,
        title=title,
        text=text,
        source=source,
        published=_date(date),
        category=category,
        author=byline,
    )


# --------------------------------------------------------------------------- NewsML-G2


def _item(item: Any, place: Place, *, doc_id: str) -> Article:
    meta = _first(item, "contentMeta")
    item_meta = _first(item, "itemMeta")
    inline = _first(item, "inlineXML")
    if inline is not None and _first(inline, "nitf") is not None:
        nitf = _nitf(_first(inline, "nitf"), place, doc_id=doc_id)
        text = nitf.text
    else:
        nitf = None
        if inline is not None:
            text = _joined(_blocks(inline))
        else:
            text = _joined(_text(e) for e in _all(item, "inlineData"))
    if not text:
        raise IngestError(place.name, "a NewsML-G2 item with no text (no inlineXML or inlineData)")
    subject = _first(meta, "subject")
    category = _text(_first(subject, "name")) or _attr(subject, "qcode")
    source = _attr(_first(meta, "infoSource"), "literal") or _attr(
        _first(item_meta, "provider"), "literal"
    )
    date = _text(_first(item_meta, "firstCreated")) or _text(_first(item_meta, "versionCreated"))
    return make_article(
        place,
        doc_id=doc_id,
        title=_text(_first(meta, "headline")) or (nitf.title if nitf else ""),
        text=text,
        source=source or (nitf.source if nitf else ""),
        published=_date(date) or (nitf.published if nitf else ""),
        category=category or (nitf.category if nitf else ""),
        author=_text(_first(_first(meta, "creator"), "name")) or (nitf.author if nitf else ""),
    )


# --------------------------------------------------------------------------- helpers


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _all(element: Any, name: str) -> Iterator[Any]:
    if element is None:
        return
    for found in element.iter(etree.Element):
        if _local(found) == name:
            yield found


def _first(element: Any, name: str) -> Any:
    return next(_all(element, name), None)


def _attr(element: Any, name: str) -> str:
    return " ".join((element.get(name) or "").split()) if element is not None else ""


def _text(element: Any) -> str:
    if element is None:
        return ""
    return " ".join(strip_controls("".join(element.itertext())).split())


def _blocks(element: Any) -> list[str]:
    """The paragraphs of `element`, outermost blocks only (a <p> inside a <blockquote> once)."""
    if element is None:
        return []
    out: list[str] = []
    for found in element.iter(etree.Element):
        if _local(found) not in _BLOCKS:
            continue
        parent = found.getparent()
        inside = False
        while parent is not None and parent is not element:
            if _local(parent) in _BLOCKS:
                inside = True
                break
            parent = parent.getparent()
        if not inside:
            out.append(_text(found))
    if not out:  # text straight in the element, no paragraph markup
        out.append(_text(element))
    return out


def _joined(paragraphs: Iterable[str]) -> str:
    return normalise_text("\n\n".join(p for p in paragraphs if p))


def _date(value: str) -> str:
    """NITF's compact `20240214T093000Z` as 2024-02-14; anything else as given."""
    compact = _COMPACT_DATE.match(value.strip())
    return "-".join(compact.groups()) if compact else value.strip()


__all__ = ["ROOTS", "is_news_xml", "parse_news_xml", "parse_xml"]
