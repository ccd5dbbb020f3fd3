"""Web archives (WARC and ARC, plain or gzip, through warcio): every HTML page captured is an
article, read by trafilatura as a downloaded page is.

The file is streamed record by record (a crawl is often gigabytes: it is never read whole,
and each record's body is read up to `max_record_bytes`). Kept: `response` records of
successful (2xx) HTML pages; their target URL is the doc_id, the capture date stands in when
the page gives no date of its own. Left out: requests, metadata, revisits, non-HTML bodies,
error pages, and a page whose payload was already captured (the same digest). A page with no
article text, or over the size limit, is reported alone; a file that is not a web archive, or
one cut short, is reported by name (the pages before the cut are kept, and the file does not
count as read, so a prune keeps the pages after the cut that were stored before).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, parse_html

HTML_TYPES = ("text/html", "application/xhtml+xml")


def warc_items(
    path: Path, place: Place, *, max_record_bytes: int
) -> Iterator[Article | IngestError]:
    """The article (or the error) of each HTML page in a web archive, one record at a time."""
    from warcio.archiveiterator import ArchiveIterator

    digests: set[str] = set()
    urls: set[str] = set()
    count = 0  # pages and errors handed on
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise IngestError(place.name, f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        records = iter(ArchiveIterator(handle, arc2warc=True))
        while True:
            try:
                record = next(records, None)
                if record is None:
                    break
                page = _page(record, digests, urls, max_record_bytes, place)
            except Exception as exc:  # noqa: BLE001 - warcio fails in many ways on bad or cut input
                reason = " ".join(str(exc).split())[:200] or type(exc).__name__
                if not count:
                    raise IngestError(
                        place.name, f"not a WARC or ARC file, or a damaged one ({reason})"
                    ) from exc
                # after pages were handed on: they hold, but the file was not read to its end
                raise IngestError(
                    place.name, f"the archive is damaged or cut short ({reason})"
                ) from exc
            if page is not None:
                count += 1
                yield page
    if not count:
        raise IngestError(place.name, "no HTML pages in the web archive")
    _check_complete(path, place)


def _check_complete(path: Path, place: Place) -> None:
    """warcio stops without a word at a gzip member cut short: a compressed archive is read
    through once more to its end-of-stream marker (streamed; cheap beside parsing the pages)."""
    with open(path, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return
    try:
        with gzip.open(path, "rb") as stream:
            while stream.read(1024 * 1024):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise IngestError(place.name, f"the archive is damaged or cut short ({reason})") from exc


def _page(
    record: object, digests: set[str], urls: set[str], max_bytes: int, place: Place
) -> Article | IngestError | None:
    """The article of one record, the error to report about it, or None (not a page)."""
    rec_type = getattr(record, "rec_type", "")
    http = getattr(record, "http_headers", None)
    if rec_type != "response" or http is None:
        return None  # requests, metadata, revisits, warcinfo
    status = http.get_statuscode() or ""
    content_type = (http.get_header("Content-Type") or "").lower()
    if not status.startswith("2") or not content_type.startswith(HTML_TYPES):
        return None
    headers = record.rec_headers  # type: ignore[attr-defined]
    url = (headers.get_header("WARC-Target-URI") or "").strip()
    digest = headers.get_header("WARC-Payload-Digest") or ""
    if not url or url in urls or (digest and digest in digests):
        return None  # the same page or payload captured again
    urls.add(url)
    if digest:
        digests.add(digest)
    body = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    where = place.record(url)
    if len(body) > max_bytes:
        return IngestError(where, f"the page is over the {max_bytes:,}-byte limit")
    charset = content_type.partition("charset=")[2].split(";")[0].strip() or "utf-8"
    try:
        markup = body.decode(charset, errors="replace")
    except LookupError:
        markup = body.decode("utf-8", errors="replace")
    try:
        article = parse_html(
            markup, Place(name=where, rel=url, from_path=False), doc_id=url, url=url
        )
    except IngestError as exc:
        return IngestError(where, exc.reason)
    if not article.published:
        captured = (headers.get_header("WARC-Date") or "")[:10]
        article = replace(article, published=captured)
    return article


__all__ = ["warc_items"]
