"""People, organisations and places as a reader looks them up: the names the archive holds
and one name's page (its roles, quotes and articles over time), from what the mining pass
stored at ingest (`newsdesk.nlp.people`, `newsdesk.nlp.descriptors`, `newsdesk.nlp.quotes`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newsdesk.core.text import words
from newsdesk.retriever.quotations import QuoteHit
from newsdesk.store.names import NamedArticle

MIN_ROLE_TEXTS = 2  # a description given by one article only is as often a mining slip


@dataclass(frozen=True)
class Name:
    """A name of the archive: the `newsdesk people --json` object."""

    name: str
    type: str
    mentions: int
    articles: int
    first: str
    last: str

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "mentions": self.mentions,
            "articles": self.articles,
            "first": self.first or None,
            "last": self.last or None,
        }


@dataclass(frozen=True)
class Profile:
    """One name's page: `roles` (description, texts giving it), `quotes` newest first,
    `articles` newest first, `by_month` ("YYYY-MM", articles) oldest first."""

    name: Name
    roles: tuple[tuple[str, int], ...]
    quotes: tuple[QuoteHit, ...]
    articles: tuple[NamedArticle, ...]
    by_month: tuple[tuple[str, int], ...]


def matching_names(
    rows: Iterable[tuple[str, str, int, int, str, str]], query: str | None
) -> list[Name]:
    """The names of `rows` (`Ledger.people`) holding every word of `query` as a word."""
    wanted = set(words(query or ""))
    return [Name(*r) for r in rows if wanted <= set(words(r[0]))]


def best_name(found: Sequence[Name], query: str) -> Name | None:
    """The name `query` means: the one written as typed (case aside), else the one named by
    the most articles."""
    typed = " ".join(words(query))
    exact = [n for n in found if " ".join(words(n.name)) == typed]
    ranked = exact or list(found)
    return ranked[0] if ranked else None


def build_profile(
    name: Name,
    roles: Sequence[tuple[str, int]],
    quotes: Sequence[QuoteHit],
    articles: Sequence[NamedArticle],
) -> Profile:
    """The page of `name` from what the ledger holds on it; only the quotes its canonical
    name is given (not every "Brown")."""
    own = tuple(q for q in quotes if q.quote.speaker == name.name)
    months = Counter(a.published[:7] for a in articles if a.published)
    kept_roles = tuple(r for r in roles if r[1] >= MIN_ROLE_TEXTS)
    return Profile(name, kept_roles, own, tuple(articles), tuple(sorted(months.items())))


__all__ = ["MIN_ROLE_TEXTS", "Name", "Profile", "best_name", "build_profile", "matching_names"]
