"""Hybrid retrieval, filters, date words, duplicates, refusal, follow-ups and citation
integrity, over real indexes (the sample archive; the shared archive for the slow ones)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from helpers import SAMPLE, SEED_QUESTION, make_settings

from newsdesk.assistant import Assistant, build_answerer
from newsdesk.core.errors import QuestionError
from newsdesk.core.types import Answer, Filters
from newsdesk.ingest.pipeline import ingest
from newsdesk.retriever.llama import NewsdeskRetriever
from newsdesk.retriever.search import Searcher

SEED = "world/ibtimes-russia-urges-kyiv-peace-talks.md"


def test_hybrid_puts_the_seed_article_first(sample_assistant: Assistant) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        hits = sample_assistant.searcher.search(SEED_QUESTION, mode=mode, k=5)
        assert hits[0].doc_id == SEED, mode
        assert all(p.doc_id == SEED for p in hits[0].passages)


def test_fusion_draws_on_both_lists(sample_assistant: Assistant) -> None:
    s = sample_assistant.searcher
    # A surname only BM25 can match exactly; dense alone finds the library by meaning.
    lexical = s.search("Okafor", mode="bm25", k=3)
    assert lexical and lexical[0].doc_id == "local/library-reopens.txt"
    hybrid = s.search("Okafor", mode="hybrid", k=3)
    assert hybrid[0].doc_id == "local/library-reopens.txt"
    fused = s.rank_chunks("where can I get my broken toaster fixed", Filters(), "hybrid", 50)
    assert fused == sorted(fused, key=lambda c: -c.score)
    assert {c.chunk_id for c in fused} >= {
        c.chunk_id for c in s.rank_chunks("toaster", Filters(), "bm25", 50)
    }
    hits = s.search("where can I get my broken toaster fixed", k=3)
    best = hits[0].best
    assert hits[0].doc_id == "local/library-reopens.txt"
    assert best.lexical > 0 and best.similarity > 0  # evidence from both halves


def test_filters_restrict_every_mode(sample_assistant: Assistant) -> None:
    s = sample_assistant.searcher
    for mode in ("hybrid", "dense", "bm25"):
        local = s.search("Russia council vote", filters=Filters(categories=("local",)), mode=mode)
        assert local and all(h.best.category == "local" for h in local), mode
        recent = s.search("Ukraine comet", filters=Filters(since=date(2024, 1, 1)), mode=mode)
        assert recent and all(h.best.published >= "2024-01-01" for h in recent), mode
        old = s.search("peace talks", filters=Filters(until=date(2023, 1, 1)), mode=mode)
        assert [h.doc_id for h in old] == [SEED], mode
        by_source = s.search("comet river", filters=Filters(sources=("Sky Notes",)), mode=mode)
        assert by_source and all(h.best.source == "Sky Notes" for h in by_source), mode


def test_undated_articles_are_found_without_a_date_filter(sample_assistant: Assistant) -> None:
    hits = sample_assistant.searcher.search("library repair cafe opening hours", k=3)
    assert hits[0].doc_id == "local/library-reopens.txt"
    assert hits[0].best.published == ""
    dated = sample_assistant.searcher.search(
        "library repair cafe", filters=Filters(since=date(2000, 1, 1)), k=10
    )
    assert "local/library-reopens.txt" not in [h.doc_id for h in dated]


def test_date_words_in_the_question_become_filters(sample_assistant: Assistant) -> None:
    r = sample_assistant.retrieve("What happened in 2022?")
    # 2022, and the month after it in which a year's news is still reported
    assert r.filters.since == date(2022, 1, 1) and r.filters.until == date(2023, 1, 31)
    assert r.hits[0].doc_id == SEED
    # Date words are a preference: the rest of the archive (undated articles too) follows.
    assert "local/library-reopens.txt" in [h.doc_id for h in r.hits[1:]]
    explicit = Filters(since=date(2024, 1, 1))
    r2 = sample_assistant.retrieve("What happened in 2022?", filters=explicit)
    assert r2.filters.since == date(2024, 1, 1)  # the caller's filter wins


def test_a_months_figures_are_found_in_the_report_after_the_month(tmp_path: Path, embedder) -> None:
    """A month's load factor is reported early the next month: the question about March
    finds the April 3 report first, ahead of the dozen reports published in March."""
    import json

    stories = [
        (
            "sk/feb",
            "1987-03-04",
            "SKYWAY AIR FEBRUARY LOAD FACTOR FALLS",
            "Skyway Air said its February load factor fell to 55.1 pct from 58.0 pct.",
        ),
        (
            "sk/mar",
            "1987-04-03",
            "SKYWAY AIR MARCH LOAD FACTOR RISES",
            "Skyway Air said its March load factor rose to 60.6 pct from 57.2 pct a year ago.",
        ),
    ] + [
        (
            f"sk/{i}",
            f"1987-03-{i + 2:02d}",
            f"SKYWAY AIR {topic}",
            f"Skyway Air said in March it would {what}, filling more seats on its routes.",
        )
        for i, (topic, what) in enumerate(
            [
                ("ORDERS JETS", "order six jets"),
                ("CUTS FARES", "cut fares"),
                ("ADDS ROUTES", "add routes to Denver"),
                ("HIRES PILOTS", "hire 200 pilots"),
                ("SELLS HUB", "sell its Dallas hub"),
                ("RAISES CAPACITY", "raise capacity"),
                ("SETTLES STRIKE", "settle the strike"),
                ("NAMES CHIEF", "name a new chief"),
                ("BUYS COMMUTER", "buy a commuter line"),
                ("LEASES PLANES", "lease four planes"),
                ("ENDS ALLIANCE", "end its alliance"),
                ("OPENS LOUNGE", "open a lounge"),
            ]
        )
    ]
    folder = tmp_path / "wire"
    folder.mkdir()
    (folder / "wire.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "published": d, "title": t, "body": b}) + "\n"
            for i, d, t, b in stories
        ),
        "utf-8",
    )
    settings = make_settings(tmp_path / "index")
    ingest(settings, [str(folder)], embedder=embedder)
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(settings, embedder=embedder)
    try:
        r = assistant.retrieve("What was Skyway Air's load factor in March 1987?")
        assert r.hits[0].doc_id.endswith("sk/mar"), [h.doc_id for h in r.hits]
        assert r.filters.since == date(1987, 3, 1) and r.filters.until == date(1987, 4, 15)
        # a range the question bounds itself is not stretched
        bounded = assistant.retrieve("What did Skyway Air do between February and March 1987?")
        assert bounded.filters.until == date(1987, 3, 31)
    finally:
        assistant.close()


def test_duplicates_take_one_slot_and_carry_aliases(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    shutil.copy(folder / "local" / "library-reopens.txt", folder / "local" / "library-copy.txt")
    settings = make_settings(tmp_path / "index")
    ingest(settings, [str(folder)], embedder=embedder)
    searcher = Searcher.open(settings, embedder=embedder)
    try:
        hits = searcher.search("repair cafe library", k=10)
        ids = [h.doc_id for h in hits]
        assert ids.count("local/library-copy.txt") + ids.count("local/library-reopens.txt") == 1
        top = hits[0]
        assert {top.doc_id, *top.aliases} == {"local/library-copy.txt", "local/library-reopens.txt"}
    finally:
        searcher.close()


def test_new_articles_are_found_without_restart(tmp_path: Path, embedder) -> None:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(tmp_path / "index")
    ingest(settings, [str(folder)], embedder=embedder)
    searcher = Searcher.open(settings, embedder=embedder)
    try:
        assert searcher.search("glacier melting in the Alps", mode="bm25", k=3) == []
        (folder / "glacier.txt").write_text(
            "Alpine glacier loses a tenth of its ice in one summer\n\n"
            "The Morteratsch glacier lost a tenth of its ice this summer, glaciologists said.\n"
        )
        ingest(settings, [str(folder)], embedder=embedder)
        hits = searcher.search("glacier melting in the Alps", mode="bm25", k=3)
        assert hits and hits[0].doc_id == "glacier.txt"
    finally:
        searcher.close()


def test_llama_index_retriever_adapter(sample_assistant: Assistant) -> None:
    retriever = NewsdeskRetriever(sample_assistant.searcher, mode="hybrid", k=3)
    nodes = retriever.retrieve(SEED_QUESTION)
    assert nodes and nodes[0].node.metadata["doc_id"] == SEED
    assert nodes[0].node.get_content() in (sample_assistant.article(SEED) or None).text  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        NewsdeskRetriever(sample_assistant.searcher, mode="fuzzy")


def assert_citations_hold(answer: Answer) -> None:
    """Every sentence's [n] names a citation whose passage contains that sentence verbatim."""
    numbers = {c.n for c in answer.citations}
    assert numbers == set(range(1, len(numbers) + 1))
    by_n = {c.n: c for c in answer.citations}
    pieces = re.findall(r"(.+?)\s*((?:\[\d+\])+)", answer.text, flags=re.S)
    assert pieces, answer.text
    for sentence, marks in pieces:
        for n in map(int, re.findall(r"\d+", marks)):
            assert n in by_n, f"[{n}] points nowhere"
            assert sentence.strip() in by_n[n].passage.text, (sentence, n)
        assert sentence.strip()
    for c in answer.citations:
        assert c.quote and c.quote in c.passage.text


