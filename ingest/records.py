"""Record formats: JSON, JSON Lines, CSV and RSS/Atom feeds, each holding many articles.

A broken file raises `IngestError`; a broken record (a malformed line, a record without text)
is returned as an `IngestError` named "file#n" next to the good records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article
from newsdesk.ingest.formats import (
    Place,
    clean_meta,
    html_to_text,
    iso_date,
    make_article,
    normalise_text,
    strip_controls,
)

# Field names recognised in records, first match wins (keys are compared lower-cased).
FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "title": ("title", "headline"),
    "text": ("text", "body", "content", "article"),
    "published": ("published", "date", "published_at", "pubdate", "publishedat"),
    "source": ("source", "publisher", "site"),
    "url": ("url", "link"),
    "author": ("author", "byline"),
    "category": ("category", "section"),
}
_TEXT_FIELDS = ", ".join(FIELDS["text"])

Parsed = tuple[list[Article], list[IngestError]]


def _get(record: Mapping[str, Any], role: str) -> Any:
    for name in FIELDS[role]:
        value = record.get(name)
        if value not in (None, "", [], {}):
            return value
    return ""


def _body(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n\n".join(value)
    if not isinstance(value, str):
        return ""
    return strip_controls(html_to_text(normalise_text(value)))


def record_article(record: Any, place: Place, n: int, *, single: bool = False) -> Article:
    """One JSON object or CSV row as an Article; raises IngestError named "file#n"."""
    where = place.name if single else place.record(n)
    if not isinstance(record, dict):
        raise IngestError(where, f"expected a JSON object, found {_json_type(record)}")
    fields = {str(key).strip().lower(): value for key, value in record.items()}
    text = _body(_get(fields, "text"))
    if not text:
        raise IngestError(where, f"record has no text (expected a field named {_TEXT_FIELDS})")
    title = _get(fields, "title")
    if isinstance(title, str):
        title = html_to_text(title)
    doc_id = clean_meta(_get(fields, "id")) or clean_meta(_get(fields, "url"))
    return make_article(
        place,
        doc_id=doc_id or (place.rel if single else f"{place.rel}#{n}"),
        title=title,
        text=text,
        source=_get(fields, "source"),
        published=_get(fields, "published"),
        url=_get(fields, "url"),
        category=_get(fields, "category"),
        author=_get(fields, "author"),
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _collect(items: list[tuple[int, Any]], place: Place, *, single: bool = False) -> Parsed:
    articles: list[Article] = []
    errors: list[IngestError] = []
    for n, item in items:
        try:
            articles.append(record_article(item, place, n, single=single))
        except IngestError as exc:
            errors.append(exc)
    return articles, errors


def parse_json(text: str, place: Place) -> Parsed:
    """An object, an array of objects, or {"articles": [...]}; doc ids fall back to rel#index."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(place.name, f"malformed JSON on line {exc.lineno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise IngestError(place.name, "JSON is nested too deeply to read") from exc
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        return _collect([(0, data)], place, single=True)
    if not isinstance(data, list):
        raise IngestError(
            place.name, f"expected a JSON object or an array of objects, found {_json_type(data)}"
        )
    if not data:
        raise IngestError(place.name, "no records (an empty JSON array)")
    return _collect(list(enumerate(data)), place)


Line = tuple[int, "str | IngestError"]  # (line number, its text or why it could not be read)
Item = Article | IngestError
DEFAULT_MAX_FIELD = 20 * 1024 * 1024
HELD_ERRORS = 1000  # bad lines before any record, after which a file is not JSON Lines


def parse_jsonl(text: str, place: Place) -> Parsed:
    """One JSON object per line; doc ids fall back to rel#line (1-based)."""
    return collect(jsonl_items(enumerate(text.split("\n"), start=1), place))


def parse_csv(text: str, place: Place) -> Parsed:
    """A header row naming the fields, then one article per row; doc ids fall back to rel#line."""
    lines = enumerate(text.split("\n"), start=1)
    return collect(csv_items(lines, place, max_field_chars=max(DEFAULT_MAX_FIELD, len(text) + 1)))


def jsonl_items(lines: Iterable[Line], place: Place) -> Iterator[Item]:
    """The article (or the error) of each record of a JSON Lines file, one line at a time.

    A file with no JSON record raises IngestError naming the first problem; errors before the
    first record are held until one is found (at most HELD_ERRORS of them).
    """
    held: list[IngestError] = []
    found = False
    for n, line in lines:
        if isinstance(line, IngestError):
            error = line
        elif not line.strip():
            continue
        else:
            try:
                value = json.loads(line.replace("\n", " "))
            except json.JSONDecodeError as exc:
                reason = f"malformed JSON on line {n}: {exc.msg} (column {exc.colno})"
                error = IngestError(place.record(n), reason)
            except RecursionError:
                error = IngestError(place.record(n), f"JSON on line {n} is nested too deeply")
            else:
                if not found:
                    found = True
                    yield from held
                    held = []
                try:
                    yield record_article(value, place, n)
                except IngestError as exc:
                    yield exc
                continue
        if found:
            yield error
            continue
        held.append(error)
        if len(held) >= HELD_ERRORS:
            break
    if not found and not held:
        raise IngestError(place.name, "empty file (only whitespace)")
    if not found:
        raise IngestError(place.name, f"not JSON Lines: {held[0].reason}")


