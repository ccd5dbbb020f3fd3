"""Indirect naming: descriptors mined at ingest ("Chancellor Gordon Brown"), the archive's name
table built from them, and a question's description ("the chancellor") leading the search and
the answer to the name. The descriptors live with their text: exact offsets, idempotent,
kept exact through update, prune and duplicates, resumable after kill -9."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SAMPLE, make_settings, open_ledger, orphans
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.assistant import build_assistant
from newsdesk.core.types import Entity
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import enrich
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import Recognizer
from newsdesk.nlp.descriptors import MINER_VERSION, descriptors
from newsdesk.retriever.names import NameTable
from newsdesk.store.ledger import Ledger


def ents(text: str, *spans: tuple[str, str]) -> list[Entity]:
    """Entities for the first occurrence of each (text, label) in `text`."""
    out = []
    for name, label in spans:
        start = text.index(name)
        out.append(Entity(start, start + len(name), label, name))
    return out


def mined(text: str, *spans: tuple[str, str]) -> list[tuple[str, str, str, str]]:
    found = descriptors(text, ents(text, *spans))
    for d in found:
        assert text[d.start : d.end], d
    return [(d.kind, text[d.start : d.end], d.name, d.key) for d in found]


# ---------------------------------------------------------------- the miner
def test_a_role_before_a_name_is_its_descriptor() -> None:
    text = "Yesterday Chancellor Gordon Brown spoke."
    assert mined(text, ("Yesterday", "DATE"), ("Gordon Brown", "PERSON")) == [
        ("role", "Chancellor", "Gordon Brown", "chancellor")
    ]
    text = "The Russian oil giant Yukos said no."
    assert mined(text, ("Russian", "NORP"), ("Yukos", "ORG")) == [
        ("role", "Russian oil giant", "Yukos", "russian oil giant")
    ]


def test_role_words_stop_at_verbs_function_words_and_the_sentence() -> None:
    # "met" belongs to the sentence; the title starts at its first capital
    text = "He met UK Prime Minister Tony Blair."
    assert mined(text, ("UK", "GPE"), ("Tony Blair", "PERSON")) == [
        ("role", "UK Prime Minister", "Tony Blair", "uk prime minist")
    ]
    # a role modifier before the title stays: a former prime minister is not the prime minister
    text = "Now former Prime Minister John Major spoke."
    assert mined(text, ("John Major", "PERSON"))[0][1] == "former Prime Minister"
    assert mined("Henman beat Federer.", ("Federer", "PERSON")) == []  # a verb
    assert mined("It was signed by Michael Howard.", ("Michael Howard", "PERSON")) == []
    assert mined("Then Arsenal's Thierry Henry scored.", ("Thierry Henry", "PERSON")) == []
    assert mined("On 12 May Smith left.", ("12 May", "DATE"), ("Smith", "PERSON")) == []
    assert mined("Said E Miller.", ("Miller", "PERSON")) == []  # an initial
    # a capitalised word before an organisation is part of its name, not a title
    assert mined("Shares of Purolator Courier Corp rose.", ("Courier Corp", "ORG")) == []


def test_an_apposition_after_a_name_is_its_descriptor() -> None:
    text = "Gazprom, the state-owned gas giant, will bid."
    assert mined(text, ("Gazprom", "ORG")) == [
        ("apposition", "state-owned gas giant", "Gazprom", "state own gas giant")
    ]
    text = "Mr Brown, the chancellor, agreed."
    assert mined(text, ("Brown", "PERSON")) == [("apposition", "chancellor", "Brown", "chancellor")]
    text = "Rinat Akhmetov, Ukraine's richest man, bought it."
    got = mined(text, ("Rinat Akhmetov", "PERSON"), ("Ukraine", "GPE"))
    assert got == [("apposition", "Ukraine's richest man", "Rinat Akhmetov", "ukrain richest man")]


def test_a_clause_or_a_list_after_a_name_is_no_descriptor() -> None:
    assert mined("Mr Cox, the Mac mini is cheap.", ("Cox", "PERSON")) == []
    text = "The UN, the World Bank and the IMF met."
    assert mined(text, ("UN", "ORG"), ("the World Bank", "ORG"), ("IMF", "ORG")) == []
    assert mined("Smith, the man who ran, won.", ("Smith", "PERSON")) == []


def test_an_abbreviation_needs_the_names_initials() -> None:
    text = "The Office of Fair Trading (OFT) said so."
    assert mined(text, ("Office of Fair Trading", "ORG")) == [
        ("abbreviation", "OFT", "Office of Fair Trading", "oft")
    ]
    assert mined("Acme Holdings (UK) grew.", ("Acme Holdings", "ORG")) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(list("ab AB,.'’()\n\t-Zz\u00a0") + ["the ", "Mr ", "OFT", "Chancellor "]),
        max_size=60,
    ).map("".join),
    st.lists(
        st.tuples(
            st.integers(0, 120), st.integers(1, 20), st.sampled_from(["PERSON", "ORG", "GPE"])
        ),
        max_size=6,
    ),
)
def test_descriptor_offsets_slice_any_text(text: str, spans: list[tuple[int, int, str]]) -> None:
    entities = [
        Entity(s, min(s + n, len(text)), label, text[s : s + n])
        for s, n, label in spans
        if s < len(text) and text[s : s + n].strip()
    ]
    for d in descriptors(text, entities):
        assert 0 <= d.start < d.end <= len(text)
        assert d.key and d.name and d.kind in {"role", "apposition", "abbreviation"}


# ---------------------------------------------------------------- the name table
def test_a_description_is_trusted_when_the_archive_agrees_on_it() -> None:
    table = NameTable.build(
        [
            ("chancellor", "Gordon Brown", 5),
            ("chancellor", "Brown", 2),  # the surname joins the full name
            ("chancellor", "Gerhard Schroeder", 2),
            ("shadow chancellor", "Oliver Letwin", 3),
            ("striker", "Thierry Henry", 3),  # many strikers: no majority
            ("striker", "Wayne Rooney", 2),
            ("striker", "Michael Owen", 2),
            ("software giant", "Microsoft", 1),  # one article proves nothing
        ]
    )
    assert set(table.entries) == {"chancellor", "shadow chancellor"}
    assert table.entries["chancellor"].name == "Gordon Brown"
    assert table.entries["chancellor"].articles == 7
    assert [n.name for n in table.names_in("What did the shadow chancellor say?")] == [
        "Oliver Letwin"
    ]  # the longest description wins
    assert [n.name for n in table.names_in("Who is the chancellor?")] == ["Gordon Brown"]
    assert table.names_in("What did Gordon Brown, the chancellor, say?") == []  # named already
    assert table.names_in("Who is the striker?") == []
    assert table.terms("the chancellor's budget") == ["gordon", "brown"]


def test_a_modifier_must_fit_the_name() -> None:
    table = NameTable.build(
        [("prime minist", "Tony Blair", 9), ("uk prime minist", "Tony Blair", 1)]
    )
    assert [n.name for n in table.names_in("What did the UK prime minister say?")] == ["Tony Blair"]
    assert table.names_in("What did the Thai prime minister say?") == []
    assert [n.name for n in table.names_in("Why did the prime minister go?")] == ["Tony Blair"]


def test_a_description_must_predict_its_name() -> None:
    counts = [("court", "Microsoft", 3), ("chancellor", "Gordon Brown", 3)]
    cooccurrence = {"court": (200, 7), "chancellor": (100, 70)}
    table = NameTable.build(counts, cooccurrence=lambda key, name: cooccurrence[" ".join(key)])
    assert set(table.entries) == {"chancellor"}


# ---------------------------------------------------------------- stored with the text
CHANCELLOR = [
    (
        "brown-pensions.txt",
        "Brown backs pension reform\n\nChancellor Gordon Brown said pensions would rise "
        "with earnings from next year. Mr Brown told MPs the plan was affordable.",
    ),
    (
        "brown-budget.txt",
        "Budget date set\n\nChancellor Gordon Brown will deliver his budget in March, the "
        "Treasury said. Gordon Brown, the chancellor, has promised stability.",
    ),
    (
        "brown-africa.txt",
        "Brown tours Africa\n\nChancellor Gordon Brown begins a tour of Africa to press for "
        "debt relief for the poorest nations.",
    ),
    (
        "lord-chancellor.txt",
        "Judges' pensions\n\nThe lord chancellor said the pensions of judges would be "
        "reviewed by a new commission.",
    ),
]


def write_archive(folder: Path, stories: list[tuple[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in stories:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def stored_descriptors(index: Path) -> dict[str, list[tuple[int, int, str, str, str]]]:
    """doc_id -> its descriptors, checked to slice the stored text to words beside a name."""
    ledger = Ledger.open(index, create=False)
    try:
        out = {}
        for doc_id in sorted(ledger.all_article_hashes()):
            article = ledger.article(doc_id)
            assert article is not None
            found = ledger.descriptors(doc_id)
            for d in found:
                assert article.text[d.start : d.end].strip() == article.text[d.start : d.end]
                assert d.key and d.name
            out[doc_id] = [(d.start, d.end, d.kind, d.key, d.name) for d in found]
        return out
    finally:
        ledger.close()


def stored_quotes(index: Path) -> dict[str, list[tuple[int, int, str | None, str]]]:
    """doc_id -> its quotes, checked to slice the stored text."""
    with open_ledger(index) as ledger:
        out = {}
        for doc_id in sorted(ledger.all_article_hashes()):
            article = ledger.article(doc_id)
            assert article is not None
            found = ledger.quotes(doc_id)
            assert all(article.text[q.start : q.end] == q.text for q in found)
            out[doc_id] = [(q.start, q.end, q.speaker, q.attribution) for q in found]
        return out


def undescribed(index: Path) -> int:
    with open_ledger(index) as ledger:
        return ledger.description_progress(MINER_VERSION)[0]


@pytest.fixture
def entities_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_ENRICH", "all")


@pytest.mark.usefixtures("entities_on")
def test_descriptors_follow_their_text_through_update_prune_and_duplicates(
    tmp_path: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    archive = write_archive(tmp_path / "archive", CHANCELLOR)
    (archive / "copy.txt").write_text(CHANCELLOR[0][1], encoding="utf-8")
    index = tmp_path / "index"
    settings = make_settings(index)
    ingest(settings, [str(archive)], embedder=embedder)
    report = enrich(settings, recognizer=recognizer, embedder=embedder)
    assert report.mined.articles == 4 and report.mined.descriptors >= 4
    before = stored_descriptors(index)
    doc = next(d for d in before if Path(d).name == "brown-pensions.txt")
    copy = next(d for d in before if Path(d).name == "copy.txt")
    assert ("chancellor", "Gordon Brown") in {(k, n) for _, _, _, k, n in before[doc]}
    assert before[doc] == before[copy]  # duplicates share them
    quoted = stored_quotes(index)
    assert quoted[doc] == quoted[copy]

    again = enrich(settings, recognizer=recognizer, embedder=embedder)  # idempotent
    assert again.mined.articles == 0 and stored_descriptors(index) == before

    changed = CHANCELLOR[0][1].replace("Chancellor Gordon Brown", "Minister Alan Johnson")
    (archive / "brown-pensions.txt").write_text(changed, encoding="utf-8")
    ingest(settings, [str(archive)], embedder=embedder)
    enrich(settings, recognizer=recognizer, embedder=embedder)
    after = stored_descriptors(index)
    assert "Gordon Brown" not in {n for *_, n in after[doc]}
    assert after[copy] == before[copy]

    for name in ("brown-pensions.txt", "copy.txt"):
        (archive / name).unlink()
    ingest(settings, [str(archive)], prune=True, embedder=embedder)
    left = stored_descriptors(index)
    assert doc not in left and copy not in left
    assert orphans(index, "descriptors") == 0 and orphans(index, "described") == 0
    assert orphans(index, "quotes") == 0


KILLER = """
import os, signal, sys
from newsdesk.core.config import Settings
import newsdesk.ingest.enrich as phase

