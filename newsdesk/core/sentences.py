"""Sentence boundaries with character offsets.

Used by the chunker (chunks end on sentence boundaries) and by the extractive answerer
(answers are made of whole, verbatim sentences). Offsets index into the text given, so a
sentence is always `text[start:end]`.
"""

from __future__ import annotations

import re

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

# A candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_END = re.compile(r"""[.!?]+["'\u201d\u2019)\]]*(?=\s)|\n\s*\n|\n(?=\s*[-*\u2022]\s)""")


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


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences; returns (start, end) offsets with whitespace trimmed.

    Never returns empty spans; the spans are in order and do not overlap. Newlines that
    separate lines of a list or paragraphs always end a sentence.
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
    out: list[tuple[int, int]] = []
    for s, e in spans:
        out.extend(_split_lines(text, s, e))
    return out


def _split_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Break a span at line breaks that clearly end a line (no joining punctuation)."""
    pieces: list[tuple[int, int]] = []
    s = start
    for m in re.finditer(r"\n", text[start:end]):
        nl = start + m.start()
        before = text[s:nl].rstrip()
        if before and (
            before[-1] in ".!?:\"'\u201d" or not text[nl + 1 : end].strip()[:1].islower()
        ):
            _append(text, s, nl, pieces)
            s = nl + 1
    _append(text, s, end, pieces)
    return pieces


def _append(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