def test_seed_question_is_answered_with_peskovs_words(sample_assistant: Assistant) -> None:
    answer = sample_assistant.ask(SEED_QUESTION)
    assert not answer.refused
    assert "Peskov" in answer.text or "up to Ukraine" in answer.text
    assert answer.citations[0].passage.doc_id == SEED
    assert_citations_hold(answer)


def test_follow_up_uses_the_conversation(sample_assistant: Assistant) -> None:
    answer = sample_assistant.ask("What did Lukashenko warn?", history=[SEED_QUESTION])
    assert not answer.refused
    assert "destruction" in answer.text
    assert_citations_hold(answer)
    belarus = sample_assistant.ask("And what did Belarus say?", history=[SEED_QUESTION])
    assert belarus.standalone_question != "And what did Belarus say?"
    assert belarus.citations and belarus.citations[0].passage.doc_id == SEED


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 1966 football World Cup final?",
        "What is the boiling point of mercury?",
        "How do I bake sourdough bread?",
    ],
)
def test_off_topic_questions_are_refused(sample_assistant: Assistant, question: str) -> None:
    answer = sample_assistant.ask(question)
    assert answer.refused, answer.text
    assert answer.citations == ()
    assert "no article" in answer.text.lower()
    assert answer.retrieved  # the closest articles are still offered


