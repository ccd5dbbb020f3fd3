"""Turn a follow-up question into one that retrieval can answer on its own. No LLM.

`rewrite_followup(question, history)` returns the question unchanged when it stands on its own.
When it is a follow-up, it returns

    "<question without a leading And/But/So> <topic of the previous question>"

where the topic is the previous question's content words (names and nouns, no question words
or light verbs like "say"), in their order, minus words the follow-up already has, plus the
previous question's date phrase ("in March 2005") if the follow-up has none. For example
"And what did Belarus say?" after "What did Russia demand of Ukraine?" becomes
"What did Belarus say? Russia demand Ukraine". The previous question is itself rewritten
first, so a chain of follow-ups keeps its topic.

A question is a follow-up when any of these hold (and only then; a new question that names its
own subject is left alone even when there is history):

- it starts with "And", "But", "Also", "What about", "How about", "What else", ...;
- it is very short: at most two words, or no content word besides light verbs ("Why?",
  "Who won?", "What happened next?");
- it has a personal pronoun (he, she, it, its, they, their, ...) with no name before it in the
  question ("Whose record did it break?"; but not "What did Apple say about its profits?");
- it names nothing (no name after its first word, `names_a_subject`) yet speaks of "the ..."
  ("How far did the company's shares fall on the news?", "Whose advice led the board to
  call the offer inadequate?"): the company, the board of the conversation; not when "of"
  says which one ("What is the boiling point of mercury?");
- it has a demonstrative used as a pronoun ("Who said that?", "Why did this happen?",
  "How much was that deal worth?") or "there" as a place ("What happened there?").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from newsdesk.core.text import STOPWORDS, content_words, stems, word_set, word_spans, words
from newsdesk.retriever.dates import date_phrases

log = logging.getLogger(__name__)

MAX_TOPIC_WORDS = 12
_MAX_DEPTH = 3  # how many earlier questions a chain of follow-ups may reach back

_PUNCTUATION = "?!.,;:\"'()[]{}\u201c\u201d\u2018\u2019"
_LEADING_CONJUNCTION = re.compile(r"^\s*(?:and|but|so|also|then|ok|okay|well)\b[\s,]*", re.I)
_FOLLOWUP_START = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|what of|what else|same for|"
    r"anything else|any more|more on|tell me more)\b",
    re.IGNORECASE,
)
# Verbs and fillers that carry no topic: kept out of the topic and of the "has content" test.
_LIGHT = word_set(
    """say said says tell told happen happened happens mean means meant think thought do did
    done get got go going went come came make made give given take took want wanted like
    next afterwards later else instead too either exactly really actually still"""
)
_IMPERATIVES = word_set("explain describe summarise summarize give show list find")
_PERSONAL = word_set(
    "he him his himself she her hers herself it its itself they them their theirs themselves"
)
_PLURAL_PRONOUNS = word_set("they them their theirs themselves")
_DEMONSTRATIVE = word_set("this that these those")
# After a demonstrative, words that show it stands for something said before.
_DEMONSTRATIVE_NEXT = word_set(
    """is was were are be been has had have will would could can did does do mean means meant
    happen happened cost costs affect affected include included lead led cause caused"""
)
_ANAPHORIC_NOUNS = word_set(
    """deal company firm group man woman men women person people move decision plan plans case
    report story claim claims bid merger takeover one ones attack incident event film album
    game match law bill policy vote result results country team club player statement
    announcement agreement scheme issue problem offer figure figures money sum amount
    news rule ruling verdict row dispute war strike"""
)
# Words before "that" that make it a pronoun ("about that", "did that"), not a relative.
_BEFORE_PRONOUN = word_set(
    """about of after before since from with like by for on is was were are did does do
    and but so"""
)
_TIME_WORDS = word_set(
    """last first next previous same year years month months week weeks day days night
    nights time times season weekend morning evening afternoon moment period decade end
    start beginning following"""
)
_THERE_NEXT = word_set("is are was were be been being will would have has had may might seem seems")
_EXPLETIVE_IT = re.compile(
    r"\b(?:is|was|isn't|wasn't) it \w+ (?:that|to|when|how|why)\b|\bit (?:is|was|'s) \w+ "
    r"(?:that|to)\b",
    re.IGNORECASE,
)


def rewrite_followup(question: str, history: Sequence[str]) -> str:
    """The question made standalone using the most recent earlier question (see module doc)."""
    question = question.strip()
    history = [h.strip() for h in history if h and h.strip()][-_MAX_DEPTH:]
    if not history or not is_followup(question):
        return question
    previous = rewrite_followup(history[-1], history[:-1])
    topic = _topic(previous, question)
    dates = [] if date_phrases(question) else date_phrases(previous)
    if not topic and not dates:
        return question
    base = _LEADING_CONJUNCTION.sub("", question, count=1) or question
    base = base[:1].upper() + base[1:]
    rewritten = " ".join([base, *topic, *dates])
    log.debug("follow-up rewritten (%d topic words)", len(topic))
    return rewritten


def is_followup(question: str) -> bool:
    """Does the question lean on an earlier one? (See module doc for the rules.)"""
    if _FOLLOWUP_START.match(question):
        return True
    tokens = words(question)
    content = [w for w in content_words(question) if w not in _LIGHT]
    if len(tokens) <= 2 or not content:
        return True
    return _has_unresolved_reference(question)


def names_a_subject(question: str) -> bool:
    """Does the question name what it is about: a name after its first word ("Which
    Borg-Warner business was GAF after?", "... in the US?")? A question in a conversation
    that names nothing ("How many officials stand accused?", "How far did the company's
    shares fall on the news?") is about what was asked before."""
    return any(i > 0 and _is_name(w) for i, (_, _, w) in enumerate(word_spans(question)))


def _has_unresolved_reference(question: str) -> bool:
    named = names_a_subject(question)
    spans = word_spans(question)
    lower = [w.lower() for _, _, w in spans]
    antecedent = False  # a name, or a "the ..." noun phrase, seen so far
    plural = False  # a plural noun seen so far: enough for they/them/their
    last_the = -10
    for i, (_, end, original) in enumerate(spans):
        word = lower[i]
        nxt = lower[i + 1] if i + 1 < len(lower) else ""
        prev = lower[i - 1] if i > 0 else ""
        ends_clause = not nxt or question[end : end + 1] in {"?", ".", "!", ",", ";", ":"}
        expletive = word == "it" and bool(_EXPLETIVE_IT.search(question))
        resolved = antecedent or (plural and word in _PLURAL_PRONOUNS)
        if word in _PERSONAL and not resolved and not expletive:
            return True
        if word in _DEMONSTRATIVE and (
            ends_clause
            or (
                (word != "that" or i == 0 or prev in _BEFORE_PRONOUN)
                and (nxt in _DEMONSTRATIVE_NEXT or nxt in _ANAPHORIC_NOUNS)
            )
        ):
            return True
        if word == "there" and nxt not in _THERE_NEXT and prev not in _THERE_NEXT:
            return True
        if word == "the":
            last_the = i
            if not named and nxt and _is_noun_like(nxt) and not _defined_by_of(lower, i):
                return True  # "the company", "the club" in a question naming nothing: which?
        elif _is_name(original) or (i - last_the <= 3 and _is_noun_like(word)):
            antecedent = True
        elif _is_noun_like(word) and len(word) > 3 and word.endswith("s") and word[-2] != "s":
            plural = True
    return False


def _defined_by_of(lower: Sequence[str], the: int) -> bool:
    """Does the noun phrase opened by "the" at `the` say what it is with "of ..." ("the
    boiling point of mercury", "the price of oil")? Such a phrase stands on its own; a bare
    one ("the company", "the board's advice") points back at the conversation."""
    i = the + 1
    while i < len(lower) and i - the <= 4 and _is_noun_like(lower[i]):
        i += 1
    return i < len(lower) and lower[i] == "of"


def _is_name(original: str) -> bool:
    """A capitalised word that is not a question word or an imperative ("Explain ...")."""
    if len(original) > 1 and original.isupper():
        return True  # "US", "BBC"
    word = original.lower()
    if word in STOPWORDS or word in _LIGHT or word in _IMPERATIVES:
        return False
    return original[:1].isupper()


def _is_noun_like(word: str) -> bool:
    """A content word that can head "the ..." as an antecedent (not "the year", "the last")."""
    return word not in STOPWORDS and word not in _LIGHT and word not in _TIME_WORDS


def _topic(previous: str, question: str) -> list[str]:
    """Content words of `previous` that `question` lacks, in order, as written (without
    surrounding punctuation or a possessive "'s")."""
    have = set(stems(content_words(question)))
    date_words = {w for phrase in date_phrases(previous) for w in words(phrase)}
    out: list[str] = []
    seen: set[str] = set()
    for token in previous.split():
        core = token.strip(_PUNCTUATION)
        if core.lower().endswith(("'s", "\u2019s")):
            core = core[:-2]
        acronym = len(core) > 1 and core.isupper()
        kept = [w for w in words(core) if acronym or w not in STOPWORDS | _LIGHT | date_words]
        if not core or not kept:
            continue
        key = " ".join(stems(kept))
        if key in seen or all(k in have for k in key.split()):
            continue
        seen.add(key)
        out.append(core)
        if len(out) >= MAX_TOPIC_WORDS:
            break
    return out
