"""Three outcomes for a question: answered, not stated, refused.

`judge` decides, after retrieval and before any answer is composed:

- `refused`: nothing relevant (the refusal test of `retriever.refusal`), or the question names
  only years the archive's dates do not reach ("The archive covers 1987; nothing from 1989.").
  The second needs an archive whose articles are mostly dated: an undated archive cannot say
  what period it covers.
- `not_stated`: the archive covers the subject, but none of the articles the answer would
  quote honours what the question pins down (`retriever.constraints`: a year, a quarter, a
  name). One line says what is missing, then the closest evidence is shown, cited and labelled
  as not an answer.
- `answered`: the answer is composed from the articles that honour every constraint, in their
  retrieval order; the others are set aside, unless the question asks for several facts
  (`asks_for_several`: "..., and who ...", a comparison, "each", "both"), which articles that
  honour only some of its constraints may hold between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsdesk.core.types import ArticleHit, DateSpan, Status
from newsdesk.retriever.constraints import (
    Constraint,
    asks_for_several,
    describe_unmet,
    question_constraints,
    unmet,
)
from newsdesk.retriever.refusal import refusal_text

# (title + text, published) of an article by doc_id, or None if it is gone.
ArticleText = Callable[[str], "tuple[str, str] | None"]

# The share of passages a term is in, for how specific a name in the question is.
TermShare = Callable[[str], float]

NAME_SHARE = 0.02  # a name binds if its rarest word is in at most this share of passages
DEPTH = 5  # how many of the ranked articles may give evidence (the answerer reads as many)


@dataclass(frozen=True)
class Judgement:
    status: Status
    evidence: tuple[ArticleHit, ...]  # what the answer may quote (all hits when not answered)
    statement: str = ""  # for a non-answer: the one line that says why


def judge(
    question: str,
    hits: Sequence[ArticleHit],
    *,
    relevant: bool,
    span: DateSpan,
    article_text: ArticleText,
    term_share: TermShare | None = None,
    depth: int = DEPTH,
) -> Judgement:
    """The outcome for `question` given its ranked `hits`; `relevant` is the refusal test's
    verdict on them."""
    hits = tuple(hits)
    if not relevant:
        return Judgement("refused", hits, refusal_text(question, hits))
    constraints = question_constraints(question)
    years = [c for c in constraints if c.kind == "year"]
    if years and span.mostly_dated and span.earliest and span.latest:
        first, last = span.earliest.year, span.latest.year
        outside = [c for c in years if all(not first <= int(y) <= last for y in c.values)]
        if len(outside) == len(years):
            asked = describe_unmet(outside)
            return Judgement(
                "refused", hits, f"The archive covers {span.years()}; nothing from {asked}."
            )
    constraints = tuple(c for c in constraints if binds(c, term_share))
    if not constraints:
        return Judgement("answered", hits)
    kept: list[ArticleHit] = []
    missing_per_article: list[list[Constraint]] = []
    for hit in hits[:depth]:
        found = article_text(hit.doc_id)
        if found is None:
            continue
        missing = unmet(constraints, *found)
        missing_per_article.append(missing)
        if not missing:
            kept.append(hit)
    if kept and not asks_for_several(question):
        return Judgement("answered", tuple(kept))
    if kept:  # a question of several parts may need the articles that honour only some
        return Judgement("answered", hits)
    # No one article honours them all. A comparison ("X or Y?") spreads its names over
    # several articles: answered if each constraint is honoured by one of them.
    nowhere = [c for c in constraints if all(c in m for m in missing_per_article)]
    if not nowhere:
        return Judgement("answered", hits)
    return Judgement("not_stated", hits, not_stated_text(hits, nowhere))


def binds(c: Constraint, term_share: TermShare | None) -> bool:
    """Does `c` pin anything down? A year or quarter does; a name only if it is specific:
    its rarest word is in at most `NAME_SHARE` of the archive's passages ("Weingartner",
    "Lit Idol"), not one found everywhere ("British", "UK", "U.S.")."""
    if c.kind != "name" or term_share is None:
        return True
    return min(term_share(v) for v in c.values) <= NAME_SHARE


def not_stated_text(hits: Sequence[ArticleHit], missing: Sequence[Constraint]) -> str:
    """One line: the archive reports on the subject, but not what the question pins down."""
    what = describe_unmet(missing)
    if hits:
        closest = hits[0].best.headline or hits[0].doc_id
        return (
            f"The archive reports on this (closest: \u201c{closest}\u201d), but none of the "
            f"closest articles mentions {what}, so it does not state the answer."
        )
    return f"No article in the archive mentions {what}."


__all__ = ["DEPTH", "Judgement", "judge", "not_stated_text"]
