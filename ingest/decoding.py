"""Bytes to text: the one place a document's bytes are decoded, whole or a line at a time.

Never guesses an encoding: UTF-8 (with or without BOM), UTF-16 with a BOM, or the charset a
file or server declares; undecodable bytes are an error that names the offset. Record files
are decoded one line at a time (`decoded_lines`), so a line in another encoding is reported
as `file#line` and its neighbours are read, and a file of any size is read with one line in
memory.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from newsdesk.core.errors import IngestError
from newsdesk.ingest.formats import Place, normalise_text
from newsdesk.ingest.web import human_size

_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_BINARY_SHARE = 0.05  # more control characters than this and a "text" file is binary
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_READ_BYTES = 1024 * 1024  # how much of an over-long line is skipped at a time


def decoded_lines(
    handle: BinaryIO, place: Place, *, charset: str = "", max_line_bytes: int
) -> Iterator[tuple[int, str | IngestError]]:
    """(line number, text) for each line of a record file read from `handle`, without its
    line break; a line that cannot be decoded, or is longer than `max_line_bytes`, comes as
    (n, IngestError naming `file#n`) and is skipped to its end. A line of whitespace is ""."""
    n = 0
    while True:
        try:
            raw = handle.readline(max_line_bytes + 1)
        except OSError as exc:
            raise IngestError(place.name, f"cannot read: {exc.strerror or exc}") from exc
        if not raw:
            return
        n += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # the rest of the line, never held whole
                raw = handle.readline(_READ_BYTES)
            limit = human_size(max_line_bytes)
            yield n, IngestError(place.record(n), f"line {n} is over the {limit} limit")
            continue
        line = raw.rstrip(b"\r\n").strip(b"\x00")  # UTF-16 newlines leave a NUL at the edge
        if n == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        if not line.strip():
            yield n, ""
            continue
        try:
            yield n, decode_text(line, place.record(n), charset=charset)
        except IngestError as exc:
            yield n, IngestError(place.record(n), f"line {n}: {exc.reason}")


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
        check_not_binary(data, name)
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


def check_not_binary(data: bytes, name: str) -> None:
    if b"\x00" in data:
        raise IngestError(name, "binary content (NUL bytes) in a text file")
    check_not_empty(data, name)


def check_not_empty(data: bytes, name: str) -> None:
    if not data.strip():
        raise IngestError(name, "empty file (only whitespace)")


def meta_charset(data: bytes) -> str:
    found = _META_CHARSET.search(data[:4096])
    return found.group(1).decode("ascii") if found else ""


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)""")
_FEED_ENTRY = re.compile(rb"<(item|entry)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


def feed_entries_decoded(
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