def csv_items(
    lines: Iterable[Line], place: Place, *, max_field_chars: int = DEFAULT_MAX_FIELD
) -> Iterator[Item]:
    """The article (or the error) of each row of a CSV file whose first line names the fields.

    A row's line is the file line it starts on (the header is line 1). A row that spans a line
    that could not be read is skipped and reported with that line's reason; a bad header fails
    the file (without it no row can be read).
    """
    bad: dict[int, str] = {}
    # Article bodies are long (the csv module's default limit is 131,072 characters), but a
    # quote left open must not swallow a whole file into one field.
    csv.field_size_limit(max_field_chars)

    def texts() -> Iterator[str]:
        for n, line in lines:
            if isinstance(line, IngestError):
                bad[n] = line.reason.removeprefix(f"line {n}: ")
                line = ""
            yield line + "\n"

    reader = csv.reader(texts())
    try:
        header = next(reader)
    except StopIteration as exc:
        raise IngestError(place.name, "empty CSV file") from exc
    except csv.Error as exc:
        raise IngestError(place.name, f"malformed CSV header: {exc}") from exc
    if 1 in bad:
        raise IngestError(place.name, f"CSV header: {bad[1]}")
    keys = [h.strip().lower() for h in header]
    if not set(keys) & set(FIELDS["text"]):
        found = ", ".join(clean_meta(h) for h in header[:12])
        raise IngestError(
            place.name, f"no text column (expected one of {_TEXT_FIELDS}; found: {found})"
        )
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield IngestError(place.record(start), f"malformed CSV: {exc}")
            break
        line, start = start, reader.line_num + 1
        spoilt = [n for n in range(line, start) if n in bad]
        for n in spoilt:
            yield IngestError(place.record(line), f"line {n}: {bad.pop(n)}")
        if not spoilt and any(cell.strip() for cell in row):
            try:
                yield record_article(dict(zip(keys, row, strict=False)), place, line)
            except IngestError as exc:
                yield exc
    for n, why in sorted(bad.items()):
        yield IngestError(place.record(n), f"line {n}: {why}")


def collect(items: Iterable[Item]) -> Parsed:
    """Articles and errors, apart."""
    articles: list[Article] = []
    errors: list[IngestError] = []
    for item in items:
        (errors if isinstance(item, IngestError) else articles).append(item)  # type: ignore[arg-type]
    return articles, errors


def parse_feed(
    data: bytes,
    place: Place,
    *,
    bad_entries: Mapping[int, str] | None = None,
    first: int = 1,
    feed_title: str = "",
) -> Parsed:
    """An RSS or Atom feed: one article per entry; doc ids are entry ids, links, or rel#n.
    `bad_entries` (entry number -> reason) are entries emptied for an undecodable byte: each
    is reported with its reason. Entries are numbered from `first` (a streamed feed hands
    them over one at a time, with its title as `feed_title`)."""
    bad = bad_entries or {}
    import feedparser

    parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=True)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f" ({clean_meta(problem)})" if problem else ""
        raise IngestError(place.name, f"not an RSS or Atom feed{detail}")
    if not parsed.entries:
        raise IngestError(place.name, "the feed has no entries")
    feed_title = parsed.feed.get("title", "") or feed_title
    articles: list[Article] = []
    errors: list[IngestError] = []
    for n, entry in enumerate(parsed.entries, start=first):
        if n in bad:
            errors.append(IngestError(place.record(n), f"entry {n}: {bad[n]}"))
            continue
        bodies = [c.get("value", "") for c in entry.get("content", [])]
        bodies.append(entry.get("summary", ""))
        text = max((_body(b) for b in bodies), key=len)
        if not text:
            errors.append(IngestError(place.record(n), "feed entry has no text"))
            continue
        tags = entry.get("tags") or [{}]
        articles.append(
            make_article(
                place,
                doc_id=clean_meta(entry.get("id") or entry.get("link")) or f"{place.rel}#{n}",
                title=html_to_text(entry.get("title", "")),
                text=text,
                source=entry.get("source", {}).get("title") or feed_title,
                published=_entry_date(entry),
                url=entry.get("link", ""),
                category=tags[0].get("term", ""),
                author=entry.get("author", ""),
            )
        )
    return articles, errors


def _entry_date(entry: Mapping[str, Any]) -> str:
    for key in ("published", "updated", "created"):
        found = iso_date(entry.get(key))
        if found:
            return found
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat()
    return ""
