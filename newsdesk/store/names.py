"""The ledger's names read by name: the articles naming someone and the roles they are given.

The `people` table (a name, its type and mention count per stored text) and the `descriptors`
table ("the chancellor" -> Gordon Brown, per text) are written by the mining pass
(`newsdesk.nlp.people`, `newsdesk.nlp.descriptors`); this reads them for a person's page and
for the name filter.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from newsdesk.core.errors import StoreError


@dataclass(frozen=True)
class NamedArticle:
    """An article naming someone: its canonical doc_id, title, date and mention count."""

    doc_id: str
    title: str
    published: str
    mentions: int


class NameTable:
    """Reads the `people` and `descriptors` tables through a ledger's connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def articles(self, name: str) -> list[NamedArticle]:
        """The articles naming `name` (exactly, as stored), newest first (undated last)."""
        rows = self._conn.execute(
            "SELECT t.doc_id, t.title, t.published, SUM(p.mentions) FROM people p "
            "JOIN texts t ON t.content_hash=p.content_hash WHERE p.name=? "
            "GROUP BY t.content_hash ORDER BY t.published = '', t.published DESC, t.doc_id",
            (name,),
        ).fetchall()
        return [NamedArticle(str(d), str(t), str(p), int(m)) for d, t, p, m in rows]

    def most_named(self, limit: int) -> list[tuple[str, int]]:
        """(name, texts naming it) of the `limit` names most texts name, most first (read
        from the name index alone: cheap enough for start-up on a large archive)."""
        rows = self._conn.execute(
            "SELECT name, COUNT(DISTINCT content_hash) AS n FROM people GROUP BY name "
            "ORDER BY n DESC, name LIMIT ?",
            (limit,),
        ).fetchall()
        return [(str(name), int(n)) for name, n in rows]

    def doc_ids(self, names: Sequence[str]) -> set[str]:
        """Every doc_id (duplicate files included) of the articles naming each of `names`."""
        found: set[str] | None = None
        for name in names:
            rows = self._conn.execute(
                "SELECT a.doc_id FROM people p JOIN articles a ON a.content_hash=p.content_hash "
                "WHERE p.name=?",
                (name,),
            ).fetchall()
            docs = {str(r[0]) for r in rows}
            found = docs if found is None else found & docs
        return found or set()

    def in_articles(self, doc_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(name, type) of every name the articles `doc_ids` name, most mentioned first."""
        mentions: Counter[tuple[str, str]] = Counter()
        for _, name, kind, n in self._named(doc_ids):
            mentions[(name, kind)] += n
        return sorted(mentions, key=lambda key: (-mentions[key], key[0]))

    def by_article(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """doc_id -> the people and organisations it names, for each of `doc_ids`."""
        out: dict[str, set[str]] = {d: set() for d in doc_ids}
        for doc_id, name, kind, _ in self._named(doc_ids):
            if kind in ("person", "org"):
                out[doc_id].add(name)
        return out

    def _named(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str, int]]:
        """(doc_id, name, type, mentions) of every name of the articles `doc_ids`."""
        if not doc_ids:
            return []
        marks = ",".join("?" * len(doc_ids))
        rows = self._read(
            "SELECT a.doc_id, p.name, p.type, p.mentions FROM people p "
            f"JOIN articles a ON a.content_hash=p.content_hash WHERE a.doc_id IN ({marks})",
            tuple(doc_ids),
        )
        return [(str(d), str(name), str(kind), int(n)) for d, name, kind, n in rows]

    def _read(self, sql: str, params: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """The rows of `sql`; none from an index mined before the name table existed, and
        StoreError (a one-line reason) when SQLite cannot read it now."""
        try:
            return list(self._conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise StoreError(f"cannot read the names of the index: {exc}") from exc

    def roles(self, name: str) -> list[tuple[str, int]]:
        """The descriptions articles give `name` ("chancellor", "UK chancellor"), each as its
        articles most often write it, with how many texts give it, most first (none for an
        index without the descriptor table)."""
        try:
            rows = self._conn.execute(
                'SELECT d.key, d.content_hash, substr(t.text, d.start + 1, d."end" - d.start) '
                "FROM descriptors d JOIN texts t ON t.content_hash=d.content_hash "
                "WHERE d.name=?",
                (name,),
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []
        texts: dict[str, set[str]] = {}
        written: dict[str, Counter[str]] = {}
        for key, content, surface in rows:
            texts.setdefault(str(key), set()).add(str(content))
            words = " ".join(str(surface).split())
            written.setdefault(str(key), Counter())[words.removeprefix("the ")] += 1
        ranked = sorted(texts, key=lambda k: (-len(texts[k]), k))
        return [(written[k].most_common(1)[0][0], len(texts[k])) for k in ranked]


__all__ = ["NameTable", "NamedArticle"]
