"""What changed at a watched source since the last poll (for `newsdesk watch`, ingest.watch).

`Finder.poll(target)` asks one URL or file and gathers into `Changes` the articles that may be
new or changed, and the validators to record once they are stored:

- **Nothing fetched twice for nothing.** A URL is asked with the validators of its last answer
  (If-None-Match, If-Modified-Since): a 304 costs nothing. A body identical to the last one (a
  server without validators) is not read either, nor a sitemap page whose `<lastmod>` is the
  one seen before, nor a local file whose bytes are.
- **What a body is** decides what it leads to: a sitemap, its pages (a sitemap index, its
  sitemaps); a feed or a record list (JSON, JSONL, CSV), its items; anything else is a page.
  A local file other than a sitemap is read as `newsdesk ingest FILE` reads it.
- **Summaries.** A feed item whose text is shorter than SUMMARY_MAX_CHARS and that links to an
  http(s) page is a summary: the page is fetched and its main text replaces the summary (the
  item keeps its id, title, date and source) when it is longer. The page is fetched again only
  when the item changes (its title, text or link) or its article is no longer stored.
- **Never missing something.** A source's validators are kept only when everything it led to
  could be fetched (a page that failed: the source is asked for in full at the next poll). A
  page that was fetched but holds no article is reported, and not asked for until it changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from newsdesk.core.config import Settings
from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place
from newsdesk.ingest.loaders import (
    SITEMAP_MAX_BYTES,
    Source,
    download_parts,
    load_parts,
    read_file,
)
from newsdesk.ingest.newsxml import parse_xml
from newsdesk.ingest.web import Fetched, fetch
from newsdesk.store.ledger import Ledger

SUMMARY_MAX_CHARS = 1000  # a feed item with less text than this and a link is a summary
_RECORD_KINDS = frozenset({"feed", "json", "jsonl", "csv"})  # bodies whose items may link out
_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)[\s>]")

Parsed = tuple[list[Article], list[IngestError]]


@dataclass
class Changes:
    """What one poll found, before it is stored."""

    ledger: Ledger  # what is stored, and the validators last recorded
    inputs: dict[str, Parsed | None] = field(default_factory=dict)  # None: ingest reads it
    seen: dict[str, dict[str, str]] = field(default_factory=dict)  # validators to record
    asked: set[str] = field(default_factory=set)  # each URL or file is polled once a poll
    not_modified: int = 0  # 304s, bodies as before, sitemap pages of the same lastmod
    unchanged: int = 0  # summaries as before, their articles stored
    errors: list[IngestError] = field(default_factory=list)  # of pages and items
    stopped: bool = False  # stopped before everything was asked

    def first_time(self, target: str) -> bool:
        new = target not in self.asked
        self.asked.add(target)
        return new

    def loader(self, settings: Settings) -> Callable[[Source], Iterable[Parsed]]:
        """For `pipeline.ingest`: the articles gathered for a source, or the source read."""

        def read(src: Source) -> Iterable[Parsed]:
            found = self.inputs.get(src.url or str(src.path))
            if found is not None:
                return [found]
            return load_parts(src, max_file_bytes=settings.max_file_bytes)

        return read


class Finder:
    """Polls URLs and files into `changes` (see the module); `stopping` is asked between
    fetches."""

    def __init__(self, settings: Settings, changes: Changes, stopping: Callable[[], bool]):
        self.settings = settings
        self.got = changes
        self._stopping = stopping

    def poll(self, target: str, *, depth: int = 0) -> None:
        """Poll one URL or file; IngestError when it fails as a whole."""
        got = self.got
        old = got.ledger.watched(target)
        if not is_url(target):
            return self._poll_file(Path(target), old)
        fetched = self._fetch(target, old)
        seen = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        if fetched.not_modified:
            got.not_modified += 1
            got.seen[target] = old | seen
            return None
        seen["digest"] = hashlib.sha256(fetched.data).hexdigest()
        complete = True
        if seen["digest"] == old.get("digest"):
            got.not_modified += 1
        elif _is_sitemap(fetched.data):
            complete = self._sitemap(target, fetched.data, depth=depth)
        else:
            place = Place(name=target, rel=target, from_path=False)
            articles, errors = _collect(download_parts(fetched, place))
            if fetched.kind in _RECORD_KINDS:
                articles, complete = self._full_texts(target, articles)
            got.inputs[target] = (articles, errors)
        if complete:  # else it is asked for in full next time
            got.seen[target] = seen
        return None

    def _poll_file(self, path: Path, old: dict[str, str]) -> None:
        try:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise IngestError(str(path), f"cannot read: {exc.strerror or exc}") from exc
        complete = True
        if digest == old.get("digest"):
            self.got.not_modified += 1
        elif path.suffix.lower() == ".xml" and _is_sitemap(_head(path)):
            data = read_file(path, max_bytes=SITEMAP_MAX_BYTES)
            complete = self._sitemap(str(path), data, depth=0)
        else:
            self.got.inputs[str(path)] = None  # as `newsdesk ingest FILE` reads it
        if complete:
            self.got.seen[str(path)] = {"digest": digest}

    def _fetch(self, url: str, old: dict[str, str], *, conditional: bool = True) -> Fetched:
        return fetch(
            url,
            timeout_s=self.settings.url_timeout_s,
            max_bytes=self.settings.url_max_bytes,
            etag=old.get("etag", "") if conditional else "",
            last_modified=old.get("last_modified", "") if conditional else "",
        )

    # ------------------------------------------------------------ sitemaps
    def _sitemap(self, name: str, data: bytes, *, depth: int) -> bool:
        """Poll a sitemap's pages (an index's sitemaps); False when one could not be."""
        root = parse_xml(data, Place(name=name, rel=name, from_path=False))
        entries = [
            (_child_text(e, "loc"), _child_text(e, "lastmod"))
            for e in root
            if isinstance(e.tag, str) and etree.QName(e).localname in ("url", "sitemap")
        ]
        index = etree.QName(root).localname == "sitemapindex"
        if index and depth:
            raise IngestError(name, "a sitemap index inside a sitemap index")
        complete = True
        for loc, lastmod in entries:
            if self._stopping():
                self.got.stopped = True
                return False
            if not is_url(loc) or not self.got.first_time(loc):
                continue
            try:
                if index:
                    self.poll(loc, depth=depth + 1)
                    complete = complete and loc in self.got.seen
                else:
                    self._page(loc, lastmod)
            except IngestError as exc:  # could not be fetched: asked again next time
                self.got.errors.append(exc)
                complete = False
        return complete

    def _page(self, url: str, lastmod: str) -> None:
        """A sitemap's page: fetched when new, or when its lastmod or the page changed."""
        got = self.got
        old = got.ledger.watched(url)
        known = got.ledger.article_hash(url) is not None
        if known and lastmod and old.get("lastmod") == lastmod:
            got.not_modified += 1
            return
        fetched = self._fetch(url, old, conditional=known)
        got.seen[url] = {
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "lastmod": lastmod,
        }
        if fetched.not_modified:
            got.not_modified += 1
            return
        try:
            got.inputs[url] = _collect(download_parts(fetched, Place(url, url, from_path=False)))
        except IngestError as exc:  # fetched, but no article there
            got.errors.append(exc)

    # ------------------------------------------------------------ summaries
    def _full_texts(self, feed: str, items: list[Article]) -> tuple[list[Article], bool]:
        """The feed's items with each summary's page text, and whether every page needed was
        fetched. Summaries unchanged since the last poll, their articles stored, are left out
        (and counted as unchanged)."""
        out: list[Article] = []
        complete = True
        for item in items:
            link = urljoin(feed, item.url) if item.url else ""
            if len(item.text) >= SUMMARY_MAX_CHARS or not is_url(link) or link == feed:
                out.append(item)
                continue
            if self._stopping():
                self.got.stopped = True
                return out, False
            try:
                full = self._summary_page(item, link)
            except IngestError as exc:  # asked again next time; stored as it is meanwhile
                self.got.errors.append(IngestError(exc.path, f"{exc.reason} (summary kept)"))
                complete = False
                full = item
            if full is not None:
                out.append(full)
        return out, complete

    def _summary_page(self, item: Article, link: str) -> Article | None:
        """The item with its page's text; None when neither changed since the last poll."""
        got = self.got
        old = got.ledger.watched(link)
        seen_item = hashlib.sha256(f"{item.title}\n{item.text}\n{link}".encode()).hexdigest()
        known = got.ledger.article_hash(item.doc_id) is not None
        if known and old.get("item") == seen_item:
            got.unchanged += 1
            return None
        fetched = self._fetch(link, old, conditional=known)
        got.seen[link] = {
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "item": seen_item,
        }
        if fetched.not_modified:
            got.not_modified += 1
            return None
        try:
            pages, _ = _collect(download_parts(fetched, Place(link, item.doc_id, False)))
        except IngestError as exc:  # fetched, but no article there
            got.errors.append(IngestError(exc.path, f"{exc.reason} (summary kept)"))
            return item
        page = pages[0] if len(pages) == 1 else None
        if page is None or len(page.text) <= len(item.text):
            return item  # no better text there (a paywall, a list page): the summary it is
        return replace(
            item,
            text=page.text,
            title=item.title or page.title,
            published=item.published or page.published,
            source=item.source or page.source,
            author=item.author or page.author,
            category=item.category or page.category,
        )


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _collect(parts: Iterable[Parsed]) -> Parsed:
    articles: list[Article] = []
    errors: list[IngestError] = []
    for found, bad in parts:
        articles += found
        errors += bad
    return articles, errors


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4096)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read: {exc.strerror or exc}") from exc


def _is_sitemap(data: bytes) -> bool:
    head = re.sub(rb"<!--.*?-->", b"", data[:4096], flags=re.S)
    return _SITEMAP_ROOT.search(head) is not None


def _child_text(element: Any, name: str) -> str:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return " ".join("".join(child.itertext()).split())
    return ""
