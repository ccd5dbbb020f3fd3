"""Plain functions that turn answers, sources and archive facts into safe HTML for the UI.

Everything that comes from an article (title, text, url, source, date) or from the reader is
untrusted: it is escaped with `html.escape` before any markup is added around it, and a url
becomes a link only when it is a plain http(s) url. Citation markers `[n]` become links to
`#cite-<turn>-<n>`, the anchor placed at the cited quote inside the sources panel. The names
the cited articles name (people, organisations, places) become links `a.nd-name` that open
the name's page in the People tab.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from newsdesk.core.types import Answer, Article, Citation, IndexStats, Passage

CONTEXT_CHARS = 1200  # article text shown on each side of a cited passage
MAX_QUESTION_SHOWN = 600
MAX_CLOSEST = 5
MAX_LISTED = 12  # sources / categories listed by name in the archive facts
MAX_TURNS_IN_PANEL = 10

_CITE = re.compile(r"\[(\d{1,4})\]")
_HTTP_URL = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f\x7f]+", re.IGNORECASE)


def esc(text: object) -> str:
    """Escape text for HTML content and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def _lines(escaped: str) -> str:
    return escaped.replace("\n", "<br>")


def safe_url(url: str) -> str | None:
    """The url if it is a plain http(s) url with a host, else None (no javascript:, data:, ...)."""
    url = (url or "").strip()
    if not _HTTP_URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return url


def cite_id(turn: int, n: int) -> str:
    return f"cite-{int(turn)}-{int(n)}"


def near_id(turn: int, i: int) -> str:
    return f"near-{int(turn)}-{int(i)}"


# ------------------------------------------------------------------ chat messages
def question_html(question: str) -> str:
    """The reader's question as shown in the chat: printable, truncated, escaped."""
    text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in str(question))
    if len(text) > MAX_QUESTION_SHOWN:
        text = text[:MAX_QUESTION_SHOWN] + f"\u2026 ({len(question):,} characters)"
    return _lines(esc(text))


def linkify(escaped: str, turn: int, titles: Mapping[int, str]) -> str:
    """Turn `[n]` markers in already escaped text into links to citation n of `turn`.

    Only numbers in `titles` (the answer's citations) become links; others stay text."""

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in titles:
            return m.group(0)
        return (
            f'<a class="nd-cite" href="#{cite_id(turn, n)}" data-cite="{cite_id(turn, n)}" '
            f'title="{esc(titles[n])}">[{n}]</a>'
        )

    return _CITE.sub(link, escaped)


def streaming_html(text: str) -> str:
    """An answer still arriving: escaped text, citations not yet linked."""
    return f'<div class="nd-answer nd-streaming">{_lines(esc(text))}</div>'


def pending_html() -> str:
    return '<div class="nd-answer nd-streaming"><em>Searching the archive\u2026</em></div>'


def answer_html(answer: Answer, turn: int, names: Sequence[tuple[str, str]] = ()) -> str:
    """The final answer for the chat: escaped text with clickable `[n]` and names (`names`:
    (name, type) of the cited articles), notices, refusal."""
    if answer.status == "refused":
        return refusal_html(answer, turn)
    if answer.status == "not_stated":
        return not_stated_html(answer, turn)
    parts = [f'<div class="nd-answer">{_cited(answer.text, answer, turn, names)}</div>']
    parts.append(_followup_note(answer))
    if answer.citations:
        parts.append(
            '<p class="nd-hint">Click a number to see the passage it cites in its article.</p>'
        )
    if answer.unsupported:
        k = len(answer.unsupported)
        what = "1 sentence of this answer has" if k == 1 else f"{k} sentences of this answer have"
        parts.append(f'<p class="nd-notice">{what} no supporting passage; read with care.</p>')
    if answer.notice:
        parts.append(f'<p class="nd-notice">{esc(answer.notice)}</p>')
    return "".join(parts)


def _cited(text: str, answer: Answer, turn: int, names: Sequence[tuple[str, str]] = ()) -> str:
    """`text` escaped, its `[n]` markers links to the passages `answer` cites and its names
    links to their pages."""
    titles = {c.n: c.passage.headline or c.passage.doc_id for c in answer.citations}
    out: list[str] = []
    for part, name in name_parts(text, names):
        if name is None:
            out.append(linkify(esc(part), turn, titles))
        else:
            out.append(name_link(part, name))
    return _lines("".join(out))


