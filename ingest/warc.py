"""Web archives (WARC and ARC, plain or gzip, through warcio): every HTML page captured is an
article, read by trafilatura as a downloaded page is.

The file is streamed record by record (a crawl is often gigabytes: it is never read whole,
and each record's body is read up to `max_record_bytes`). Kept: `response` records of
successful (2xx) HTML pages; their target URL is the doc_id, the capture date stands in when
the page gives no date of its own. Left out: requests, metadata, revisits, non-HTML bodies,
error pages, and a page whose payload was already captured (the same digest). A page with no
article text, or over the size limit, is reported alone; a file that is not a web archive, or
one cut short, is reported by name (the pages before the cut are kept).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import Place, parse_html

HTML_TYPES = ("text/html", "application/xhtml+xml")


def parse_warc(
    path: Path, place: Place, *, max_record_bytes: int
) -> tuple[list[Article], list[IngestError]]:
    from warcio.archiveiterator import ArchiveIterator

    articles: list[Article] = []
    errors: list[IngestError] = []
    digests: set[str] = set()
    urls: set[str] = set()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise IngestError(place.name, f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        try:
            for record in ArchiveIterator(handle, arc2warc=True):
                page = _page(record, digests, urls, max_record_bytes, place)
                if isinstance(page, IngestError):
                    errors.append(page)
                elif page is not None:
                    articles.append(page)
        except Exception as exc:  # noqa: BLE001 - warcio fails in many ways on bad or cut input
            _broken(exc, place, articles, errors)
    if not articles and not errors:
        raise IngestError(place.name, "no HTML pages in the web archive")
    return articles, errors


def _broken(
    exc: Exception, place: Place, articles: list[Article], errors: list[IngestError]
) -> None:
    """A failure reading the archive: the whole file's error when nothing was read yet,
    else one more error after the pages read (kept)."""
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    if not articles and not errors:
        raise IngestError(
            place.name, f"not a WARC or ARC file, or a damaged one ({reason})"
        ) from exc
    errors.append(IngestError(place.name, f"the archive is damaged or cut short ({reason})"))


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


__all__ = ["parse_warc"]
