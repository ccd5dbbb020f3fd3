"""WordPress exports (WXR: an RSS file with `wp:` elements): the published posts and pages.

Each published `post` or `page` item is an article: its HTML content as text, title, link
(the doc_id, else the guid, else the post id), author (`dc:creator`), date (`wp:post_date_gmt`,
else `pubDate`), first category. Drafts, private posts, attachments, menu items and other
post types are left out and counted; an item without text is reported alone. Parsed with
the safe XML rules of `ingest.newsxml`.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, html_to_text, make_article, normalise_text
from newsdesk.ingest.newsxml import parse_xml

_WXR = re.compile(rb"wordpress\.org/export/")
ARTICLE_TYPES = ("post", "page")


def is_wxr(data: bytes) -> bool:
    """Whether `data` is a WordPress export (its namespace declared at the top)."""
    return _WXR.search(data[:4096]) is not None


def parse_wxr(data: bytes, place: Place) -> tuple[list[Article], list[IngestError]]:
    root = parse_xml(data, place)
    channel = _child(root, "channel")
    site = _text(_child(channel, "title"))
    articles: list[Article] = []
    errors: list[IngestError] = []
    items = [e for e in (channel if channel is not None else []) if _local(e) == "item"]
    for n, item in enumerate(items, start=1):
        found = wxr_item(item, place, n, site)
        if isinstance(found, IngestError):
            errors.append(found)
        elif found is not None:
            articles.append(found)
    if not items:
        raise IngestError(place.name, "a WordPress export with no items")
    return articles, errors


def wxr_item(item: Any, place: Place, n: int, site: str) -> Article | IngestError | None:
    """The article of the `n`th item of an export of `site`, its error, or None (a draft, an
    attachment or anything else that is not a published post or page)."""
    kind = _text(_child(item, "post_type")) or "post"
    status = _text(_child(item, "status")) or "publish"
    if kind not in ARTICLE_TYPES or status != "publish":
        return None  # drafts, attachments, menus: not articles
    doc_id = (
        _text(_child(item, "link"))
        or _text(_child(item, "guid"))
        or f"{place.rel}#{_text(_child(item, 'post_id')) or n}"
    )
    text = normalise_text(html_to_text(_text(_child(item, "encoded"), keep=True)))
    if not text.strip():
        return IngestError(place.record(doc_id), "a published post with no text")
    categories = [
        _text(c)
        for c in item
        if _local(c) == "category" and (c.get("domain") or "category") == "category"
    ]
    date = _text(_child(item, "post_date_gmt"))
    if not date or date.startswith("0000"):
        date = _text(_child(item, "pubDate"))
    return make_article(
        place,
        doc_id=doc_id,
        title=_text(_child(item, "title")),
        text=text,
        source=site,
        published=date,
        url=_text(_child(item, "link")),
        category=categories[0] if categories else "",
        author=_text(_child(item, "creator")),
    )


def _local(element: Any) -> str:
    return str(etree.QName(element).localname) if isinstance(element.tag, str) else ""


def _child(element: Any, name: str) -> Any:
    if element is None:
        return None
    return next((c for c in element if _local(c) == name), None)


def _text(element: Any, *, keep: bool = False) -> str:
    if element is None:
        return ""
    text = "".join(element.itertext())
    return text.strip() if keep else " ".join(text.split())


__all__ = ["is_wxr", "parse_wxr", "wxr_item"]
