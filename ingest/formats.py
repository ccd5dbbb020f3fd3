"""Text-level parsers: plain text and Markdown, HTML pages, and the metadata clean-up they share.

Everything here works on already-decoded text and returns `Article`s or raises `IngestError`.
Reading files, decoding bytes and choosing a parser happen in `ingest.loaders`.
"""

from __future__ import annotations

import email.utils
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from newsdesk.core.errors import IngestError
from newsdesk.core.types import Article

TITLE_MAX_CHARS = 120
# A "first line" longer than this is a paragraph, not a headline.
HEADLINE_MAX_CHARS = 300

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n
_SPACES = re.compile(r"\s+")
_HTML_MARKUP = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9-]*|/[a-zA-Z][a-zA-Z0-9-]*|!--)[\s/>]")
_HTML_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+\d*);")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_FRONT_MATTER_KEY = re.compile(r"([A-Za-z_][\w-]*)\s*:\s?(.*)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$")

_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt"),
        *("figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
        *("hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"),
    }
)
_DROP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "iframe", "svg"})


@dataclass(frozen=True)
class Place:
    """Where the articles of one input come from: names errors and derives doc ids and metadata."""

    name: str  # what errors name: the file path or the URL
    rel: str  # the doc_id base (Source.rel)
    from_path: bool  # True for files: category and source may be derived from `rel`

    def record(self, n: int | str) -> str:
        return f"{self.name}#{n}"


# --------------------------------------------------------------------------- text and metadata


