"""Does the index hold together? The ledger is the source of truth; everything else is derived
from it and can be compared with it.

`check(index, model)` looks at every part and says, per part, `ok`, `repairable` (derived data
that `newsdesk repair` rebuilds from the ledger: missing or extra vectors, a stale BM25 index,
unread sentences, unfinished writes, a vector store that cannot be read at all) or `broken`
(what repair cannot mend: a damaged ledger, an index made with another embedding model).
`quick_check(index)` is the cheap part, for every open: counts and a small sample of ids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from newsdesk.core.errors import StoreError
from newsdesk.core.types import Filters
from newsdesk.store import lexical
from newsdesk.store.index import Index
from newsdesk.store.ledger import Ledger
from newsdesk.store.vectors import VectorStore

State = Literal["ok", "repairable", "broken"]
SAMPLE = 64  # stored vectors read back, to see that the store is readable, not only counted
QUICK_SAMPLE = 16  # ledger chunks looked up in the vector store on every open


@dataclass(frozen=True)
class Part:
    name: str
    state: State
    detail: str

    def line(self) -> str:
        return f"{self.name}: {self.state}: {self.detail}"


@dataclass
class Health:
    parts: list[Part] = field(default_factory=list)
    missing_vectors: list[str] = field(default_factory=list)  # ledger chunks with no vector
    extra_vectors: list[str] = field(default_factory=list)  # vectors of no ledger chunk
    vectors_unreadable: bool = False

    @property
    def state(self) -> State:
        states = {p.state for p in self.parts}
        return "broken" if "broken" in states else "repairable" if "repairable" in states else "ok"

    def add(self, name: str, state: State, detail: str) -> None:
        self.parts.append(Part(name, state, detail))

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "parts": {p.name: {"state": p.state, "detail": p.detail} for p in self.parts},
        }

    def summary(self) -> str:
        return "\n".join(p.line() for p in self.parts)


def quick_check(ledger: Ledger, store: VectorStore, where: Path) -> str | None:
    """None if the vector store holds as many vectors as the ledger has chunks and a random
    sample of the ledger's chunks is there, else one line saying what is off and what to run
    (cheap: two counts and one lookup). `ledger` may be any connection to the index's ledger
    (a reader's own, in a server's threads); `where` is the index folder, for the message."""
    if ledger.pending_count():
        return None  # a write is under way (or is finished by the next): counts may differ
    chunks = ledger.stats().chunks
    try:
        vectors = store.count()
        sample = ledger.sample_chunk_ids(QUICK_SAMPLE)
        unread = len(sample) - len(store.embeddings(sample))
    except StoreError as exc:
        return f"the vector store cannot be read ({exc}); run `newsdesk repair --index {where}`"
    if vectors == chunks and not unread:
        return None
    if vectors == chunks:
        return (
            f"{unread} of {len(sample)} sampled chunks have no vector though the counts agree; "
            f"run `newsdesk check --index {where}`, then `newsdesk repair`"
        )
    return (
        f"the vector store holds {vectors} vectors for the ledger's {chunks} chunks; answers "
        f"miss what is not there: run `newsdesk check --index {where}`, then `newsdesk repair`"
    )


def check(index: Index, model: str) -> Health:
    """Every part of `index` compared with the ledger; `model` is the configured embedding
    model's identity."""
    health = Health()
    ledger = index.ledger
    problems = ledger.integrity()
    if problems:
        health.add("ledger", "broken", f"SQLite integrity check failed: {problems}")
        return health
    stats = ledger.stats()
    pending = ledger.pending_count()
    detail = f"{stats.articles} texts, {stats.chunks} chunks"
    if pending:
        health.add("ledger", "repairable", f"{detail}; {pending} unfinished vector writes")
    else:
        health.add("ledger", "ok", detail)

    stored = ledger.get_meta("embedding_model")
    if stored is not None and stored != model:
        health.add("model", "broken", f"index made with {stored!r}, {model!r} configured")
    else:
        health.add("model", "ok", stored or model)

    _check_vectors(index, health)
    stamp = lexical.stamp(index.dir)
    generation = ledger.generation
    if stamp == generation:
        health.add("bm25", "ok", f"generation {generation}")
    else:
        seen = "missing" if stamp is None else f"of generation {stamp}"
        health.add("bm25", "repairable", f"{seen}, the ledger is at {generation}")

    todo, done = ledger.sentence_progress(model)
    if todo == 0 and ledger.read_generation == generation:
        health.add("sentences", "ok", f"{done} texts read")
    else:
        health.add("sentences", "repairable", f"{todo} of {todo + done} texts not read")
    return health


def _check_vectors(index: Index, health: Health) -> None:
    ledger_ids = index.ledger.all_chunk_ids()
    try:
        stored = index.vectors.all_ids()
        shared = sorted(stored & ledger_ids)
        sample = random.Random(0).sample(shared, min(SAMPLE, len(shared)))
        read = index.vectors.embeddings(sample)
        if len(read) != len(sample):
            raise StoreError(f"{len(sample) - len(read)} of {len(sample)} sampled vectors unread")
        if sample:  # the search structure too, not only the rows
            index.vectors.query(next(iter(read.values())), 1, Filters())
    except StoreError as exc:
        health.vectors_unreadable = True
        health.add("vectors", "repairable", f"unreadable ({exc}); repair rebuilds them")
        return
    health.missing_vectors = sorted(ledger_ids - stored)
    health.extra_vectors = sorted(stored - ledger_ids)
    if not health.missing_vectors and not health.extra_vectors:
        health.add("vectors", "ok", f"{len(stored)} vectors")
        return
    health.add(
        "vectors",
        "repairable",
        f"{len(health.missing_vectors)} of {len(ledger_ids)} chunks have no vector, "
        f"{len(health.extra_vectors)} vectors belong to no chunk",
    )


__all__ = ["Health", "Part", "check", "quick_check"]
