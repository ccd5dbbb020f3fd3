"""Indirect names, learned from the archive: who "the chancellor" or "the software giant" is.

News names a person or an organisation once and then describes it, in a few fixed shapes
that sit right beside a named entity (PERSON or ORG, from the stored NER):

- **role before the name**: "Chancellor Gordon Brown", "Russian oil giant Yukos",
  "shadow chancellor Oliver Letwin" (up to four words, no function word, verb or number);
- **apposition after the name**: "Gazprom, the state-owned gas giant,", "Rinat Akhmetov,
  the country's richest man." (from "the" or a possessive to the next punctuation, with no
  verb, pronoun or clause in it);
- **abbreviation**: "the Office of Fair Trading (OFT)" (the letters are the name's initials).

`descriptors(text, entities)` finds them in one article: each `Descriptor` keeps the offsets
of the descriptive words as written (`text[start:end]`), the lookup key (their stemmed
content terms, as the search analyses a question) and the name (honorific dropped). One
article's "the chancellor" proves little; the archive-wide table that the search builds from
every article's descriptors (`retriever.names`) trusts a key only when several articles give
it and most of them give it to one name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsdesk.core.text import STOPWORDS, content_terms, word_set, word_spans
from newsdesk.core.types import Descriptor, Entity

# What the stored descriptors were mined by: an index mined by another version is re-mined.
MINER_VERSION = "11"  # 2: quotes mined with the descriptors; 3: and the names; 4: surnames
# resolved over the whole article (`people.coreferred`), names written in full or as initials;
# 5: a wording quoted each time it is used is a term, not a quote; 6: surnames never spread
# over dates, initials before a written-out first name; 7: a person at the end of an
# organisation's span, peers by their title, initials of "the ..." names; 8: the name before
# an apposition speaks ("X, a ... officer, said"); 9: no company word in a cut name; 10: the
# speaker named before an affiliation or after a role, continuation past the names of the
# attribution before, a quotation closing one inside it attributed after; 11: short wire
# stories read as wrapped (`text.wrap_width`), so a quotation runs on across their lines

NAME_LABELS = frozenset(("PERSON", "ORG"))
# Entities that may modify a role ("Italian Prime Minister", "Microsoft chairman").
MODIFIER_LABELS = frozenset(("NORP", "GPE", "ORG", "LOC"))
MAX_ROLE_WORDS = 4
MAX_APPOSITION_WORDS = 8
MAX_APPOSITION_CHARS = 80

# Words that make a phrase a clause or a report rather than a description.
_CLAUSE_WORDS = word_set(
    """
    said says say told tells added adds reported reports announced announces according claimed
    claims warned warns believes believe think thinks thought expects expected is was are were
    be been being has had have will would can could shall should may might must did does do he
    she it they we i you his her its their our who which that whose when where whom what there
    this these those if because although while
    """
)
# Verbs and prepositions found right before a name ("beat Federer", "met Tony Blair"): never
# the role a name holds.
_BEFORE_NAME_VERBS = word_set(
    """
    buy buys bought sell sells sold beat beats met meet meets join joins sign signs back backs
    face faces against like replace replaces succeed succeeds visit visits call calls urge
    urges ask asks become became becomes leave leaves thank thanks blame blames accuse accuses
    sack sacks criticise criticises praise praises defeat defeats elect elects appoint appoints
    hire hires include includes including than plus versus v vs with named
    """
)
# Lower-case words kept before a title ("former Prime Minister", "shadow Chancellor"); other
# lower-case words there belong to the sentence ("met UK Prime Minister").
_ROLE_MODIFIERS = word_set(
    """
    former ex late deputy acting outgoing incoming shadow then
    """
)
HONORIFICS = frozenset(("mr", "mrs", "ms", "miss", "dr", "prof", "mr.", "mrs.", "ms.", "dr."))
_ABBREVIATION = re.compile(r"\s*\(([A-Z][A-Za-z&]{1,9})\)")
_APPOSITION_START = re.compile(r",[ \t]*\n?[ \t]*(?:the[ \t]+)", re.IGNORECASE)
_POSSESSIVE_START = re.compile(r",[ \t]*\n?[ \t]*(?=[A-Z][\w.&-]*['\u2019]s\s)")
_APPOSITION_END = re.compile(r"[,.;:()\[\]\"\u201c\u201d!?]|\n[ \t]*\n|\s[-\u2013\u2014]\s")
_BETWEEN_WORDS = re.compile(r"[ \t]+\n?[ \t]*|\n[ \t]*")  # one line break at most (a wrap)


def descriptors(text: str, entities: Sequence[Entity]) -> list[Descriptor]:
    """The descriptors of the names in `text`, in text order; `entities` are its stored
    named entities (offsets into `text`)."""
    ordered = sorted(entities, key=lambda e: (e.start, e.end))
    covered = _coverage(ordered)
    found: list[Descriptor] = []
    for entity in ordered:
        if entity.label not in NAME_LABELS:
            continue
        name = clean_name(entity.text)
        if not name:
            continue
        found.extend(
            d
            for d in (
                _role(text, entity, name, covered),
                _apposition(text, entity, name, covered),
                _abbreviation(text, entity, name),
            )
            if d is not None
        )
    return sorted(found, key=lambda d: (d.start, d.end, d.kind))


def clean_name(name: str) -> str:
    """`name` as a table entry: honorific and a leading "the" dropped, spaces collapsed."""
    parts = name.split()
    while parts and (parts[0].lower() in HONORIFICS or parts[0].lower() == "the"):
        parts = parts[1:]
    joined = " ".join(parts)
    return joined if any(ch.isalpha() for ch in joined) else ""


def _coverage(entities: Sequence[Entity]) -> dict[int, str]:
    """Character offset -> label, for every character inside an entity."""
    at: dict[int, str] = {}
    for e in entities:
        for i in range(e.start, e.end):
            at.setdefault(i, e.label)
    return at


def _role(text: str, entity: Entity, name: str, covered: dict[int, str]) -> Descriptor | None:
    """Up to MAX_ROLE_WORDS words right before the name: "Chancellor", "oil giant"."""
    window_start = max(0, entity.start - 120)
    spans = word_spans(text[window_start : entity.start])
    taken: list[tuple[int, int]] = []
    edge = entity.start  # the start of what is taken so far
    for s, e, word in reversed(spans):
        s, e = s + window_start, e + window_start
        if not _BETWEEN_WORDS.fullmatch(text[e:edge]):
            break  # punctuation (or nothing, or a blank line) between: the phrase ends
        lower = word.lower()
        possessive = lower.endswith("'s")
        if lower in STOPWORDS or lower in _CLAUSE_WORDS or lower in HONORIFICS:
            break
        if any(ch.isdigit() for ch in word):
            break
        label = covered.get(s)
        if label is not None and label not in MODIFIER_LABELS:
            break  # a date, a number, another person
        taken.append((s, e))
        edge = s
        if possessive or len(taken) == MAX_ROLE_WORDS:
            break  # "Spain's prime minister": the possessive starts the phrase
    taken = _from_title(text, taken[::-1])  # in text order from here
    if not taken:
        return None
    head_start, head_end = taken[-1]
    head = text[head_start:head_end]
    if head_start in covered or head.lower().endswith("'s"):
        return None  # "Arsenal Thierry Henry", "Labour's Gordon Brown": no role word
    if head.islower() and (head in _BEFORE_NAME_VERBS or head.endswith("ed")):
        return None  # "beat Federer", "joined Chelsea"
    if len(head) < 2 or head.isupper():
        return None  # an initial ("E Miller") or another name ("UK Independence Party")
    if entity.label == "ORG" and not head.islower():
        return None  # titles go before people; "Purolator Courier Corp" is one name
    start, end = taken[0][0], head_end
    return _made(text, start, end, name, "role", covered)


def _from_title(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The words from the first capitalised one, when lower-case words that are not role
    modifiers come before it ("met UK Prime Minister" -> "UK Prime Minister")."""
    capitals = [i for i, (s, _) in enumerate(taken) if text[s].isupper()]
    if not capitals:
        return taken
    first = capitals[0]
    keep = first
    while keep > 0 and text[taken[keep - 1][0] : taken[keep - 1][1]].lower() in _ROLE_MODIFIERS:
        keep -= 1
    return taken[keep:]