def normalise_text(text: str) -> str:
    """Newlines as \n, no byte order mark, NFC: the only changes made to a document's text."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def strip_controls(text: str) -> str:
    """`text` without control characters other than tab and newline."""
    return _CONTROL.sub("", text)


def clean_meta(value: Any) -> str:
    """A metadata value as one clean line: control characters removed, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or ""
    elif isinstance(value, list | tuple):
        value = ", ".join(clean_meta(v) for v in value if clean_meta(v))
    text = unicodedata.normalize("NFC", str(value))
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def iso_date(value: Any) -> str:
    """`value` as "YYYY-MM-DD", or "" when it is not a full calendar date.

    Never guesses: relative dates ("yesterday") and partial dates ("March 5") give "".
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = clean_meta(value)
    if not text or len(text) > 100:
        return ""
    found = _ISO_DATE.match(text)
    if found:
        try:
            return date(*(int(g) for g in found.groups())).isoformat()
        except ValueError:
            return ""
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    import dateparser  # slow import, only needed for free-form dates

    settings = {
        "PARSERS": ["custom-formats", "absolute-time"],
        "REQUIRE_PARTS": ["day", "month", "year"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(text, settings=settings)
    except (ValueError, OverflowError, RecursionError):
        return ""
    if parsed is None or not 1000 <= parsed.year <= 2999:
        return ""
    return parsed.date().isoformat()


def fallback_title(text: str) -> str:
    """The first sentence (or line) of `text`, cut at a word boundary to TITLE_MAX_CHARS."""
    head = text.lstrip()[: TITLE_MAX_CHARS * 4].split("\n", 1)[0]
    end = _SENTENCE_END.search(head)
    if end:
        head = head[: end.end()]
    head = clean_meta(head)
    if len(head) <= TITLE_MAX_CHARS:
        return head
    cut = head[: TITLE_MAX_CHARS - 1]
    if " " in cut[TITLE_MAX_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def make_article(
    place: Place,
    *,
    doc_id: str,
    title: Any,
    text: str,
    source: Any = "",
    published: Any = "",
    url: Any = "",
    category: Any = "",
    author: Any = "",
) -> Article:
    """Build an Article, filling category and source from the folder layout where missing."""
    parts = place.rel.split("/") if place.from_path else []
    category = clean_meta(category) or (parts[-2] if len(parts) >= 2 else "")
    source = clean_meta(source) or (parts[0] if len(parts) >= 3 else "")
    return Article(
        doc_id=doc_id,
        title=clean_meta(title) or fallback_title(text) or place.rel,
        text=text,
        source=source,
        published=iso_date(published),
        url=clean_meta(url),
        category=clean_meta(category),
        author=clean_meta(author),
    )


# --------------------------------------------------------------------------- HTML to text


def looks_like_html(text: str) -> bool:
    return bool(_HTML_MARKUP.search(text) or _HTML_ENTITY.search(text))


def html_to_text(markup: str) -> str:
    """Readable text from an HTML fragment (a feed summary, a JSON body): blocks become lines."""
    if not looks_like_html(markup):
        return markup.strip()
    from lxml import etree
    from lxml import html as lxml_html

    cleaned = _CONTROL.sub(" ", markup)
    try:
        root = lxml_html.fragment_fromstring(cleaned, create_parent="div")
    except (etree.ParserError, ValueError):
        # Not parseable as markup at all: drop anything tag-shaped and unescape entities.
        return _tidy(html.unescape(re.sub(r"<[^>]*>", " ", cleaned)))
    parts: list[str] = []
    skip_depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _DROP_TAGS:
            skip_depth += 1 if event == "start" else -1
            if event == "end" and skip_depth == 0 and el.tail:
                parts.append(_SPACES.sub(" ", el.tail))
            continue
        if skip_depth:
            continue
        if event == "start":
            if tag in _BLOCK_TAGS:
                parts.append("\n" if tag == "br" else "\n\n")
            if el.text and tag:
                parts.append(_SPACES.sub(" ", el.text))
        else:
            if tag in _BLOCK_TAGS and tag != "br":
                parts.append("\n\n")
            if el.tail and el is not root:
                parts.append(_SPACES.sub(" ", el.tail))
    return _tidy("".join(parts))


def _tidy(text: str) -> str:
    lines = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", lines).strip()


# --------------------------------------------------------------------------- plain text


def parse_text(text: str, place: Place, *, markdown: bool = False) -> Article:
    """A .txt/.md document: optional front matter, a headline line, then the body (verbatim)."""
    meta, rest = split_front_matter(text)
    title = meta.get("title", "")
    if title:
        body = rest.strip()
    else:
        body, title = _split_headline(rest, markdown=markdown)
    if not body:
        why = "only front matter" if meta and not rest.strip() else "only a title line"
        raise IngestError(place.name, f"no body text ({why})")
    return make_article(
        place,
        doc_id=place.rel,
        title=title,
        text=body,
        source=meta.get("source", ""),
        published=meta.get("published") or meta.get("date", ""),
        url=meta.get("url", ""),
        category=meta.get("category", ""),
        author=meta.get("author", ""),
    )


def _split_headline(text: str, *, markdown: bool) -> tuple[str, str]:
    """(body, title): the first non-empty line is the title unless it is a paragraph."""
    stripped = text.strip()
    first, _, rest = stripped.partition("\n")
    if markdown:
        heading = _MD_HEADING.match(first)
        if heading:
            first = heading.group(1)
    rest = rest.strip()
    if len(first) > HEADLINE_MAX_CHARS or (not rest and len(first) > TITLE_MAX_CHARS):
        return stripped, ""  # no headline: the title is derived from the text
    return rest, first


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """({key: value}, rest) for text opening with a `---` block of `key: value` lines."""
    if not text.startswith("---\n"):
        return {}, text
    close = re.search(r"^(?:---|\.\.\.)[ \t]*$", text[4:], flags=re.MULTILINE)
    if close is None:
        return {}, text
    block = text[4 : 4 + close.start()]
    meta: dict[str, str] = {}
    for line in block.split("\n"):
        if not line.strip() or line.lstrip().startswith("#") or line[:1].isspace():
            continue
        if line.startswith("- "):
            continue  # a YAML list item: not a key we read
        found = _FRONT_MATTER_KEY.fullmatch(line)
        if found is None:
            return {}, text  # not front matter after all, e.g. a Markdown rule
        value = found.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        meta[found.group(1).lower()] = value
    return meta, text[4 + close.end() :].lstrip("\n")


# --------------------------------------------------------------------------- HTML pages


def parse_html(markup: str, place: Place, *, doc_id: str, url: str = "") -> Article:
    """Main text and metadata of a web page (trafilatura), without navigation or scripts."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            markup,
            url=url or None,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, RecursionError) as exc:
        raise IngestError(place.name, f"cannot parse HTML: {exc}") from exc
    found: dict[str, Any] = {}
    if isinstance(doc, dict):
        found = doc
    elif doc is not None:
        found = doc.as_dict()
    text = (found.get("text") or "").strip()
    if not text:
        raise IngestError(place.name, "no article text found in the HTML page")
    title = clean_meta(found.get("title")) or _html_title(markup)
    first, _, rest = text.partition("\n")
    if title and clean_meta(first) == title and rest.strip():
        text = rest.strip()  # trafilatura repeats the headline as the first line
    return make_article(
        place,
        doc_id=doc_id,
        title=title,
        text=text,
        source=found.get("sitename") or "",
        published=found.get("date") or "",  # never "filedate": that is today
        url=found.get("url") or url,
        category=(found.get("categories") or [""])[0],
        author=found.get("author") or "",
    )


def _html_title(markup: str) -> str:
    found = re.search(r"<title[^>]*>(.*?)</title\s*>", markup[:200_000], flags=re.I | re.S)
    return clean_meta(html.unescape(found.group(1))) if found else ""
