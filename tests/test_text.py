"""The one text analysis: every part of the program splits words the same way."""

from __future__ import annotations

import json
import textwrap
import threading
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from newsdesk.core import text
from newsdesk.store import lexical, schema
from newsdesk.store.ledger import Ledger


def test_dotted_acronyms_numbers_and_mixed_tokens() -> None:
    got = text.words("The U.S. and U.K. paid $6,595 (3.5%) to the G8; the firm's U.S")
    assert got == [
        "the", "us", "and", "uk", "paid", "6595", "3.5%", "to", "the", "g8", "the", "firm", "us",
    ]  # fmt: skip


def test_acronyms_that_look_like_stopwords_are_kept_unless_the_line_shouts() -> None:
    assert text.content_words("US and IT firms said") == ["us", "it", "firms", "said"]
    assert text.content_words("us and it firms") == ["firms"]
    # a wire headline in capitals, then its body: only the body's acronyms count
    assert text.content_words("US FIRMS CUT IT JOBS\nThe US cut IT jobs") == [
        "firms", "cut", "jobs", "us", "cut", "it", "jobs",
    ]  # fmt: skip


def test_questions_and_documents_get_the_same_terms() -> None:
    question = "What did the U.S. say about IT spending?"
    passage = "The US says IT spending rose."
    assert set(text.content_terms(question)) <= set(text.content_terms(passage))


def test_stemming_from_many_threads_agrees_with_one() -> None:
    words = [f"{w}{s}" for w in ("nation", "run", "argu", "connect") for s in ("s", "ing", "ed")]
    expected = text.stems(words)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                results.append(text.stems(words))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 1600 and all(r == expected for r in results)


def test_bm25_built_by_another_analysis_is_rebuilt(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path, create=True)
    try:
        lexical.save(lexical.build(ledger), tmp_path)
        assert lexical.stamp(tmp_path) == ledger.generation
        stamp_file = tmp_path / schema.BM25_DIR / lexical.STAMP_FILE
        data = json.loads(stamp_file.read_text("utf-8"))
        data["analyser"] = text.ANALYSER_VERSION - 1
        stamp_file.write_text(json.dumps(data), "utf-8")
        assert lexical.stamp(tmp_path) is None  # not read as current
        rebuilt = lexical.load_or_build(ledger, tmp_path)
        assert rebuilt.generation == ledger.generation
        assert lexical.stamp(tmp_path) == ledger.generation
    finally:
        ledger.close()


def test_sentences_slice_the_text() -> None:
    sample = 'Mr. Blair said: "We will win." Then he left.\n\nA new paragraph.'
    spans = text.split_sentences(sample)
    assert [sample[a:b] for a, b in spans] == [
        'Mr. Blair said: "We will win."',
        "Then he left.",
        "A new paragraph.",
    ]


_WORDS = [
    "the",
    "pipeline",
    "oil",
    "Ecuador",
    "OPEC",
    "output",
    "would",
    "resume",
    "exports",
    "after",
    "a",
    "quake",
    "in",
]
_sentence = st.lists(st.sampled_from(_WORDS), min_size=4, max_size=14).map(
    lambda ws: " ".join([ws[0].capitalize(), *ws[1:]]) + "."
)