@pytest.mark.parametrize(
    "question",
    [
        "What will the flood walls cost?",
        "Why is the farmers market moving?",
        "What did the comet do?",
        "How do bumblebees cool their nests?",
    ],
)
def test_answerable_questions_cite_their_article(
    sample_assistant: Assistant, question: str
) -> None:
    answer = sample_assistant.ask(question)
    assert not answer.refused, question
    assert_citations_hold(answer)


def test_bad_questions_get_clear_errors(sample_assistant: Assistant) -> None:
    with pytest.raises(QuestionError, match="empty"):
        sample_assistant.ask("   \x00\x07  ")
    with pytest.raises(QuestionError, match="limit"):
        sample_assistant.ask("why " * 25_000)
    answer = sample_assistant.ask("What did\x00 Russia\x1b demand\u200b of Ukraine?")
    assert not answer.refused


def test_streaming_yields_pieces_then_the_answer(sample_assistant: Assistant) -> None:
    items = list(sample_assistant.stream(SEED_QUESTION))
    assert isinstance(items[-1], Answer)
    pieces = [i for i in items[:-1] if isinstance(i, str)]
    assert len(pieces) >= 2
    assert "".join(pieces) == items[-1].text


def test_generative_answerer_is_built_from_settings(sample_index: Path, embedder) -> None:
    settings = make_settings(
        sample_index, answerer="llm", llm_base_url="http://127.0.0.1:9", llm_model="test"
    )
    answerer = build_answerer(settings)
    assert type(answerer).__name__ == "LLMAnswerer"
