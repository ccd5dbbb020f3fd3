"""Quote attribution measured against a hand-labelled file (`newsdesk eval --quotes FILE`).

The file holds every direct quotation of some articles, one JSON object per line:
`{"doc_id", "quote" (its first words, verbatim), "speaker" ("" when the article does not say),
"mention", "attribution": explicit|pronoun|description|continuation|none, "said_verb"}`
(../shared/evals/quotes_dev.jsonl). A stored quote is the labelled one when their first ten
words agree (case and spacing aside). Figures:

- precision: of the quotes given a speaker, the share whose speaker is the labelled one (a
  quote the labels do not hold counts as wrong: a scare quote given a speaker is an error);
- recall per attribution kind: of the labelled quotes of that kind, the share found with the
  labelled speaker (for "none": found with no speaker); and over all of them.

Speakers are compared by name, case and a leading "the" aside.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.core.errors import EvalError
from newsdesk.core.types import Quote
from newsdesk.evals.gate import prefixed_failures
from newsdesk.store.ledger import Ledger

KINDS = ("explicit", "pronoun", "description", "according_to", "continuation", "none")
QUOTE_METRICS = ("precision", "recall", *(f"recall_{k}" for k in KINDS))
MATCH_WORDS = 10


@dataclass(frozen=True)
class LabelledQuote:
    doc_id: str
    quote: str
    speaker: str
    attribution: str


@dataclass
class QuoteFigures:
    attributed: int = 0  # stored quotes of the labelled articles given a speaker
    correct: int = 0  # ... with the labelled speaker
    found: Counter[str] = field(default_factory=Counter)  # kind -> labelled quotes found right
    labelled: Counter[str] = field(default_factory=Counter)  # kind -> labelled quotes
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.attributed if self.attributed else 0.0

    @property
    def recall(self) -> float:
        total = sum(self.labelled.values())
        return sum(self.found.values()) / total if total else 0.0

    def metrics(self) -> dict[str, float]:
        out = {"precision": self.precision, "recall": self.recall}
        for kind in KINDS:
            if self.labelled[kind]:
                out[f"recall_{kind}"] = self.found[kind] / self.labelled[kind]
        return out

    def table(self) -> str:
        lines = [
            f"quotes: precision {self.precision:.3f} ({self.correct}/{self.attributed}), "
            f"recall {self.recall:.3f} ({sum(self.found.values())}/{sum(self.labelled.values())})"
        ]
        for kind in KINDS:
            if self.labelled[kind]:
                share = self.found[kind] / self.labelled[kind]
                lines.append(
                    f"  {kind:13s} recall {share:.3f} ({self.found[kind]}/{self.labelled[kind]})"
                )
        return "\n".join(lines) + "\n"


def load_labelled(path: Path) -> list[LabelledQuote]:
    """The labelled quotes of `path`; EvalError naming the line of a malformed one."""
    out: list[LabelledQuote] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"cannot read quote labels {path}: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                LabelledQuote(
                    str(row["doc_id"]),
                    str(row["quote"]),
                    str(row["speaker"] or ""),
                    str(row["attribution"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalError(f"{path}:{n}: not a labelled quote ({exc})") from exc
    if not out:
        raise EvalError(f"{path} holds no labelled quotes")
    return out


def _words(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").lower().split()[:MATCH_WORDS])


def _same_speaker(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        s = " ".join(s.replace("\u2019", "'").lower().split())
        return s[4:] if s.startswith("the ") else s

    return norm(a) == norm(b)


def score_quotes(labelled: Sequence[LabelledQuote], stored: dict[str, list[Quote]]) -> QuoteFigures:
    """Compare the stored quotes of each labelled article (doc_id -> its quotes)."""
    figures = QuoteFigures()
    by_doc: dict[str, list[LabelledQuote]] = {}
    for q in labelled:
        by_doc.setdefault(q.doc_id, []).append(q)
    for doc_id, wanted in by_doc.items():
        mine = {_words(q.text): q for q in stored.get(doc_id, [])}
        for q in wanted:
            figures.labelled[q.attribution] += 1
            got = mine.get(_words(q.quote))
            right = got is not None and (
                got.speaker is None
                if not q.speaker
                else _same_speaker(got.speaker or "", q.speaker)
            )
            if right:
                figures.found[q.attribution] += 1
            else:
                said = f"{got.speaker!r} ({got.attribution})" if got else "not found"
                figures.misses.append(f"{doc_id}: {q.quote[:40]!r} by {q.speaker!r}: {said}")
        labels = {_words(q.quote): q for q in wanted}
        for key, got in mine.items():
            if got.speaker is None:
                continue
            figures.attributed += 1
            label = labels.get(key)
            if label is not None and label.speaker and _same_speaker(got.speaker, label.speaker):
                figures.correct += 1
    return figures


def evaluate_quotes(index: Path, path: Path) -> QuoteFigures:
    """The quote figures of the index at `index` against the labels in `path`."""
    labelled = load_labelled(path)
    ledger = Ledger.open(index, create=False)
    try:
        docs = list(dict.fromkeys(q.doc_id for q in labelled))
        missing = [d for d in docs if ledger.article(d) is None]
        if missing:
            raise EvalError(
                f"{len(missing)} of {len(docs)} labelled articles are not in this index "
                f"({', '.join(missing[:3])}): the quote labels do not fit this index"
            )
        stored = {d: ledger.quotes(d) for d in docs}
    finally:
        ledger.close()
    if not any(stored.values()):
        raise EvalError(
            f"no quotes are stored for the {len(docs)} labelled articles: run `newsdesk enrich` "
            "with NEWSDESK_ENRICH=all first"
        )
    return score_quotes(labelled, stored)


def quote_failures(figures: QuoteFigures, gates: Sequence[str]) -> list[str]:
    """The `quotes.METRIC=VALUE` gates that `figures` fall short of."""
    return prefixed_failures("quotes", QUOTE_METRICS, figures.metrics(), gates)


__all__ = [
    "QUOTE_METRICS",
    "LabelledQuote",
    "QuoteFigures",
    "evaluate_quotes",
    "load_labelled",
    "quote_failures",
    "score_quotes",
]
