"""Who said what: every direct quotation of an article with its speaker.

`quotes(text, entities, descriptors)` finds the quotations of one article text (straight or
curly double quotation marks) and attributes each one from the words around it, as news
writes them:

- **explicit**: the speaker named beside a speech verb, before the quotation ("Moyes said:
  "...", "Ms Jamieson described the meeting as "very productive"") or after it (""...," said
  Mr Howard.", ""...," Mr Pound told the Today programme.", ""...," Arab News quoted Prince
  Saud as saying.");
- **pronoun**: "he said", "She told the Guardian:" -> the person named last before it;
- **description**: "the minister said", "The culture secretary said" -> the person the article
  gives that description (its descriptors), else the description as written;
- **according_to**: "according to X";
- **continuation**: a quotation with no attribution of its own that goes on from the one
  before (the next paragraph of a speech, or a new opening mark right after it);
- **none**: no speaker is guessed.

A speaker is given by its canonical name in the article: the longest PERSON (or ORG) name
there that the mention shortens ("Mr Pound" -> "Stephen Pound", "Prince Saud" -> "Prince Saud
Al-Faisal"). A quotation running over several paragraphs is one quote per paragraph, as the
labelled set has them. Scare quotes and titles are not quotations: one word ("trigger"), or
every long word capitalised ("Las Vegas-style", "Ring of Fire"). Offsets always slice the
text to the stored quotation, whatever the marks (unbalanced, nested, missing).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from newsdesk.core.text import STOPWORDS, content_terms, word_set, wrap_width
from newsdesk.core.types import Descriptor, Entity, Quote
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
# Words a name is prefixed with that are not a first name ("President Reagan").
TITLES = word_set(
    """
    president vice prime minister chancellor secretary senator sen rep representative
    congressman congresswoman governor gov mayor premier king queen prince princess pope
    emperor general gen colonel col major captain capt lieutenant lt sergeant sgt admiral
    commander judge justice chairman chairwoman chief director commissioner ambassador
    envoy lord lady sir dame baron baroness earl duke bishop archbishop cardinal father
    reverend rev rabbi imam sheikh emir sultan ayatollah coach manager striker boss
    professor doctor inspector detective officer analyst spokesman spokeswoman dr mr mrs
    """
)
_MARKS = '"\u201c\u201d'
_OPEN_CURLY, _CLOSE_CURLY = "\u201c", "\u201d"
_SENTENCE_END = re.compile(r"[.!?](?=[\s\"\u201d']|$)|\n\s*\n|\n(?=[ \t])")
_BOUNDARY_WORDS = word_set("and but however while as when after before because so then yet or")
MAX_SUBJECT_WORDS = 10
MAX_TERM_WORDS = 4
MAX_CONTEXT_CHARS = 240


@dataclass
class _Span:
    start: int  # the quotation's first character (after the opening mark)
    end: int  # one past its last character
    open_at: int  # the opening mark
    close_at: int | None  # the closing mark; None when it runs on (paragraph end, new mark)


def quotes(
    text: str, entities: Sequence[Entity], descriptors: Sequence[Descriptor] = ()
) -> list[Quote]:
    """The direct quotations of `text`, in order, each with its speaker (or None)."""
    spans = _without_terms(text, [s for s in _spans(text) if _is_quotation(text[s.start : s.end])])
    article = _Article(text, entities, descriptors, [(q.start, q.end) for q in spans])
    out: list[Quote] = []
    for i, span in enumerate(spans):
        previous = out[-1] if out else None
        article.previous = previous.speaker if previous is not None else None
        found = article.attribution(span)
        if found is None and article.previous is not None:
            others = [e for e in article.people if article.canonical(e.text) != article.previous]
            if _goes_on(text, spans[i - 1], span, others):
                found = (article.previous, "", "continuation")
        speaker, mention, kind = found if found is not None else (None, "", "none")
        out.append(Quote(span.start, span.end, text[span.start : span.end], speaker, mention, kind))
    return out


# ---------------------------------------------------------------- finding quotations
def _spans(text: str) -> list[_Span]:
    """Quotation spans: from an opening mark to the closing one, or to the end of the
    paragraph or the next opening mark when it is left open (news opens each paragraph of
    a long quotation anew and closes only the last)."""
    spans: list[_Span] = []
    open_at: int | None = None
    wrapped = wrap_width(text) > 0  # wire copy: a single line break is the wrap, not a paragraph
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\n" and open_at is not None and _paragraph_ends(text, i, wrapped):
            _add(text, spans, open_at, i, None)
            open_at = None
        elif ch in _MARKS:
            opening = _opens(text, i)
            if open_at is None:
                if opening:
                    open_at = i
            elif opening and not _closes(text, i):
                _add(text, spans, open_at, i, None)  # a new quotation starts: the last ran on
                open_at = i
            else:
                _add(text, spans, open_at, i, i)
                open_at = None
        i += 1
    if open_at is not None:
        _add(text, spans, open_at, len(text), None)
    return spans


def _paragraph_ends(text: str, i: int, wrapped: bool) -> bool:
    """Does the line break at `i` end a paragraph? Always, unless the text is hard-wrapped:
    then only a blank line or an indented line does."""
    if not wrapped:
        return True
    rest = text[i + 1 : i + 2]
    return rest in ("", "\n", " ", "\t") or text[i + 1 :].lstrip(" \t")[:1] == "\n"


def _opens(text: str, i: int) -> bool:
    if text[i] == _CLOSE_CURLY:
        return False
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{-\u2014:" or text[i] == _OPEN_CURLY) and not (
        after.isspace()
    )


def _closes(text: str, i: int) -> bool:
    if text[i] == _OPEN_CURLY:
        return False
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and (after.isspace() or not after.isalnum())


def _add(text: str, spans: list[_Span], open_at: int, end: int, close_at: int | None) -> None:
    start = open_at + 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append(_Span(start, end, open_at, close_at))


def _is_quotation(quoted: str) -> bool:
    """Not a scare quote (one word) nor a title or name: unpunctuated, with every long word
    after the first capitalised ("Las Vegas-style", "Ring of Fire"; "Everything is up to
    Ukraine," is speech)."""
    words = re.findall(r"[^\W_][\w'\u2019-]*", quoted)
    if len(words) < 2:
        return False
    if quoted.rstrip()[-1:] in ",.!?;:" or len(words) > 6:
        return True
    long_words = [w for w in words[1:] if len(w) >= 4]
    return not long_words or not all(w[0].isupper() for w in long_words)


def _without_terms(text: str, spans: list[_Span]) -> list[_Span]:
    """`spans` less the terms the article puts in quotation marks each time it uses them
    (these "bot nets"): a short unpunctuated wording quoted twice or more is a term, not
    something said (a speaker's phrase is quoted once)."""

    def key(span: _Span) -> str | None:
        quoted = text[span.start : span.end]
        if len(quoted.split()) > MAX_TERM_WORDS or quoted.rstrip()[-1:] in ",.!?;:":
            return None
        return " ".join(quoted.lower().split())

    seen = Counter(k for k in map(key, spans) if k is not None)
    return [s for s in spans if seen[key(s) or ""] < 2]


# ---------------------------------------------------------------- attribution
_ACCORDING = re.compile(r"\baccording to\s+(?P<who>[^,.;:!?\"\u201c]+)", re.IGNORECASE)
_AUXILIARY_TAIL = re.compile(r"(?:\s+(?:has|have|had|is|was|were|will|would|been))+\s*$")
_QUOTED_AS = re.compile(r"\bquoted\s+(?P<who>.+?)\s+as\s+say", re.IGNORECASE)


class _Article:
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

    def attribution(self, span: _Span) -> tuple[str, str, str] | None:
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

    def _after(self, span: _Span, start: int, end: int) -> tuple[str, str, str] | None:
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
                return self._who(span, at + tail.start("who"), at + tail.end("who"), "explicit")
        if m := _ACCORDING.search(part):
            return self._who(span, start + m.start("who"), start + m.end("who"), "according_to")
        return None

    def _before(self, span: _Span, start: int, end: int) -> tuple[str, str, str] | None:
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

    def _who(self, span: _Span, start: int, end: int, kind: str) -> tuple[str, str, str] | None:
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
                clean_name(e.text)
                for e in self.names
                if e.label == "ORG" and len(e.text.split()) > 1 and initials_fit(best, e.text)
            }
            if len(spelled) == 1:
                return spelled.pop()
        if len(best.split()) == 1:  # a full name the recogniser missed ("signing Adrian Mutu")
            best = _written_in_full(self.text, best) or best
        return best


def _after(text: str, span: _Span) -> tuple[int, int] | None:
    """Where an attribution after a closed quotation may be: to the end of its sentence,
    when the quotation ends as news ends a quote that is attributed after ("...," or "?")."""
    if span.close_at is None:
        return None
    last = text[span.end - 1] if span.end > span.start else ""
    start = span.close_at + 1
    if last not in ",!?-\u2014" and not text[start : start + 2].startswith(","):
        return None
    m = _SENTENCE_END.search(text, start, start + MAX_CONTEXT_CHARS)
    end = m.start() if m else min(len(text), start + MAX_CONTEXT_CHARS)
    mark = next((i for i in range(start, end) if text[i] in _MARKS), None)
    return start, (mark if mark is not None else end)


def _before(text: str, span: _Span, inside: list[tuple[int, int]]) -> tuple[int, int]:
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


def _goes_on(text: str, previous: _Span, span: _Span, others: Sequence[Entity] = ()) -> bool:
    """Does `span` go on from the quotation before it: left open, or opened after it with
    no other person named in between (news names each new speaker)?"""
    if previous.close_at is None:
        return True
    start, end = previous.close_at + 1, span.open_at
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


__all__ = ["PRONOUNS", "SPEECH_VERBS", "quotes"]
