"""Who said what: every direct quotation of an article with its speaker.

`quotes(text, entities, descriptors)` finds the quotations of one article text (straight or
curly double quotation marks) and attributes each one from the words around it, as news
writes them:

- **explicit**: the speaker named beside a speech verb, before the quotation ("Moyes said:
  "...", "Ms Jamieson described the meeting as "very productive"") or after it (""...," said
  Mr Howard.", ""...," Mr Pound told the Today programme.", ""...," Arab News quoted Prince
  Saud as saying.");
- **pronoun**: "he said", "She told the Guardian:" -> the person named last before it;
- **description**: "the minister said", "The culture secretary said" -> the person the article
  gives that description (its descriptors), else the description as written;
- **according_to**: "according to X";
- **continuation**: a quotation with no attribution of its own that goes on from the one
  before (the next paragraph of a speech, or a new opening mark right after it);
- **none**: no speaker is guessed.

A speaker is given by its canonical name in the article: the longest PERSON (or ORG) name
there that the mention shortens ("Mr Pound" -> "Stephen Pound", "Prince Saud" -> "Prince Saud
Al-Faisal"). A quotation running over several paragraphs is one quote per paragraph, as the
labelled set has them. Scare quotes and titles are not quotations: one word ("trigger"), or
every long word capitalised ("Las Vegas-style", "Ring of Fire"). Offsets always slice the
text to the stored quotation, whatever the marks (unbalanced, nested, missing). A short
wording quoted each time the article uses it is a term, not a quotation. This module finds
the quotations; `newsdesk.nlp.attribution` reads who speaks each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from newsdesk.core.text import wrap_width
from newsdesk.core.types import Descriptor, Entity, Quote
from newsdesk.nlp.attribution import MARKS, Span, Speakers, goes_on

_OPEN_CURLY, _CLOSE_CURLY = "\u201c", "\u201d"
MAX_TERM_WORDS = 4


def quotes(
    text: str, entities: Sequence[Entity], descriptors: Sequence[Descriptor] = ()
) -> list[Quote]:
    """The direct quotations of `text`, in order, each with its speaker (or None)."""
    spans = _without_terms(text, [s for s in _spans(text) if _is_quotation(text[s.start : s.end])])
    article = Speakers(text, entities, descriptors, [(q.start, q.end) for q in spans])
    out: list[Quote] = []
    for i, span in enumerate(spans):
        previous = out[-1] if out else None
        article.previous = previous.speaker if previous is not None else None
        found = article.attribution(span)
        if found is None and article.previous is not None:
            others = [e for e in article.people if article.canonical(e.text) != article.previous]
            if goes_on(text, spans[i - 1], span, others):
                found = (article.previous, "", "continuation")
        speaker, mention, kind = found if found is not None else (None, "", "none")
        out.append(Quote(span.start, span.end, text[span.start : span.end], speaker, mention, kind))
    return out


# ---------------------------------------------------------------- finding quotations
def _spans(text: str) -> list[Span]:
    """Quotation spans: from an opening mark to the closing one, or to the end of the
    paragraph or the next opening mark when it is left open (news opens each paragraph of
    a long quotation anew and closes only the last)."""
    spans: list[Span] = []
    open_at: int | None = None
    wrapped = wrap_width(text) > 0  # wire copy: a single line break is the wrap, not a paragraph
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\n" and open_at is not None and _paragraph_ends(text, i, wrapped):
            _add(text, spans, open_at, i, None)
            open_at = None
        elif ch in MARKS:
            opening = _opens(text, i)
            if open_at is None:
                if opening:
                    open_at = i
            elif opening and not _closes(text, i):
                _add(text, spans, open_at, i, None)  # a new quotation starts: the last ran on
                open_at = i
            else:
                _add(text, spans, open_at, i, i)
                open_at = None
        i += 1
    if open_at is not None:
        _add(text, spans, open_at, len(text), None)
    return spans


def _paragraph_ends(text: str, i: int, wrapped: bool) -> bool:
    """Does the line break at `i` end a paragraph? Always, unless the text is hard-wrapped:
    then only a blank line or an indented line does."""
    if not wrapped:
        return True
    rest = text[i + 1 : i + 2]
    return rest in ("", "\n", " ", "\t") or text[i + 1 :].lstrip(" \t")[:1] == "\n"


def _opens(text: str, i: int) -> bool:
    if text[i] == _CLOSE_CURLY:
        return False
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{-\u2014:" or text[i] == _OPEN_CURLY) and not (
        after.isspace()
    )


def _closes(text: str, i: int) -> bool:
    if text[i] == _OPEN_CURLY:
        return False
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and (after.isspace() or not after.isalnum())


def _add(text: str, spans: list[Span], open_at: int, end: int, close_at: int | None) -> None:
    start = open_at + 1
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append(Span(start, end, open_at, close_at))


def _is_quotation(quoted: str) -> bool:
    """Not a scare quote (one word) nor a title or name: unpunctuated, with every long word
    after the first capitalised ("Las Vegas-style", "Ring of Fire"; "Everything is up to
    Ukraine," is speech)."""
    words = re.findall(r"[^\W_][\w'\u2019-]*", quoted)
    if len(words) < 2:
        return False
    if quoted.rstrip()[-1:] in ",.!?;:" or len(words) > 6:
        return True
    long_words = [w for w in words[1:] if len(w) >= 4]
    return not long_words or not all(w[0].isupper() for w in long_words)


def _without_terms(text: str, spans: list[Span]) -> list[Span]:
    """`spans` less the terms the article puts in quotation marks each time it uses them
    (these "bot nets"): a short unpunctuated wording quoted twice or more is a term, not
    something said (a speaker's phrase is quoted once)."""

    def key(span: Span) -> str | None:
        quoted = text[span.start : span.end]
        if len(quoted.split()) > MAX_TERM_WORDS or quoted.rstrip()[-1:] in ",.!?;:":
            return None
        return " ".join(quoted.lower().split())

    seen = Counter(k for k in map(key, spans) if k is not None)
    return [s for s in spans if seen[key(s) or ""] < 2]


__all__ = ["quotes"]