MIN_NAME_CHARS = 2


def name_parts(text: str, names: Sequence[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """`text` cut into (part, the name it writes or None): each name as written in full, and
    a person's surname alone when no other name given ends with it ("Brown" for Gordon
    Brown). Longer forms win; only whole words match."""
    forms: dict[str, str] = {}
    surnames: dict[str, set[str]] = {}
    for name, kind in names:
        if len(name) >= MIN_NAME_CHARS and name[:1].isalpha():  # not "12": a [12] stays whole
            forms.setdefault(name, name)
        parts = name.split()
        if kind == "person" and len(parts) > 1 and len(parts[-1]) > MIN_NAME_CHARS:
            surnames.setdefault(parts[-1], set()).add(name)
    for surname, owners in surnames.items():
        if len(owners) == 1:
            forms.setdefault(surname, next(iter(owners)))
    if not forms:
        return [(text, None)]
    pattern = re.compile(
        r"(?<![\w'\u2019\[-])(?:"
        + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
        + r")(?![\w\]-])"
    )
    out: list[tuple[str, str | None]] = []
    at = 0
    for m in pattern.finditer(text):
        if m.start() > at:
            out.append((text[at : m.start()], None))
        out.append((m.group(0), forms[m.group(0)]))
        at = m.end()
    if at < len(text):
        out.append((text[at:], None))
    return out


def name_link(written: str, name: str) -> str:
    """A link opening `name`'s page, showing it as `written`."""
    return (
        f'<a class="nd-name" href="#name-{esc(quote(name, safe=""))}" '
        f'title="{esc(name)}: quotes, roles and articles">{esc(written)}</a>'
    )


def _followup_note(answer: Answer) -> str:
    """Say how a follow-up was understood, so the reader sees the history at work."""
    if answer.standalone_question and answer.standalone_question != answer.question:
        return (
            '<p class="nd-notice nd-followup">Read as a follow-up: '
            f"\u201c{esc(answer.standalone_question)}\u201d</p>"
        )
    return ""


def refusal_html(answer: Answer, turn: int) -> str:
    """A refusal, said plainly, with the closest articles linked into the sources panel."""
    parts = [f'<div class="nd-refusal"><p>{_lines(esc(answer.text))}</p>']
    closest = answer.retrieved[:MAX_CLOSEST]
    if closest:
        parts.append('<p class="nd-closest-label">Closest articles:</p><ul class="nd-closest">')
        for i, hit in enumerate(closest, start=1):
            p = hit.best
            meta = _meta_text(p)
            parts.append(
                f'<li><a class="nd-cite" href="#{near_id(turn, i)}" '
                f'data-cite="{near_id(turn, i)}">{esc(p.headline or p.doc_id)}</a>'
                + (f' <span class="nd-meta">({esc(meta)})</span>' if meta else "")
                + "</li>"
            )
        parts.append("</ul>")
    parts.append("</div>")
    parts.append(_followup_note(answer))
    return "".join(parts)


def not_stated_html(answer: Answer, turn: int) -> str:
    """The archive covers the subject but does not state the answer: say so, then show the
    closest evidence, cited, under a label that says it is not an answer."""
    parts = [f'<div class="nd-not-stated"><p>{_lines(esc(answer.text))}</p>']
    if answer.evidence:
        parts.append(
            '<p class="nd-closest-label">Closest evidence (not an answer):</p>'
            f'<div class="nd-evidence">{_cited(answer.evidence, answer, turn)}</div>'
        )
    parts.append("</div>")
    parts.append(_followup_note(answer))
    return "".join(parts)


def error_html(message: str) -> str:
    """A problem the reader should know about, as one readable line (never a traceback)."""
    return (
        '<div class="nd-error"><strong>Newsdesk could not answer:</strong> '
        f"{_lines(esc(message))}</div>"
    )


# ------------------------------------------------------------------ highlighting
@dataclass(frozen=True)
class Mark:
    """A highlighted span of an article's text, for citation `n`."""

    start: int
    end: int
    n: int
    kind: str  # "passage" (the retrieved chunk) or "quote" (the cited sentences)


def quote_span(passage: Passage, quote: str) -> tuple[int, int]:
    """Offsets of `quote` inside `passage.text` (whitespace-tolerant); the whole passage if
    the quote is empty or not found."""
    q = quote.strip()
    if q:
        i = passage.text.find(q)
        if i >= 0:
            return i, i + len(q)
        pattern = r"\s+".join(re.escape(w) for w in q.split())
        m = re.search(pattern, passage.text)
        if m:
            return m.start(), m.end()
    return 0, len(passage.text)


def citation_marks(citation: Citation, offset: int) -> list[Mark]:
    """The passage and quote spans of a citation, shifted by `offset` (the passage's start
    in the text being rendered)."""
    p = citation.passage
    qs, qe = quote_span(p, citation.quote)
    return [
        Mark(offset, offset + len(p.text), citation.n, "passage"),
        Mark(offset + qs, offset + qe, citation.n, "quote"),
    ]


def _windows(length: int, marks: Sequence[Mark], context: int) -> list[tuple[int, int]]:
    spans = sorted((max(0, m.start - context), min(length, m.end + context)) for m in marks)
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged or [(0, length)]


def highlight(text: str, marks: Sequence[Mark], turn: int, context: int = CONTEXT_CHARS) -> str:
    """`text` escaped, cited passages wrapped in `<span class="nd-passage">`, cited quotes in
    `<mark>`, an anchor `id="cite-<turn>-<n>"` at the start of each quote. Only windows of
    `context` characters around the marks are shown; cuts are marked with an ellipsis.

    Marks may overlap: the text is cut at every mark boundary and each piece is escaped,
    then wrapped according to the marks covering it."""
    marks = [
        Mark(max(0, m.start), min(len(text), m.end), m.n, m.kind)
        for m in marks
        if m.end > m.start and m.start < len(text)
    ]
    anchors: dict[int, list[int]] = {}
    for m in sorted(marks, key=lambda m: (m.n, m.kind != "quote")):
        if all(m.n not in ns for ns in anchors.values()):
            anchors.setdefault(m.start, []).append(m.n)
    out: list[str] = []
    windows = _windows(len(text), marks, context)
    for ws, we in windows:
        if ws > 0:
            out.append('<span class="nd-gap">\u2026 </span>')
        cuts = sorted({ws, we} | {x for m in marks for x in (m.start, m.end) if ws < x < we})
        for a, b in zip(cuts, cuts[1:], strict=False):
            for n in anchors.get(a, ()):
                out.append(f'<span class="nd-anchor" id="{cite_id(turn, n)}"></span>')
            piece = _lines(esc(text[a:b]))
            quotes = sorted({m.n for m in marks if m.kind == "quote" and m.start <= a < m.end})
            if quotes:
                classes = " ".join(f"nd-q-{cite_id(turn, n)}" for n in quotes)
                piece = f'<mark class="nd-quote {classes}">{piece}</mark>'
            if any(m.kind == "passage" and m.start <= a < m.end for m in marks):
                piece = f'<span class="nd-passage">{piece}</span>'
            out.append(piece)
        if we < len(text):
            out.append('<span class="nd-gap"> \u2026</span>')
    return "".join(out)


# ------------------------------------------------------------------ sources panel
def _meta_text(p: Passage | Article) -> str:
    published = p.published
    return " \u00b7 ".join(x for x in (p.source, published, p.category) if x)


def _url_html(url: str) -> str:
    good = safe_url(url)
    if good:
        return (
            f'<a class="nd-url" href="{esc(good)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{esc(good)}</a>'
        )
    return f'<span class="nd-url">{esc(url)}</span>' if url else ""


def _card(title: str, meta: str, url: str, body: str, labels: str, card_id: str = "") -> str:
    ident = f' id="{esc(card_id)}"' if card_id else ""
    url_part = _url_html(url)
    return (
        f'<div class="nd-source"{ident}>'
        f'<div class="nd-source-title">{labels}<span>{esc(title)}</span></div>'
        + (f'<div class="nd-source-meta">{esc(meta)}</div>' if meta else "")
        + (f'<div class="nd-source-link">{url_part}</div>' if url_part else "")
        + f'<div class="nd-article">{body}</div></div>'
    )


def _page_text(c: Citation) -> str:
    """ " p. 3" for a citation of a paged source (PDF), else ""."""
    return " " + c.page_label.replace(" ", "\u00a0") if c.page else ""


def _fits(article: Article | None, p: Passage) -> bool:
    return article is not None and article.text[p.start : p.end] == p.text


def cited_sources_html(answer: Answer, turn: int, articles: Mapping[str, Article | None]) -> str:
    """One card per cited article: title, source, date, url, and the article text with each
    cited passage marked and each quote in `<mark>`, using the stored offsets."""
    groups: dict[str, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.passage.doc_id, []).append(c)
    cards: list[str] = []
    for doc_id, cites in groups.items():
        article = articles.get(doc_id)
        first = cites[0].passage
        labels = "".join(f'<span class="nd-label">[{c.n}]{_page_text(c)}</span>' for c in cites)
        title = (article.headline if article else "") or first.headline or doc_id
        url = (article.url if article else "") or first.url
        meta = _meta_text(article if article else first)
        if all(_fits(article, c.passage) for c in cites):
            assert article is not None
            marks = [m for c in cites for m in citation_marks(c, c.passage.start)]
            body = highlight(article.text, marks, turn)
        else:  # the article changed or vanished since retrieval: show the passages alone
            body = '<hr class="nd-sep">'.join(
                highlight(c.passage.text, citation_marks(c, 0), turn) for c in cites
            )
        cards.append(_card(title, meta, url, body, labels, f"src-{turn}-{cites[0].n}"))
    return "".join(cards)


def closest_sources_html(answer: Answer, turn: int) -> str:
    """For a refusal: the closest articles, each with its best passage."""
    cards = []
    for i, hit in enumerate(answer.retrieved[:MAX_CLOSEST], start=1):
        p = hit.best
        body = (
            f'<span class="nd-anchor" id="{near_id(turn, i)}"></span>'
            f'<span class="nd-passage">{_lines(esc(p.text))}</span>'
        )
        cards.append(_card(p.headline or p.doc_id, _meta_text(p), p.url, body, ""))
    return "".join(cards)


def sources_section(answer: Answer, turn: int, articles: Mapping[str, Article | None]) -> str:
    """What the sources panel shows for one answer."""
    if answer.status == "not_stated" and answer.citations:
        return '<p class="nd-kind">Closest evidence (not an answer)</p>' + (
            cited_sources_html(answer, turn, articles)
        )
    if answer.refused:
        if not answer.retrieved:
            return '<p class="nd-empty">No article came close.</p>'
        return '<p class="nd-kind">Closest articles (none answers the question)</p>' + (
            closest_sources_html(answer, turn)
        )
    if not answer.citations:
        return '<p class="nd-empty">This answer cites no passage.</p>'
    return cited_sources_html(answer, turn, articles)


def sources_panel(sections: Sequence[tuple[int, str, str]]) -> str:
    """The whole panel from (turn, question, section html), oldest first: the latest answer's
    sources open at the top, earlier ones folded below it."""
    shown = [s for s in sections if s[2]][-MAX_TURNS_IN_PANEL:]
    if not shown:
        return (
            '<div class="nd-sources"><h3>Sources</h3><p class="nd-empty">The articles an '
            "answer cites appear here, with the cited passage highlighted. Click a "
            "<b>[n]</b> in an answer to jump to it.</p></div>"
        )
    parts = ['<div class="nd-sources"><h3>Sources</h3>']
    for i, (turn, question, section) in enumerate(reversed(shown)):
        is_open = " open" if i == 0 else ""
        parts.append(
            f'<details class="nd-turn" data-turn="{int(turn)}"{is_open}><summary>'
            f"{esc(shorten(question))}</summary>{section}</details>"
        )
    parts.append("</div>")
    return "".join(parts)


def shorten(text: str, limit: int = 90) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# ------------------------------------------------------------------ archive facts
def facts_html(stats: IndexStats) -> str:
    """Number of articles and chunks, date span, sources and categories of the archive."""

    def listed(values: Sequence[str]) -> str:
        if not values:
            return "\u2013"
        more = len(values) - MAX_LISTED
        return ", ".join(esc(v) for v in values[:MAX_LISTED]) + (
            f" and {more} more" if more > 0 else ""
        )

    earliest, latest = stats.earliest or "?", stats.latest or "?"
    return (
        '<div class="nd-facts">'
        f"<div><b>{stats.articles:,}</b> articles \u00b7 <b>{stats.chunks:,}</b> passages "
        f"\u00b7 published {esc(earliest)} to {esc(latest)}</div>"
        f"<div>Sources: {listed(stats.sources)}</div>"
        f"<div>Categories: {listed(stats.categories)}</div>"
        "</div>"
    )


def facts_error_html(message: str, *, prefix: str = "Archive unavailable") -> str:
    return f'<div class="nd-facts nd-error">{esc(prefix)}: {esc(message)}</div>'
