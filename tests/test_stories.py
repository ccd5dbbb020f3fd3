"""Stories: the reports of one story grouped at ingest, listed by `newsdesk stories`, and a
story's developments in date order by `newsdesk timeline`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import make_settings, mined_index, open_ledger, orphans

from newsdesk.cli import main
from newsdesk.embedding import Embedder
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import Recognizer
from newsdesk.nlp.stories import StoryInput, group_stories, story_id


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def text(key: str, vector: np.ndarray, day: int | None, *names: str) -> StoryInput:
    return StoryInput(key, vector, day, frozenset(names))


def stories_of(texts: list[StoryInput]) -> dict[str, str]:
    return {m.key: m.story_id for m in group_stories(texts)}


def test_reports_of_one_event_join_and_look_alikes_without_a_shared_name_do_not() -> None:
    texts = [
        text("flash", unit(1, 0.05, 0), 100, "texaco", "pennzoil"),
        text("update", unit(1, 0.1, 0.02), 101, "texaco"),
        # reads like them (a templated item), names another company: not the same story
        text("other", unit(1, 0.08, 0.01), 100, "unocal"),
        text("unrelated", unit(0, 1, 0), 100, "texaco"),
    ]
    found = stories_of(texts)
    assert found["flash"] == found["update"]
    assert found["other"] != found["flash"]
    assert found["unrelated"] != found["flash"]  # a shared name, but another subject
    assert found["flash"] == story_id("flash")  # named after its earliest report


def test_sharing_more_of_their_names_links_reports_that_read_less_alike() -> None:
    def at(cos: float) -> tuple[np.ndarray, np.ndarray]:
        return unit(1, 0, 0), unit(cos, float(np.sqrt(1 - cos * cos)), 0)

    a, b = at(0.6)
    c, d = at(0.6)
    found = stories_of(
        [
            # a follow-up written differently, about the same two parties
            text("bid", a, 100, "taft broadcasting", "dudley taft"),
            text("rejected", b, 101, "taft broadcasting", "dudley taft"),
            # two items of one template: one shared word, each its own issuer and bank
            text("bond1", c, 100, "eurobond", "nomura", "norway", "ecsc"),
            text("bond2", d, 100, "eurobond", "hutton", "disney", "tesco"),
            text("bond3", unit(0, 0, 1), 100, "eurobond"),
        ]
    )
    assert found["bid"] == found["rejected"]
    assert found["bond1"] != found["bond2"]
    # the same one name, leads about other things: not a story
    apart = stories_of(
        [text("x", unit(1, 0, 0), 100, "texaco"), text("y", unit(0, 1, 0), 100, "texaco")]
    )
    assert apart["x"] != apart["y"]


def test_dated_reports_far_apart_link_only_through_the_reports_between() -> None:
    v = unit(1, 0, 0)
    apart = stories_of([text("a", v, 100, "yukos"), text("b", v, 116, "yukos")])
    assert apart["a"] != apart["b"]
    chain = [text(f"r{d}", v, d, "yukos") for d in range(100, 117, 2)]
    assert len(set(stories_of(chain).values())) == 1
    undated = stories_of([text("a", v, None, "yukos"), text("b", v, 116, "yukos")])
    assert undated["a"] == undated["b"]  # no date to keep them apart


def test_grouping_does_not_depend_on_the_order_texts_come_in() -> None:
    rng = np.random.default_rng(7)
    base = [unit(*rng.normal(size=8)) for _ in range(6)]
    texts = [
        text(f"t{i}", unit(*(base[i % 6] + 0.1 * rng.normal(size=8))), i % 5, f"n{i % 6}")
        for i in range(30)
    ]
    assert group_stories(texts) == group_stories(list(reversed(texts)))


REPORTS = [
    {
        "id": "wire/1",
        "title": "TEXACO FILES FOR BANKRUPTCY",
        "published": "1987-04-12",
        "body": "Texaco Inc filed for protection under Chapter 11 of the bankruptcy code on "
        "Sunday, rather than post a bond in its legal battle with Pennzoil Co.\n"
        "    Texaco said its operations would continue as normal.\n",
    },
    {
        "id": "wire/2",
        "title": "PENNZOIL TO CHALLENGE TEXACO BANKRUPTCY FILING",
        "published": "1987-04-13",
        "body": "Pennzoil Co said it would challenge the Chapter 11 bankruptcy filing of "
        "Texaco Inc, a tactic to avoid posting a bond in their legal battle.\n",
    },
    {
        "id": "wire/3",
        "title": "TEXACO, PENNZOIL STILL FAR APART ON SETTLEMENT",
        "published": "1987-04-14",
        "body": "Texaco Inc and Pennzoil Co are still far apart on a settlement after Texaco "
        "filed for protection under Chapter 11 of the bankruptcy code rather than post a "
        "bond in their legal battle, executives said.\n",
    },
    {
        "id": "wire/4",
        "title": "COCOA ARRIVALS RISE IN BAHIA",
        "published": "1987-04-13",
        "body": "Cocoa arrivals in the Bahia zone of Brazil rose in the week as showers "
        "improved the prospects of the temporao crop, exporters said.\n",
    },
]


@pytest.fixture
def story_index(tmp_path: Path, embedder: Embedder, recognizer: Recognizer) -> Path:
    lines = "".join(json.dumps(r) + "\n" for r in REPORTS)
    report = mined_index(tmp_path, {"wire.jsonl": lines}, embedder, recognizer)
    assert report.stories.texts == 4
    return tmp_path / "index"


def test_the_stories_command_lists_the_reports_of_one_story(
    story_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stories", "--index", str(story_index), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [set(s) for s in found] == [{"story_id", "headline", "first", "last", "doc_ids"}]
    story = found[0]
    assert sorted(story["doc_ids"]) == ["wire/1", "wire/2", "wire/3"]
    assert (story["first"], story["last"]) == ("1987-04-12", "1987-04-14")
    assert story["story_id"] == story_id_of(story_index, "wire/1")
    assert "COCOA" not in story["headline"].upper()
    assert main(["stories", "--index", str(story_index), "cocoa arrivals in Bahia", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["doc_ids"] == ["wire/4"]


def story_id_of(index: Path, doc_id: str) -> str:
    with open_ledger(index) as ledger:
        return story_id(ledger.article_hash(doc_id) or "")


def test_the_timeline_lists_developments_in_date_order_verbatim(
    story_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["timeline", "Texaco Pennzoil bankruptcy battle", "--index", str(story_index), "--json"]
        )
        == 0
    )
    found = json.loads(capsys.readouterr().out)
    assert set(found) == {"story_id", "headline", "entries", "undated"}
    entries = found["entries"]
    assert [e["doc_id"] for e in entries] == ["wire/1", "wire/2", "wire/3"]
    assert [e["n"] for e in entries] == [1, 2, 3] and found["undated"] == []
    assert [e["published"] for e in entries] == ["1987-04-12", "1987-04-13", "1987-04-14"]
    with open_ledger(story_index) as ledger:
        for e in entries:
            article = ledger.article(e["doc_id"])
            assert article is not None
            assert article.text[e["start"] : e["end"]] == e["text"]
    assert entries[0]["text"].startswith("Texaco Inc filed for protection")
    assert main(["timeline", "Texaco Pennzoil bankruptcy", "--index", str(story_index)]) == 0
    out = capsys.readouterr().out
    assert out.index("1987-04-12") < out.index("1987-04-13") < out.index("1987-04-14")
    assert "[1] Texaco files for bankruptcy - wire/1" in out


def test_stories_are_regrouped_only_when_the_texts_change(
    story_index: Path, tmp_path: Path, embedder: Embedder
) -> None:
    from newsdesk.ingest.enrich import enrich

    settings = make_settings(story_index, enrich="all")
    with open_ledger(story_index) as ledger:
        before = list(ledger.stories.articles())
    again = enrich(settings, embedder=embedder)
    assert again.stories.texts == 0  # up to date: nothing regrouped
    with open_ledger(story_index) as ledger:
        assert list(ledger.stories.articles()) == before
    lines = "".join(json.dumps(r) + "\n" for r in REPORTS[:2] + REPORTS[3:])
    (tmp_path / "archive" / "wire.jsonl").write_text(lines, encoding="utf-8")
    ingest(make_settings(story_index), [str(tmp_path / "archive")], prune=True, embedder=embedder)
    assert orphans(story_index, "stories") == 0  # the removed report left its story
    with open_ledger(story_index) as ledger:
        held = {a.doc_id for a in ledger.stories.articles()}
    assert "wire/3" not in held and {"wire/1", "wire/2"} <= held


def test_an_index_never_grouped_lists_no_stories(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.txt").write_text("Title\n\nSome text about nothing much at all.\n")
    ingest(make_settings(tmp_path / "index"), [str(archive)], embedder=embedder)
    assert main(["stories", "--index", str(tmp_path / "index"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "no stories found in this index yet" in captured.err


def test_asking_how_a_story_unfolded_answers_with_its_timeline(
    story_index: Path, embedder: Embedder
) -> None:
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(make_settings(story_index), embedder=embedder)
    try:
        answer = assistant.ask("How did the Texaco-Pennzoil bankruptcy battle unfold?")
        assert answer.status == "answered"
        assert [c.passage.doc_id for c in answer.citations] == ["wire/1", "wire/2", "wire/3"]
        lines = answer.text.split("\n\n")
        assert [line[:10] for line in lines] == ["1987-04-12", "1987-04-13", "1987-04-14"]
        for n, (line, c) in enumerate(zip(lines, answer.citations, strict=True), start=1):
            assert line.endswith(f"[{n}]") and c.n == n
            article = assistant.article(c.passage.doc_id)
            assert article is not None
            assert article.text[c.passage.start : c.passage.end] == c.passage.text
            assert c.quote in c.passage.text
        # a date range in the question cuts the timeline to it
        later = assistant.ask("How did the Texaco-Pennzoil battle develop after 12 April 1987?")
        assert [c.passage.doc_id for c in later.citations] == ["wire/2", "wire/3"]
        # a plain question about the same story gets a plain answer
        plain = assistant.ask("Why did Texaco file for bankruptcy?")
        assert not plain.text.startswith("1987-04-")
    finally:
        assistant.close()


def test_eval_scores_story_grouping_against_labelled_pairs(
    story_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "pairs.jsonl"
    seeds = [
        {"seed": "wire/1", "same": ["wire/2", "wire/3"], "different": ["wire/4"], "unsure": []},
        {"seed": "wire/4", "same": [], "different": ["wire/2"], "unsure": ["wire/3"]},
    ]
    labels.write_text("".join(json.dumps(s) + "\n" for s in seeds), encoding="utf-8")
    args = ["eval", "--index", str(story_index), "--stories", str(labels)]
    assert main([*args, "--fail-under", "stories.precision=1.0"]) == 0
    out = capsys.readouterr().out
    assert "precision 1.000 (2/2), recall 1.000 (2/2); 1 stories" in out
    # a label the grouping misses fails its gate, with the figure on stderr
    seeds[1]["same"] = ["wire/2"]
    labels.write_text("".join(json.dumps(s) + "\n" for s in seeds), encoding="utf-8")
    assert main([*args, "--fail-under", "stories.recall=0.9"]) == 3
    assert "stories.recall = 0.667 < 0.9" in capsys.readouterr().err
    # labels that do not fit the index, or do not parse: one line naming the reason
    labels.write_text(json.dumps({"seed": "wire/9", "same": [], "different": []}) + "\n")
    assert main(args) != 0
    assert "not in this index" in capsys.readouterr().err
    labels.write_text('{"seed": "wire/1"}\n')
    assert main(args) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pairs.jsonl:1" in err[0]


def test_an_affair_told_over_several_stories_is_one_timeline() -> None:
    from newsdesk.retriever.stories import Story, affair, core_names, lead_sentence
    from newsdesk.store.stories import StoryArticle

    def story(sid: str, *docs: tuple[str, str]) -> Story:
        return Story(sid, sid, tuple(StoryArticle(sid, d, d, "", p, 1.0) for d, p in docs))

    battle = story("s1", ("a", "1987-04-13"), ("b", "1987-04-14"))
    earlier = story("s2", ("c", "1987-03-30"), ("d", "1987-03-31"))
    names = {
        "a": {"Texaco", "Pennzoil", "Getty"},
        "b": {"Texaco", "Pennzoil"},
        "c": {"Texaco", "Pennzoil"},  # the same battle, two weeks before
        "d": {"Texaco"},  # Texaco's quarterly results: not the battle
    }
    assert core_names(battle, names) == {"Texaco", "Pennzoil"}
    joined = affair(battle, [battle, earlier], names)
    assert joined.story_id == "s1"
    assert [a.doc_id for a in joined.articles] == ["c", "a", "b"]  # in date order
    assert affair(battle, [battle], names) == battle
    lone = story("s3", ("e", "1987-04-01"))
    assert core_names(lone, {"e": {"Texaco"}}) == set()  # one report: no core to follow
    # three names tie for two places: none is guessed between them
    tied = story("s4", ("f", "1987-04-01"), ("g", "1987-04-02"))
    assert core_names(tied, {"f": {"A", "B", "C"}, "g": {"A", "B", "C"}}) == set()
    assert core_names(tied, {"f": {"A", "B", "C"}, "g": {"A", "B"}}) == {"A", "B"}
    # a wire lede the splitter cut at a short wrapped line is read whole
    wire = (
        "Financier Carl Lindner, who holds a\n16.2 pct stake in Taft Broadcasting Co, told "
        "the\nSecurities and Exchange Commission he may seek control.\n    Lindner said more."
    )
    s, e = lead_sentence(wire) or (0, 0)
    assert wire[s:e].startswith("Financier Carl Lindner") and wire[s:e].endswith("control.")
    # but a sentence's end, or an indented wire paragraph, is never run on
    wire = "Texaco lost its appeal in a ruling today.\n    1987 earnings will fall, it said."
    s, e = lead_sentence(wire) or (0, 0)
    assert wire[s:e] == "Texaco lost its appeal in a ruling today."
