"""Story grouping measured against hand-labelled pairs (`newsdesk eval --stories FILE`).

The file holds one seed article per line with the articles a reader judged to report the same
story and those judged to report another: `{"seed", "same": [doc_id, ...], "different":
[...], "unsure": [...], "note"}` (evals/stories/bbc_pairs.jsonl, reuters_pairs.jsonl; the
"unsure" ones are not scored). Figures over all (seed, other) pairs:

- precision: of the labelled pairs the index puts in one story, the share labelled same;
- recall: of the pairs labelled same, the share the index puts in one story;
- stories: how many stories of more than one article the index holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsdesk.core.errors import EvalError
from newsdesk.evals.gate import prefixed_failures
from newsdesk.store.ledger import Ledger

STORY_METRICS = ("precision", "recall")


@dataclass(frozen=True)
class LabelledPairs:
    seed: str
    same: tuple[str, ...]
    different: tuple[str, ...]


@dataclass(frozen=True)
class StoryFigures:
    together_same: int  # labelled same, grouped together (true positives)
    together_different: int  # labelled different, grouped together (false positives)
    apart_same: int  # labelled same, grouped apart (false negatives)
    stories: int  # stories of more than one article in the index

    @property
    def precision(self) -> float:
        together = self.together_same + self.together_different
        return self.together_same / together if together else 0.0

    @property
    def recall(self) -> float:
        same = self.together_same + self.apart_same
        return self.together_same / same if same else 0.0

    def metrics(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall}

    def table(self) -> str:
        together = self.together_same + self.together_different
        same = self.together_same + self.apart_same
        return (
            f"stories: precision {self.precision:.3f} ({self.together_same}/{together}), "
            f"recall {self.recall:.3f} ({self.together_same}/{same}); "
            f"{self.stories:,} stories of more than one article\n"
        )


def load_pairs(path: Path) -> list[LabelledPairs]:
    """The labelled seeds of `path`; EvalError naming the line of a malformed one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"cannot read story labels {path}: {exc}") from exc
    out: list[LabelledPairs] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                LabelledPairs(
                    str(row["seed"]),
                    tuple(str(d) for d in row["same"]),
                    tuple(str(d) for d in row["different"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalError(f"{path}:{n}: not a labelled seed ({exc})") from exc
    if not out:
        raise EvalError(f"{path} holds no labelled seeds")
    return out


def score_pairs(
    labelled: Sequence[LabelledPairs], story_of: Mapping[str, str], stories: int = 0
) -> StoryFigures:
    """Compare the labels with `story_of` (doc_id, aliases included -> story id; an article
    in none is a story of its own); `stories` is carried into the figures."""

    def together(a: str, b: str) -> bool:
        sa, sb = story_of.get(a), story_of.get(b)
        return sa is not None and sa == sb

    tp = fp = fn = 0
    for seed in labelled:
        for other in seed.same:
            if together(seed.seed, other):
                tp += 1
            else:
                fn += 1
        fp += sum(together(seed.seed, other) for other in seed.different)
    return StoryFigures(tp, fp, fn, stories)


def evaluate_stories(index: Path, path: Path) -> StoryFigures:
    """The story figures of the index at `index` against the labels in `path`."""
    labelled = load_pairs(path)
    ledger = Ledger.open(index, create=False)
    try:
        docs = list(dict.fromkeys(d for s in labelled for d in (s.seed, *s.same, *s.different)))
        missing = [d for d in docs if ledger.article(d) is None]
        if missing:
            raise EvalError(
                f"{len(missing)} of {len(docs)} labelled articles are not in this index "
                f"({', '.join(missing[:3])}): the story labels do not fit this index"
            )
        story_of: dict[str, str] = {}
        texts: dict[str, int] = {}
        for row in ledger.stories.articles():
            texts[row.story_id] = texts.get(row.story_id, 0) + 1
            for doc_id in (row.doc_id, *row.aliases):
                story_of[doc_id] = row.story_id
    finally:
        ledger.close()
    if not story_of:
        raise EvalError(
            "this index holds no stories: run `newsdesk enrich` with NEWSDESK_ENRICH=all first"
        )
    # stories are counted by their texts: a duplicate file is not a second report
    return score_pairs(labelled, story_of, sum(1 for n in texts.values() if n > 1))


def story_failures(figures: StoryFigures, gates: Sequence[str]) -> list[str]:
    """The `stories.METRIC=VALUE` gates that `figures` fall short of."""
    return prefixed_failures("stories", STORY_METRICS, figures.metrics(), gates)


__all__ = [
    "STORY_METRICS",
    "LabelledPairs",
    "StoryFigures",
    "evaluate_stories",
    "load_pairs",
    "score_pairs",
    "story_failures",
]
