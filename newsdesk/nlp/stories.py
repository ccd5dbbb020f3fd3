"""Stories: the articles of an archive that report one story, grouped.

A story is the same event across outlets, a wire flash and its updates, or a report and its
follow-ups over the next days. `group_stories` reads three signals the index already holds
for every text and needs no model of its own:

- **what it says first**: the mean of the embeddings of its lead sentences (news puts the
  story in its first sentences; later paragraphs wander into background);
- **who and what it names**: its people, organisations and places (`newsdesk.nlp.people`),
  of which only those rare in the archive count ("Yukos" ties two reports, "U.S." does not),
  each weighed by its rarity (inverse document frequency);
- **when**: two dated reports further apart than `gap` days are never linked directly (a
  long affair still forms one story through the reports between).

Two texts are linked when the cosine of their leads plus the share of their names they have
in common (the weighted Jaccard of their rare names, 0 to 1) reaches `link`, they share at
least one, and their leads are somewhat alike (cosine >= MIN_COSINE): lead similarity alone
chains the archive's templated items (every "4th qtr net" report reads like the next; only
the company named tells them apart), and names alone tie unrelated news. Headline words
are not names: in wire copy they are the template ("ISSUES EUROBOND", "3RD QTR NET") and tied
unrelated reports. Links are taken strongest first; two single reports join on their link
alone, and a link joins larger groups only while their centroids are still alike (>=
`merge`), so one story cannot drift into the next through a chain of neighbours. The result
is deterministic for a given archive.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STORY_VERSION = "7"  # 6: cosine + shared names, no headline words; 7: a cosine floor
LEAD_SENTENCES = 5  # a text's vector is the mean of its first sentences'
NEIGHBOURS = 20  # each text is compared with its nearest texts only
LINK = 0.80  # lead cosine + weighted share of rare names that links two texts
MIN_COSINE = 0.50  # ... whose leads are at least this alike (names alone tie unrelated news)
MERGE = 0.70  # two groups join only while their centroids are this close
GAP_DAYS = 3  # dated reports further apart are not linked directly
RARE_SHARE = 0.02  # a name in more than this share of texts ties nothing ...
RARE_FLOOR = 10  # ... unless in this few (a small archive is all one subject)
_BLOCK = 1024  # rows of the similarity matrix computed at once


@dataclass(frozen=True)
class StoryInput:
    """What grouping reads of one text: its key (content hash), its lead vector, its
    publication day (a day number, None when undated) and its names."""

    key: str
    vector: np.ndarray
    day: int | None
    names: frozenset[str]


@dataclass(frozen=True)
class Membership:
    """A text's story: the story's id and how central the text is in it (cosine of its
    vector to the story's centroid; 1.0 for a story of one)."""

    key: str
    story_id: str
    centrality: float


def lead_vector(vectors: np.ndarray) -> np.ndarray | None:
    """The unit mean of a text's lead sentence vectors, its first LEAD_SENTENCES (the
    ledger reads no more: `StoryTable.inputs`); None when it has none."""
    if len(vectors) == 0:
        return None
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def story_id(first_key: str) -> str:
    """A story's id, from the key of its earliest text: stable while later reports join."""
    return "s" + hashlib.sha1(first_key.encode()).hexdigest()[:12]


class _Groups:
    """Union-find whose groups keep the sum of their members' vectors."""

    def __init__(self, vectors: np.ndarray) -> None:
        self.parent = list(range(len(vectors)))
        self.size = [1] * len(vectors)
        self.sums = vectors.astype(np.float64).copy()

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def alike(self, a: int, b: int) -> float:
        sa, sb = self.sums[a], self.sums[b]
        return float(sa @ sb / (np.linalg.norm(sa) * np.linalg.norm(sb) + 1e-12))

    def join(self, a: int, b: int) -> None:
        keep, drop = min(a, b), max(a, b)
        self.parent[drop] = keep
        self.size[keep] += self.size[drop]
        self.sums[keep] += self.sums[drop]


def _neighbours(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` nearest other rows by cosine: (indices, similarities), best first."""
    n = len(vectors)
    k = min(k, n - 1)
    idx = np.zeros((n, k), dtype=np.int64)
    sim = np.zeros((n, k), dtype=np.float32)
    for lo in range(0, n, _BLOCK):
        block = vectors[lo : lo + _BLOCK] @ vectors.T
        rows = np.arange(block.shape[0])
        block[rows, rows + lo] = -np.inf  # not its own neighbour
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(block, top, axis=1)
        order = np.lexsort((top, -vals), axis=1)  # best first, ties by index: deterministic
        idx[lo : lo + len(block)] = np.take_along_axis(top, order, axis=1)
        sim[lo : lo + len(block)] = np.take_along_axis(vals, order, axis=1)
    return idx, sim


def _rare_names(texts: Sequence[StoryInput]) -> list[frozenset[str]]:
    df = Counter(name for t in texts for name in t.names)
    limit = max(RARE_FLOOR, int(RARE_SHARE * len(texts)))
    return [frozenset(name for name in t.names if df[name] <= limit) for t in texts]


def _name_weights(names: Sequence[frozenset[str]]) -> dict[str, float]:
    """Each rare name's inverse document frequency, log(N / texts naming it): a name in
    three texts weighs more than one in three hundred."""
    df = Counter(name for found in names for name in found)
    n = len(names)
    return {name: math.log(n / k) + 1e-3 for name, k in df.items()}


def _shared(a: frozenset[str], b: frozenset[str], weight: dict[str, float]) -> float:
    """How much of what two texts name they share: the weighted Jaccard of their names,
    0 (nothing in common) to 1 (the same names)."""
    both = a & b
    if not both:
        return 0.0
    union = sum(weight[x] for x in a | b)
    return sum(weight[x] for x in both) / union if union > 0 else 0.0


def group_stories(
    texts: Sequence[StoryInput],
    *,
    link: float = LINK,
    merge: float = MERGE,
    gap: int = GAP_DAYS,
    neighbours: int = NEIGHBOURS,
) -> list[Membership]:
    """Every text's story (see the module's docstring). A story's id comes from its
    earliest text (by day, undated last, then key)."""
    if not texts:
        return []
    order = sorted(range(len(texts)), key=lambda i: texts[i].key)  # input order is irrelevant
    texts = [texts[i] for i in order]
    vectors = np.stack([t.vector for t in texts]).astype(np.float32)
    groups = _Groups(vectors)
    if len(texts) > 1:
        names = _rare_names(texts)
        weight = _name_weights(names)
        idx, sim = _neighbours(vectors, neighbours)
        links: set[tuple[float, int, int]] = set()
        for i in range(len(texts)):
            for j, s in zip(idx[i].tolist(), sim[i].tolist(), strict=True):
                if s < MIN_COSINE:
                    break  # sorted: no later neighbour reads alike enough
                di, dj = texts[i].day, texts[j].day
                if di is not None and dj is not None and abs(di - dj) > gap:
                    continue
                shared = _shared(names[i], names[j], weight)
                if shared > 0 and s + shared >= link:  # lead alike alone chains templates
                    score = s + shared
                    links.add((round(score, 6), min(i, j), max(i, j)))
        for _, i, j in sorted(links, key=lambda e: (-e[0], e[1], e[2])):
            a, b = groups.find(i), groups.find(j)
            if a == b:
                continue
            if groups.size[a] + groups.size[b] == 2 or groups.alike(a, b) >= merge:
                groups.join(a, b)
    members: dict[int, list[int]] = {}
    for i in range(len(texts)):
        members.setdefault(groups.find(i), []).append(i)
    out: list[Membership] = []
    for root, group in members.items():
        centroid = groups.sums[root] / (np.linalg.norm(groups.sums[root]) + 1e-12)
        first = min(group, key=lambda i: (texts[i].day is None, texts[i].day or 0, texts[i].key))
        sid = story_id(texts[first].key)
        for i in group:
            central = 1.0 if len(group) == 1 else float(vectors[i] @ centroid)
            out.append(Membership(texts[i].key, sid, round(central, 6)))
    out.sort(key=lambda m: m.key)
    return out


__all__ = [
    "STORY_VERSION",
    "Membership",
    "StoryInput",
    "group_stories",
    "lead_vector",
    "story_id",
]
