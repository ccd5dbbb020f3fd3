"""Finding inputs and turning each into Articles: files, folders, URL lists and URLs.

`discover()` expands the user's arguments into `Source`s; `load()` reads one source. Parsing
lives in `ingest.formats` (text, Markdown, HTML), `ingest.records` (JSON, JSONL, CSV, feeds),
`ingest.documents` (Word), `ingest.pdf` (PDF), `ingest.newsxml` (NITF, NewsML-G2),
`ingest.wxr` (WordPress exports), `ingest.warc` (web archives) and `ingest.web` (downloads);
`ingest.decoding` turns bytes into text.
"""

from __future__ import annotations

import codecs
import errno
import io
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.decoding import (
    check_not_binary,
    check_not_empty,
    decode_text,
    decoded_lines,
    feed_entries_decoded,
    meta_charset,
)
from newsdesk.ingest.documents import parse_docx
from newsdesk.ingest.formats import Place, parse_html, parse_text
from newsdesk.ingest.newsxml import is_news_xml, parse_news_xml, parse_xml
from newsdesk.ingest.pdf import parse_pdf
from newsdesk.ingest.records import (
    Item,
    Parsed,
    csv_items,
    jsonl_items,
    parse_csv,
    parse_feed,
    parse_json,
    parse_jsonl,
)
from newsdesk.ingest.warc import warc_items
from newsdesk.ingest.web import Fetched, fetch, human_size
from newsdesk.ingest.wxr import is_wxr, parse_wxr
from newsdesk.ingest.xmlstream import xml_items

logger = logging.getLogger(__name__)

_KINDS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".nitf": "newsxml",
    ".newsml": "newsxml",
    ".docx": "docx",
    ".pdf": "pdf",
    ".warc": "warc",
    ".warc.gz": "warc",
    ".arc": "warc",
    ".arc.gz": "warc",
}
_COMPOUND = (".warc.gz", ".arc.gz")  # suffixes of two parts
URL_LIST_SUFFIX = ".urls"  # a text file of URLs, one a line, `#` comments
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_KINDS) | {URL_LIST_SUFFIX}

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*)://")
_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)[\s>]")
SITEMAP_MAX_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit
_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:RDF)[\s>]")


@dataclass(frozen=True)
class Source:
    """One input to load: a file found on disk or a URL."""

    origin: str  # the user's argument, normalised: the resolved path, or the URL
    rel: str  # doc_id base: path relative to the argument (posix), the file name, or the URL
    path: Path | None = None  # file on disk; None for URLs
    url: str = ""


# --------------------------------------------------------------------------- discovery


def discover(inputs: Sequence[str]) -> tuple[list[Source], list[IngestError]]:
    """Expand arguments (files, folders, `.urls` lists, sitemaps, http(s) URLs) into sources.

    Folders are walked recursively in sorted order; hidden files and folders and files of
    unsupported types inside them are skipped. Problems (a missing path, an unsupported file
    named explicitly, a bad line in a `.urls` list) come back as errors; nothing is read yet.
    """
    sources: list[Source] = []
    errors: list[IngestError] = []
    for arg in inputs:
        scheme = _SCHEME.match(arg)
        if scheme:
            if scheme.group(1).lower() in ("http", "https"):
                sources.append(_url_source(arg))
            else:
                reason = f"unsupported URL scheme '{scheme.group(1)}' (only http and https)"
                errors.append(IngestError(arg, reason))
            continue
        path = Path(arg).expanduser()
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            errors.append(IngestError(arg, _os_reason(exc, missing="no such file or folder")))
            continue
        resolved = path.resolve()
        if stat.S_ISDIR(mode):
            _walk(resolved, sources, errors)
        elif path.suffix.lower() == URL_LIST_SUFFIX:
            _read_url_list(resolved, sources, errors)
        elif _is_sitemap(resolved):
            _read_sitemap(resolved, sources, errors)
        elif suffix_of(path) in SUPPORTED_SUFFIXES:
            sources.append(Source(origin=str(resolved), rel=path.name, path=resolved))
        else:
            errors.append(IngestError(arg, _unsupported(path)))
    return list(dict.fromkeys(sources)), errors


