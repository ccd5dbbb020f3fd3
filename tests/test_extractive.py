"""The extractive answerer on real articles: the seed story and BBC files, cut into overlapping
passages by hand and ranked the way the searcher would (best first)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.core.text import content_terms
from newsdesk.core.types import ArticleHit, Citation, Composed, Passage
from newsdesk.retriever.extractive import ExtractiveAnswerer, answer_type

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SEED = DATA / "seed" / "ibtimes-russia-urges-kyiv-peace-talks.txt"
MARKER = re.compile(r" \[(\d+)\]")


def load(path: Path, doc_id: str) -> tuple[str, str, str]:
    if not path.exists():
        pytest.skip(f"shared data missing: {path}")
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return doc_id, title.strip(), body.strip()


def passages(doc_id: str, title: str, body: str, lines: int = 3) -> list[Passage]:
    """Windows of `lines` non-empty lines overlapping by one line, as offsets into `body`."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in body.split("\n"):
        start = body.index(line, pos)
        pos = start + len(line)
        if line.strip():
            spans.append((start, pos))
    out: list[Passage] = []
    i = 0
    while True:
        group = spans[i : i + lines]
        start, end = group[0][0], group[-1][1]
        out.append(
            Passage(
                chunk_id=f"{doc_id}#{len(out)}",
                doc_id=doc_id,
                text=body[start:end],
                start=start,
                end=end,
                position=len(out),
                score=0.0,
                title=title,
            )
        )
        if i + lines >= len(spans):
            return out
        i += lines - 1


def rank(question: str, found: list[Passage]) -> tuple[Passage, ...]:
    """Best first by shared content stems, as a lexical searcher would order them."""
    q = set(content_terms(question))
    scored = [replace(p, score=float(len(q & set(content_terms(p.text))))) for p in found]
    return tuple(sorted(scored, key=lambda p: (-p.score, p.position)))


def hits_for(question: str, *articles: tuple[str, str, str]) -> list[ArticleHit]:
    out = []
    for rank_no, (doc_id, title, body) in enumerate(articles):
        ranked = rank(question, passages(doc_id, title, body))
        out.append(ArticleHit(doc_id=doc_id, score=1.0 / (1 + rank_no), passages=ranked))
    return out


@pytest.fixture(scope="module")
def seed() -> tuple[str, str, str]:
    return load(SEED, "seed/ibtimes")


@pytest.fixture(scope="module")
def telegraph() -> tuple[str, str, str]:
    return load(DATA / "bbc" / "business" / "014.txt", "bbc/business/014.txt")


@pytest.fixture(scope="module")
def budget() -> tuple[str, str, str]:
    return load(DATA / "bbc" / "politics" / "001.txt", "bbc/politics/001.txt")


def sentences_of(answer: str) -> list[tuple[str, int]]:
    """(sentence, n) pairs of an answer: each sentence is followed by " [n]"."""
    out = []
    last = 0
    for m in MARKER.finditer(answer):
        out.append((answer[last : m.start()].strip(), int(m.group(1))))
        last = m.end()
    assert answer[last:].strip() == "", f"text after the last marker: {answer[last:]!r}"
    return out


def assert_verbatim(c: Composed) -> None:
    assert c.text
    pairs = sentences_of(c.text)
    by_n = {cit.n: cit for cit in c.citations}
    assert sorted(by_n) == list(range(1, len(c.citations) + 1))
    assert [n for n in dict.fromkeys(n for _, n in pairs)] == sorted(by_n), "first-use order"
    for sentence, n in pairs:
        assert sentence, "empty sentence"
        assert sentence in by_n[n].passage.text, f"[{n}] not verbatim: {sentence!r}"
    for cit in c.citations:
        assert cit.quote and cit.quote in cit.passage.text
        assert any(s in cit.quote or cit.quote in s for s, n in pairs if n == cit.n)


def test_russia_demand_cites_peskov(seed, budget) -> None:
    q = "What did Russia demand of Ukraine?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed, budget))
    assert_verbatim(c)
    first_sentences = [s for s, n in sentences_of(c.text) if n == 1]
    assert any("meet Russia's terms" in s or "up to Ukraine" in s for s in first_sentences)
    assert c.citations[0].passage.doc_id == "seed/ibtimes"
    assert "[1]" in c.text


def test_lukashenko_warning_surfaces_complete_destruction(seed, budget) -> None:
    q = "What did Lukashenko warn?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed, budget))
    assert_verbatim(c)
    assert "complete destruction" in c.text
    assert all(cit.passage.doc_id == "seed/ibtimes" for cit in c.citations)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("How many Telegraph journalist jobs are being cut?", "90 journalist jobs"),
        ("What are the Telegraph job cuts meant to pay for?", "printing facilities"),
        ("How many Ukrainian civilians have been killed since the war began?", "6,595"),
        ("Why is Russia bombing Ukraine?", "military potential"),
        ("What did Nebenzya admit at the UN Security Council?", "Nebenzya"),
    ],
)
def test_answers_are_verbatim_and_find_the_fact(
    question: str, expected: str, seed, telegraph, budget
) -> None:
    for order in [(seed, telegraph, budget), (telegraph, budget, seed)]:
        c = ExtractiveAnswerer().compose(question, hits_for(question, *order))
        assert_verbatim(c)
        assert expected in c.text, c.text


