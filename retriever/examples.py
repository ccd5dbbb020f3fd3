"""Example questions for the UI, made from the titles of recent articles. Deterministic.

A headline of the usual "<Subject> <verb>s <rest>" shape becomes a question:

- "Russia Now Urges Kyiv To Enter Peace Talks" -> "What did Russia urge Kyiv to do?"
  (verbs that tell someone to do something: urge, ask, tell, call on, press, ...);
- "Ebbers denies WorldCom fraud" -> "What did Ebbers deny?" (verbs of saying);
- "Bad weather hits Nestle sales" -> "Why did bad weather hit Nestle sales?" (other verbs).

Other headlines fall back to 'What is the story behind "<headline>"?' or
'What does the archive say about "<headline>"?'. Questions come in the order of the titles;
headline-shaped ones first, then fallbacks, one per article, near-duplicate titles skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsdesk.core.text import STOPWORDS, word_set, words

_OBJECT_TO = word_set("urge ask tell call press push force order invite allow encourage")
_SAYING = word_set(
    """say warn admit insist vow pledge promise predict reveal confirm deny demand suggest
    argue hint threaten propose"""
)
_ACTION = word_set(
    """cut buy sell win lose back reject seek face agree sign launch unveil boost hit quit join
    sue ban criticise criticize attack defend accuse praise raise drop cancel delay approve
    scrap axe slash halve beat retain lift hike expand shut probe investigate jail appoint
    sack hire recall release drive help move vote catch reopen return leave reach rebuild take
    make hold find bring"""
)
# Verbs trusted in their base form too ("Ad sales boost ..."): rarely nouns or adverbs.
_PLURAL_OK = word_set(
    """boost lift threaten win lose face seek reject sue unveil launch urge warn deny admit
    retain quit join slash axe scrap buy sell catch vote reach return"""
)
_ADVERBS = word_set("now also still again finally formally officially quietly")
_MAX_SUBJECT_WORDS = 3
_MAX_QUESTION_WORDS = 16
_FALLBACKS = ('What is the story behind "{}"?', 'What does the archive say about "{}"?')


def example_questions(titles: Sequence[tuple[str, str]], n: int) -> list[str]:
    """Up to `n` example questions from (doc_id, title) pairs, most recent first."""
    if n <= 0:
        return []
    shaped: list[str] = []
    plain: list[str] = []
    seen_titles: list[frozenset[str]] = []
    common = _common_words(titles)
    for _doc_id, title in titles:
        short = _short_title(title)
        tokens = frozenset(words(short))
        if len(tokens) < 2 or any(_jaccard(tokens, t) >= 0.5 for t in seen_titles):
            continue
        seen_titles.append(tokens)
        question = _headline_question(short, common)
        if question:
            shaped.append(question)
        else:
            plain.append(_FALLBACKS[len(plain) % len(_FALLBACKS)].format(short))
    out: list[str] = []
    for q in [*shaped, *plain]:
        if q not in out:
            out.append(q)
    return out[:n]


def _short_title(title: str) -> str:
    """The headline before a colon or dash subtitle, without trailing punctuation."""
    short = re.split(r":\s|\s[-\u2013\u2014|]\s", " ".join(title.split()), maxsplit=1)[0]
    return short.strip(" .!?;,")


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _base(word: str) -> str | None:
    """The base form of a headline verb ("urges" -> "urge", "denies" -> "deny"), or None."""
    w = word.lower()
    known = _OBJECT_TO | _SAYING | _ACTION
    if w in _PLURAL_OK:
        return w
    if w.endswith("ies") and w[:-3] + "y" in known:
        return w[:-3] + "y"
    for candidate in (w[:-1] if w.endswith("s") else "", w[:-2] if w.endswith("es") else ""):
        if candidate in known:
            return candidate
    return None


def _headline_question(title: str, common: frozenset[str]) -> str | None:
    tokens = title.split()
    title_case = _is_title_case(tokens)
    for i, token in enumerate(tokens[1 : _MAX_SUBJECT_WORDS + 2], start=1):
        verb = _base(token)
        if verb is None:
            continue
        subject = [t for t in tokens[:i] if t.lower() not in _ADVERBS]
        if not subject or len(subject) > _MAX_SUBJECT_WORDS or not subject[0][:1].isupper():
            return None
        if any(_base(t) or t.lower() in STOPWORDS or not _plain(t) for t in subject):
            return None
        if i + 1 < len(tokens) and tokens[i + 1].lower() in {"by", "of"}:
            return None  # "Shares hit by ...": passive; "boost of": a noun
        if not title_case and not token.islower():
            return None  # "South Bank Awards ...": a capitalised word is a name here
        if token.lower() == verb and not _plural(subject[-1]):
            return None  # "Brazil buy boosts ...": a base form needs a plural subject
        who = _subject_text(subject, title_case, common)
        rest = [_lower_small(t, title_case) for t in tokens[i + 1 :]]
        question = _question(verb, who, rest)
        if question and len(question.split()) <= _MAX_QUESTION_WORDS:
            return question
        return None
    return None


def _question(verb: str, who: str, rest: list[str]) -> str | None:
    if verb in _OBJECT_TO:
        lowered = [r.lower() for r in rest]
        if verb == "call" and lowered[:1] == ["on"]:
            verb, rest, lowered = "call on", rest[1:], lowered[1:]
        if verb == "call" and lowered[:1] == ["for"]:
            return f"What did {who} call for?"
        if "to" in lowered and lowered.index("to") > 0:
            target = " ".join(rest[: lowered.index("to")])
            return f"What did {who} {verb} {target} to do?"
        return None
    if verb in _SAYING:
        return f"What did {who} {verb}?"
    if not rest:
        return None
    return f"Why did {who} {verb} {' '.join(rest)}?"


def _is_title_case(tokens: list[str]) -> bool:
    long_words = [t for t in tokens if len(t) > 3 and t[:1].isalpha()]
    return bool(long_words) and sum(t[:1].isupper() for t in long_words) >= 0.7 * len(long_words)


def _plural(word: str) -> bool:
    w = word.lower()
    return len(w) > 2 and w.endswith("s") and not w.endswith(("ss", "us", "'s"))


def _plain(token: str) -> bool:
    """A word without quotes or other punctuation (hyphens, '&' and "'s" allowed)."""
    return bool(re.fullmatch(r"[\w&-]+(?:['\u2019]s)?", token))


def _subject_text(subject: list[str], title_case: bool, common: frozenset[str]) -> str:
    """The subject as it reads mid-sentence: "Bad weather" -> "bad weather" when "bad" is
    seen in lower case in other headlines; names stay as they are."""
    first = subject[0]
    if not title_case and first[1:].islower() and first.lower() in common:
        first = first.lower()
    return " ".join([first, *subject[1:]])


def _common_words(titles: Sequence[tuple[str, str]]) -> frozenset[str]:
    """Words written in lower case inside sentence-case headlines: evidence that they are
    ordinary words, not names."""
    out: set[str] = set()
    for _, title in titles:
        tokens = title.split()
        if not _is_title_case(tokens):
            out.update(t for t in tokens[1:] if t.islower())
    return frozenset(out)


def _lower_small(token: str, title_case: bool) -> str:
    """In a Title Case headline, function words go lower case ("To" -> "to")."""
    if title_case and token.lower() in STOPWORDS:
        return token.lower()
    return token