def suffix_of(path: Path) -> str:
    """The file's type suffix, lower-case: `.warc.gz` whole, else the last one."""
    name = path.name.lower()
    return next((s for s in _COMPOUND if name.endswith(s)), path.suffix.lower())


def _url_source(url: str) -> Source:
    return Source(origin=url, rel=url, url=url)


def _unsupported(path: Path) -> str:
    kind = f"'{path.suffix}'" if path.suffix else "without an extension"
    return f"unsupported file type {kind} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


def _walk(root: Path, sources: list[Source], errors: list[IngestError]) -> None:
    def on_error(exc: OSError) -> None:
        reason = f"cannot read folder: {(exc.strerror or str(exc)).lower()}"
        errors.append(IngestError(exc.filename or str(root), reason))

    found: list[Source] = []
    skipped = 0
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            suffix = suffix_of(Path(name))
            if name.startswith(".") or suffix not in SUPPORTED_SUFFIXES:
                skipped += 1
                continue
            path = Path(dirpath, name)
            if suffix == URL_LIST_SUFFIX:
                _read_url_list(path, sources, errors)
            elif _is_sitemap(path):
                _read_sitemap(path, sources, errors)
            else:
                found.append(Source(str(root), path.relative_to(root).as_posix(), path))
    sources.extend(sorted(found, key=lambda s: s.rel))
    logger.debug("%s: %d files found, %d skipped", root, len(found), skipped)


def _read_url_list(path: Path, sources: list[Source], errors: list[IngestError]) -> None:
    try:
        text = decode_text(read_file(path, max_bytes=1024 * 1024), str(path))
    except IngestError as exc:
        errors.append(exc)
        return
    before = (len(sources), len(errors))
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        scheme = _SCHEME.match(line)
        if scheme and scheme.group(1).lower() in ("http", "https"):
            sources.append(_url_source(line))
        else:
            errors.append(IngestError(f"{path}#{n}", f"not an http(s) URL: {line[:100]}"))
    if (len(sources), len(errors)) == before:
        errors.append(IngestError(str(path), "no URLs in the list"))


def _is_sitemap(path: Path) -> bool:
    """A sitemap (`<urlset>` or `<sitemapindex>` at the root of an .xml file)."""
    if path.suffix.lower() != ".xml":
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False  # load() reports it
    return _SITEMAP_ROOT.search(re.sub(rb"<!--.*?-->", b"", head, flags=re.S)) is not None


def _read_sitemap(path: Path, sources: list[Source], errors: list[IngestError]) -> None:
    """A sitemap's page URLs, as a `.urls` list's: each fetched when loaded."""
    place = Place(name=str(path), rel=path.name, from_path=True)
    try:
        root = parse_xml(read_file(path, max_bytes=SITEMAP_MAX_BYTES), place)
    except IngestError as exc:
        errors.append(exc)
        return
    locs = [
        " ".join("".join(e.itertext()).split())
        for e in root.iter(etree.Element)
        if etree.QName(e).localname == "loc"
    ]
    if etree.QName(root).localname == "sitemapindex":
        errors.append(
            IngestError(str(path), f"a sitemap index of {len(locs)} sitemaps: ingest those")
        )
        return
    before = len(sources)
    for n, loc in enumerate(locs, start=1):
        scheme = _SCHEME.match(loc)
        if scheme and scheme.group(1).lower() in ("http", "https"):
            sources.append(_url_source(loc))
        else:
            errors.append(IngestError(f"{path}#{n}", f"not an http(s) URL: {loc[:100]}"))
    if len(sources) == before:
        errors.append(IngestError(str(path), "no page URLs in the sitemap"))


# --------------------------------------------------------------------------- loading

PART_ITEMS = 256  # articles and errors handed on at a time while a source is read


