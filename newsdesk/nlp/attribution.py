"""Who speaks a quotation: the attribution half of quote mining (`newsdesk.nlp.quotes` finds
the quotations and calls this for each).

`Speakers` holds one article's text, names and descriptors and reads the words around a
quotation as news writes them: a name beside a speech verb before or after it, a pronoun
(the subject of the sentence naming the last person; a possessive does not act; "X said:
"...," he said" keeps X), a description (the name the article's descriptors give it, else
the person who spoke in the sentence before, else the description as written), "according
to", a continuation (`goes_on`). A speaker is given by the article's fullest name for the
mention, its initials spelled out ("GE" -> General Electric), or the "First Surname" the
text writes when the recogniser missed it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsdesk.core.text import STOPWORDS, content_terms, word_set
from newsdesk.core.types import Descriptor, Entity
from newsdesk.nlp.descriptors import HONORIFICS, clean_name, initials_fit

SPEECH_VERBS = word_set(
    """
    said says say saying told tells telling added adds adding warned warns warning insisted
    insists claimed claims complained complains continued continues explained explains
    described describes labelled labels dubbed dubs branded brands branding called calls asked
    asks remarked remarks revealed reveals confirmed confirms declared declares admitted admits
    argued argues noted notes stressed stresses urged urges wrote writes announced announces
    suggested suggests predicted predicts acknowledged acknowledges agreed agrees replied
    replies responded responds commented comments conceded concedes vowed vows promised
    promises maintained maintains recalled recalls joked jokes quoted quotes thanked
    """
)
PRONOUNS = word_set("he she they it we i")
# Words a name is prefixed with that are not a first name ("President Reagan"); "Mr", "Dr"
# and the like are HONORIFICS.
TITLES = word_set(
    """
    president vice prime minister chancellor secretary senator sen rep representative
    congressman congresswoman governor gov mayor premier king queen prince princess pope
    emperor general gen colonel col major captain capt lieutenant lt sergeant sgt admiral
    commander judge justice chairman chairwoman chief director commissioner ambassador
    envoy lord lady sir dame baron baroness earl duke bishop archbishop cardinal father
    reverend rev rabbi imam sheikh emir sultan ayatollah coach manager striker boss
    professor doctor inspector detective officer analyst spokesman spokeswoman
    """
)
MARKS = '"\u201c\u201d'  # the quotation marks: straight and curly double
_INNER_MARKS = "'\u2018\u2019"  # single marks: a quotation inside one
_SENTENCE_END = re.compile(r"[.!?](?=[\s\"\u201d']|$)|\n\s*\n|\n(?=[ \t])")
_BOUNDARY_WORDS = word_set("and but however while as when after before because so then yet or")
MAX_SUBJECT_WORDS = 10
MAX_CONTEXT_CHARS = 240


@dataclass
class Span:
    start: int  # the quotation's first character (after the opening mark)
    end: int  # one past its last character
    open_at: int  # the opening mark
    close_at: int | None  # the closing mark; None when it runs on (paragraph end, new mark)


_ACCORDING = re.compile(r"\baccording to\s+(?P<who>[^,.;:!?\"\u201c]+)", re.IGNORECASE)
_AUXILIARY_TAIL = re.compile(r"(?:\s+(?:has|have|had|is|was|were|will|would|been))+\s*$")
_QUOTED_AS = re.compile(r"\bquoted\s+(?P<who>.+?)\s+as\s+say", re.IGNORECASE)


class Speakers:
    """One article's text, names and descriptors, and the speaker of the quotation before
    the one being attributed."""

    def __init__(
        self,
        text: str,
        entities: Sequence[Entity],
        descriptors: Sequence[Descriptor],
        inside: list[tuple[int, int]],
    ) -> None:
        self.text = text
        self.names = sorted(
            (e for e in entities if e.label in ("PERSON", "ORG")), key=lambda e: e.start
        )
        self.people = [e for e in self.names if e.label == "PERSON"]
        self.descriptors = descriptors
        self._canonical: dict[str, str] = {}  # mention -> the article's fullest name for it
        self.inside = inside  # the quotations' spans: names inside them speak no quote
        self.previous: str | None = None

    def attribution(self, span: Span) -> tuple[str, str, str] | None:
        """(speaker, mention, kind) from the words after the quotation, else before it; a
        pronoun after gives way to a speaker named before ("Laws said: "...," he said.")."""
        after = _after(self.text, span)
        found = self._after(span, *after) if after is not None else None
        if found is not None and found[2] != "pronoun":
            return found
        before = self._before(span, *_before(self.text, span, self.inside))
        if found is not None and (before is None or before[2] != "explicit"):
            return found
        return before

    def _after(self, span: Span, start: int, end: int) -> tuple[str, str, str] | None:
        """ ", said Mr Howard.", "," Mr Pound told the programme.", ", he said, according to
        the Kyiv Post." (the speaker, not the paper that reported it)."""
        part = self.text[start:end]
        if m := _QUOTED_AS.search(part):
            return self._who(span, start + m.start("who"), start + m.end("who"), "explicit")
        verb = next(
            (m for m in re.finditer(r"[A-Za-z]+", part) if m.group(0).lower() in SPEECH_VERBS),
            None,
        )
        if verb is not None:
            lead = part[: verb.start()].strip(' \t\n,"\u201d-\u2014')
            if lead:  # "Mr Pound told"
                return self._who(span, start + part.index(lead), start + verb.start(), "explicit")
            tail = re.match(r"\s+(?P<who>[^,.;:!?\"\u201c]+)", part[verb.end() :])
            if tail:  # "said Mr Howard"
                at = start + verb.end()
                who = self._named_after(at + tail.start("who"), at + tail.end("who"), end)
                return self._who(span, *who, "explicit")
        if m := _ACCORDING.search(part):
            return self._who(span, start + m.start("who"), start + m.end("who"), "according_to")
        return None

    def _before(self, span: Span, start: int, end: int) -> tuple[str, str, str] | None:
        part = self.text[start:end]
        if m := _ACCORDING.search(part):
            return self._who(span, start + m.start("who"), start + m.end("who"), "according_to")
        verbs = [m for m in re.finditer(r"[A-Za-z]+", part) if m.group(0).lower() in SPEECH_VERBS]
        if not verbs:
            return None
        verb = verbs[-1]
        if verb.group(0).lower() == "quoted" and (m := _QUOTED_AS.search(part, verb.start())):
            return self._who(span, start + m.start("who"), start + m.end("who"), "explicit")
        subject_end = start + verb.start()
        apposed = self._apposed(start, subject_end)
        if apposed is not None:  # "Oleg Gordievsky, a senior KGB officer who ..., said"
            return self.canonical(apposed.text), apposed.text, "explicit"
        subject_start = _subject_start(self.text, start, subject_end)
        if subject_start is not None:
            # "Mark Serwotka, general secretary of the union, said": the name before it
            apposed = self._name_before(subject_start, start)
            if apposed is not None:
                return self.canonical(apposed.text), apposed.text, "explicit"
            found = self._who(span, subject_start, subject_end, "explicit")
            if found is not None:
                return found
        # "Ms Jamieson praised the police and said:", "Mutu has hit out ..., saying:": the
        # person the sentence is about
        for e in self.names:
            if start <= e.start and e.end <= subject_end and e.label == "PERSON":
                return self.canonical(e.text), e.text, "explicit"
        if subject_start is None and self.previous is not None:
            return self.previous, "", "continuation"  # "And continued:"
        return None

    def _named_after(self, start: int, end: int, limit: int) -> tuple[int, int]:
        """Where the speaker is named in the words text[start:end] after a speech verb:
        before the words that place the person ("said Mark Longden of the Independent
        Manchester United Supporters' Association"), or after the comma that follows a role
        with no person in it ("said EEF chief economist, Steve Radley"); up to `limit`."""
        cut = re.search(r"\s(?:of|at|for|from|with)\s", self.text[start:end])
        if cut is not None and self._person_within(start, start + cut.start()):
            return start, start + cut.start()
        if not self._person_within(start, end):
            named = re.match(r",\s*(?P<who>[^,.;:!?\"\u201c]+)", self.text[end:limit])
            if named is not None and self._opens_with_person(end + named.start("who")):
                return end + named.start("who"), end + named.end("who")
        return start, end

    def _person_within(self, start: int, end: int) -> bool:
        return any(start <= e.start and e.end <= end + 1 for e in self.people)

    def _opens_with_person(self, at: int) -> bool:
        """Do the words at `at` open with a person, after at most a title or two ("MP
        Edward Leigh", "Labour MP Barry Sheerman"), not with a clause that names one later
        (", head of distribution at Universal, which released Ray")?"""
        person = next((e for e in self.people if e.start >= at), None)
        if person is None:
            return False
        lead = self.text[at : person.start].split()
        return len(lead) <= 2 and all(w[:1].isupper() for w in lead)

    def _apposed(self, floor: int, verb: int) -> Entity | None:
        """The person a speech verb follows across an apposition: "Oleg Gordievsky, a
        senior KGB officer who became a secret agent for the British, said" (one comma
        after the name, one before the verb, none between), not the words before the
        verb."""
        for e in reversed(self.people):
            if floor <= e.start and e.end < verb:
                if re.fullmatch(r",[^,\n]+,\s*", self.text[e.end : verb]):
                    return e
                return None
        return None

    def _name_before(self, at: int, floor: int) -> Entity | None:
        """A person named right before ", " at `at` (the subject of an apposition)."""
        head = self.text[floor:at].rstrip()
        if not head.endswith(","):
            return None
        edge = floor + len(head) - 1
        for e in self.names:
            if e.label == "PERSON" and e.end == edge and e.start >= floor:
                return e
        return None

    def _who(self, span: Span, start: int, end: int, kind: str) -> tuple[str, str, str] | None:
        """The speaker the words text[start:end] name: an entity, a pronoun or a
        description."""
        mention = " ".join(_AUXILIARY_TAIL.sub("", self.text[start:end]).split())
        mention = mention.strip(',"\u201c\u201d')
        if not mention:
            return None
        words = mention.split()
        first = words[0].lower()
        if first in PRONOUNS and len(words) == 1:
            person = self._subject_before(min(start, span.open_at), first)
            if person is None:
                return None
            return person, mention, "pronoun"
        within = [e for e in self.names if start <= e.start and e.end <= end + 1]
        if within:  # "Countryside Alliance chairman John Jackson": the person, the last one
            people = [e for e in within if e.label == "PERSON"]
            e = (people or within)[-1]
            return self.canonical(e.text), mention, kind
        if first in ("the", "a", "an", "one") or re.match(r"[\w.&-]+['\u2019]s\s", mention):
            described = _described(mention, self.descriptors, start)
            if described is None and first == "the":
                described = self._speaking_before(min(start, span.open_at))
            named = described or mention
            return named, mention, "description" if kind == "explicit" else kind
        if _proper(mention):  # a name the recogniser missed ("Moyes said:")
            return self.canonical(mention), mention, kind
        return None

    def _subject_before(self, at: int, pronoun: str) -> str | None:
        """Whom a pronoun before `at` stands for: the person named last as a sentence's
        subject (within its first words: "Frenchman Cyril Saulnier beat Tommy Haas. He
        said" is Saulnier), else the person named last; the speaker of the quotation before
        when no one was named since it."""
        wanted = ("ORG", "PERSON") if pronoun in ("it", "they", "we") else ("PERSON",)
        named = [
            e
            for e in self.names
            if e.start < at
            and e.label in wanted
            and not any(s <= e.start < q for s, q in self.inside)
        ]
        quoted_last = max((q for _, q in self.inside if q <= at), default=-1)
        if self.previous is not None and (not named or named[-1].start < quoted_last):
            return self.previous
        if not named:
            return None
        last = named[-1]  # the subject of the sentence naming it, when that is a person
        lead = _sentence_start(self.text, last.start)
        subjects = [
            e
            for e in named
            if e.start >= lead
            and _opens_sentence(self.text, e.start)
            and not _possessive(self.text, e)
        ]
        return self.canonical((subjects or [last])[-1].text)

    def _speaking_before(self, at: int) -> str | None:
        """Who a description no descriptor gives ("said the European champion", "the
        newspaper said") stands for: the person who spoke (named with a speech verb) in the
        sentence before, or who spoke last when no one was named since; None otherwise
        ("the spokesman said" after "The governor has the authority" is someone else)."""
        person = self._subject_before(at, "she")
        if person is None or person == self.previous:
            return person
        lead = _sentence_start(self.text, _sentence_start(self.text, at) - 1)
        for e in self.names:
            if lead <= e.start < at and self.canonical(e.text) == person:
                tail = self.text[e.end : _sentence_start(self.text, at)]
                if any(w.lower() in SPEECH_VERBS for w in re.findall(r"[A-Za-z]+", tail)):
                    return person
        return None

    def canonical(self, mention: str) -> str:
        """The longest name in the article that `mention` shortens ("Mr Pound" -> "Stephen
        Pound"): the same last word, or the mention's words opening it."""
        known = self._canonical.get(mention)
        if known is None:
            known = self._canonical[mention] = self._fullest(mention)
        return known

    def _fullest(self, mention: str) -> str:
        for d in self.descriptors:  # "GE" -> "General Electric"
            if d.kind == "abbreviation" and self.text[d.start : d.end] == mention.strip():
                return d.name
        short = clean_name(mention) or mention
        tokens = [t.lower() for t in short.split()]
        best = short
        for e in self.names:
            full = clean_name(e.text)
            parts = [p.lower() for p in full.split()]
            if len(parts) <= len(tokens) or len(full) <= len(best):
                continue
            if parts[-1] == tokens[-1] or parts[: len(tokens)] == tokens:
                best = full
        if best.isupper() and 2 <= len(best) <= 6:  # "GE" for the article's "General Electric"
            spelled = {
                _bare(clean_name(e.text))
                for e in self.names
                if e.label == "ORG"
                and len(e.text.split()) > 1
                and initials_fit(best, clean_name(e.text))  # not "the Council of ..."'s T
            }
            if len(spelled) == 1:
                return spelled.pop()
        if len(best.split()) == 1:  # a full name the recogniser missed ("signing Adrian Mutu")
            best = _written_in_full(self.text, best) or _peer(self.text, best) or best
        return best


