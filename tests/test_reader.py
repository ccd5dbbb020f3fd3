"""The sentence reader: sentence vectors stored by ingest's second phase (exact spans, kept
exact through re-ingest, update, prune, duplicates, another model and kill -9) and the re-ranking
of the top articles by their best sentence (and no re-ranking while some are unread)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fakes import HashingEmbedder
from helpers import make_settings, open_ledger, orphans
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.assistant import build_assistant
from newsdesk.core.text import split_sentences
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import MIN_SENTENCE_CHARS, enrich, sentence_spans
from newsdesk.ingest.pipeline import ingest
from newsdesk.retriever import reader
from newsdesk.store.ledger import SentenceVectors

STORIES = {
    "bid.txt": "Gazprom bid for Yukos unit\n\nThe gas giant Gazprom offered $3.5bn for the "
    "oil unit on Monday. Analysts said the price was low. The sale is due in March.",
    "rail.txt": "Rail fares rise again\n\nCommuters face a fare rise of 4% from January. "
    "Unions called the rise unfair to workers who have no other way to travel.",
    "ferry.txt": "Ferry strike ends\n\nHarbour pilots went back to work on Friday after the "
    "ferry strike was settled. Four hundred passengers had waited on the quay.",
    "lanterns.txt": "Lantern night\n\nThe kaleidoscope festival filled the old town with paper "
    "lanterns. Street music and dancers went on until midnight in the square.",
}


def write(root: Path, stories: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in stories.items():
        (root / name).write_text(text, encoding="utf-8")


def stored(index: Path, model: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """doc_id -> (the texts its stored spans slice, its vectors), checked against the text."""
    with open_ledger(index) as ledger:
        got = ledger.sentences(sorted(ledger.all_article_hashes()), model)
        out: dict[str, tuple[list[str], np.ndarray]] = {}
        for doc_id, sv in got.items():
            article = ledger.article(doc_id)
            assert article is not None
            assert [list(p) for p in sv.spans] == [list(p) for p in sentence_spans(article.text)]
            texts = [article.text[s:e] for s, e in sv.spans]
            out[doc_id] = (texts, np.asarray(sv.vectors, dtype=np.float32))
        return out


def to_do(index: Path, model: str) -> int:
    with open_ledger(index) as ledger:
        return ledger.sentence_progress(model)[0]


def fully_read(index: Path) -> bool:
    with open_ledger(index) as ledger:
        return ledger.read_generation == ledger.generation


# ------------------------------------------------------------ storage


def test_sentence_vectors_are_the_embedders_own_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    root, index = tmp_path / "archive", tmp_path / "index"
    write(root, STORIES)
    emb = HashingEmbedder()
    ingest(make_settings(index), [str(root)], embedder=emb)
    report = enrich(make_settings(index, enrich="sentences"), embedder=emb)
    assert report.sentences.articles == 4 and report.model == ""  # no entities asked for
    got = stored(index, emb.identity)
    texts, vectors = got[next(d for d in got if d.endswith("bid.txt"))]
    assert texts == [  # the headline is the title, not part of the text
        "The gas giant Gazprom offered $3.5bn for the oil unit on Monday.",
        "Analysts said the price was low.",
        "The sale is due in March.",
    ]
    assert np.allclose(vectors, emb.embed_documents(texts), atol=2e-3)  # float16 storage
    again = enrich(make_settings(index, enrich="sentences"), embedder=emb)
    assert again.sentences.articles == 0 and again.sentences.already == 4
    assert {d: t for d, (t, _) in stored(index, emb.identity).items()} == {
        d: t for d, (t, _) in got.items()
    }


def test_update_prune_duplicates_and_another_model_keep_sentences_exact(
    tmp_path: Path, embedder: Embedder
) -> None:
    root, index = tmp_path / "archive", tmp_path / "index"
    write(root, STORIES | {"bid-copy.txt": STORIES["bid.txt"]})
    emb = embedder
    settings_ = make_settings(index, enrich="sentences")
    ingest(settings_, [str(root)], embedder=emb)
    enrich(settings_, embedder=emb)
    before = stored(index, emb.identity)
    bid = next(d for d in before if d.endswith("/bid.txt") or d == "bid.txt")
    copy = next(d for d in before if d.endswith("bid-copy.txt"))
    assert before[bid][0] == before[copy][0]  # duplicates share their text's sentences

    (root / "bid.txt").write_text(STORIES["bid.txt"].replace("Gazprom", "Rosneft"), "utf-8")
    ingest(settings_, [str(root)], embedder=emb)
    assert to_do(index, emb.identity) == 1  # only the changed text is read again
    assert not fully_read(index)  # a searcher leaves the reader off until it is
    enrich(settings_, embedder=emb)
    assert fully_read(index)
    after = stored(index, emb.identity)
    assert (
        "Rosneft" in after[bid][0][0]
        and "Gazprom" in before[bid][0][0]
        and after[copy][0] == before[copy][0]
    )

    for name in ("bid.txt", "bid-copy.txt"):
        (root / name).unlink()
    ingest(settings_, [str(root)], prune=True, embedder=emb)
    assert bid not in stored(index, emb.identity)
    assert orphans(index, "sentences") == 0

    other = HashingEmbedder()  # another model: everything is read again
    assert to_do(index, other.identity) == 3
    assert enrich(settings_, embedder=other).sentences.articles == 3
    assert stored(index, other.identity) and not stored(index, emb.identity)


def test_sentences_cut_by_an_older_splitter_are_made_anew(tmp_path: Path) -> None:
    """Vectors stored before the splitter changed (under the model's bare identity, as
    version 1 stored them) are not read at the wrong places: none is found for the model
    until the next enrich makes them anew (and `reader.rerank` leaves a ranking alone when
    an article has none)."""
    root, index = tmp_path / "archive", tmp_path / "index"
    write(root, STORIES)
    emb = HashingEmbedder()
    settings_ = make_settings(index, enrich="sentences")
    ingest(settings_, [str(root)], embedder=emb)
    enrich(settings_, embedder=emb)
    with open_ledger(index) as ledger, ledger.transaction() as sql:
        sql.execute("UPDATE sentences SET model=?", (emb.identity,))
    assert to_do(index, emb.identity) == 4 and not stored(index, emb.identity)
    assert enrich(settings_, embedder=emb).sentences.articles == 4
    assert len(stored(index, emb.identity)) == 4 and fully_read(index)


KILLER = """
import sys
sys.path.insert(0, sys.argv[2])
from fakes import DyingEmbedder
from newsdesk.core.config import Settings
from newsdesk.ingest.enrich import enrich

