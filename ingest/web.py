"""Downloading one URL with limits: http(s) only, a timeout, and a cap on the body size."""

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


def human_size(n_bytes: int) -> str:
    """52.3 MB, 20 MB, 1.5 KB, 12 bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n_bytes} bytes"


def fetch(url: str, *, timeout_s: float, max_bytes: int) -> Fetched:
    """GET `url`, following redirects; raises IngestError(url, reason) on any failure."""
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
    try:
        with (
            httpx.Client(
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                timeout=timeout_s,
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("GET", parsed) as response,
        ):
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
    return Fetched(data=data, kind=_kind(url, content_type, data), charset=charset, url=final_url)


def _kind(url: str, content_type: str, data: bytes) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if not media:
        return "html" if data.lstrip()[:1] == b"<" else "text"
    if media in _KINDS:
        return _KINDS[media]
    if media.endswith("+xml"):
        return "feed"
    raise IngestError(url, f"unsupported content type '{media}' (expected HTML, text or a feed)")