@given(
    paragraphs=st.lists(st.lists(_sentence, min_size=3, max_size=8), min_size=1, max_size=3),
    width=st.integers(min_value=55, max_value=80),
)
@settings(max_examples=150, deadline=None)
def test_hard_wrapped_paragraphs_read_as_their_unwrapped_sentences(
    paragraphs: list[list[str]], width: int
) -> None:
    """Wire copy: each paragraph indented, lines broken at a fixed width mid-sentence."""
    assume(all(len(" ".join(p)) > 4 * width for p in paragraphs))
    wrapped = "\n".join(
        textwrap.fill(" ".join(p), width, initial_indent="    ") for p in paragraphs
    )
    spans = text.split_sentences(wrapped)
    assert all(0 <= a < b <= len(wrapped) for a, b in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
    assert [" ".join(wrapped[a:b].split()) for a, b in spans] == [s for p in paragraphs for s in p]


# Wire copy as the wires write it (invented stories): (text, its sentences unwrapped).
WIRE_COPY = {
    # The dateline was cut from the first line: the lede is one sentence, not "Northway
    # Air, a unit of Fenmoor" and the rest; the table's rows stay apart.
    "short first line": (
        "Northway Air, a unit of Fenmoor\n"
        "Holdings Inc, said its load factor in May rose to 71.4 pct from 68.0\n"
        "pct a year ago, its best May since it began flying in 1981.\n"
        "    Northway said its May traffic grew 12.5 pct to 1.20\n"
        "billion revenue passenger miles from 1.07 billion a year ago.\n"
        "    Shr 1.23 dlrs vs 1.10 dlrs\n"
        "    Net 5.6 mln vs 4.3 mln\n",
        [
            "Northway Air, a unit of Fenmoor Holdings Inc, said its load factor in May rose "
            "to 71.4 pct from 68.0 pct a year ago, its best May since it began flying in 1981.",
            "Northway said its May traffic grew 12.5 pct to 1.20 billion revenue passenger "
            "miles from 1.07 billion a year ago.",
            "Shr 1.23 dlrs vs 1.10 dlrs",
            "Net 5.6 mln vs 4.3 mln",
        ],
    ),
    # Three paragraphs of two lines: every paragraph's last line is short, yet it is wrapped.
    "short story": (
        "Harbour Pumps Ltd said its\n"
        "Coastal Engineering unit won a contract to supply the port of\n"
        "Dunmore.\n"
        "    The company said the contract is worth about 2.5 mln stg,\n"
        "payable over three years.\n"
        "    Harbour Pumps said work would start in June at its plant\n"
        "in Wexford.\n",
        [
            "Harbour Pumps Ltd said its Coastal Engineering unit won a contract to supply the "
            "port of Dunmore.",
            "The company said the contract is worth about 2.5 mln stg, payable over three years.",
            "Harbour Pumps said work would start in June at its plant in Wexford.",
        ],
    ),
    # However short, a wrapped line that ends on "the" or a comma ends no sentence.
    "line ends on the or a comma": (
        "    The regulator said it would review the merger of the two lenders\n"
        "after complaints from rival banks, the\n"
        "Northern Savings group said in a statement published on Tuesday.\n"
        "    It said the review should be finished within eight weeks and\n"
        "that a ruling was due in the autumn, its chairman,\n"
        "John Gallagher, told reporters at the regulator's offices in Dublin.\n",
        [
            "The regulator said it would review the merger of the two lenders after complaints "
            "from rival banks, the Northern Savings group said in a statement published on "
            "Tuesday.",
            "It said the review should be finished within eight weeks and that a ruling was due "
            "in the autumn, its chairman, John Gallagher, told reporters at the regulator's "
            "offices in Dublin.",
        ],
    ),
}


@pytest.mark.parametrize("story, sentences", WIRE_COPY.values(), ids=WIRE_COPY.keys())
def test_wire_copy_reads_as_its_unwrapped_sentences(story: str, sentences: list[str]) -> None:
    assert text.wrap_width(story) > 0
    assert [" ".join(story[a:b].split()) for a, b in text.split_sentences(story)] == sentences


def test_unwrapped_lines_still_end_at_a_line_break() -> None:
    """A headline line over a body, and short list lines, are not a wrapped paragraph."""
    sample = "Markets rally on rate hopes\nShares rose sharply on Monday as traders bet on cuts."
    assert text.wrap_width(sample) == 0
    assert [sample[a:b] for a, b in text.split_sentences(sample)] == [
        "Markets rally on rate hopes",
        "Shares rose sharply on Monday as traders bet on cuts.",
    ]


def test_shouted_headlines_are_cased_as_their_article_writes_the_words() -> None:
    body = (
        "Japanese Prime Minister Yasuhiro Nakasone said the U.S. and Japan would talk. "
        "Tanzania sold maize to Malawi, Mozambique and Zaire, OPEC officials said in March."
    )
    assert (
        text.readable_title("JAPANESE PREMIER SAYS U.S. TALKS TO GO ON", body)
        == "Japanese premier says U.S. talks to go on"
    )
    assert (
        text.readable_title("TANZANIA SELLS MAIZE TO MALAWI, MOZAMBIQUE, ZAIRE", body)
        == "Tanzania sells maize to Malawi, Mozambique, Zaire"
    )
    assert text.readable_title("OPEC SEES OUTPUT FALL IN MARCH", body) == (
        "OPEC sees output fall in March"
    )
    # words the article only has at the start of a sentence stay lower case
    assert text.readable_title("THE TALKS", "The talks went on.") == "The talks"
    # titles that do not shout are left alone
    assert text.readable_title("Ad sales boost Time Warner profit", body) == (
        "Ad sales boost Time Warner profit"
    )
    assert text.readable_title("IBM", "") == "IBM"  # too short to tell


def test_an_index_from_an_older_analysis_rebuilds_bm25_once_and_keeps_it(tmp_path: Path) -> None:
    """Opening an index whose BM25 was built with other terms rebuilds it from the ledger
    and saves it, so the next reader loads it instead of rebuilding on every question."""
    from fakes import HashingEmbedder
    from helpers import SAMPLE, make_settings

    from newsdesk.assistant import build_assistant
    from newsdesk.ingest.pipeline import ingest

    settings = make_settings(tmp_path / "index")
    assert not ingest(settings, [str(SAMPLE)], embedder=HashingEmbedder()).errors
    stamp_file = tmp_path / "index" / schema.BM25_DIR / lexical.STAMP_FILE
    data = json.loads(stamp_file.read_text("utf-8"))
    stamp_file.write_text(json.dumps({**data, "analyser": 1}), "utf-8")
    assert lexical.stamp(tmp_path / "index") is None
    assistant = build_assistant(settings, embedder=HashingEmbedder())
    try:
        assert assistant.retrieve("Russia Ukraine peace talks").hits
    finally:
        assistant.close()
    assert lexical.stamp(tmp_path / "index") == data["generation"]


def test_concurrent_bm25_saves_take_turns_and_keep_the_newest(tmp_path: Path) -> None:
    """An ingest and a reader that rebuilt BM25 may save at once (found by the concurrency
    test: one process's two savers shared a temp folder). Savers take turns, and an older
    generation never replaces a newer one."""
    ledger = Ledger.open(tmp_path, create=True)
    try:
        empty = lexical.build(ledger)
    finally:
        ledger.close()
    versions = [lexical.Bm25(empty.model, [], generation) for generation in (3, 7, 5)]
    errors: list[BaseException] = []

    def work(index: lexical.Bm25) -> None:
        try:
            for _ in range(30):
                lexical.save(index, tmp_path)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(v,)) for v in versions * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert lexical.stamp(tmp_path) == 7
    assert lexical.load(tmp_path).generation == 7