def test_length_is_capped(seed, telegraph, budget) -> None:
    a = ExtractiveAnswerer(max_sentences=5, max_words=120)
    for q in ["What happened in Ukraine and to the Telegraph journalists?", "Russia Ukraine war"]:
        c = a.compose(q, hits_for(q, seed, telegraph, budget))
        pairs = sentences_of(c.text)
        assert 1 <= len(pairs) <= 5
        words = [len(s.split()) for s, _ in pairs]
        assert sum(words) - words[0] <= 120 or len(pairs) == 1


def test_stream_yields_sentences_then_the_composed(seed) -> None:
    q = "What did Lukashenko warn?"
    hits = hits_for(q, seed)
    items = list(ExtractiveAnswerer().stream(q, hits))
    assert isinstance(items[-1], Composed)
    pieces = items[:-1]
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == items[-1].text  # type: ignore[arg-type]
    assert len(pieces) == len(sentences_of(items[-1].text)) >= 2
    assert items[-1] == ExtractiveAnswerer().compose(q, hits)


def test_duplicate_article_is_not_repeated(seed, budget) -> None:
    q = "What did Lukashenko warn?"
    doc_id, title, body = seed
    twin = ("seed/copy", title, body)
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed, twin, budget))
    assert_verbatim(c)
    texts = [s for s, _ in sentences_of(c.text)]
    assert len(texts) == len(set(texts))
    assert {cit.passage.doc_id for cit in c.citations} == {"seed/ibtimes"}


def test_quote_keeps_its_speaker(seed) -> None:
    # The quote opens with "Everything is up to Ukraine." and names Lukashenko four
    # sentences later: the answer must say who said it.
    q = "Is everything up to Ukraine?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed))
    assert_verbatim(c)
    assert '"Everything is up to Ukraine.' in c.text
    assert "Lukashenko said" in c.text


def test_pronoun_sentence_brings_its_antecedent(seed) -> None:
    q = "Who warned that refusing to negotiate would mean complete destruction?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed))
    assert_verbatim(c)
    text = c.text
    assert "He also warned" in text
    assert text.index("Belarusian President Alexander Lukashenko") < text.index("He also")


def test_he_said_quote_brings_the_speaker(telegraph) -> None:
    q = "Who said journalists are the lifeblood of any newspaper?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, telegraph))
    assert_verbatim(c)
    assert "lifeblood" in c.text
    assert "Murdoch MacLennan" in c.text


def test_junk_lines_are_never_quoted(seed) -> None:
    for q in ["Key points", "Copyright IBTimes 2024 rights reserved", "What are the key points?"]:
        c = ExtractiveAnswerer().compose(q, hits_for(q, seed))
        assert_verbatim(c)
        assert "KEY POINTS" not in c.text
        assert "Copyright" not in c.text and "\u00a9" not in c.text


def test_bullet_marker_is_skipped_but_text_stays_verbatim(seed) -> None:
    q = "Did Peskov say Ukraine could end the attacks by meeting Russia's terms?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed))
    assert_verbatim(c)
    assert not any(s.startswith("- ") for s, _ in sentences_of(c.text))


def test_top_ranked_article_wins_a_tie(seed) -> None:
    q = "What did Lukashenko warn?"
    doc_id, title, body = seed
    first = ("first/copy", title, body)
    c = ExtractiveAnswerer().compose(q, hits_for(q, first, seed))
    assert c.citations[0].passage.doc_id == "first/copy"


def test_no_matching_words_falls_back_to_the_best_passage(seed, budget) -> None:
    q = "Xyzzy plugh?"
    hits = hits_for(q, budget, seed)
    c = ExtractiveAnswerer().compose(q, hits)
    assert_verbatim(c)
    assert len(c.citations) == 1 and c.citations[0].passage == hits[0].best
    assert len(sentences_of(c.text)) == 1


def test_no_hits_gives_an_empty_answer() -> None:
    c = ExtractiveAnswerer().compose("What did Russia demand of Ukraine?", [])
    assert c.text == "" and c.citations == ()
    assert list(ExtractiveAnswerer().stream("anything", [])) == [c]


def test_two_sentences_from_one_passage_share_a_number(seed) -> None:
    q = "What did Lukashenko warn?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, seed))
    numbers = [n for _, n in sentences_of(c.text)]
    assert len(numbers) > len(set(numbers))
    assert len(c.citations) == len(set(numbers))
    assert all(isinstance(cit, Citation) for cit in c.citations)


def test_number_question_prefers_the_sentence_with_the_number(seed, telegraph, budget) -> None:
    q = "How many journalists do the two Telegraph titles employ?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, telegraph, seed, budget))
    assert_verbatim(c)
    assert "521 journalists" in c.text


