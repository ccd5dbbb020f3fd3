"""The ledger's story table: which story each stored text belongs to.

Stories are a property of the whole archive (a new report can join two old ones), so they
are regrouped as a whole (`newsdesk.nlp.stories`) and written in one transaction: a reader
sees the old grouping or the new one, and a run killed before it commits leaves the old one.
The `stories_of` meta value is the fingerprint of the texts and versions a grouping was made
from; a text removed since is simply gone from its story until the next regrouping.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from newsdesk.core.text import split_key

DDL = """
CREATE TABLE IF NOT EXISTS stories (
    content_hash TEXT PRIMARY KEY, story_id TEXT NOT NULL, centrality REAL NOT NULL);
CREATE INDEX IF NOT EXISTS stories_by_id ON stories(story_id);
"""


@dataclass(frozen=True)
class StoryArticle:
    """An article of a story, as the ledger stores it (aliases: the duplicate files of it)."""

    story_id: str
    doc_id: str
    title: str
    lead: str  # the start of its text: what a headline in capitals is recased from
    published: str
    centrality: float
    aliases: tuple[str, ...] = ()


class StoryTable:
    """Reads and writes the `stories` table through a ledger's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def fingerprint(self, version: str) -> str:
        """What a grouping of the stored texts by `version` would be made from."""
        digest = hashlib.sha1(version.encode())
        for (content,) in self._conn.execute("SELECT content_hash FROM texts ORDER BY 1"):
            digest.update(str(content).encode())
        return digest.hexdigest()

    def current(self) -> str | None:
        """The fingerprint of the grouping stored now (None: never grouped)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='stories_of'").fetchone()
        return None if row is None else str(row[0])

    def inputs(self, model: str, lead: int) -> Iterator[tuple[str, str, np.ndarray, set[str]]]:
        """(content hash, published, the vectors of its first `lead` sentences, its names in
        lower case) of every stored text with sentence vectors from `model`."""
        names: dict[str, set[str]] = {}
        for content, name in self._conn.execute("SELECT content_hash, name FROM people"):
            names.setdefault(str(content), set()).add(str(name).lower())
        rows = self._conn.execute(
            "SELECT t.content_hash, t.published, s.spans, s.vectors FROM texts t "
            "JOIN sentences s ON s.content_hash=t.content_hash WHERE s.model=?",
            (split_key(model),),
        )
        for content, published, spans, vectors in rows:
            n = len(spans) // 8
            if not n:
                continue
            vecs = np.frombuffer(vectors, dtype="<f2").reshape(n, -1)[:lead]
            yield str(content), str(published), vecs, names.get(str(content), set())

    def replace(self, fingerprint: str, members: Iterable[tuple[str, str, float]]) -> None:
        """Store a new grouping, (content hash, story id, centrality) per text, inside a
        transaction; texts removed meanwhile are left out."""
        self._conn.execute("DELETE FROM stories")
        self._conn.executemany(
            "INSERT INTO stories(content_hash, story_id, centrality) "
            "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM texts WHERE content_hash=?)",
            [(key, sid, central, key) for key, sid, central in members],
        )
        self._conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('stories_of', ?)", (fingerprint,)
        )

    def articles(self, doc_ids: Iterable[str] | None = None) -> Iterator[StoryArticle]:
        """The articles of the stories holding `doc_ids` (an alias finds its canonical's),
        or of every story when None; by story, then by date (undated last) and doc_id. None
        for an index of an older Newsdesk opened read-only, which has no story table."""
        where, params = "", [] if doc_ids is None else list(dict.fromkeys(doc_ids))
        if doc_ids is not None:
            if not params:
                return
            marks = ",".join("?" * len(params))
            where = (
                "WHERE s.story_id IN (SELECT s2.story_id FROM articles a JOIN stories s2 "
                f"ON s2.content_hash=a.content_hash WHERE a.doc_id IN ({marks}))"
            )
        try:
            rows = self._conn.execute(
                "SELECT s.story_id, t.doc_id, t.title, substr(t.text, 1, 600), t.published, "
                "s.centrality, (SELECT group_concat(a.doc_id, char(10)) FROM articles a "
                "WHERE a.content_hash=t.content_hash AND a.doc_id != t.doc_id) "
                "FROM stories s JOIN texts t ON t.content_hash=s.content_hash "
                f"{where} ORDER BY s.story_id, t.published = '', t.published, t.doc_id",
                params,
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return
        for sid, doc, title, lead, published, central, aliases in rows:
            yield StoryArticle(
                str(sid),
                str(doc),
                str(title),
                str(lead),
                str(published),
                float(central),
                tuple(sorted(str(aliases).split("\n"))) if aliases else (),
            )


__all__ = ["DDL", "StoryArticle", "StoryTable"]
