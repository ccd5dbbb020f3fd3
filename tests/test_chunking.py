"""Sentence splitting and token-aware chunking: offsets always match the text."""

from __future__ import annotations

from helpers import SAMPLE, SHARED_DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.core.text import split_sentences
from newsdesk.ingest.chunking import chunk_text, encoding

H = "f" * 64


def test_sentences_respect_abbreviations_quotes_and_lines() -> None:
    text = (
        'Mr. Smith met J. Doe in the U.S. on Monday. "It is over," he said. Kyiv said no. '
        "Then he left.\nKEY POINTS\n- Peskov says talks could start\n- Belarus warns Kyiv"
    )
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == [
        "Mr. Smith met J. Doe in the U.S. on Monday.",
        '"It is over," he said.',
        "Kyiv said no.",
        "Then he left.",
        "KEY POINTS",
        "- Peskov says talks could start",
        "- Belarus warns Kyiv",
    ]


def _long_article() -> str:
    """A real article body: a BBC one when ../shared is here, else the bundled seed article."""
    bbc = SHARED_DATA / "bbc" / "business" / "001.txt"
    if bbc.is_file():
        return bbc.read_text().split("\n", 1)[1]
    seed = SAMPLE / "world" / "ibtimes-russia-urges-kyiv-peace-talks.md"
    return seed.read_text(encoding="utf-8").split("---\n", 2)[2]  # after the front matter


def test_chunks_are_bounded_overlapping_and_on_sentence_boundaries() -> None:
    text = _long_article()
    chunks = chunk_text(H, text, max_tokens=80, overlap=40)
    assert len(chunks) > 3
    ends = {e for _, e in split_sentences(text)}
    starts = {s for s, _ in split_sentences(text)}
    for i, c in enumerate(chunks):
        assert c.position == i and c.chunk_id == f"{H[:32]}-{i:04d}"
        assert text[c.start : c.end] == c.text
        assert c.n_tokens <= 80
        assert c.start in starts and c.end in ends
    pairs = list(zip(chunks, chunks[1:], strict=False))
    for a, b in pairs:
        assert a.start < b.start <= a.end + 2  # no gap, always moving forward
    # Sentences that fit the overlap budget are repeated at the start of the next chunk.
    assert any(b.start < a.end for a, b in pairs)


def test_long_sentences_are_cut_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(3000))  # one "sentence" of ~6000 tokens
    chunks = chunk_text(H, text, max_tokens=100, overlap=10)
    assert len(chunks) > 20
    for c in chunks:
        assert c.n_tokens <= 100
        assert text[c.start : c.end] == c.text
        assert c.start == 0 or text[c.start - 1] == " "
        assert c.end == len(text) or text[c.end] == " "


def test_a_giant_word_is_still_chunked() -> None:
    text = "x" * 50_000
    chunks = chunk_text(H, text, max_tokens=200, overlap=40)
    assert "".join(c.text for c in chunks) == text
    assert all(c.n_tokens <= 200 for c in chunks)


def test_empty_and_blank_text_give_no_chunks() -> None:
    assert chunk_text(H, "", max_tokens=100, overlap=10) == []
    assert chunk_text(H, " \n\t \n", max_tokens=100, overlap=10) == []


@settings(max_examples=150, deadline=None)
@given(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=3000),
    st.integers(min_value=32, max_value=300),
)
def test_chunk_offsets_always_match_the_text(text: str, size: int) -> None:
    chunks = chunk_text(H, text, max_tokens=size, overlap=size // 4)
    covered = set()
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text)
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert len(encoding().encode_ordinary(c.text)) <= size
        covered.update(range(c.start, c.end))
    # Nothing but whitespace is ever left out.
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_sentence_spans_are_ordered_trimmed_and_non_empty(text: str) -> None:
    last = 0
    for a, b in split_sentences(text):
        assert last <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        last = b
