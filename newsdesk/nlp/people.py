"""People, organisations and places of one article, each under one name.

An article names a person in full once and then shortens it: "Tony Blair", later "Mr Blair"
and "Blair". `named(entities)` folds the mentions of one article into canonical names with
their counts: honorifics and a possessive dropped, a surname alone (or with "Mr") joined to
the one full name in the article that ends with it, left alone when none or several do
("Blair" in an article naming both Tony and Cherie Blair). Organisations and places keep
their name as written, without a leading "the". Across the archive the same full name is the
same entry (`Ledger.people`), so a surname alone never joins another article's person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

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


def _name(text: str) -> str:
    name = clean_name(" ".join(text.split()))
    for tail in ("'s", "\u2019s"):
        if name.endswith(tail):
            name = name[: -len(tail)]
    return name.strip()


__all__ = ["TYPES", "named"]
