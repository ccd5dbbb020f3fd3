"""What a question asks for, read from its wording (no LLM): quotes, a timeline, or a plain
answer.

- quote: "What did Peskov say about Ukraine?", "What has Gordon Brown said on pensions?",
  "What did Mr Blair say?", "quotes from Tony Blair about Iraq": a speaker (as typed) and an
  optional topic. Whether the speaker is someone the archive quotes is for the caller to
  check; when it is not, the question is a plain one.
- timeline: "How did the Yukos affair unfold?", "timeline of the Texaco-Pennzoil dispute",
  "How has the row over fees developed?": the story's topic.
- who_said: "Who said 'everything is up to Ukraine'?": the quoted words (`phrase`).
- plain: everything else.

A question of several parts ("What did X say about Y, and where was Z found?") is plain: a
list of X's quotes would answer only its first part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from newsdesk.core.text import content_terms
from newsdesk.retriever.quotations import quoted_phrase

IntentKind = Literal["quote", "timeline", "who_said", "plain"]

_SAY = r"(?:say|said|says|saying|tell|told|comment|commented|speak|spoken|spoke|state|stated)"
_ABOUT = r"(?:about|on|of|regarding|concerning|over)"
_END = r"\s*[?.!]*\s*$"

_QUOTE_PATTERNS = (
    # What did / has / have / does X say (about Y)?
    re.compile(
        rf"^\W*what\s+(?:else\s+)?(?:did|has|have|does|do|had)\s+(?P<speaker>.+?)\s+{_SAY}"
        rf"(?:\s+(?:publicly|so\s+far|recently))?"
        rf"(?:\s+{_ABOUT}\s+(?P<topic>.+?))?{_END}",
        re.IGNORECASE,
    ),
    # (Show me / list) quotes|quotations|remarks|comments from|by X (about Y)
    re.compile(
        r"^\W*(?:(?:show|list|find|give)(?:\s+me)?\s+)?(?:all\s+|the\s+)?"
        r"(?:quotes|quotations|remarks|comments|statements)\s+(?:from|by)\s+(?P<speaker>.+?)"
        rf"(?:\s+{_ABOUT}\s+(?P<topic>.+?))?{_END}",
        re.IGNORECASE,
    ),
)

_TIMELINE_PATTERNS = (
    # How did / has X unfold | develop | evolve | progress | play out?
    re.compile(
        r"^\W*how\s+(?:did|has|have|does|do|had)\s+(?P<topic>.+?)\s+"
        r"(?:unfold(?:ed)?|develop(?:ed)?|evolve[d]?|progress(?:ed)?|play(?:ed)?\s+out)"
        r"(?P<rest>\s+.*?)?" + _END,
        re.IGNORECASE,
    ),
    # (a / the) timeline | chronology of | for X; the sequence of events in X
    re.compile(
        r"^\W*(?:(?:show|give|make|draw)(?:\s+me)?\s+)?(?:a\s+|the\s+)?"
        r"(?:timeline|chronology|sequence\s+of\s+events|history)\s+(?:of|for|in)\s+"
        r"(?P<topic>.+?)" + _END,
        re.IGNORECASE,
    ),
)

# ", and where was ...", "and what did ...": a second question after the first
_SECOND_PART = re.compile(
    r"(?:,|;|\band\b|\bthen\b)\s+(?:and\s+)?(?:what|where|who|whom|whose|when|which|why|how|"
    r"did|does|do|is|are|was|were|has|have)\b",
    re.IGNORECASE,
)
# words that make a "speaker" a description or a clause, not a name as a reader types it
_NOT_A_NAME = re.compile(
    r"\b(?:reportedly|allegedly|later|first|then|once|ever|the\s+\w+\s+that|who|which|that)\b",
    re.IGNORECASE,
)
_MAX_SPEAKER_WORDS = 6


@dataclass(frozen=True)
class Intent:
    """What a question asks for: `speaker` (as typed) for quotes, `topic` for quotes and
    timelines (None: any), `phrase` for who_said."""

    kind: IntentKind
    speaker: str | None = None
    topic: str | None = None
    phrase: str | None = None


PLAIN = Intent("plain")


def _topic(raw: str | None) -> str | None:
    if raw is None:
        return None
    topic = raw.strip(" ,;:\"'")
    return topic if content_terms(topic) else None


def read_intent(question: str) -> Intent:
    """The intent of `question` (see the module docstring)."""
    text = " ".join(question.split())
    phrase = quoted_phrase(text)
    if phrase is not None:
        return Intent("who_said", phrase=phrase)
    if _SECOND_PART.search(text):
        return PLAIN
    for pattern in _QUOTE_PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        speaker = m.group("speaker").strip(" ,;:\"'")
        n_words = len(speaker.split())
        if not content_terms(speaker) or n_words > _MAX_SPEAKER_WORDS:
            continue
        if _NOT_A_NAME.search(speaker):
            continue
        return Intent("quote", speaker=speaker, topic=_topic(m.group("topic")))
    for pattern in _TIMELINE_PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        topic = _topic(m.group("topic"))
        if topic is None:
            continue
        rest = m.groupdict().get("rest") or ""
        return Intent("timeline", topic=f"{topic} {rest.strip()}".strip())
    return PLAIN


__all__ = ["PLAIN", "Intent", "IntentKind", "read_intent"]
