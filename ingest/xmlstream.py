"""Big XML record files read one item at a time: RSS/Atom feeds and WordPress exports over
the per-file size limit.

lxml's `iterparse` reads the file in pieces, under the same rules as `newsxml.parse_xml` (no
entity expansion, no DTD, no network); each finished `<item>` or `<entry>` is turned into an
article (a WordPress item as `wxr_item` does; a feed entry by feedparser, given as a feed of
one entry, so it reads exactly as in a whole feed) and then dropped from the tree, so memory
holds one item whatever the file's size. A prolog that declares entities is refused; XML
broken after some items ends the file there with an error (those items are kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from newsdesk.core.errors import IngestError
from newsdesk.ingest.formats import Place
from newsdesk.ingest.newsxml import SAFE_PARSING, refuses_entities
from newsdesk.ingest.records import Item, parse_feed
from newsdesk.ingest.web import human_size
from newsdesk.ingest.wxr import is_wxr, wxr_item

HEAD_BYTES = 64 * 1024  # where the prolog and the root element's namespaces are looked for
_FEEDS = ("rss", "feed", "RDF")
_ENTRIES = ("item", "entry")
_CONTAINERS = ("channel", "feed", "RDF")
_ATOM = "http://www.w3.org/2005/Atom"


def xml_items(path: Path, place: Place, *, max_record_bytes: int) -> Iterator[Item]:
    """The article (or the error) of each entry of a feed or WordPress export on disk."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError as exc:
        raise IngestError(place.name, f"cannot read: {exc.strerror or exc}") from exc
    refuses_entities(head, place)
    wordpress = is_wxr(head)
    n = 0
    title = ""
    parents: list[str] = []
    events = etree.iterparse(str(path), events=("start", "end"), **SAFE_PARSING)
    try:
        for event, elem in events:
            if not isinstance(elem.tag, str):
                continue
            local = etree.QName(elem).localname
            if event == "start":
                if not parents and local not in _FEEDS:
                    raise IngestError(place.name, f"not an RSS or Atom feed (root <{local}>)")
                parents.append(local)
                continue
            parents.pop()
            parent = parents[-1] if parents else ""
            if local == "title" and parent in _CONTAINERS and not title:
                title = " ".join("".join(elem.itertext()).split())
            elif local in _ENTRIES and parent in _CONTAINERS:
                n += 1
                found = _entry(elem, place, n, title, wordpress, max_record_bytes)
                _drop(elem)
                if found is not None:
                    yield found
    except etree.XMLSyntaxError as exc:
        if not n:
            raise IngestError(place.name, f"malformed XML ({exc.msg})") from exc
        raise IngestError(place.name, f"malformed XML after entry {n} ({exc.msg})") from exc
    if not n:
        what = "a WordPress export with no items" if wordpress else "the feed has no entries"
        raise IngestError(place.name, what)


def _entry(
    elem: Any, place: Place, n: int, title: str, wordpress: bool, max_bytes: int
) -> Item | None:
    if wordpress:
        return wxr_item(elem, place, n, title)
    data = etree.tostring(elem)
    if len(data) > max_bytes:
        return IngestError(place.record(n), f"entry {n} is over the {human_size(max_bytes)} limit")
    if etree.QName(elem).namespace == _ATOM:
        doc = b'<feed xmlns="' + _ATOM.encode() + b'">' + data + b"</feed>"
    else:
        doc = b'<rss version="2.0"><channel>' + data + b"</channel></rss>"
    try:
        articles, errors = parse_feed(doc, place, first=n, feed_title=title)
    except IngestError as exc:  # feedparser found no entry in it
        return IngestError(place.record(n), f"entry {n}: {exc.reason}")
    return articles[0] if articles else errors[0]


def _drop(elem: Any) -> None:
    """Free a finished entry and the siblings before it: what keeps memory flat."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


__all__ = ["xml_items"]