enrich(Settings(index=sys.argv[1], enrich="sentences"), embedder=DyingEmbedder(3), batch=1)
"""


def test_a_killed_sentence_pass_resumes_where_it_stopped(tmp_path: Path) -> None:
    root, index = tmp_path / "archive", tmp_path / "index"
    write(root, STORIES)
    emb = HashingEmbedder()
    ingest(make_settings(index), [str(root)], embedder=emb)
    tests_dir = str(Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(index), tests_dir],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -9, done.stderr
    assert to_do(index, emb.identity) == 2  # two batches committed, the third lost
    rest = enrich(make_settings(index, enrich="sentences"), embedder=emb)
    assert rest.sentences.articles == 2 and to_do(index, emb.identity) == 0
    fresh = tmp_path / "fresh"
    ingest(make_settings(fresh), [str(root)], embedder=emb)
    enrich(make_settings(fresh, enrich="sentences"), embedder=emb)
    got, want = stored(index, emb.identity), stored(fresh, emb.identity)
    assert {d: t for d, (t, _) in got.items()} == {d: t for d, (t, _) in want.items()}


TEXT = st.lists(
    st.sampled_from(["Mr Blair said", " no.", "\n", "\n\n", "  ", "U.S. ", "a" * 30, '"Yes," he']),
    max_size=40,
).map("".join)


@settings(max_examples=80, deadline=None)
@given(text=TEXT)
def test_sentence_spans_are_sentences_of_the_text(text: str) -> None:
    spans = sentence_spans(text)
    assert set(spans) <= set(split_sentences(text))
    assert all(e - s >= MIN_SENTENCE_CHARS for s, e in spans)


# ------------------------------------------------------------ re-ranking


RANKED = [(0.5, "a"), (0.4, "b"), (0.3, "c"), (0.2, "d"), (0.1, "e"), (0.05, "f")]


def test_a_strong_best_sentence_lifts_its_article_and_the_scores_still_fall() -> None:
    sims = {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.4, "e": 0.3}
    out = reader.rerank(RANKED, dict(sims), depth=5, weight=0.5)
    assert [d for _, d in out] == ["b", "a", "c", "d", "e", "f"]
    assert [s for s, _ in out] == [s for s, _ in RANKED]  # places keep their scores
    # a small disagreement does not move anything: the article ranking leads
    mild = {"a": 0.5, "b": 0.6, "c": 0.4, "d": 0.3, "e": 0.2}
    assert reader.rerank(RANKED, dict(mild), depth=5, weight=0.5) == RANKED


def test_no_reranking_when_off_or_when_an_article_is_unread() -> None:
    sims = {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.4, "e": 0.3}
    assert reader.rerank(RANKED, dict(sims), depth=5, weight=0.0) == RANKED
    unread = {d: s for d, s in sims.items() if d != "d"}
    assert reader.rerank(RANKED, dict(unread), depth=5, weight=0.5) == RANKED
    # an article read but with no sentence worth a vector goes to the bottom of the reading
    empty: dict[str, float | None] = {**sims, "b": None}
    assert [d for _, d in reader.rerank(RANKED, empty, depth=5, weight=0.5)][:2] == ["a", "c"]


def test_each_sentence_is_scored_once_and_the_best_taken_from_them() -> None:
    vectors = np.eye(3, dtype=np.float16)
    spans = np.array([[0, 10], [11, 20], [21, 30]])
    read = reader.similarities(
        {"x": SentenceVectors(spans, vectors), "y": SentenceVectors(np.zeros((0, 2)), vectors[:0])},
        np.array([0.0, 0.6, 0.8], dtype=np.float32),
    )
    assert [start for start, _ in read["x"]] == [0, 11, 21]
    assert [sim for _, sim in read["x"]] == pytest.approx([0.0, 0.6, 0.8], abs=1e-3)
    assert read["y"] == ()
    assert reader.best(read) == {"x": pytest.approx(0.8, abs=1e-3), "y": None}


# The noise articles' headlines ask the question's words (the chunk and BM25 see them); their
# sentences only mention one or two each. The answer says it all in one sentence.
READER_ARCHIVE = {
    f"noise{i}.txt": f"Kaleidoscope lantern parade music start times {i}\n\nThe council met "
    f"about the lantern budget for item {i}. Parade stewards were paid on time. Music licences "
    f"were renewed. The start of the works is delayed."
    for i in range(4)
} | {
    "answer.txt": "Weekend in the old town\n\nMarket stalls sold bread and cheese all morning. "
    "The kaleidoscope lantern parade with music starts at nine. Buses run late on Saturday.",
}


def test_the_reader_reranks_by_the_best_sentence_only_once_every_top_article_is_read(
    tmp_path: Path,
) -> None:
    root, index = tmp_path / "archive", tmp_path / "index"
    write(root, READER_ARCHIVE)
    emb = HashingEmbedder()
    settings_ = make_settings(index, chunk_tokens=64, chunk_overlap=0)
    ingest(settings_, [str(root)], embedder=emb)
    assistant = build_assistant(settings_, embedder=emb)
    try:
        s = assistant.searcher
        question = "When does the kaleidoscope lantern parade with music start?"
        unread = [h.doc_id for h in s.search(question, k=5)]
        s.reader_weight = 0.0
        plain = [h.doc_id for h in s.search(question, k=5)]
        assert unread == plain  # nothing read yet: the ranking is the hybrid one

        assert not s.snapshot.read
        enrich(make_settings(index, enrich="sentences"), embedder=emb)
        s.reader_weight = 2.0  # the mechanism, with a weight that lets one sentence decide
        read = [h.doc_id for h in s.search(question, k=5)]
        answer = next(d for d in read if d.endswith("answer.txt"))
        assert plain.index(answer) > 0, plain
        assert read.index(answer) < plain.index(answer), (plain, read)
        assert s.snapshot.read  # the searcher saw the enrich finish, with no new generation

    finally:
        assistant.close()