def load(
    source: Source,
    *,
    max_file_bytes: int = 20 * 1024 * 1024,
    url_timeout_s: float = 15.0,
    url_max_bytes: int = 5 * 1024 * 1024,
) -> Parsed:
    """The articles in one source, and the records in it that could not be read.

    A problem with the whole input (unreadable, too big, not text, no article) raises
    IngestError; a bad record inside a JSON, JSONL, CSV or feed file is returned instead, and
    so is a file cut short after some records were read.
    """
    articles: list[Article] = []
    errors: list[IngestError] = []
    parts = load_parts(
        source,
        max_file_bytes=max_file_bytes,
        url_timeout_s=url_timeout_s,
        url_max_bytes=url_max_bytes,
    )
    try:
        for found, bad in parts:
            articles += found
            errors += bad
    except IngestError as exc:
        if not articles and not errors:
            raise
        errors.append(exc)  # cut short after some records: those are kept
    logger.debug("%s: %d articles, %d errors", source.origin, len(articles), len(errors))
    return articles, errors


def load_parts(
    source: Source,
    *,
    max_file_bytes: int = 20 * 1024 * 1024,
    url_timeout_s: float = 15.0,
    url_max_bytes: int = 5 * 1024 * 1024,
) -> Iterator[Parsed]:
    """`load()` a part at a time: (articles, errors) of up to PART_ITEMS records each.

    Record files on disk (JSON Lines, CSV) and web archives are streamed: they are never read
    whole, `max_file_bytes` limits each line or page rather than the file, and memory holds
    one part whatever the file's size. So are feeds and WordPress exports over the limit (an
    entry at a time; smaller ones are read whole, where an entry in another encoding can be
    set aside alone). Other inputs are read whole, within `max_file_bytes`
    (`url_max_bytes` for URLs), and come as one part. A problem with the whole input raises
    IngestError, possibly after parts were handed on (a file cut short: those parts hold).
    """
    if source.path is None:
        if not source.url:
            raise IngestError(source.origin or source.rel, "the source has no path and no URL")
        place = Place(name=source.url, rel=source.rel or source.url, from_path=False)
        got = fetch(source.url, timeout_s=url_timeout_s, max_bytes=url_max_bytes)
        yield from download_parts(got, place)
        return
    path = source.path
    place = Place(name=str(path), rel=source.rel, from_path=True)
    kind = _KINDS.get(suffix_of(path))
    if path.suffix.lower() == URL_LIST_SUFFIX:
        raise IngestError(place.name, "a list of URLs: expand it with discover() first")
    if kind is None:
        raise IngestError(place.name, _unsupported(path))
    if kind == "warc":
        items = warc_items(path, place, max_record_bytes=max_file_bytes)
    elif kind == "feed" and _big_feed(path, max_file_bytes):
        items = xml_items(path, place, max_record_bytes=max_file_bytes)
    elif kind in ("jsonl", "csv") and not _starts_utf16(path):
        items = _streamed(path, kind, place, max_line_bytes=max_file_bytes)
    else:
        items = _whole(read_file(path, max_bytes=max_file_bytes), kind, place)
    yield from _parts(items, place)


def download_parts(got: Fetched, place: Place) -> Iterator[Parsed]:
    """The parts of a downloaded body: a URL's when loaded, or one `newsdesk watch` fetched
    itself (conditionally)."""
    yield from _parts(_whole(got.data, got.kind, place, charset=got.charset, url=got.url), place)


def _parts(items: Iterable[Item], place: Place) -> Iterator[Parsed]:
    """Items grouped into parts; a doc_id met again in the same source is an error."""
    seen: set[str] = set()
    articles: list[Article] = []
    errors: list[IngestError] = []
    try:
        for item in items:
            if isinstance(item, IngestError):
                errors.append(item)
            elif item.doc_id in seen:
                reason = f"duplicate id '{item.doc_id}' (the first one was kept)"
                errors.append(IngestError(place.name, reason))
            else:
                seen.add(item.doc_id)
                articles.append(item)
            if len(articles) + len(errors) >= PART_ITEMS:
                yield articles, errors
                articles, errors = [], []
    except IngestError:
        if articles or errors:  # what was read before the input failed is handed on first
            yield articles, errors
        raise
    if articles or errors:
        yield articles, errors


