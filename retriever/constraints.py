"""What a question pins down, and whether an article's evidence honours it.

A question that names a year ("the 2006 World Cup final"), a quarter ("in Q1 2021", "the
third quarter") or a name ("against Marlene Weingartner", "Johnson & Johnson") asks about that
one thing. Retrieval will happily return the nearest article about another year or another
opponent, and an answer quoted from it reads as an answer while it is not one. So the
assistant reads these constraints from the question (a parse of its words, nothing fitted to a
question set) and keeps, as evidence, only articles that honour them all:

- a year is honoured by an article dated in that year, or whose text names it ("2004/05" and
  "2004-05" seasons name both years; a question naming several years, a period or a
  comparison, is honoured by any one of them);
- a quarter by its words in the text ("Q3", "third quarter", "three months to September" is not
  read: a quarter must be named);
- a name, a run of capitalised words that do not open the question ("Weingartner", "Lit Idol",
  "Duchy of Cornwall"), by its last word in the article ("Shephard" honours "Gillian
  Shephard"; a place matches its people: "Italian" honours "Italy").

Month and weekday names are dates, not names (the date words turn them into filters), and
capitalised question words ("Who", "What") never count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from newsdesk.core.text import STOPWORDS, content_terms, terms_match, word_set

_YEAR = re.compile(r"(?<![\d£$€.,])(?<!\d-)((?:19|20)\d\d)(?:[/-](\d\d))?(?![\d%]|[.,]\d|\w)")
_QUARTER = re.compile(
    r"\b(?:q([1-4])|(first|second|third|fourth|final|last)[- ]quarter)\b", re.IGNORECASE
)
_QUARTER_WORDS = ("first", "second", "third", "fourth")  # quarter n is _QUARTER_WORDS[n - 1]
_TOKEN = re.compile(r"[\w.&'\u2019-]+|[?!.;:,\"()]")
_CAPITALISED = re.compile(r"[A-Z][\w.&'\u2019-]*|&")
_DATE_WORDS = word_set(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday"""
)
# Words that join the parts of one name: "Duchy of Cornwall", "Johnson & Johnson".
_JOINERS = frozenset({"of", "&", "de", "du", "van", "von", "da", "del", "la", "le"})


@dataclass(frozen=True)
class Constraint:
    """One thing the question pins down: a year, a quarter or a name, as the question wrote
    it, with what an article must hold to honour it."""

    kind: str  # "year" | "quarter" | "name"
    text: str  # as written in the question: "2006", "Q1", "Marlene Weingartner"
    values: tuple[str, ...]  # years ("2004", "2005"), a quarter's number, or a name's stems
    # (all of them say how specific the name is; the last one must be in the article)


def question_constraints(question: str) -> tuple[Constraint, ...]:
    """The years, quarters and names `question` pins down, in the order it names them."""
    found: list[Constraint] = []
    written: list[str] = []
    years: list[str] = []
    for m in _YEAR.finditer(question):
        written.append(m.group(0))
        years.append(m.group(1))
        if m.group(2):
            years.append(m.group(1)[:2] + m.group(2))
    if years:  # several years span a period or compare: evidence of any one will do
        found.append(Constraint("year", " or ".join(written), tuple(dict.fromkeys(years))))
    for m in _QUARTER.finditer(question):
        word = (m.group(2) or "").lower()
        number = m.group(1) or str(_QUARTER_WORDS.index(word) + 1 if word in _QUARTER_WORDS else 4)
        found.append(Constraint("quarter", m.group(0), (number,)))
    found.extend(_names(question))
    return tuple(found)


def _names(question: str) -> list[Constraint]:
    """Runs of capitalised words that do not open the question (nor a sentence in it)."""
    tokens = [m.group(0) for m in _TOKEN.finditer(question)]
    out: list[Constraint] = []
    run: list[str] = []
    sentence_start = True

    def close() -> None:
        while run and run[-1].lower() in _JOINERS:
            run.pop()
        if run:
            stems = tuple(dict.fromkeys(content_terms(" ".join(run))))
            if stems:
                out.append(Constraint("name", " ".join(run), stems))
        run.clear()

    for token in tokens:
        if token in "?!.;:":
            close()
            sentence_start = True
            continue
        if token in ',"()':
            close()
            continue
        bare = re.sub(r"['\u2019]s?$", "", token)
        lower = bare.lower()
        opener = sentence_start
        sentence_start = False
        if _CAPITALISED.fullmatch(bare) and bare != "&" and not opener:
            quarter = re.fullmatch(r"q[1-4]", lower) is not None
            if quarter or lower in _DATE_WORDS or (lower in STOPWORDS and not bare.isupper()):
                close()
                continue
            run.append(bare)
        elif run and lower in _JOINERS:
            run.append(bare)
        else:
            close()
    close()
    return out


_SEVERAL = re.compile(
    r"(?:,|\band)\s+(?:who|whom|what|which|where|when|why|how|did|does|do|is|are|was|were)\b"
    r"|\b(?:each|both|compared?|comparison|versus|vs\.?|between|respectively)\b"
    r"|\b(?:more|less|fewer|older|younger|higher|lower|bigger|larger|smaller|better|worse)\b"
    r"[^?]*\bor\b",
    re.IGNORECASE,
)


def asks_for_several(question: str) -> bool:
    """Does the question ask for several facts (two questions joined by "and", a comparison,
    "each", "both"), which several articles may hold between them?"""
    return _SEVERAL.search(question) is not None


def unmet(constraints: Sequence[Constraint], text: str, published: str = "") -> list[Constraint]:
    """The constraints an article does not honour. `text` is its title and body, `published`
    its ISO date."""
    if not constraints:
        return []
    terms: set[str] | None = None
    lowered = text.lower()
    missing: list[Constraint] = []
    for c in constraints:
        if c.kind == "year":
            ok = any(published.startswith(y) or _names_year(lowered, y) for y in c.values)
        elif c.kind == "quarter":
            ok = _names_quarter(lowered, c.values[0])
        else:
            if terms is None:
                terms = set(content_terms(text))
            ok = _has_term(c.values[-1], terms)
        if not ok:
            missing.append(c)
    return missing


def _names_year(lowered: str, year: str) -> bool:
    pattern = rf"(?<![\d£$€.,]){year}(?!\d)|(?<=\d\d[/-]){year[2:]}(?!\d)"
    return re.search(pattern, lowered) is not None


def _names_quarter(lowered: str, number: str) -> bool:
    word = _QUARTER_WORDS[int(number) - 1]
    pattern = rf"\bq{number}\b|\b{word}[- ]quarter\b"
    if number == "4":
        pattern += r"|\b(?:final|last)[- ]quarter\b"
    return re.search(pattern, lowered) is not None


def _has_term(stem: str, terms: set[str]) -> bool:
    if stem in terms:
        return True
    return any(terms_match(stem, t) > 0.0 for t in terms if t[:3] == stem[:3])


def describe_unmet(missing: Sequence[Constraint]) -> str:
    """ "2006", "2006 or Weingartner": what no evidence article holds, for the reader."""
    names = list(
        dict.fromkeys(f"\u201c{c.text}\u201d" if c.kind == "name" else c.text for c in missing)
    )
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


__all__ = ["Constraint", "asks_for_several", "describe_unmet", "question_constraints", "unmet"]