def _after(text: str, span: Span) -> tuple[int, int] | None:
    """Where an attribution after a closed quotation may be: to the end of its sentence,
    when the quotation ends as news ends a quote that is attributed after ("...," or "?"),
    also inside a quotation it closes ("... of: 'Will they come?'" she said)."""
    if span.close_at is None:
        return None
    last = text[span.start : span.end].rstrip(_INNER_MARKS)[-1:]
    start = span.close_at + 1
    if last not in ",!?-\u2014" and not text[start : start + 2].startswith(","):
        return None
    m = _SENTENCE_END.search(text, start, start + MAX_CONTEXT_CHARS)
    end = m.start() if m else min(len(text), start + MAX_CONTEXT_CHARS)
    mark = next((i for i in range(start, end) if text[i] in MARKS), None)
    return start, (mark if mark is not None else end)


def _before(text: str, span: Span, inside: list[tuple[int, int]]) -> tuple[int, int]:
    """The sentence before the opening mark, back to a sentence end or another quotation."""
    floor = max(0, span.open_at - MAX_CONTEXT_CHARS)
    for _, e in inside:
        if e <= span.open_at:
            floor = max(floor, min(span.open_at, e + 1))
    start = floor
    for m in _SENTENCE_END.finditer(text, floor, span.open_at):
        start = m.end()
    return start, span.open_at


