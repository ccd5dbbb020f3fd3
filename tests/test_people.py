"""People, organisations and places: one name per person within an article and across the
archive, listed by `newsdesk people`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import make_settings, mined_index, open_ledger, orphans

from newsdesk.cli import main
from newsdesk.core.types import Entity
from newsdesk.embedding import Embedder
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import Recognizer
from newsdesk.nlp.people import coreferred, named


def entity(text: str, label: str = "PERSON") -> Entity:
    return Entity(0, len(text), label, text)


def test_a_surname_joins_the_one_full_name_of_its_article() -> None:
    mentions = [entity(t) for t in ("Tony Blair", "Mr Blair", "Blair", "Blair's")]
    mentions += [entity("the Treasury", "ORG"), entity("London", "GPE")]
    assert named(mentions) == [
        ("London", "place", 1),
        ("Tony Blair", "person", 4),
        ("Treasury", "org", 1),
    ]


def test_a_surname_two_full_names_share_stays_alone() -> None:
    mentions = [entity(t) for t in ("Tony Blair", "Cherie Blair", "Blair")]
    assert named(mentions) == [
        ("Blair", "person", 1),
        ("Cherie Blair", "person", 1),
        ("Tony Blair", "person", 1),
    ]
    assert named([entity("cts", "ORG"), entity("1987", "DATE")]) == []  # not names


def test_a_surname_the_model_missed_or_mislabelled_is_the_person() -> None:
    text = (
        "Cyril Saulnier beat Tommy Haas. Haas was slow. Saulnier's serve and Saulnier-style "
        "play won. For the Lib Dems David Laws spoke. Tony Blair and Cherie Blair came; Blair "
        "left."
    )

    def at(name: str, label: str, nth: int = 0) -> Entity:
        start = -1
        for _ in range(nth + 1):
            start = text.index(name, start + 1)
        return Entity(start, start + len(name), label, name)

    model = [
        at("Cyril Saulnier", "PERSON"),
        at("Tommy Haas", "PERSON"),
        at("Haas", "ORG", 1),  # small models tag a lone surname ORG
        at("Lib Dems", "ORG"),
        at("Lib Dems David Laws", "PERSON"),  # and run a group into the name after it
        at("Tony Blair", "PERSON"),
        at("Cherie Blair", "PERSON"),
    ]
    found = [(e.text, e.label) for e in coreferred(text, model)]
    assert ("Haas", "PERSON") in found and ("Haas", "ORG") not in found
    assert ("Saulnier", "PERSON") in found  # untagged, possessive: still him
    assert found.count(("Saulnier", "PERSON")) == 1  # not inside "Saulnier-style"
    assert ("David Laws", "PERSON") in found and ("Lib Dems David Laws", "PERSON") not in found
    assert ("Blair", "PERSON") not in found  # two full names end with it: left alone
    for e in coreferred(text, model):
        assert text[e.start : e.end] == e.text
    assert ("Tommy Haas", "person", 2) in named(coreferred(text, model))
    # a surname that is also a month is never spread, and a date stays a date
    text = "Theresa May spoke. Sales rose in May, May said."
    month = text.index("May,")
    model = [Entity(0, 11, "PERSON", "Theresa May"), Entity(month, month + 3, "DATE", "May")]
    assert [(e.text, e.label) for e in coreferred(text, model)] == [
        ("Theresa May", "PERSON"),
        ("May", "DATE"),
    ]


STORIES = {
    "a.txt": "Blair visits Paris\n\nTony Blair met Jacques Chirac in Paris. Mr Blair said "
    "little. Blair left on Monday.\n",
    "b.txt": "Blair on schools\n\nPrime Minister Tony Blair spoke about schools in London.\n",
    "c.txt": "Brown and Blair\n\nGordon Brown and Cherie Blair met in London. Blair smiled.\n",
}


@pytest.fixture
def people_index(tmp_path: Path, embedder: Embedder, recognizer: Recognizer) -> Path:
    mined_index(tmp_path, STORIES, embedder, recognizer)
    return tmp_path / "index"


def test_the_people_command_counts_each_name_across_the_archive(
    people_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["people", "--index", str(people_index), "--type", "person", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["Tony Blair"]["articles"] == 2 and rows["Tony Blair"]["mentions"] >= 4
    assert set(rows["Tony Blair"]) == {"name", "type", "mentions", "articles", "first", "last"}
    assert rows["Tony Blair"]["first"] is None  # undated articles
    # the third article's "Blair" is Cherie's there, never Tony's
    assert rows["Cherie Blair"]["articles"] == 1
    assert main(["people", "--index", str(people_index), "blair"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Tony Blair (person): 2 articles")
    assert all("Blair" in line for line in out)


def test_names_go_with_their_text(people_index: Path, tmp_path: Path, embedder: Embedder) -> None:
    archive = tmp_path / "archive"
    (archive / "a.txt").unlink()
    ingest(make_settings(people_index), [str(archive)], prune=True, embedder=embedder)
    assert orphans(people_index, "people") == 0
    with open_ledger(people_index) as ledger:
        tony = [r for r in ledger.people("person") if r[0] == "Tony Blair"]
    assert tony and tony[0][3] == 1