def _apposition(text: str, entity: Entity, name: str, covered: dict[int, str]) -> Descriptor | None:
    """ ", the state-owned gas giant," or ", Russia's biggest oil firm," after the name."""
    m = _APPOSITION_START.match(text, entity.end) or _POSSESSIVE_START.match(text, entity.end)
    if m is None:
        return None
    start = m.end()
    stop = _APPOSITION_END.search(text, start, start + MAX_APPOSITION_CHARS + 1)
    if stop is None:
        return None
    end = stop.start()
    while end > start and text[end - 1].isspace():
        end -= 1
    spans = word_spans(text[start:end])
    if not spans or len(spans) > MAX_APPOSITION_WORDS:
        return None
    if any(w.lower() in _CLAUSE_WORDS for _, _, w in spans):
        return None
    first_label = covered.get(start)
    if first_label is not None and not re.match(r"[\w.&-]+['\u2019]s\b", text[start:end]):
        return None  # "..., the World Bank and the IMF": another name, not a description
    return _made(text, start, end, name, "apposition", covered)


def _abbreviation(text: str, entity: Entity, name: str) -> Descriptor | None:
    """ "the Office of Fair Trading (OFT)": the letters in brackets are the name's initials."""
    m = _ABBREVIATION.match(text, entity.end)
    if m is None:
        return None
    letters = m.group(1)
    if sum(ch.isupper() for ch in letters) < 2 or not initials_fit(letters, name):
        return None
    key = " ".join(content_terms(letters))
    if not key or " " in key:
        return None
    return Descriptor(m.start(1), m.end(1), key, name, "abbreviation")


def initials_fit(letters: str, name: str) -> bool:
    """Are the capitals of `letters` the initials of `name`'s words, in order (skipping
    words like "of" and "and")?"""
    initials = [w[0].upper() for w in re.findall(r"[A-Za-z][\w'-]*", name)]
    wanted = [ch for ch in letters if ch.isupper()]
    i = 0
    for initial in initials:
        if i < len(wanted) and initial == wanted[i]:
            i += 1
    return i == len(wanted) and initials[:1] == wanted[:1]


def _made(
    text: str, start: int, end: int, name: str, kind: str, covered: dict[int, str]
) -> Descriptor | None:
    """The descriptor text[start:end], if it holds a content word of its own (not only other
    names): "oil giant" does, "Microsoft" does not."""
    own = [
        w
        for s, _, w in word_spans(text[start:end])
        if covered.get(start + s) is None and w.lower() not in STOPWORDS
    ]
    key = " ".join(content_terms(text[start:end]))
    if not own or not key:
        return None
    if name.lower() in text[start:end].lower():
        return None
    return Descriptor(start, end, key, name, kind)


__all__ = ["HONORIFICS", "MINER_VERSION", "clean_name", "descriptors", "initials_fit"]