def _subject_start(text: str, floor: int, end: int) -> int | None:
    """Where the words right before a verb (its subject) start: back over at most
    MAX_SUBJECT_WORDS words, stopping at punctuation or a conjunction; None if none."""
    words = list(re.finditer(r"[^\s,;:()]+", text[floor:end]))
    start: int | None = None
    for taken, m in enumerate(reversed(words), start=1):
        w = m.group(0)
        gap = text[floor + m.end() : start if start is not None else end]
        if start is not None and gap.strip() != "":
            break
        inside_name = start is not None and text[start].isupper() and w.islower()
        if (w.lower() in _BOUNDARY_WORDS and not (inside_name and w in ("and", "of"))) or (
            w.lower() in SPEECH_VERBS
        ):
            break  # ("and" inside "Public and Commercial Services Union" is part of it)
        start = floor + m.start()
        if taken == MAX_SUBJECT_WORDS or w.lower() in PRONOUNS:
            break
    return start


def _proper(mention: str) -> bool:
    """Every word capitalised, at most four of them: a name."""
    words = mention.split()
    return 0 < len(words) <= 4 and all(w[0].isupper() for w in words)


def _described(mention: str, descriptors: Sequence[Descriptor], before: int) -> str | None:
    """The name the article gives the description `mention` ("the culture secretary"),
    preferring the last one before it; None if it gives none."""
    terms = content_terms(mention)
    if not terms:
        return None
    head = terms[-1]
    best: Descriptor | None = None
    for d in descriptors:
        if head in d.key.split() and (best is None or d.start < before):
            best = d
    return best.name if best is not None else None


