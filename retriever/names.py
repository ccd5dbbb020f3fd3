"""The archive's name table: which name a description in a question points to.

Built from the descriptors every article gives its people and organisations (mined at
ingest, `newsdesk.nlp.descriptors`): "Chancellor Gordon Brown" in one article, "Mr Brown, the
chancellor," in another. A description is trusted only when the archive agrees on it: at
least `MIN_ARTICLES` articles give it, most of the articles that give it (more than
`MIN_SHARE`) give it to one name, and most of the articles that use its words name that name
too (the description predicts the name: a verb or a common word mined by mistake, "court",
"keep", does not). "The chancellor" in a 2004-5 British archive is Gordon
Brown; "the striker" is many people and points nowhere. A surname alone ("Brown") counts
for the full name that the same description gives ("Gordon Brown"), as the news itself
shortens it.

`NameTable.names_in(question)` finds the trusted descriptions in a question and returns the
names they point to, leaving out a name the question already gives: the search adds those
names' words to its lexical query (`retriever.search`). Keys and questions are read the same
way (stemmed content terms, in runs between function words) and the longest description in
the question wins, so "the shadow chancellor" finds Oliver Letwin before "chancellor" could
find Gordon Brown. A modifier with no entry of its own leaves the head it modifies when some
description of that name holds it ("the UK chancellor": "UK Chancellor Gordon Brown"), and
nothing otherwise ("the Thai prime minister" is not Tony Blair).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from newsdesk.core.text import content_runs, content_terms

# (key terms, name terms) -> (articles holding the key terms, articles holding both)
Cooccurrence = Callable[[list[str], list[str]], tuple[int, int]]

MIN_ARTICLES = 2  # one article's description proves nothing about the archive
MIN_SHARE = 0.5  # the name must hold most of the articles that give the description
MAX_KEY_TERMS = 8


@dataclass(frozen=True)
class Named:
    """A description in a question and the name the archive gives it."""

    key: str
    name: str
    articles: int  # articles that give this description to this name
    share: float  # their share of all articles that give the description


@dataclass(frozen=True)
class NameTable:
    """Trusted descriptions (stemmed key -> name); empty for an archive without entities."""

    entries: dict[str, Named] = field(default_factory=dict)
    # every term any description of a name holds, trusted or not ("uk", "labour", "prime"):
    # what a question's extra modifier must be to leave the name standing
    described_by: dict[str, frozenset[str]] = field(default_factory=dict)
    stamp: str = "0"  # the ledger's names stamp it was built at

    @classmethod
    def build(
        cls,
        counts: Iterable[tuple[str, str, int]],
        stamp: str = "0",
        cooccurrence: Cooccurrence | None = None,
    ) -> NameTable:
        """From (key, name, articles) rows: `Ledger.descriptor_counts()`. With
        `cooccurrence`, a description must also predict its name: of the articles holding
        its words, more than MIN_SHARE also hold the name's. ("court" is given to Microsoft
        by two BBC articles and to no other name, but only 7 of the 196 articles that say
        "court" name Microsoft; 71 of the 108 that say "chancellor" name Gordon Brown.)"""
        by_key: dict[str, dict[str, int]] = defaultdict(dict)
        for key, name, n in counts:
            if key and len(key.split()) <= MAX_KEY_TERMS:
                by_key[key][name] = by_key[key].get(name, 0) + n
        entries: dict[str, Named] = {}
        terms: dict[str, set[str]] = defaultdict(set)
        for key, names in by_key.items():
            merged = _surnames_joined(names)
            for name in merged:
                terms[name].update(key.split())
            total = sum(merged.values())
            name, top = max(merged.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))
            if top < MIN_ARTICLES or top <= MIN_SHARE * total:
                continue
            if cooccurrence is not None:
                with_key, with_both = cooccurrence(key.split(), content_terms(name))
                if with_both <= MIN_SHARE * with_key:
                    continue
            entries[key] = Named(key, name, top, top / total)
        trusted = {n.name for n in entries.values()}
        described_by = {
            name: frozenset(t | set(content_terms(name)))
            for name, t in terms.items()
            if name in trusted
        }
        return cls(entries, described_by, stamp)

    def names_in(self, question: str) -> list[Named]:
        """The names the trusted descriptions in `question` point to, first found first;
        none that the question already names. A description found inside a longer phrase
        counts only when the word right before it could describe the same name: "the Thai
        prime minister" is not the "prime minister" of a British archive."""
        if not self.entries:
            return []
        runs = content_runs(question)
        asked = {t for run in runs for t in run}
        found: list[Named] = []
        for run in runs:
            used = [False] * len(run)
            for n in range(min(len(run), MAX_KEY_TERMS), 0, -1):
                for i in range(len(run) - n + 1):
                    named = (
                        None if any(used[i : i + n]) else self.entries.get(" ".join(run[i : i + n]))
                    )
                    if named is None:
                        continue
                    used[i : i + n] = [True] * n
                    if i > 0 and run[i - 1] not in self.described_by.get(named.name, ()):
                        continue  # modified by a word no description of this name has
                    if not set(content_terms(named.name)) <= asked and named not in found:
                        found.append(named)
        return found

    def terms(self, question: str) -> list[str]:
        """The content terms of the names `names_in(question)` finds (for the BM25 query)."""
        return [t for named in self.names_in(question) for t in content_terms(named.name)]


def _surnames_joined(names: dict[str, int]) -> dict[str, int]:
    """Fold a one-word name into the one full name of the same description that ends with
    it ("Brown" into "Gordon Brown"); left alone when no or several full names end so."""
    full = [n for n in names if len(n.split()) > 1]
    out = dict(names)
    for name in names:
        if len(name.split()) != 1:
            continue
        owners = [f for f in full if f.split()[-1].lower() == name.lower()]
        if len(owners) == 1:
            out[owners[0]] += out.pop(name)
    return out


__all__ = ["MIN_ARTICLES", "MIN_SHARE", "NameTable", "Named"]
