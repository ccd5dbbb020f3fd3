"""The UI's render functions and session state: citations linked, passages highlighted at the
stored offsets, everything untrusted escaped, refusals and errors readable."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.core.errors import QuestionError
from newsdesk.core.types import (
    Answer,
    Article,
    ArticleHit,
    Citation,
    Filters,
    IndexStats,
    Passage,
)
from newsdesk.ui import render
from newsdesk.ui.state import Session, Turn, parse_filters

ALLOWED_TAGS = {
    "a",
    "b",
    "br",
    "details",
    "div",
    "em",
    "h3",
    "hr",
    "li",
    "mark",
    "p",
    "span",
    "strong",
    "summary",
    "ul",
}
ALLOWED_ATTRS = {
    "class",
    "id",
    "href",
    "title",
    "target",
    "rel",
    "data-cite",
    "data-turn",
    "open",
}

TEXT = (
    "The council met on Monday. The mayor said the bridge would reopen in May. "
    "Engineers found cracks in two piers. Repairs will cost 2 million pounds.\n"
    "Residents welcomed the news."
)


class Tree(HTMLParser):
    """Parses rendered HTML; checks nesting and records tags, attributes, text and marks."""

    VOID = {"br", "hr"}

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.marks: list[tuple[int, str, str]] = []  # (offset in text, classes, content)
        self._mark: list[str] | None = None
        self._mark_at = 0
        self._mark_class = ""
        self.anchors: dict[str, int] = {}
        self.feed(markup)
        self.close()
        assert not self.stack, f"unclosed tags: {self.stack}"

    @property
    def plain(self) -> str:
        return "".join(self.text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "br":
            self.handle_data("\n")
            return
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "mark":
            self._mark, self._mark_at, self._mark_class = [], len(self.plain), a.get("class") or ""
        if a.get("id"):
            self.anchors[str(a["id"])] = len(self.plain)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()
        if tag == "mark" and self._mark is not None:
            self.marks.append((self._mark_at, self._mark_class, "".join(self._mark)))
            self._mark = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._mark is not None:
            self._mark.append(data)


def marked(tree: Tree, turn: int, n: int) -> str:
    """The text highlighted for citation n (a quote may be cut into several <mark>s)."""
    return "".join(c for _, cls, c in tree.marks if f"nd-q-cite-{turn}-{n}" in cls.split())


def assert_inert(markup: str) -> Tree:
    """Only our own tags and attributes; links are http(s) or in-page; nothing scriptable."""
    tree = Tree(markup)
    for tag, attrs in tree.tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {markup[:200]}"
        for name, value in attrs.items():
            assert name in ALLOWED_ATTRS, f"unexpected attribute {name}={value!r}"
            if name == "href":
                assert value and re.match(
                    r"(https?://|#(cite|near)-\d+-\d+$|#name-[A-Za-z0-9%._~-]+$)", value
                ), value
    return tree


def passage(start: int, end: int, n: int = 0, **kw: object) -> Passage:
    base: dict[str, object] = {
        "chunk_id": f"doc-1#{n}",
        "doc_id": "doc-1",
        "text": TEXT[start:end],
        "start": start,
        "end": end,
        "position": n,
        "score": 1.0,
        "title": "Bridge to reopen",
        "source": "Courier",
        "published": "2024-05-01",
        "url": "https://example.org/bridge",
        "category": "local",
    }
    base.update(kw)
    return Passage(**base)  # type: ignore[arg-type]


def answer(text: str, citations: tuple[Citation, ...], **kw: object) -> Answer:
    base: dict[str, object] = {
        "question": "When will the bridge reopen?",
        "standalone_question": "When will the bridge reopen?",
        "text": text,
        "citations": citations,
        "status": "answered",
    }
    base.update(kw)
    return Answer(**base)  # type: ignore[arg-type]


ARTICLE = Article(
    doc_id="doc-1",
    title="Bridge to reopen",
    text=TEXT,
    source="Courier",
    published="2024-05-01",
    url="https://example.org/bridge",
    category="local",
)


# ---------------------------------------------------------------- citations in the answer
def test_citation_markers_become_links_to_their_anchor() -> None:
    quote = "The mayor said the bridge would reopen in May."
    c1 = Citation(1, passage(0, 100), quote)
    c2 = Citation(2, passage(73, 146, 1), "Repairs will cost 2 million pounds.")
    out = render.answer_html(
        answer(f"{quote} [1] Repairs cost 2m. [2] See also [7].", (c1, c2)), turn=3
    )
    tree = assert_inert(out)
    links = [a for t, a in tree.tags if t == "a"]
    assert [a["href"] for a in links] == ["#cite-3-1", "#cite-3-2"]
    assert all(a["class"] == "nd-cite" for a in links)
    assert "[7]" in tree.plain  # not a citation of this answer: stays text
    assert tree.plain.count("[1]") == 1 and tree.plain.count("[2]") == 1


def test_names_of_the_cited_articles_become_links_to_their_pages() -> None:
    c1 = Citation(1, passage(0, 100), "")
    text = (
        "Gordon Brown spoke. Brown said taxes would fall, Browning said no. [1] "
        "Cherie Blair and Tony Blair met Blair's aides."
    )
    names = [
        ("Gordon Brown", "person"),
        ("Tony Blair", "person"),
        ("Cherie Blair", "person"),  # two full names end with Blair: a lone Blair links neither
        ("Treasury", "org"),
    ]
    tree = assert_inert(render.answer_html(answer(text, (c1,)), 2, names))
    links = [a for t, a in tree.tags if t == "a"]
    named = [unquote(a["href"].removeprefix("#name-")) for a in links if a["class"] == "nd-name"]
    assert named == ["Gordon Brown", "Gordon Brown", "Cherie Blair", "Tony Blair"]
    assert [a["href"] for a in links if a["class"] == "nd-cite"] == ["#cite-2-1"]
    assert links[0]["href"] == "#name-Gordon%20Brown"
    assert tree.plain.count("Browning") == 1 and tree.plain.count("[1]") == 1
    assert render.name_parts("no names here", []) == [("no names here", None)]
    # a "name" of digits never splits a citation marker
    c12 = tuple(Citation(n, passage(0, 100), "") for n in range(1, 13))
    tree = assert_inert(render.answer_html(answer("Rose 12 pct. [12]", c12), 2, [("12", "org")]))
    assert [a["href"] for t, a in tree.tags if t == "a"] == ["#cite-2-12"]


@pytest.mark.parametrize("payload", ['Al"><script>alert(1)</script>', "O'Neil <b>x</b>"])
def test_a_hostile_name_renders_inert(payload: str) -> None:
    a = answer(f"{payload} spoke. [1]", (Citation(1, passage(0, 100), ""),))
    tree = assert_inert(render.answer_html(a, 1, [(payload, "person")]))
    links = [x["href"] for t, x in tree.tags if t == "a" and x["class"] == "nd-name"]
    assert [unquote(h.removeprefix("#name-")) for h in links] == [payload]


def test_streaming_text_is_escaped_and_unlinked() -> None:
    tree = assert_inert(render.streaming_html("a <b>bold</b> claim [1]\nnext"))
    assert "<b>bold</b>" in tree.plain and "\n" in tree.plain
    assert not any(t == "a" for t, _ in tree.tags)


def test_followup_and_notice_are_shown() -> None:
    a = answer(
        "The bridge reopens in May. [1]",
        (Citation(1, passage(0, 100), ""),),
        question="When?",
        standalone_question="When? bridge reopen",
        notice="LLM server unavailable; answered extractively",
    )
    tree = assert_inert(render.answer_html(a, 1))
    assert "Read as a follow-up: \u201cWhen? bridge reopen\u201d" in tree.plain
    assert "LLM server unavailable" in tree.plain


# ---------------------------------------------------------------- highlighting
def test_quote_is_marked_at_the_exact_offsets() -> None:
    quote = "The mayor said the bridge would reopen in May."
    p = passage(27, 110)
    assert p.text.startswith(quote)
    out = render.cited_sources_html(
        answer(f"{quote} [1]", (Citation(1, p, quote),)), 2, {"doc-1": ARTICLE}
    )
    tree = assert_inert(out)
    body_at = tree.plain.index(TEXT[:20])
    assert tree.plain[body_at:] == TEXT  # the article text, whole and unchanged
    assert marked(tree, 2, 1) == quote
    assert tree.marks[0][0] - body_at == TEXT.index(quote) == p.start
    assert tree.anchors["cite-2-1"] - body_at == p.start
    assert "Bridge to reopen" in tree.plain and "Courier" in tree.plain
    assert (
        "a",
        {
            "class": "nd-url",
            "href": "https://example.org/bridge",
            "target": "_blank",
            "rel": "noopener noreferrer nofollow",
        },
    ) in tree.tags


def test_overlapping_citations_nest_correctly() -> None:
    q1, q2 = "Engineers found cracks in two piers.", "Repairs will cost 2 million pounds."
    c1 = Citation(1, passage(27, 137), q1)
    c2 = Citation(2, passage(101, len(TEXT), 1), q2)
    tree = assert_inert(
        render.cited_sources_html(answer("x [1] y [2]", (c1, c2)), 5, {"doc-1": ARTICLE})
    )
    assert marked(tree, 5, 1) == q1 and marked(tree, 5, 2) == q2
    body_at = tree.plain.index(TEXT[:20])
    assert tree.anchors["cite-5-1"] - body_at == TEXT.index(q1)
    assert tree.anchors["cite-5-2"] - body_at == TEXT.index(q2)
    assert tree.plain.count("[1]") == 1  # one card for the article, labelled [1] [2]


def test_quote_found_across_different_whitespace() -> None:
    p = passage(110, len(TEXT))
    q = "Repairs will cost 2 million pounds. Residents welcomed"  # text has "\n" here
    assert render.quote_span(p, q) == (p.text.index("Repairs"), p.text.index(" the news"))
    assert render.quote_span(p, "not in the passage") == (0, len(p.text))
    assert render.quote_span(p, "") == (0, len(p.text))


def test_long_article_shows_windows_around_the_passage() -> None:
    text = "Filler sentence here. " * 2000 + TEXT + " Tail sentence." * 2000
    start = text.index(TEXT)
    p = passage(start, start + len(TEXT), text=TEXT)
    art = Article(doc_id="doc-1", title="Long", text=text)
    out = render.cited_sources_html(
        answer("x [1]", (Citation(1, p, TEXT[:26]),)), 1, {"doc-1": art}
    )
    tree = assert_inert(out)
    assert len(out) < 2 * render.CONTEXT_CHARS + 3 * len(TEXT) + 2000
    assert tree.plain.count("\u2026") == 2 and TEXT in tree.plain


def test_changed_article_falls_back_to_the_passage_alone() -> None:
    p = passage(0, 26)
    changed = Article(doc_id="doc-1", title="Bridge", text="Rewritten entirely.")
    tree = assert_inert(
        render.cited_sources_html(
            answer("x [1]", (Citation(1, p, "The council met"),)), 1, {"doc-1": changed}
        )
    )
    assert "The council met on Monday." in tree.plain and "Rewritten" not in tree.plain
    assert marked(tree, 1, 1) == "The council met"


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(min_size=1, max_size=300),
    cuts=st.lists(st.integers(0, 300), min_size=4, max_size=4),
)
def test_highlight_keeps_the_text_and_marks_the_quote(text: str, cuts: list[int]) -> None:
    s, e = sorted(c % (len(text) + 1) for c in cuts[:2])
    qs, qe = sorted(s + c % (e - s + 1) for c in cuts[2:])
    p = passage(s, e, text=text[s:e])
    c = Citation(1, p, text[qs:qe])
    tree = assert_inert(render.highlight(text, render.citation_marks(c, s), 4, context=10**6))
    assert tree.plain == text
    assert "cite-4-1" in tree.anchors or e == s
    quote = text[qs:qe]
    if quote.strip() and e > s:
        qa, qb = render.quote_span(p, quote)
        assert marked(tree, 4, 1) == p.text[qa:qb]


# ---------------------------------------------------------------- escaping untrusted data
PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "<svg onload=alert(1)>",
    '"><a href="javascript:alert(1)">x</a>',
    "<b>bold</b>",
    "</mark></span></div><script>alert(1)</script>",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_untrusted_fields_render_inert(payload: str) -> None:
    text = f"Before. {payload} The mayor spoke. {payload} After."
    p = passage(
        0,
        len(text),
        text=text,
        title=f"Title {payload}",
        source=f"Src {payload}",
        published=payload,
        category=payload,
        url=f"https://ex.org/{payload}",
    )
    art = Article(doc_id="doc-1", title=f"Title {payload}", text=text, source=payload, url=payload)
    a = answer(
        f"{payload} [1]",
        (Citation(1, p, f"{payload} The mayor spoke."),),
        question=payload,
        standalone_question=f"{payload} again",
        notice=payload,
    )
    for markup in (
        render.answer_html(a, 1),
        render.cited_sources_html(a, 1, {"doc-1": art}),
        render.cited_sources_html(a, 1, {}),
        render.sources_panel([(1, payload, render.sources_section(a, 1, {"doc-1": art}))]),
        render.question_html(payload),
        render.error_html(payload),
        render.refusal_html(
            answer(payload, (), status="refused", retrieved=(ArticleHit("doc-1", 1.0, (p,)),)), 2
        ),
        render.facts_html(
            IndexStats(
                articles=1,
                chunks=1,
                sources=(payload,),
                categories=(payload,),
                earliest=payload,
                latest=payload,
                embedding_model=payload,
            )
        ),
    ):
        tree = assert_inert(markup)
        assert payload in tree.plain or payload[:20] in tree.plain  # shown, as text


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "http://",
        'https://ex.org/"onmouseover=alert(1)',
        "https://ex.org/<script>",
        "file:///etc/passwd",
        "",
    ],
)
def test_unsafe_urls_never_become_links(url: str) -> None:
    assert render.safe_url(url) is None
    p = passage(0, 26, url=url)
    tree = assert_inert(render.cited_sources_html(answer("x [1]", (Citation(1, p, ""),)), 1, {}))
    assert not [a for t, a in tree.tags if t == "a"]


def test_safe_urls_are_kept_and_escaped() -> None:
    assert render.safe_url(" https://ex.org/a?b=1&c=2 ") == "https://ex.org/a?b=1&c=2"
    assert render.safe_url("HTTP://Ex.org/") == "HTTP://Ex.org/"
    p = passage(0, 26, url="https://ex.org/a?b=1&c=2")
    out = render.cited_sources_html(answer("x [1]", (Citation(1, p, ""),)), 1, {})
    assert 'href="https://ex.org/a?b=1&amp;c=2"' in out


# ---------------------------------------------------------------- refusal, errors, facts
def test_refusal_offers_the_closest_articles() -> None:
    hits = tuple(
        ArticleHit(f"doc-{i}", 1.0 / i, (passage(0, 26, title=f"Story {i}", doc_id=f"doc-{i}"),))
        for i in range(1, 8)
    )
    a = answer(
        "The archive has no article that answers this.", (), status="refused", retrieved=hits
    )
    tree = assert_inert(render.answer_html(a, 4))
    assert "The archive has no article that answers this." in tree.plain
    assert "Closest articles:" in tree.plain
    links = [a["href"] for t, a in tree.tags if t == "a"]
    assert links == [f"#near-4-{i}" for i in range(1, render.MAX_CLOSEST + 1)]
    assert "Story 1" in tree.plain and "Story 6" not in tree.plain
    panel = assert_inert(render.sources_section(a, 4, {}))
    assert set(panel.anchors) == {f"near-4-{i}" for i in range(1, render.MAX_CLOSEST + 1)}
    assert not panel.marks


def test_error_message_is_one_readable_line() -> None:
    tree = assert_inert(render.error_html("the question is empty; type a question"))
    assert tree.plain == "Newsdesk could not answer: the question is empty; type a question"


def test_archive_facts() -> None:
    stats = IndexStats(
        articles=2225,
        chunks=9001,
        sources=tuple(f"S{i}" for i in range(20)),
        categories=("business", "tech"),
        earliest="2004-01-01",
        latest="2005-12-31",
        embedding_model="all-MiniLM-L6-v2",
    )
    tree = assert_inert(render.facts_html(stats))
    assert "2,225 articles" in tree.plain and "9,001 passages" in tree.plain
    assert "2004-01-01 to 2005-12-31" in tree.plain
    assert "S11" in tree.plain and "S12" not in tree.plain and "and 8 more" in tree.plain
    assert "business, tech" in tree.plain


def test_long_and_control_character_questions_are_shown_tamely() -> None:
    tree = assert_inert(render.question_html("x" * 100_000))
    assert len(tree.plain) < render.MAX_QUESTION_SHOWN + 40 and "100,000 characters" in tree.plain
    assert render.question_html("a\x00b\x1bc") == "a b c"


# ---------------------------------------------------------------- session state and filters
def test_session_history_counts_answered_turns_only() -> None:
    s = Session()
    s = s.add(Turn(s.next_number, "first?", "<p>a</p>", "<p>src</p>", answered=True))
    s = s.add(Turn(s.next_number, "", render.error_html("empty")))
    s = s.add(Turn(s.next_number, "second?", "<p>b</p>", answered=True))
    assert s.history() == ["first?", "second?"]
    assert [t.number for t in s.turns] == [1, 2, 3] and s.next_number == 4
    msgs = s.messages(("third?", render.pending_html()))
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 4
    assert msgs[-2]["content"] == "third?"
    panel = Tree(s.panel())
    assert "first?" in panel.plain and "src" in panel.plain


def test_parse_filters() -> None:
    f = parse_filters(" 2005-01-01 ", "2005-12-31", ["BBC", "BBC", ""], ["tech"])
    assert f == Filters(
        since=date(2005, 1, 1), until=date(2005, 12, 31), sources=("BBC",), categories=("tech",)
    )
    assert parse_filters("", None, None, None).is_empty()
    with pytest.raises(QuestionError, match="2005-03-01"):
        parse_filters("last week", "", [], [])
    with pytest.raises(QuestionError, match="after"):
        parse_filters("2006-01-01", "2005-01-01", [], [])
