"""The one text analysis of Newsdesk: sentences, words, content terms and BM25 terms.

Ingest (chunk boundaries, the BM25 index) and the read side (query terms, refusal coverage,
answer sentences, follow-ups) all split text here, so a question means the same words to
every part of the program. Everything is pure and cheap. The Snowball stemmer (PyStemmer) is
created lazily, one per thread, because its objects must not be shared between threads.

Sentence offsets index into the text given, so a sentence is always `text[start:end]`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

# Bump when `terms` changes: a BM25 index built with other terms is rebuilt, not misread.
ANALYSER_VERSION = 2


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a constant, as a set."""
    return frozenset(text.split())


# ---------------------------------------------------------------- stopwords
# The base: function words, question words and auxiliaries. They say nothing about a topic.
BASE_STOPWORDS = word_set(
    """
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
yourself yourselves
"""
)
# A named extra: how people phrase a request to an assistant ("tell me anything you know
# about ..."). Reporting verbs ("said", "according") are not stopwords: "what did X say"
# asks for a statement, and IDF already gives words found in most chunks little weight.
REQUEST_WORDS = word_set("tell please know anything something")

STOPWORDS = BASE_STOPWORDS | REQUEST_WORDS


# ---------------------------------------------------------------- words
# A token is a dotted acronym ("U.S."), a number with its separators and an optional percent
# sign ("6,595", "3.5%"), or a run of letters and digits with inner apostrophes ("G8", "don't").
# Apostrophes are normalised to "'" first; "'s" is dropped from the end of a word.
_WORD = re.compile(
    r"[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W_])"
    r"|\d+(?:[.,]\d+)*%?(?![^\W_])"
    r"|[^\W_]+(?:'[^\W_]+)*",
    re.UNICODE,
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})

# Stem endings that turn a place into its people or adjective (stems, so "ian" not "ians").
_DEMONYM_ENDINGS = frozenset({"n", "an", "ian", "ean", "ese", "i"})

_local = threading.local()


def _normalise(original: str) -> str:
    w = original.lower()
    if w[0].isdigit():
        return w.replace(",", "")
    if "." in w:  # a dotted acronym: "u.s." -> "us"
        return w.replace(".", "")
    if w.endswith("'s"):
        return w[:-2]
    return w


def _tokens(text: str) -> list[tuple[str, str]]:
    """(normalised, original) word pairs; see `words`."""
    out: list[tuple[str, str]] = []
    for m in _WORD.finditer(text.translate(_APOSTROPHES)):
        original = m.group(0)
        w = _normalise(original)
        if w:
            out.append((w, original))
    return out


def words(text: str) -> list[str]:
    """Lower-cased word tokens: possessive "'s" removed, numbers kept whole ("6,595" ->
    "6595", "3.5"), dotted acronyms joined ("U.S." -> "us")."""
    return [w for w, _ in _tokens(text)]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """Word tokens with their offsets in `text`, original casing, apostrophes as given."""
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text.translate(_APOSTROPHES))]