def test_two_part_question_gets_both_parts(seed, telegraph, budget) -> None:
    q = "How many jobs is the Telegraph cutting, and what will the investment pay for?"
    c = ExtractiveAnswerer().compose(q, hits_for(q, telegraph, seed, budget))
    assert_verbatim(c)
    assert "90 journalist jobs" in c.text and "printing facilities" in c.text


def test_a_one_fact_answer_stops_at_its_article(seed, telegraph, budget) -> None:
    # Both articles match words of the question; one fact is asked, so one article answers
    # (without the stop rule the answer went on into the other article).
    one = "How many journalists will the Telegraph shed amid warnings of complete destruction?"
    c = ExtractiveAnswerer().compose(one, hits_for(one, telegraph, seed, budget))
    assert_verbatim(c)
    assert {cit.passage.doc_id for cit in c.citations} == {telegraph[0]}
    # a question of several parts takes each part from its own article
    several = "Who warned of complete destruction and how many journalists will the Telegraph shed?"
    wide = ExtractiveAnswerer().compose(several, hits_for(several, telegraph, seed, budget))
    assert_verbatim(wide)
    assert {cit.passage.doc_id for cit in wide.citations} == {telegraph[0], seed[0]}


def test_sentence_cut_at_a_chunk_boundary_is_not_quoted(telegraph) -> None:
    doc_id, title, body = telegraph
    start = body.index("axing 90 journalist jobs")  # mid-sentence, as a long-sentence cut
    end = body.index("Pearson's Financial Times")
    cut = Passage("tel#cut", doc_id, body[start:end], start, end, 1, 1.0, title=title)
    hits = [ArticleHit(doc_id, 1.0, (cut,))]
    c = ExtractiveAnswerer().compose("How many journalist jobs are being axed?", hits)
    assert_verbatim(c)
    assert not any(s[0].islower() for s, _ in sentences_of(c.text))


@pytest.mark.parametrize(
    "question, kind",
    [
        ("How many reporters are the Telegraph shedding?", "number"),
        ("What time did Dibaba clock in Boston?", "number"),
        ("What did the new stadium cost?", "number"),
        ("When did the Xbox 360 go on sale in Europe?", "when"),
        ("Who was picked for the new children's commissioner post?", "who"),
        ("Why did Oasis split up?", ""),
        ("What was the peak audience when EastEnders killed off Den Watts?", ""),
        ("Why is an ex-spy who worked for MI6 refusing food?", ""),
        ("How many fans left, and when would the game be completed?", "number"),
        ("Which MP was robbed, and who took his phone?", "who"),
    ],
)
def test_answer_type(question: str, kind: str) -> None:
    assert answer_type(question) == kind


_PROSE = st.text(
    alphabet=st.sampled_from(list("abcdefghij KLMNOP.,;:!?'\"\u201c\u201d-\n0123456789\u00a9")),
    max_size=600,
)


@settings(max_examples=150, deadline=None)
@given(body=_PROSE, question=_PROSE)
def test_any_text_gives_verbatim_sentences(body: str, question: str) -> None:
    passage = Passage("x#0", "x", body, 0, len(body), 0, 1.0, title="KLM")
    c = ExtractiveAnswerer().compose(question, [ArticleHit("x", 1.0, (passage,))])
    if not c.text:
        assert c.citations == ()
        return
    for sentence, n in sentences_of(c.text):
        assert n == 1 and sentence and sentence in body
    assert c.citations[0].quote in body


# ------------------------------------------------------------ the sentence reader's similarity

HOME = (
    "About 270 hunts met across England on Saturday to chase foxes. "
    "Supporters said the law was unworkable and would be ignored. "
    "In all, 91 were killed by the hounds."
)
AWAY = "Saturday's hunts were watched by monitors, who said foxes were chased in many places."


def read_hit(doc_id: str, text: str, rank_no: int, sims: list[float]) -> ArticleHit:
    """An article in one passage, with the sentence reader's similarity for each sentence."""
    from newsdesk.core.text import split_sentences

    passage = Passage(f"{doc_id}#0", doc_id, text, 0, len(text), 0, 1.0, title=doc_id)
    starts = [s for s, _ in split_sentences(text)]
    return ArticleHit(
        doc_id, 1.0 / (1 + rank_no), (passage,), sentences=tuple(zip(starts, sims, strict=True))
    )


def test_the_readers_similarity_picks_within_the_article_the_words_point_to() -> None:
    question = "How many foxes did the hunts kill on Saturday?"
    hits = [
        read_hit("home", HOME, 0, [0.10, 0.20, 0.90]),
        read_hit("away", AWAY, 1, [0.95]),  # closest of all, but in another article
    ]
    plain = ExtractiveAnswerer(sentence_weight=0.0, max_sentences=1).compose(question, hits)
    read = ExtractiveAnswerer(sentence_weight=1.0, max_sentences=1).compose(question, hits)
    assert "91 were killed" in read.text
    assert [c.passage.doc_id for c in read.citations] == ["home"]
    assert plain.text.startswith("About 270 hunts")  # the words alone pick another sentence