real = phase.descriptors
calls = {"n": 0}

def dying(text, entities):
    calls["n"] += 1
    if calls["n"] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(text, entities)

phase.descriptors = dying
phase.enrich(Settings(index=sys.argv[1], enrich="all"), batch=1)
"""


@pytest.mark.usefixtures("entities_on")
def test_a_killed_mining_run_resumes_where_it_stopped(
    tmp_path: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(SAMPLE, archive)
    write_archive(archive, CHANCELLOR)
    index = tmp_path / "index"
    settings = make_settings(index)
    ingest(settings, [str(archive)], embedder=embedder)
    enrich(settings, recognizer=recognizer, embedder=embedder)
    with open_ledger(index) as ledger, ledger.transaction() as sql:  # entities stay
        sql.execute("DELETE FROM descriptors")
        sql.execute("DELETE FROM described")
        sql.execute("DELETE FROM quotes")
    total = undescribed(index)
    assert total > 3
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(index)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -9, done.stderr
    assert undescribed(index) == total - 2  # two batches committed, the third lost
    rest = enrich(settings, recognizer=recognizer, embedder=embedder)
    assert rest.mined.articles == total - 2 and undescribed(index) == 0
    fresh = tmp_path / "fresh"
    ingest(make_settings(fresh), [str(archive)], embedder=embedder)
    enrich(make_settings(fresh), recognizer=recognizer, embedder=embedder)
    assert stored_descriptors(index) == stored_descriptors(fresh)
    assert stored_quotes(index) == stored_quotes(fresh)
    assert any(stored_quotes(fresh).values())


# ---------------------------------------------------------------- asking
@pytest.mark.usefixtures("entities_on")
def test_a_description_in_a_question_finds_the_name(
    tmp_path: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    archive = write_archive(tmp_path / "archive", CHANCELLOR)
    index = tmp_path / "index"
    settings = make_settings(index)
    ingest(make_settings(index, enrich="sentences"), [str(archive)], embedder=embedder)
    assistant = build_assistant(settings, embedder=embedder)
    searcher = assistant.searcher
    try:
        question = "What did the chancellor say about pensions?"
        assert searcher.named_terms(question) == []  # no entities mined yet
        words_alone = [Path(h.doc_id).name for h in searcher.search(question, mode="bm25")]
        assert words_alone[0] == "lord-chancellor.txt"  # the words alone mislead

        enrich(settings, recognizer=recognizer, embedder=embedder)  # same generation
        assert searcher.refresh()  # the names stamp moved: a new table
        assert searcher.named_terms(question) == [(["chancellor"], ["gordon", "brown"])]
        named = [Path(h.doc_id).name for h in searcher.search(question, mode="bm25")]
        assert named[0] == "brown-pensions.txt"
        answer = assistant.ask(question, mode="bm25")
        assert (
            answer.status == "answered" and "Chancellor Gordon Brown said pensions" in answer.text
        )

        searcher.names_weight = 0.0  # the ablation switch
        assert searcher.named_terms(question) == []
        assert [Path(h.doc_id).name for h in searcher.search(question, mode="bm25")] == words_alone
    finally:
        assistant.close()
