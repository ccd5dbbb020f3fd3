"""People, organisations and places of one article, each under one name.

An article names a person in full once and then shortens it: "Tony Blair", later "Mr Blair"
and "Blair". `named(entities)` folds the mentions of one article into canonical names with
their counts: honorifics and a possessive dropped, a surname alone (or with "Mr") joined to
the one full name in the article that ends with it, left alone when none or several do
("Blair" in an article naming both Tony and Cherie Blair). Organisations and places keep
their name as written, without a leading "the". Across the archive the same full name is the
same entry (`Ledger.people`), so a surname alone never joins another article's person.

`coreferred(text, entities)` mends what a small NER model misses before any of that: once an
article names "Cyril Saulnier", every later "Saulnier" (and "Saulnier's") is that person,
whether the model tagged it ORG ("Haas") or nothing at all.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from newsdesk.core.text import STOPWORDS, word_set
from newsdesk.core.types import Entity
from newsdesk.nlp.descriptors import clean_name

TYPES = {"PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place", "FAC": "place"}


def named(entities: Sequence[Entity]) -> list[tuple[str, str, int]]:
    """(name, type, mentions) of the people, organisations and places among `entities`."""
    counts: Counter[tuple[str, str]] = Counter()
    people = [e for e in entities if e.label == "PERSON"]
    full = {_name(e.text) for e in people if len(_name(e.text).split()) > 1}
    for e in entities:
        kind = TYPES.get(e.label)
        name = _name(e.text)
        if kind is None or not name or name.islower() or not name[0].isalnum():
            continue  # "cts" (cents) in wire tables: a name is capitalised
        if kind == "person" and len(name.split()) == 1:
            owners = [f for f in full if f.split()[-1].lower() == name.lower()]
            if len(owners) == 1:
                name = owners[0]
        counts[(name, kind)] += 1
    return [(name, kind, n) for (name, kind), n in sorted(counts.items())]


MIN_SURNAME_CHARS = 3
_MISTAKEN_FOR = frozenset({"ORG", "GPE", "NORP"})  # what a lone surname is tagged wrongly as
# surnames that are also dates ("Theresa May" and "in May"): never spread
_CALENDAR_WORDS = word_set(
    """january february march april may june july august september october november
    december monday tuesday wednesday thursday friday saturday sunday"""
)


def coreferred(text: str, entities: Sequence[Entity]) -> list[Entity]:
    """`entities` with every capitalised use of a person's surname tagged PERSON: a span of
    the same words the model tagged ORG, GPE or NORP is relabelled, an untagged one added.
    Only a surname exactly one full name of the article ends with counts ("Blair" with both
    Tony and Cherie Blair named is left as it is), never a month or day name ("May" for
    Theresa May), and never inside or across another entity (a DATE "May" stays a date)."""
    entities = _without_group_prefix(text, entities)
    owners: dict[str, set[str]] = {}
    for e in entities:
        if e.label == "PERSON":
            parts = _name(e.text).split()
            if len(parts) > 1 and all(p[:1].isupper() for p in parts):
                owners.setdefault(parts[-1], set()).add(" ".join(parts))
    surnames = [
        s
        for s, full in owners.items()
        if len(full) == 1 and len(s) >= MIN_SURNAME_CHARS and s.lower() not in _CALENDAR_WORDS
    ]
    if not surnames:
        return list(entities)
    out = list(entities)
    taken = sorted((e.start, e.end, i) for i, e in enumerate(out))
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in surnames) + r")\b")
    for m in pattern.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end() : m.end() + 2]
        if (
            after[:1].isalnum()
            or (after[:1] == "-" and after[1:].isalpha())
            or before in "-'\u2019"
        ):
            continue  # part of a longer word ("Haas-Smith", "O'Neill")
        inside = [i for s, e, i in taken if s < m.end() and m.start() < e]  # overlapping
        if not inside:
            out.append(Entity(m.start(), m.end(), "PERSON", m.group(0)))
            continue
        for i in inside:
            e = out[i]
            if e.label in _MISTAKEN_FOR and _name(e.text) == m.group(0):
                out[i] = Entity(e.start, e.end, "PERSON", e.text)  # "Haas" tagged ORG
    return sorted(out, key=lambda e: (e.start, e.end))


_GROUP_LABELS = frozenset({"ORG", "GPE", "NORP"})


# The words company names end in (legal forms and the like): never a first name or surname.
COMPANY_WORDS = word_set(
    """
    plc inc corp co ltd llc lp group holdings holding sa ag nv bv gmbh spa kk company
    corporation limited trust securities bank bancorp fund partners associates industries
    international capital markets research agency institute services management
    """
)


def _without_group_prefix(text: str, entities: Sequence[Entity]) -> list[Entity]:
    """Names the model ran into the organisation before them, cut to the person: a PERSON
    span ("Lib Dems David Laws") when the article names that organisation on its own
    elsewhere, and an ORG span that ends in a person ("the United Nations Vasily Nebenzya",
    "the Lib Dems David Laws", relabelled PERSON; see `_person_at_end`)."""
    groups = {
        " ".join(e.text.split()).removeprefix("the ") for e in entities if e.label in _GROUP_LABELS
    }
    names = {_name(e.text).lower() for e in entities}
    surnames = {w[-1] for e in entities if e.label == "PERSON" and (w := _name(e.text).split())}
    out: list[Entity] = []
    for e in entities:
        words = list(re.finditer(r"\S+", e.text))
        if e.label == "PERSON" and len(words) > 2:
            for cut in range(len(words) - 2, 0, -1):  # the longest group prefix, two words kept
                if " ".join(w.group(0) for w in words[:cut]) in groups:
                    at = words[cut].start()
                    e = Entity(e.start + at, e.end, e.label, e.text[at:])
                    break
        elif e.label == "ORG" and _person_at_end(
            text, [w.group(0) for w in words], names, surnames
        ):
            at = words[-2].start()
            e = Entity(e.start + at, e.end, "PERSON", e.text[at:])
        out.append(e)
    return out


def _person_at_end(text: str, words: list[str], names: set[str], surnames: set[str]) -> bool:
    """Do an organisation's words end in a person's name: two capitalised words never
    written in lower case in the text (a name, not "Wood Green" or "Film Council"), after at
    least two words that do not end in a function word and that the article names on its
    own ("Lib Dems"), or with a surname a person the article names has ("Nebenzya")?"""
    if words and words[0].lower() == "the":
        words = words[1:]
    head, name = words[:-2], words[-2:]
    if len(head) < 2 or head[-1].lower() in STOPWORDS:
        return False
    for w in name:
        if not (w[:1].isupper() and w.isalpha()) or re.search(rf"\b{w.lower()}\b", text):
            return False
        if w.lower() in COMPANY_WORDS:  # "Morgan Grenfell Group Plc" ends in no person
            return False
    return " ".join(head).lower() in names or name[-1] in surnames


def _name(text: str) -> str:
    name = clean_name(" ".join(text.split()))
    for tail in ("'s", "\u2019s"):
        if name.endswith(tail):
            name = name[: -len(tail)]
    return name.strip()


__all__ = ["TYPES", "coreferred", "named"]