def goes_on(text: str, previous: Span, span: Span, others: Sequence[Entity] = ()) -> bool:
    """Does `span` go on from the quotation before it: left open, or opened after it with
    no other person named in between (news names each new speaker); a name in the words that
    attribute the quotation before ("..., said X, spokeswoman for Y.") is no new speaker."""
    if previous.close_at is None:
        return True
    start, end = previous.close_at + 1, span.open_at
    attributed = _after(text, previous)
    if attributed is not None and any(  # '"...," said Ms Harker, spokeswoman for Hypertag.'
        w.lower() in SPEECH_VERBS for w in re.findall(r"[A-Za-z]+", text[slice(*attributed)])
    ):
        start = max(start, attributed[1])
    if end - start > 4 * MAX_CONTEXT_CHARS:
        return False
    return not any(start <= e.start < end for e in others)


def _written_in_full(text: str, surname: str) -> str | None:
    """The one "First Surname" the text writes `surname` in, None when it writes none or
    several. The first word is capitalised and never written in lower case in the text (so
    not a common word opening a sentence: "Yesterday Mutu", "Striker Mutu"), nor a
    stopword or an honorific."""
    found: set[str] = set()
    for m in re.finditer(rf"\b([A-Z][a-z]+(?:-[A-Z][a-z]+)?) {re.escape(surname)}\b", text):
        first = m.group(1)
        lower = first.lower()
        if (
            lower in STOPWORDS
            or lower in HONORIFICS
            or lower in TITLES
            or re.search(rf"\b{lower}\b", text)
        ):
            continue
        found.add(f"{first} {surname}")
    return found.pop() if len(found) == 1 else None


