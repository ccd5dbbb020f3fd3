"""Downloading one URL with limits: http(s) only, a timeout, and a cap on the body size.

A conditional GET (`etag=` / `last_modified=`, the validators of the last download) is
answered with `Fetched.not_modified` and no body when the server says 304 Not Modified.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx

from newsdesk.core.errors import IngestError

logger = logging.getLogger(__name__)

USER_AGENT = "newsdesk/0.1 (+news archive ingest)"
MAX_REDIRECTS = 10

# Content type (without parameters) -> the parser kind used by ingest.loaders.
_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "markdown",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/rdf+xml": "feed",
    "application/xml": "feed",
    "text/xml": "feed",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "text/csv": "csv",
}


@dataclass(frozen=True)
class Fetched:
    """A downloaded body and what the server said it is."""

    data: bytes
    kind: str  # a parser kind: html, text, markdown, feed, json, jsonl, csv
    charset: str  # from the Content-Type header, "" when not given
    url: str  # the final URL after redirects
    etag: str = ""  # the validators the server sent, for the next conditional GET
    last_modified: str = ""
    not_modified: bool = False  # 304: the body is unchanged since those validators (and empty)


def human_size(n_bytes: int) -> str:
    """52.3 MB, 20 MB, 1.5 KB, 12 bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n_bytes} bytes"


def fetch(
    url: str, *, timeout_s: float, max_bytes: int, etag: str = "", last_modified: str = ""
) -> Fetched:
    """GET `url`, following redirects; raises IngestError(url, reason) on any failure.

    With `etag` or `last_modified` the request is conditional (If-None-Match,
    If-Modified-Since): a 304 answer comes back as `not_modified`, with an empty body."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise IngestError(url, f"invalid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise IngestError(url, "only http:// and https:// URLs are supported")
    if not parsed.host:
        raise IngestError(url, "the URL has no host name")
    limit = human_size(max_bytes)
    deadline = time.monotonic() + timeout_s
    timed_out = f"timed out after {timeout_s:g} s"
    conditions = {"If-None-Match": etag, "If-Modified-Since": last_modified}
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=timeout_s,
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream(
                "GET", parsed, headers={k: v for k, v in conditions.items() if v}
            ) as response,
        ):
            sent_etag = response.headers.get("etag", "")
            sent_modified = response.headers.get("last-modified", "")
            if response.status_code == 304 and (etag or last_modified):
                logger.debug("not modified: %s", url)
                return Fetched(
                    data=b"",
                    kind="",
                    charset="",
                    url=str(response.url),
                    etag=sent_etag or etag,
                    last_modified=sent_modified or last_modified,
                    not_modified=True,
                )
            if response.status_code >= 400:
                raise IngestError(url, f"HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                size = human_size(int(declared))
                raise IngestError(url, f"the page is {size}, over the {limit} limit")
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > max_bytes:
                    raise IngestError(url, f"the page is over the {limit} limit")
                if time.monotonic() > deadline:
                    raise IngestError(url, timed_out)
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "")
            charset = response.charset_encoding or ""
            final_url = str(response.url)
    except httpx.TimeoutException as exc:
        raise IngestError(url, timed_out) from exc
    except httpx.TooManyRedirects as exc:
        raise IngestError(url, f"more than {MAX_REDIRECTS} redirects") from exc
    except httpx.UnsupportedProtocol as exc:
        raise IngestError(url, f"redirected to an unsupported URL: {exc}") from exc
    except httpx.ConnectError as exc:
        raise IngestError(url, f"cannot connect: {exc}") from exc
    except httpx.HTTPError as exc:
        raise IngestError(url, f"download failed: {exc}") from exc
    data = b"".join(chunks)
    logger.debug("fetched %s: %d bytes, %s", url, len(data), content_type or "no content type")
    return Fetched(
        data=data,
        kind=_kind(url, content_type, data),
        charset=charset,
        url=final_url,
        etag=sent_etag,
        last_modified=sent_modified,
    )


def _kind(url: str, content_type: str, data: bytes) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if not media:
        return "html" if data.lstrip()[:1] == b"<" else "text"
    if media in _KINDS:
        return _KINDS[media]
    if media.endswith("+xml"):
        return "feed"
    raise IngestError(url, f"unsupported content type '{media}' (expected HTML, text or a feed)")
