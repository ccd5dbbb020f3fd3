"""Word-level text helpers shared by the answer-side modules: tokens, stopwords, stems.

Everything here is pure and cheap. The Snowball stemmer (PyStemmer) is created lazily, one
per thread, because its objects are not safe to share between threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

# Function words, question words and auxiliaries: they say nothing about a topic.
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each either else ever few for from further had hadn't has
hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's many
may me might more most much must mustn't my myself neither no nor not now of off on once
only or other ought our ours ourselves out over own per same shall shan't she she'd she'll
she's should shouldn't since so some such than that that's the their theirs them themselves
then there there's these they they'd they'll they're they've this those through thus to too
under until up upon us very via was wasn't we we'd we'll we're we've were weren't what
what's whatever when when's where where's whether which while who who's whom whose why why's
will with within without won't would wouldn't yet you you'd you'll you're you've your yours
yourself yourselves tell me please know anything something
"""


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a constant, as a set."""
    return frozenset(text.split())


STOPWORDS = word_set(_STOPWORDS_TEXT)

# Apostrophes are normalised to "'" before matching; "'s" is dropped from the end of a word.
_WORD = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})

# Stem endings that turn a place into its people or adjective (stems, so "ian" not "ians").
_DEMONYM_ENDINGS = frozenset({"n", "an", "ian", "ean", "ese", "i"})

_local = threading.local()


def _tokens(text: str) -> list[tuple[str, str]]:
    """(normalised, original) word pairs; see `words`."""
    out: list[tuple[str, str]] = []
    for m in _WORD.finditer(text.translate(_APOSTROPHES)):
        original = m.group(0)
        w = original.lower()
        if w[0].isdigit():
            w = w.replace(",", "")
        elif w.endswith("'s"):
            w = w[:-2]
        if w:
            out.append((w, original))
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens; possessive "'s" removed, numbers kept ("6,595" -> "6595")."""
    return [w for w, _ in _tokens(text)]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Word tokens with their offsets in `text`, original casing, apostrophes as given."""
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text.translate(_APOSTROPHES))]


def _stemmer() -> object:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        _local.stemmer = stemmer
    return stemmer


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))  # type: ignore[attr-defined]


def stems(tokens: Iterable[str]) -> list[str]:
    return [str(s) for s in _stemmer().stemWords(list(tokens))]  # type: ignore[attr-defined]


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` that are not stopwords, in order. An acronym that looks
    like a stopword ("US", "IT") is kept unless the whole text is in capitals."""
    shouting = text.isupper()
    return [
        w
        for w, original in _tokens(text)
        if w not in STOPWORDS or (not shouting and len(original) > 1 and original.isupper())
    ]


def content_terms(text: str) -> list[str]:
    """Stems of the content words of `text`, in order (with repeats)."""
    return stems(content_words(text))


def terms_match(a: str, b: str) -> float:
    """How well stem `a` matches stem `b`: 1.0 equal, 0.7 for a place and its people
    ("russia"/"russian", "ukrain"/"ukrainian", "belarus"/"belarusian"), else 0.0."""
    if a == b:
        return 1.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 4 and long_.startswith(short) and long_[len(short) :] in _DEMONYM_ENDINGS:
        return 0.7
    return 0.0