def _stemmer() -> Any:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
        _local.stemmer = stemmer
    return stemmer


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def stems(tokens: Iterable[str]) -> list[str]:
    return [str(s) for s in _stemmer().stemWords(list(tokens))]


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` that are not stopwords, in order. An acronym that looks
    like a stopword ("US", "IT", "U.S.") is kept unless its whole line is in capitals (a
    wire headline shouts every word)."""
    out: list[str] = []
    for line in text.split("\n"):
        shouting = line.isupper()
        out.extend(w for w, original in _tokens(line) if _is_content(w, original, shouting))
    return out


def _is_content(word: str, original: str, shouting: bool) -> bool:
    return word not in STOPWORDS or (not shouting and len(original) > 1 and original.isupper())


def content_runs(text: str) -> list[list[str]]:
    """The stems of `text`'s content words, in runs that function words and line breaks
    separate: "who is the UK chancellor" -> [["uk", "chancellor"]]."""
    runs: list[list[str]] = []
    for line in text.split("\n"):
        shouting = line.isupper()
        run: list[str] = []
        for w, original in _tokens(line):
            if _is_content(w, original, shouting):
                run.append(w)
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
    return [stems(run) for run in runs]


def content_terms(text: str) -> list[str]:
    """Stems of the content words of `text`, in order (with repeats): the unit of BM25
    matching, of refusal coverage and of the answerer's overlap with a question."""
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


# ---------------------------------------------------------------- sentences
# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "gen",
        "col",
        "capt",
        "lt",
        "sgt",
        "rep",
        "sen",
        "gov",
        "pres",
        "rev",
        "hon",
        "inc",
        "ltd",
        "corp",
        "co",
        "plc",
        "bros",
        "dept",
        "est",
        "fig",
        "vol",
        "vs",
        "etc",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
    ]
)

# A candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace; a
# blank line; a line break before a bullet; a line break before an indented line (hard-wrapped
# wire copy starts each paragraph indented).
_END = re.compile(
    r"""[.!?]+["'\u201d\u2019)\]]*(?=\s)|\n\s*\n|\n(?=\s*[-*\u2022]\s)|\n(?=[ \t]+\S)"""
)

# Hard-wrapped text (wire copy, e-mail, old plain-text archives) breaks lines at a fixed width
# whatever the sentence. A line that reaches most of that width was broken by the wrap, not
# by the writer, so a sentence runs on across it. Wrap widths are 60-80 columns in practice;
# a text whose lines are much longer holds one paragraph per line and is not wrapped.
_WRAP_SHARE = 0.75
_NEW_PARAGRAPH = re.compile(r"[ \t]|\s*[-*\u2022]\s")  # an indented line or a list item
# Words a sentence does not end on: a wrapped line ending in one (or in a comma) runs on
# whatever its length ("... after complaints from rival banks, the / Northern Savings group").
_RUNS_ON = word_set(
    """a an the of to in into on onto at by for from with and or nor but as than its his her
    their our your my whose"""
)
_MAX_WRAP_WIDTH = 100
_MIN_WRAPPED_LINES = 3


def wrap_width(text: str) -> int:
    """The column `text` is hard-wrapped at, or 0 when its lines are not wrapped. A
    paragraph's last line is as short as its sentence leaves it, so only the lines a
    paragraph goes on after count: a short wire story of three two-line paragraphs is
    wrapped as surely as a long one."""
    lines = text.split("\n")
    if sum(1 for line in lines if line.strip()) < _MIN_WRAPPED_LINES:
        return 0
    lengths = sorted(
        len(line.rstrip())
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if line.strip() and after.strip() and not _NEW_PARAGRAPH.match(after)
    )
    if not lengths:
        return 0
    width = lengths[(9 * (len(lengths) - 1)) // 10]  # most lines reach it; a few overrun
    full = sum(1 for n in lengths if n >= _WRAP_SHARE * width)
    if width > _MAX_WRAP_WIDTH or full * 2 < len(lengths):
        return 0
    return width


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial ("J. Smith")."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    if word == "no":  # "No. 10" abbreviates number; "said no." ends a sentence
        rest = text[dot + 1 : dot + 3].lstrip()
        return bool(rest) and rest[0].isdigit()
    return len(word) == 1 and word.isalpha() and text[start].isupper()


def _next_starts_sentence(text: str, pos: int) -> bool:
    """Does the text after `pos` look like the start of a new sentence?"""
    m = re.compile(r"\s*").match(text, pos)
    i = m.end() if m else pos
    if i >= len(text):
        return True
    ch = text[i]
    return not ch.islower()


# Bump when `split_sentences` moves where sentences start or end: the sentence vectors an
# index stores per sentence are then made anew by the next `newsdesk ingest` or `enrich`.
SPLIT_VERSION = "3"  # 2: a wrapped paragraph's short first line runs on; 3: short stories
# are wrapped too, and a wrapped line ending in "the" or a comma runs on


def split_key(model: str) -> str:
    """The key per-sentence data of `model` is stored under: the model's identity and the
    version of the splitter that cut the sentences, so that vectors of sentences split
    otherwise are made anew, never read at the wrong places."""
    return f"{model}#split{SPLIT_VERSION}"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences; returns (start, end) offsets with whitespace trimmed.

    Never returns empty spans; the spans are in order and do not overlap. Blank lines,
    indented lines and list items start a new sentence; in hard-wrapped text (see
    `wrap_width`) a sentence runs on across the single line breaks of the wrap.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        token = m.group(0)
        if token[0] in ".!?":
            single_dot = token[0] == "." and len(token.rstrip("\"'\u201d\u2019)]")) == 1
            if single_dot and _is_abbreviation(text, m.start()):
                continue
            if not _next_starts_sentence(text, end):
                continue
        _append(text, start, end, spans)
        start = end
    # Single newlines that end a line without punctuation (headlines, bullet lines).
    _append(text, start, len(text), spans)
    width = wrap_width(text) if "\n" in text else 0
    out: list[tuple[int, int]] = []
    for s, e in spans:
        out.extend(_split_lines(text, s, e, width))
    return out


def _split_lines(text: str, start: int, end: int, width: int) -> list[tuple[int, int]]:
    """Break a span at line breaks that clearly end a line (no joining punctuation), except
    where the text's wrap width broke the line. In wrapped text the first line of a
    paragraph may be short and still run on: a dateline was cut from its start ("Northway
    Air, a unit of Fenmoor / Holdings Inc, said its load factor ..."); and a line that ends
    on a comma or a word no sentence ends on ("the", "of", "its") runs on at any length."""
    pieces: list[tuple[int, int]] = []
    s = start
    for m in re.finditer(r"\n", text[start:end]):
        nl = start + m.start()
        if width:
            line_start = text.rfind("\n", 0, nl) + 1
            line = text[line_start:nl].rstrip()
            if len(line) >= _WRAP_SHARE * width:
                continue
            if _opens_paragraph(text, line_start) and line[-1:] not in _LINE_ENDS:
                continue
            last = line.rsplit(None, 1)[-1] if line.strip() else ""
            if line.endswith(",") or last.lower() in _RUNS_ON:
                continue
        before = text[s:nl].rstrip()
        if before and (
            before[-1] in ".!?:\"'\u201d" or not text[nl + 1 : end].strip()[:1].islower()
        ):
            _append(text, s, nl, pieces)
            s = nl + 1
    _append(text, s, end, pieces)
    return pieces


_LINE_ENDS = ".!?:;\"'\u201d"


def _opens_paragraph(text: str, line_start: int) -> bool:
    """Is the line at `line_start` the first of a paragraph: the text's first, an indented
    one (wire copy indents each paragraph), or one after a blank line?"""
    return (
        line_start == 0
        or text[line_start : line_start + 1] in (" ", "\t")
        or text[max(0, line_start - 2) : line_start] == "\n\n"
        or not text[:line_start].strip()
    )


def _append(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


# ---------------------------------------------------------------- titles
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"\u201c]\s+|\n\s*)$")


def is_shouting(title: str) -> bool:
    """A headline in capitals, as wire services send them ("JAPANESE PREMIER SAYS ...")."""
    letters = [ch for ch in title if ch.isalpha()]
    return len(letters) >= 4 and all(ch.isupper() for ch in letters)


def readable_title(title: str, context: str = "") -> str:
    """`title` as a reader expects it: an all-capitals headline in sentence case, each word
    cased as the article itself writes it mid-sentence ("OPEC", "Japanese"), dotted acronyms
    ("U.S.") kept, other words in lower case. Any other title is returned unchanged."""
    if not is_shouting(title):
        return title
    casings = _casings(context)
    out: list[str] = []
    last = 0
    for m in _WORD.finditer(title):
        original = m.group(0)
        default = original if "." in original else original.lower()
        cased = casings.get(original.lower(), default)
        out.append(title[last : m.start()])
        out.append(cased)
        last = m.end()
    out.append(title[last:])
    text = "".join(out).strip()
    return text[:1].upper() + text[1:]


def _casings(context: str) -> dict[str, str]:
    """Each word's most frequent form in `context` away from the start of a sentence."""
    counts: dict[str, dict[str, int]] = {}
    for m in _WORD.finditer(context):
        if _SENTENCE_START.search(context, max(0, m.start() - 3), m.start()):
            continue
        form = m.group(0)
        forms = counts.setdefault(form.lower(), {})
        forms[form] = forms.get(form, 0) + 1
    return {low: max(forms, key=lambda f: (forms[f], f.islower())) for low, forms in counts.items()}
