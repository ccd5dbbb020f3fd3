"""Finding inputs and turning each into Articles: files, folders, URL lists and URLs.

`discover()` expands the user's arguments into `Source`s; `load()` reads one source. Parsing
lives in `ingest.formats` (text, Markdown, HTML), `ingest.records` (JSON, JSONL, CSV, feeds),
`ingest.documents` (Word), `ingest.newsxml` (NITF, NewsML-G2), `ingest.wxr` (WordPress
exports), `ingest.warc` (web archives) and `ingest.web` (downloads).
"""

from __future__ import annotations

import codecs
import errno
import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.documents import parse_docx
from newsdesk.ingest.formats import Place, normalise_text, parse_html, parse_text
from newsdesk.ingest.newsxml import is_news_xml, parse_news_xml, parse_xml
from newsdesk.ingest.records import Parsed, parse_csv, parse_feed, parse_json, parse_jsonl
from newsdesk.ingest.warc import parse_warc
from newsdesk.ingest.web import fetch, human_size
from newsdesk.ingest.wxr import is_wxr, parse_wxr

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
    ".warc": "warc",
    ".warc.gz": "warc",
    ".arc": "warc",
    ".arc.gz": "warc",
}
_COMPOUND = (".warc.gz", ".arc.gz")  # suffixes of two parts
URL_LIST_SUFFIX = ".urls"  # a text file of URLs, one a line, `#` comments
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_KINDS) | {URL_LIST_SUFFIX}

_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*)://")
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_BINARY_SHARE = 0.05  # more control characters than this and a "text" file is binary
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
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


def load(
    source: Source,
    *,
    max_file_bytes: int = 20 * 1024 * 1024,
    url_timeout_s: float = 15.0,
    url_max_bytes: int = 5 * 1024 * 1024,
) -> tuple[list[Article], list[IngestError]]:
    """The articles in one source, and the records in it that could not be read.

    A problem with the whole input (unreadable, too big, not text, no article) raises
    IngestError; a bad record inside a JSON, JSONL, CSV or feed file is returned instead.
    """
    if source.path is None:
        if not source.url:
            raise IngestError(source.origin or source.rel, "the source has no path and no URL")
        place = Place(name=source.url, rel=source.rel or source.url, from_path=False)
        got = fetch(source.url, timeout_s=url_timeout_s, max_bytes=url_max_bytes)
        parsed = _parse(got.data, got.kind, place, charset=got.charset, url=got.url)
    else:
        place = Place(name=str(source.path), rel=source.rel, from_path=True)
        kind = _KINDS.get(suffix_of(source.path))
        if source.path.suffix.lower() == URL_LIST_SUFFIX:
            raise IngestError(place.name, "a list of URLs: expand it with discover() first")
        if kind is None:
            raise IngestError(place.name, _unsupported(source.path))
        if kind == "warc":  # streamed: the size limit is per page, not per file
            parsed = parse_warc(source.path, place, max_record_bytes=max_file_bytes)
        else:
            parsed = _parse(read_file(source.path, max_bytes=max_file_bytes), kind, place)
    articles, errors = _unique(*parsed, place)
    logger.debug("%s: %d articles, %d errors", place.name, len(articles), len(errors))
    return articles, errors


def _parse(data: bytes, kind: str, place: Place, *, charset: str = "", url: str = "") -> Parsed:
    if kind == "docx":
        return [parse_docx(data, place)], []
    if kind == "newsxml" or (kind == "feed" and is_news_xml(data)):
        return parse_news_xml(data, place)
    if kind == "feed" and is_wxr(data):
        return parse_wxr(data, place)
    if kind == "feed":
        _check_not_binary(data, place.name)
        data, bad = _feed_entries_decoded(data, place, charset)
        return parse_feed(data, place, bad_entries=bad)
    if kind == "html":
        text = decode_text(data, place.name, charset=charset or _meta_charset(data))
        if _FEED_ROOT.search(text[:2000]) and "<html" not in text[:2000].lower():
            return parse_feed(data, place)
        return [parse_html(text, place, doc_id=place.rel, url=url)], []
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if kind == "jsonl" and not utf16:
        return _parse_jsonl_lines(data, place, charset)
    if kind == "csv" and not utf16:
        return _parse_csv_lines(data, place, charset)
    text = decode_text(data, place.name, charset=charset)
    if kind in ("text", "markdown"):
        return [parse_text(text, place, markdown=kind == "markdown")], []
    parsers = {"json": parse_json, "jsonl": parse_jsonl, "csv": parse_csv}
    return parsers[kind](text, place)


def _unique(articles: list[Article], errors: list[IngestError], place: Place) -> Parsed:
    seen: set[str] = set()
    kept: list[Article] = []
    for article in articles:
        if article.doc_id in seen:
            reason = f"duplicate id '{article.doc_id}' (the first one was kept)"
            errors.append(IngestError(place.name, reason))
        else:
            seen.add(article.doc_id)
            kept.append(article)
    return kept, errors