def _streamed(path: Path, kind: str, place: Place, *, max_line_bytes: int) -> Iterator[Item]:
    """The records of a JSON Lines or CSV file, read one line at a time."""
    with open_file(path) as handle:
        lines = decoded_lines(handle, place, max_line_bytes=max_line_bytes)
        if kind == "jsonl":
            yield from jsonl_items(lines, place)
        else:
            yield from csv_items(lines, place, max_field_chars=max_line_bytes)


def _whole(
    data: bytes, kind: str, place: Place, *, charset: str = "", url: str = ""
) -> Iterator[Item]:
    """The records of an input read whole."""
    if kind in ("jsonl", "csv") and not data.startswith(_UTF16_BOMS):
        check_not_empty(data, place.name)
        lines = decoded_lines(io.BytesIO(data), place, charset=charset, max_line_bytes=len(data))
        parse = jsonl_items if kind == "jsonl" else csv_items
        yield from parse(lines, place)
        return
    articles, errors = _parse(data, kind, place, charset=charset, url=url)
    yield from articles
    yield from errors


def _parse(data: bytes, kind: str, place: Place, *, charset: str = "", url: str = "") -> Parsed:
    if kind == "docx":
        return [parse_docx(data, place)], []
    if kind == "pdf":
        return [parse_pdf(data, place)], []
    if kind == "newsxml" or (kind == "feed" and is_news_xml(data)):
        return parse_news_xml(data, place)
    if kind == "feed" and is_wxr(data):
        return parse_wxr(data, place)
    if kind == "feed":
        check_not_binary(data, place.name)
        data, bad = feed_entries_decoded(data, place, charset)
        return parse_feed(data, place, bad_entries=bad)
    if kind == "html":
        text = decode_text(data, place.name, charset=charset or meta_charset(data))
        if _FEED_ROOT.search(text[:2000]) and "<html" not in text[:2000].lower():
            return parse_feed(data, place)
        return [parse_html(text, place, doc_id=place.rel, url=url)], []
    text = decode_text(data, place.name, charset=charset)
    if kind in ("text", "markdown"):
        return [parse_text(text, place, markdown=kind == "markdown")], []
    parsers = {"json": parse_json, "jsonl": parse_jsonl, "csv": parse_csv}
    return parsers[kind](text, place)


_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _big_feed(path: Path, max_bytes: int) -> bool:
    """A feed or WordPress export over the file limit, read an entry at a time (a NewsML
    document is one article: it keeps the limit)."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False  # read_file reports it
    return not is_news_xml(head) and not _SITEMAP_ROOT.search(head)


def _starts_utf16(path: Path) -> bool:
    """A UTF-16 file (with a BOM) cannot be split on newline bytes: it is read whole."""
    try:
        with path.open("rb") as handle:
            return handle.read(2) in _UTF16_BOMS
    except OSError:
        return False  # open_file reports it


def open_file(path: Path) -> BinaryIO:
    """A regular, non-empty file opened for reading; IngestError names the file otherwise."""
    name = str(path)
    try:
        info = path.stat()
        _check_regular(info, name)
        if not info.st_size:
            raise IngestError(name, "empty file")
        return path.open("rb")
    except OSError as exc:
        raise IngestError(name, _os_reason(exc, missing="no such file")) from exc


def _check_regular(info: os.stat_result, name: str) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise IngestError(name, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise IngestError(name, "not a regular file (a pipe, socket or device)")


def read_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file no bigger than `max_bytes` (checked before reading)."""
    name = str(path)
    try:
        info = path.stat()
        _check_regular(info, name)
        if info.st_size > max_bytes:
            size, limit = human_size(info.st_size), human_size(max_bytes)
            raise IngestError(name, f"file is {size}, over the {limit} limit")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(name, _os_reason(exc, missing="no such file")) from exc
    if len(data) > max_bytes:
        raise IngestError(name, f"file grew past the {human_size(max_bytes)} limit while reading")
    if not data:
        raise IngestError(name, "empty file")
    return data


def _os_reason(exc: OSError, *, missing: str = "no such file or folder") -> str:
    if exc.errno == errno.ENOENT or exc.errno == errno.ENOTDIR:
        return missing
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot read: permission denied"
    return f"cannot read: {exc.strerror or exc}"