def _bare(name: str) -> str:
    """A name without what the recogniser took in after it: "European Union's",
    "Royal National Institute for Deaf People (RNID"."""
    return re.sub(r"(?:['\u2019]s|\s*\([^)]*)$", "", name)


_PEERAGE = ("Lord", "Lady", "Baroness", "Baron")


def _peer(text: str, surname: str) -> str | None:
    """ "Lord Currie" for "Currie" when the text calls him that: a peer is known by the
    title (the one title kept in a name), unlike "Mr" or "President"."""
    found = {
        m.group(1) for m in re.finditer(rf"\b({'|'.join(_PEERAGE)}) {re.escape(surname)}\b", text)
    }
    return f"{found.pop()} {surname}" if len(found) == 1 else None


def _sentence_start(text: str, at: int) -> int:
    """Where the sentence holding `at` starts."""
    start = max(0, at - 4 * MAX_CONTEXT_CHARS)
    for m in _SENTENCE_END.finditer(text, start, at):
        start = m.end()
    return start


def _possessive(text: str, entity: Entity) -> bool:
    """Is the name a possessive ("Mr Brown's former adviser"): not the one acting?"""
    return entity.text.endswith(("'s", "\u2019s")) or text[entity.end : entity.end + 2] in (
        "'s",
        "\u2019s",
    )


def _opens_sentence(text: str, at: int) -> bool:
    """Is `at` within the first few words of its sentence (a subject's place)?"""
    start = max(0, at - 60)
    head = text[start:at]
    cut = max(head.rfind(". "), head.rfind("\n"), head.rfind('" '), head.rfind("\u201d "))
    lead = head[cut + 1 :] if cut >= 0 else (head if start == 0 else None)
    return lead is not None and len(lead.split()) <= 3


__all__ = ["MARKS", "PRONOUNS", "SPEECH_VERBS", "TITLES", "Span", "Speakers", "goes_on"]