def read_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file no bigger than `max_bytes` (checked before reading)."""
    name = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IngestError(name, "is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise IngestError(name, "not a regular file (a pipe, socket or device)")
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


# --------------------------------------------------------------------------- decoding


def _parse_jsonl_lines(data: bytes, place: Place, charset: str) -> Parsed:
    """JSON Lines decoded one line at a time: a line in another encoding (Latin-1, a stray
    UTF-16 record) is reported as `file#line` and skipped, and its neighbours are read."""
    lines, bad = _decoded_lines(data, place, charset)
    good = [line.replace("\n", " ") for line in lines]
    errors = [IngestError(place.record(n), f"line {n}: {why}") for n, why in bad.items()]
    try:
        articles, record_errors = parse_jsonl("\n".join(good), place)
    except IngestError as exc:
        if errors:  # nothing readable: the encoding is the reason to give
            raise IngestError(place.name, f"not JSON Lines: {errors[0].reason}") from exc
        raise
    return articles, sorted(errors + record_errors, key=lambda e: int(e.path.rsplit("#", 1)[1]))


def _decoded_lines(data: bytes, place: Place, charset: str) -> tuple[list[str], dict[int, str]]:
    """The file's lines decoded one at a time, and {line number: why it could not be} for
    those in another encoding (each left empty in the list)."""
    _check_not_empty(data, place.name)
    lines: list[str] = []
    bad: dict[int, str] = {}
    for n, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip(b"\x00")  # a UTF-16 newline leaves a NUL at the next line's edge
        if n == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            lines.append(decode_text(line, place.record(n), charset=charset) if line else "")
        except IngestError as exc:
            bad[n] = exc.reason
            lines.append("")
    return lines, bad


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)""")
_FEED_ENTRY = re.compile(rb"<(item|entry)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def _feed_entries_decoded(
    data: bytes, place: Place, charset: str = ""
) -> tuple[bytes, dict[int, str]]:
    """A UTF-8 feed with entries in another encoding: each such entry is emptied (its place
    kept, so entry numbers do not move) and {entry number: why} returned, for the rest to be
    read as UTF-8 rather than the whole feed re-read in a guessed encoding. A feed that
    declares another encoding (or is served with one) is left to it; bytes outside the
    entries that are not UTF-8 fail the file."""
    declared = _XML_ENCODING.match(data[:400])
    named = declared.group(1).decode("ascii", "replace") if declared else charset
    if named and named.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return data, {}  # the feed (or its server) says what it is: feedparser reads that
    try:
        data.decode("utf-8")
        return data, {}
    except UnicodeDecodeError:
        pass
    bad: dict[int, str] = {}
    pieces: list[bytes] = []
    last = 0
    for n, m in enumerate(_FEED_ENTRY.finditer(data), start=1):
        try:
            decode_text(m.group(0), place.record(n))
            continue
        except IngestError as exc:
            bad[n] = exc.reason
        tag = m.group(1)
        pieces += [data[last : m.start()], b"<" + tag + b"></" + tag + b">"]
        last = m.end()
    cleaned = b"".join(pieces) + data[last:]
    decode_text(cleaned, place.name)  # what is left must be UTF-8: raises, naming the offset
    return cleaned, bad


def _parse_csv_lines(data: bytes, place: Place, charset: str) -> Parsed:
    """CSV decoded one line at a time: a row with a line in another encoding is reported as
    `file#line` and skipped; the rows around it are read. (A bad header line fails the file:
    without it no row can be read.)"""
    lines, bad = _decoded_lines(data, place, charset)
    if 1 in bad:
        raise IngestError(place.name, f"CSV header: {bad[1]}")
    return parse_csv("\n".join(lines), place, bad_lines=bad)


def decode_text(data: bytes, name: str, *, charset: str = "") -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with a BOM, or a declared charset.

    Never guesses an encoding: undecodable bytes are an error that names the offset.
    """
    encoding = "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError as exc:
            raise IngestError(name, f"unknown character set '{charset}'") from exc
    if encoding != "utf-16":
        _check_not_binary(data, name)
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        label = "UTF-8" if encoding == "utf-8" else encoding
        offset = exc.start + skip
        reason = f"not valid {label} text (byte 0x{data[offset]:02x} at offset {offset})"
        raise IngestError(name, reason) from exc
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls > max(4, _BINARY_SHARE * len(text)):
        share = controls / len(text)
        raise IngestError(name, f"binary content ({share:.0%} control characters) in a text file")
    if not text.strip():
        raise IngestError(name, "empty file (only whitespace)")
    return normalise_text(text)


def _check_not_binary(data: bytes, name: str) -> None:
    if b"\x00" in data:
        raise IngestError(name, "binary content (NUL bytes) in a text file")
    _check_not_empty(data, name)


def _check_not_empty(data: bytes, name: str) -> None:
    if not data.strip():
        raise IngestError(name, "empty file (only whitespace)")


def _meta_charset(data: bytes) -> str:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else ""
