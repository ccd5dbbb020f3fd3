"""Who said what: direct quotations with their speakers, mined at ingest, stored with exact
offsets, listed by `newsdesk quotes` and scored by `newsdesk eval --quotes`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import SHARED, SHARED_DATA, make_settings, mined_index, open_ledger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsdesk.cli import main
from newsdesk.core.types import Descriptor, Entity
from newsdesk.embedding import Embedder
from newsdesk.ingest.enrich import enrich
from newsdesk.ingest.pipeline import ingest
from newsdesk.nlp import Recognizer
from newsdesk.nlp.people import coreferred
from newsdesk.nlp.quotes import quotes


def people(text: str, *names: str, label: str = "PERSON") -> list[Entity]:
    """An entity at every occurrence of each name."""
    out = []
    for name in names:
        at = text.find(name)
        while at >= 0:
            out.append(Entity(at, at + len(name), label, name))
            at = text.find(name, at + 1)
    return sorted(out, key=lambda e: e.start)


def said(text: str, entities: list[Entity], descriptors: list[Descriptor] | None = None):
    found = quotes(text, entities, descriptors or [])
    for q in found:
        assert text[q.start : q.end] == q.text
    return [(q.text, q.speaker, q.attribution) for q in found]


def test_a_speaker_named_after_or_before_the_quotation() -> None:
    text = (
        'Michael Howard spoke. "We will cut taxes," said Mr Howard. '
        '"It is a con," Stephen Pound told the Today programme. '
        'David Moyes said: "I speak to Tommy regularly."'
    )
    entities = people(text, "Michael Howard", "Howard", "Stephen Pound", "David Moyes")
    assert said(text, entities) == [
        ("We will cut taxes,", "Michael Howard", "explicit"),
        ("It is a con,", "Stephen Pound", "explicit"),
        ("I speak to Tommy regularly.", "David Moyes", "explicit"),
    ]


def test_a_pronoun_is_the_person_named_before_it() -> None:
    text = (
        "Frenchman Cyril Saulnier beat Tommy Haas in the final. "
        '"It has taken a lot of work," he said.'
    )
    assert said(text, people(text, "Cyril Saulnier", "Tommy Haas")) == [
        ("It has taken a lot of work,", "Cyril Saulnier", "pronoun")
    ]


def test_the_person_a_pronoun_means_is_found_in_the_sentence_that_names_them() -> None:
    # the subject of an earlier sentence does not outrank the person named last; nor does a
    # possessive ("Mr Brown's adviser Ed Balls": Balls acts)
    text = (
        "Gordon Brown will set out his Budget. The Tories disagree. Shadow Treasury chief "
        'secretary George Osborne said: "There is a black hole," he said. But Mr Brown\'s '
        'former adviser Ed Balls disagreed. He added: "I do not accept that."'
    )
    entities = people(text, "Gordon Brown", "George Osborne", "Mr Brown", "Ed Balls")
    assert said(text, entities) == [
        ("There is a black hole,", "George Osborne", "explicit"),  # named before: not "he"
        ("I do not accept that.", "Ed Balls", "pronoun"),
    ]
    # an unmatched description is the person just named, not who spoke last
    text = (
        '"We will win," said Zara Hyde Peters. Team member Hayley Yelling said they would '
        'understand. "It would be fantastic," said the European champion.'
    )
    assert said(text, people(text, "Zara Hyde Peters", "Hayley Yelling"))[1] == (
        "It would be fantastic,",
        "Hayley Yelling",
        "description",
    )


def test_a_speaker_is_named_as_the_article_writes_them_in_full() -> None:
    # the recogniser missed "Adrian Mutu" and tagged "Mutu" ORG; "GE" is General Electric
    text = (
        "Wenger would consider signing Adrian Mutu. Chelsea sacked him. Mutu said: "
        '"Chelsea have destroyed me." General Electric posted results. GE said orders rose, '
        '"with growth across the board".'
    )
    entities = people(text, "Mutu", "General Electric", "GE", label="ORG")
    entities = [e for e in entities if not (e.text == "Mutu" and e.start < 40)]
    assert said(text, entities) == [
        ("Chelsea have destroyed me.", "Adrian Mutu", "explicit"),
        ("with growth across the board", "General Electric", "explicit"),
    ]
    # a first word written in lower case elsewhere is a common word, not a first name
    text = 'Yesterday Mutu played. Mutu said: "I am shocked." He came back yesterday.'
    assert said(text, people(text, "Mutu"))[0][1] == "Mutu"


def test_a_person_the_recogniser_ran_an_organisation_into() -> None:
    """ "the United Nations Vasily Nebenzya" tagged ORG is the person at its end (the
    surname is a person's the article names); so is "the Lib Dems David Laws" (the article
    names the Lib Dems on their own); a constituency or a council named like a person is
    not cut."""
    text = (
        "Russia's envoy to the United Nations Vasily Nebenzya spoke first. "
        '"We will go on," Nebenzya said. The Lib Dems were not convinced.\n\n'
        'For the Lib Dems David Laws said: "The chancellor is wrong." '
        'Hornsey and Wood Green Labour said: "We back the plan." Andrew Green agreed. '
        'The UK Film Council said: "Cinema is growing." Morgan Grenfell is a bank. '
        'Morgan Grenfell Group Plc said: "Profits rose."'
    )
    entities = sorted(
        people(text, "the United Nations Vasily Nebenzya", "the Lib Dems David Laws", label="ORG")
        + people(text, "Hornsey and Wood Green", "UK Film Council", label="ORG")
        + people(text, "Morgan Grenfell Group Plc", label="ORG")
        + [
            e
            for e in people(text, "Morgan Grenfell", label="ORG")
            if text[e.end] == " " and text[e.end + 1] == "i"
        ]
        + [e for e in people(text, "Nebenzya", "Andrew Green", "Lib Dems") if e.start > 60],
        key=lambda e: e.start,
    )
    entities = [e for e in entities if not (e.text == "Lib Dems" and e.start < 180)]
    entities.append(
        Entity(text.index("The Lib Dems") + 4, text.index("The Lib Dems") + 12, "NORP", "Lib Dems")
    )
    entities.sort(key=lambda e: e.start)
    assert [speaker for _, speaker, _ in said(text, coreferred(text, entities))] == [
        "Vasily Nebenzya",
        "David Laws",
        "Hornsey and Wood Green",
        "UK Film Council",
        "Morgan Grenfell Group Plc",  # a company's legal form is no person's name
    ]


def test_the_name_before_an_apposition_speaks() -> None:
    text = (
        "Oleg Gordievsky, a senior KGB officer who became an agent for the British, said he "
        'was "very happy" with the way he was treated.'
    )
    entities = people(text, "Oleg Gordievsky") + people(text, "KGB", label="ORG")
    entities.sort(key=lambda e: e.start)
    # not the KGB, which the words right before "said" name
    assert said(text, entities) == [("very happy", "Oleg Gordievsky", "explicit")]


def test_the_speaker_is_named_before_the_affiliation_or_after_the_role() -> None:
    text = (
        '"We will fight on," said Mark Longden of the Independent Manchester United '
        'Supporters\' Association. "It is too early," said EEF chief economist, Steve Radley. '
        '"Ray did well," said Nikki Rocco, head of distribution at Universal, which released Ray.'
    )
    entities = people(text, "Mark Longden", "Manchester United", "Ray") + people(
        text, "EEF", "Universal", label="ORG"
    )
    entities += people(text, "Steve Radley")
    entities.sort(key=lambda e: e.start)
    assert [speaker for _, speaker, _ in said(text, entities)] == [
        "Mark Longden",  # not the club the association is named after
        "Steve Radley",  # the name after the role, not the role's organisation
        "Nikki Rocco",  # a clause that names someone later is no name after a role
    ]


def test_a_quotation_after_an_attributed_one_goes_on_past_the_names_in_its_attribution() -> None:
    text = (
        '"We started with infra-red," said Rachel Harker, spokeswoman for Hypertag, which '
        'makes the posters. "It\'s a well established technology." Ms Harker said more would '
        "come. \"Before, there was a question mark of: 'Will they come?'\" she said. Then "
        'Tom Jones spoke. "Now we know."'
    )
    entities = people(text, "Rachel Harker", "Hypertag", "Harker")  # the NER's "Hypertag"
    entities += people(text, "Tom Jones")
    entities.sort(key=lambda e: e.start)
    assert said(text, entities) == [
        ("We started with infra-red,", "Rachel Harker", "explicit"),
        ("It's a well established technology.", "Rachel Harker", "continuation"),
        # a quotation that ends with one inside it is attributed after it all the same
        ("Before, there was a question mark of: 'Will they come?'", "Rachel Harker", "pronoun"),
        ("Now we know.", None, "none"),  # a new person named since: not guessed
    ]


def test_a_peer_keeps_the_title_and_initials_skip_the() -> None:
    text = (
        "Lord Currie, chairman of Ofcom, spoke at Westminster. "
        '"The challenge will arise soon," he said. CENTR, the Council of European National '
        'Top Level Domain Registries, agrees. "A rush would be wrong," CENTR said.'
    )
    entities = people(text, "Currie", "CENTR") + people(
        text, "the Council of European National Top Level Domain Registries", label="ORG"
    )
    entities.sort(key=lambda e: e.start)
    assert [speaker for _, speaker, _ in said(text, entities)] == [
        "Lord Currie",
        "Council of European National Top Level Domain Registries",
    ]


def test_a_term_the_article_quotes_each_time_is_not_speech() -> None:
    text = (
        'Networks called "bot nets" grew. Mr Hogan said these "bot nets" were rife. '
        'He called it "a pile of pants". "We will act," he said.'
    )
    assert said(text, people(text, "Mr Hogan")) == [
        ("a pile of pants", "Hogan", "pronoun"),  # quoted once: his words
        ("We will act,", "Hogan", "pronoun"),
    ]


def test_a_role_is_whoever_the_article_gives_it() -> None:
    text = (
        "Chancellor Gordon Brown set out his plans. "
        '"Stability comes first," the chancellor said. '
        '"We will see," a Treasury spokesman said.'
    )
    descriptor = Descriptor(0, 10, "chancellor", "Gordon Brown", "role")
    assert said(text, people(text, "Gordon Brown"), [descriptor]) == [
        ("Stability comes first,", "Gordon Brown", "description"),
        ("We will see,", "a Treasury spokesman", "description"),
    ]


def test_according_to_and_reported_speech() -> None:
    text = (
        '"Everything is up to Ukraine," Lukashenko said, according to the Kyiv Post. '
        '"Our reforms worked," Arab News quoted Prince Saud as saying.'
    )
    entities = people(text, "Lukashenko", "Prince Saud") + people(
        text, "Kyiv Post", "Arab News", label="ORG"
    )
    entities.sort(key=lambda e: e.start)
    assert said(text, entities) == [
        ("Everything is up to Ukraine,", "Lukashenko", "explicit"),
        ("Our reforms worked,", "Prince Saud", "explicit"),
    ]
    text = '"Prices will rise," according to Alan Greenspan.'
    assert said(text, people(text, "Alan Greenspan")) == [
        ("Prices will rise,", "Alan Greenspan", "according_to")
    ]


def test_a_long_quotation_goes_on_paragraph_by_paragraph() -> None:
    text = (
        'Ms Jamieson said: "We cannot get away from the fact.\n\n'
        '"That is the kind of thing we want to stop."\n\n'
        "The clubs agreed.\n\n"
        '"Both clubs have been involved."'
    )
    assert said(text, people(text, "Ms Jamieson")) == [
        ("We cannot get away from the fact.", "Jamieson", "explicit"),
        ("That is the kind of thing we want to stop.", "Jamieson", "continuation"),
        ("Both clubs have been involved.", "Jamieson", "continuation"),
    ]
    # a new opening mark in the same paragraph starts the next quotation
    text = 'Moyes said: "I speak to Tommy regularly. "There has been no contact."'
    assert [q[2] for q in said(text, people(text, "Moyes"))] == ["explicit", "continuation"]


def test_scare_quotes_titles_and_nobody_named() -> None:
    text = (
        'It was a "trigger" for the "Las Vegas-style" plans, and critics called it '
        '"impossible to regulate".'
    )
    assert said(text, []) == [("impossible to regulate", None, "none")]


def test_curly_marks_and_wire_copy_wrapped_at_seventy_columns() -> None:
    text = (
        "    Federal Reserve Board chairman Paul Volcker said on Tuesday that\n"
        "\u201cthe dollar has fallen far enough against the yen and the mark\n"
        "for now\u201d and that interest rates would hold through the summer\n"
        "months, officials at the central bank in Washington told reporters.\n"
    )
    (quote,) = quotes(text, people(text, "Paul Volcker"))
    assert quote.text == "the dollar has fallen far enough against the yen and the mark\nfor now"
    assert quote.speaker == "Paul Volcker"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            list("ab AB,.:\"\u201c\u201d\u2019'\n\t-")
            + ["said ", "he ", "Mr Brown ", "Gordon Brown", "Brown's ", "\n\n", "GE "]
        ),
        max_size=80,
    ).map("".join),
)
def test_quote_offsets_slice_any_text(text: str) -> None:
    entities = coreferred(
        text, people(text, "Mr Brown", "Gordon Brown") + people(text, "GE", label="ORG")
    )
    for e in entities:  # the names mended before mining slice the text too
        assert text[e.start : e.end] == e.text
    found = quotes(text, entities)
    last = 0
    for q in found:
        assert 0 <= q.start < q.end <= len(text) and text[q.start : q.end] == q.text
        assert q.start >= last  # in order, never overlapping
        last = q.end
        assert q.attribution in {
            "explicit",
            "pronoun",
            "description",
            "according_to",
            "continuation",
            "none",
        }
        assert (q.speaker is None) == (q.attribution == "none")


# ---------------------------------------------------------------- stored and listed
STORIES = {
    "pensions.txt": "Brown on pensions\n\nChancellor Gordon Brown spoke on Monday. "
    '"Pensions will rise with earnings," Mr Brown said. "Nobody will lose out."\n',
    "rates.txt": "Rates held\n\nThe Bank of England held rates. "
    '"Inflation is under control," said Mervyn King, the governor.\n',
}


@pytest.fixture
def quoted_index(tmp_path: Path, embedder: Embedder, recognizer: Recognizer) -> Path:
    report = mined_index(tmp_path, STORIES, embedder, recognizer)
    assert report.mined.quotes == 3
    return tmp_path / "index"


def test_quotes_are_stored_with_offsets_into_the_article(quoted_index: Path) -> None:
    with open_ledger(quoted_index) as ledger:
        for doc_id in ledger.all_article_hashes():
            article = ledger.article(doc_id)
            assert article is not None
            for q in ledger.quotes(doc_id):
                assert article.text[q.start : q.end] == q.text


def test_the_quotes_command_lists_who_said_what(
    quoted_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quotes", "--index", str(quoted_index), "--json", "--speaker", "Brown"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["quote"] for r in rows] == [
        "Pensions will rise with earnings,",
        "Nobody will lose out.",
    ]
    assert rows[0]["speaker"] == "Gordon Brown" and rows[0]["mention"] == "Mr Brown"
    assert [r["attribution"] for r in rows] == ["explicit", "continuation"]
    assert set(rows[0]) == {
        "doc_id",
        "speaker",
        "mention",
        "quote",
        "start",
        "end",
        "published",
        "attribution",
    }
    assert main(["quotes", "--index", str(quoted_index), "inflation"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Mervyn King:") and "Inflation is under control" in out
    assert main(["quotes", "--index", str(quoted_index), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_the_quotes_command_says_when_nothing_was_mined(
    tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "a.txt").write_text(STORIES["rates.txt"], encoding="utf-8")
    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    assert main(["quotes", "--index", str(index), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert "NEWSDESK_ENRICH=all" in captured.err and len(captured.err.splitlines()) == 1


def test_eval_scores_quotes_against_labels(
    quoted_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_ledger(quoted_index) as ledger:
        docs = {Path(d).name: d for d in ledger.all_article_hashes()}
    labels = tmp_path / "labels.jsonl"
    rows = [
        (docs["pensions.txt"], "Pensions will rise with earnings,", "Gordon Brown", "explicit"),
        (docs["pensions.txt"], "Nobody will lose out.", "Gordon Brown", "continuation"),
        (docs["rates.txt"], "Inflation is under control,", "Mervyn King", "explicit"),
    ]
    labels.write_text(
        "".join(
            json.dumps({"doc_id": d, "quote": q, "speaker": s, "attribution": a}) + "\n"
            for d, q, s, a in rows
        ),
        encoding="utf-8",
    )
    args = ["eval", "--index", str(quoted_index), "--quotes", str(labels)]
    assert main([*args, "--fail-under", "quotes.precision=1.0"]) == 0
    out = capsys.readouterr().out
    assert "precision 1.000 (3/3), recall 1.000 (3/3)" in out
    labels.write_text(labels.read_text().replace("Mervyn King", "Someone Else"), encoding="utf-8")
    assert main([*args, "--fail-under", "quotes.recall_explicit=0.9"]) == 3
    assert "FAIL quotes.recall_explicit = 0.5" in capsys.readouterr().err
    assert main([*args, "--fail-under", "quotes.nonsense=1"]) == 1  # one-line error


# ---------------------------------------------------------------- the labelled set
QUOTE_LABELS = SHARED / "evals" / "quotes_dev.jsonl"


@pytest.mark.slow
def test_quote_attribution_on_the_labelled_articles(
    tmp_path: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    """The CI gate: the 30 hand-labelled articles of ../shared (copied to a temp archive
    with their paths, so their doc_ids stay), mined as ingest mines them, scored by
    `newsdesk eval --quotes` with gates just under the figures reached (precision 0.919,
    recall 0.877, explicit 0.970, pronoun 0.833, continuation 0.889 on 2026-12-04)."""
    if not QUOTE_LABELS.exists():
        pytest.skip(f"{QUOTE_LABELS} is not available")
    archive = tmp_path / "data"
    for doc_id in dict.fromkeys(json.loads(line)["doc_id"] for line in QUOTE_LABELS.open()):
        target = archive / doc_id
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED_DATA / doc_id, target)
    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    enrich(make_settings(index, enrich="all"), recognizer=recognizer, embedder=embedder)
    gates = [
        "quotes.precision=0.90",
        "quotes.recall=0.86",
        "quotes.recall_explicit=0.95",
        "quotes.recall_pronoun=0.81",
        "quotes.recall_continuation=0.86",
    ]
    args = ["eval", "--index", str(index), "--quotes", str(QUOTE_LABELS)]
    assert main([*args, *(f"--fail-under={g}" for g in gates)]) == 0


def test_who_said_a_quotation_finds_the_article_that_quotes_it(
    tmp_path: Path, embedder: Embedder, recognizer: Recognizer
) -> None:
    from newsdesk.assistant import build_assistant
    from newsdesk.retriever.quotations import quoted_phrase

    assert quoted_phrase("Who said 'everything is up to Ukraine'?") == "everything is up to Ukraine"
    assert quoted_phrase("Who said \u201cwe will fight on\u201d?") == "we will fight on"
    assert quoted_phrase("Who is the chancellor?") is None
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "quoted.txt").write_text(
        "Belarus speaks\n\nAlexander Lukashenko met officials in Minsk on Friday. "
        '"Everything is up to Ukraine," Lukashenko said.\n',
        encoding="utf-8",
    )
    (archive / "echo.txt").write_text(  # the words, again and again, quoted by nobody
        "Up to Ukraine\n\nEverything is up to Ukraine now. Everything is up to Ukraine, "
        "analysts wrote, and everything is up to Ukraine in the talks.\n",
        encoding="utf-8",
    )
    index = tmp_path / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    question = "Who said 'everything is up to Ukraine'?"
    assistant = build_assistant(make_settings(index), embedder=embedder)
    try:
        unmined = [Path(h.doc_id).name for h in assistant.retrieve(question).hits]
        assert unmined[0] == "echo.txt"  # words alone prefer the echo
        enrich(make_settings(index, enrich="all"), recognizer=recognizer, embedder=embedder)
        hits = assistant.retrieve(question).hits
        assert Path(hits[0].doc_id).name == "quoted.txt"
        answer = assistant.ask(question)
        assert "Lukashenko" in answer.text
        assert Path(answer.citations[0].passage.doc_id).name == "quoted.txt"
    finally:
        assistant.close()


# ---------------------------------------------------------------- asked in plain words
SPEECHES = [
    {
        "id": "wire/1",
        "title": "BROWN ATTACKS STEEL TARIFF",
        "published": "1987-03-01",
        "body": 'Gordon Brown met industry leaders in London. "The tariff on steel must go," '
        "Brown said.\n",
    },
    {
        "id": "wire/2",
        "title": "BROWN PROMISES TO CUT STEEL TARIFF",
        "published": "1987-03-05",
        "body": 'Gordon Brown spoke in Leeds on Thursday. "We will cut the steel tariff next '
        'year," Brown said.\n',
    },
    {
        "id": "wire/3",
        "title": "BROWN ON FARM PRICES",
        "published": "1987-03-03",
        "body": 'Gordon Brown visited farmers in Devon. "Farm prices are too low," Brown said.\n',
    },
    {
        "id": "wire/4",
        "title": "STEEL TARIFF A SCANDAL, SAYS HOWARD",
        "published": "1987-03-04",
        "body": 'Michael Howard attacked the government. "The steel tariff is a scandal," '
        "Howard said.\n",
    },
]


@pytest.fixture
def speech_index(tmp_path: Path, embedder: Embedder, recognizer: Recognizer) -> Path:
    lines = "".join(json.dumps(r) + "\n" for r in SPEECHES)
    report = mined_index(tmp_path, {"wire.jsonl": lines}, embedder, recognizer)
    assert report.mined.quotes == 4
    return tmp_path / "index"


def cited_docs(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.passage.doc_id for c in answer.citations]


def test_what_someone_said_about_a_topic_lists_their_quotes_newest_first(
    speech_index: Path, embedder: Embedder
) -> None:
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(make_settings(speech_index), embedder=embedder)
    try:
        answer = assistant.ask("What has Gordon Brown said about the steel tariff?")
        assert answer.status == "answered"
        assert cited_docs(answer) == ["wire/2", "wire/1"]  # not Howard's, not farm prices
        lines = answer.text.split("\n\n")
        assert lines[0].startswith("Gordon Brown, 1987-03-05: \u201cWe will cut the steel")
        assert lines[0].endswith("[1]") and lines[1].endswith("[2]")
        for c in answer.citations:
            article = assistant.article(c.passage.doc_id)
            assert article is not None
            assert article.text[c.passage.start : c.passage.end] == c.passage.text
            assert c.quote in c.passage.text
            assert c.quote.rstrip(",") in answer.text  # verbatim, less the comma before "said"
        # no topic: all of the speaker's quotes, newest first; a honorific is not a name word
        anything = assistant.ask("What did Mr Brown say?")
        assert cited_docs(anything) == ["wire/2", "wire/3", "wire/1"]
        # a date range in the question keeps to it
        early = assistant.ask("What did Brown say about the steel tariff before 3 March 1987?")
        assert cited_docs(early) == ["wire/1"]
        # the speaker never said it: the normal answer path, no list of quotes
        plain = assistant.ask("What did Gordon Brown say about cocoa exports?")
        assert not plain.text.startswith("Gordon Brown, ")
    finally:
        assistant.close()


def test_who_said_a_quotation_answers_with_the_speaker(
    speech_index: Path, embedder: Embedder
) -> None:
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(make_settings(speech_index), embedder=embedder)
    try:
        answer = assistant.ask("Who said 'the steel tariff is a scandal'?")
        assert answer.text.startswith("Michael Howard, 1987-03-04: ")
        assert cited_docs(answer) == ["wire/4"]
    finally:
        assistant.close()
