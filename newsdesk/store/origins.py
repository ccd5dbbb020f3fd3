"""The ledger's view of where articles came from: each origin with its articles and dates.

An origin is what ingest was given, normalised (`articles.origin`): a folder, a file, a URL,
or a file uploaded in the UI (copied into the index's `uploads/` folder first); `articles.file`
is each article's file within it. The `ingests` table adds when each origin was last ingested
(written by `ingest.pipeline` at the end of a run, created by its first write: an index
ingested before it existed has no times). `OriginTable.listing()` is what the UI's Sources
view shows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from newsdesk.store import schema

if TYPE_CHECKING:
    from newsdesk.store.ledger import Ledger

DDL = """
CREATE TABLE IF NOT EXISTS ingests (origin TEXT PRIMARY KEY, at TEXT NOT NULL);
"""

_URL = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class OriginPart:
    """A folder of an origin (or a file at its top), with its articles and dates."""

    name: str  # a folder the articles' files are in ("world/"), or a file at the top
    articles: int
    first: str  # the earliest publication date, "" when no article of it is dated
    last: str


@dataclass(frozen=True)
class Origin:
    """One source of the archive: an origin, what it holds, and when it was last ingested."""

    origin: str  # as stored: a resolved path or a URL
    kind: str  # "folder", "file", "url" or "upload"
    articles: int  # article rows (doc_ids), duplicates included
    first: str  # earliest publication date ("" when undated)
    last: str
    ingested: str  # ISO 8601 UTC time of its last ingest, "" when not recorded
    parts: tuple[OriginPart, ...] = ()  # a folder's folders and top-level files

    @property
    def name(self) -> str:
        """What a reader calls it: the URL, the path, or an upload's file name."""
        return PurePosixPath(self.origin).name if self.kind == "upload" else self.origin


def now_utc() -> str:
    """The time an ingest records: ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OriginTable:
    """Reads the articles' origins and reads and writes the `ingests` table through a
    ledger's connection. `uploads` is the index's folder of uploaded files."""

    def __init__(self, conn: sqlite3.Connection, uploads: Path) -> None:
        self._conn = conn
        self._uploads = uploads

    @classmethod
    def of(cls, ledger: Ledger) -> OriginTable:
        """The table of `ledger` (the writer's, or a reader's for the listing)."""
        return cls(ledger._conn, ledger.path.resolve().parent / schema.UPLOADS_DIR)

    def record(self, origins: Iterable[str], at: str | None = None) -> None:
        """Note that `origins` were ingested `at` (now by default); inside a transaction."""
        when = at or now_utc()
        self._conn.execute(DDL)
        self._conn.executemany(
            "INSERT OR REPLACE INTO ingests(origin, at) VALUES (?, ?)",
            [(o, when) for o in origins],
        )

    def forget(self, origin: str) -> None:
        """Drop the ingest time of an origin whose articles are gone; inside a transaction."""
        self._conn.execute(DDL)
        self._conn.execute("DELETE FROM ingests WHERE origin=?", (origin,))

    def holding(self, name: str) -> set[str]:
        """The origins of the articles whose doc_id or file is `name`."""
        rows = self._conn.execute(
            "SELECT DISTINCT origin FROM articles WHERE doc_id=? OR file=?", (name, name)
        )
        return {str(r[0]) for r in rows}

    def listing(self) -> list[Origin]:
        """Every origin of the archive, URLs after paths, each in name order."""
        rows = self._conn.execute(
            "SELECT a.origin, a.file, COUNT(*), "
            "MIN(NULLIF(COALESCE(json_extract(a.meta, '$.published'), t.published), '')), "
            "MAX(NULLIF(COALESCE(json_extract(a.meta, '$.published'), t.published), '')) "
            "FROM articles a JOIN texts t ON t.content_hash=a.content_hash "
            "GROUP BY a.origin, a.file ORDER BY a.origin, a.file"
        )
        files: dict[str, list[tuple[str, int, str, str]]] = {}
        for origin, file, n, first, last in rows:
            files.setdefault(str(origin), []).append(
                (str(file), int(n), str(first or "")[:10], str(last or "")[:10])
            )
        times = self.times()
        out = [self._origin(origin, held, times.get(origin, "")) for origin, held in files.items()]
        out.sort(key=lambda o: (o.kind == "url", o.origin.lower()))
        return out

    def times(self) -> dict[str, str]:
        """origin -> when it was last ingested ({} in an index older than the table)."""
        try:
            rows = self._conn.execute("SELECT origin, at FROM ingests").fetchall()
        except sqlite3.OperationalError as exc:  # an older index on a read-only file system
            if "no such table" not in str(exc):
                raise
            return {}
        return {str(o): str(at) for o, at in rows}

    def _origin(self, origin: str, files: list[tuple[str, int, str, str]], at: str) -> Origin:
        kind = self._kind(origin, [f for f, _, _, _ in files])
        parts: dict[str, OriginPart] = {}
        if kind == "folder":
            for file, n, first, last in files:
                folder, sep, _ = file.partition("/")
                name = folder + sep
                parts[name] = _merged(parts.get(name), name, n, first, last)
        whole = _merged(None, origin, *_totals(files))
        return Origin(
            origin, kind, whole.articles, whole.first, whole.last, at, tuple(parts.values())
        )

    def _kind(self, origin: str, files: list[str]) -> str:
        if _URL.match(origin):
            return "url"
        path = Path(origin)
        if path.parent == self._uploads:
            return "upload"
        if files == [path.name]:
            return "file"
        return "folder"


def _totals(files: list[tuple[str, int, str, str]]) -> tuple[int, str, str]:
    firsts = [f for _, _, f, _ in files if f]
    lasts = [s for _, _, _, s in files if s]
    return sum(n for _, n, _, _ in files), min(firsts, default=""), max(lasts, default="")


def _merged(part: OriginPart | None, name: str, n: int, first: str, last: str) -> OriginPart:
    if part is None:
        return OriginPart(name, n, first, last)
    firsts = [d for d in (part.first, first) if d]
    lasts = [d for d in (part.last, last) if d]
    return OriginPart(name, part.articles + n, min(firsts, default=""), max(lasts, default=""))


__all__ = ["Origin", "OriginPart", "OriginTable", "now_utc"]
