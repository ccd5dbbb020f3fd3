"""Concurrent readers of a ledger: one read-only SQLite connection per thread.

The ledger's own connection belongs to the one writer (ingest). Readers (the archive facts,
the searcher's chunk reads) open their own, so that many threads read at once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsdesk.core.errors import IndexCorruptError, IndexNotFoundError
from newsdesk.store.ledger import Ledger, read_only_filesystem


class LedgerReaders:
    """Read-only views of one ledger, each thread its own SQLite connection (opened on first
    use), so that threads read at the same time: in WAL mode SQLite runs any number of readers
    beside each other and beside the one writer, where a shared connection makes them queue.

    `ledger()` is the calling thread's `Ledger` (writes through it fail); `snapshot()` the same
    inside one read transaction, so that all it reads comes from one committed state.
    Connections of threads that have ended are closed when another thread opens one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _open, taken only when a thread opens or closes
        self._open: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False

    def ledger(self) -> Ledger:
        """The calling thread's read-only `Ledger`."""
        ledger: Ledger | None = getattr(self._local, "ledger", None)
        if ledger is None or self._closed:
            ledger = Ledger(self._connect(), self.path)
            self._local.ledger = ledger
        return ledger

    @contextmanager
    def snapshot(self) -> Iterator[Ledger]:
        """The calling thread's `Ledger` inside one read transaction (nested calls share the
        outer one)."""
        ledger = self.ledger()
        conn = ledger._conn
        if conn.in_transaction:
            yield ledger
            return
        conn.execute("BEGIN")
        try:
            yield ledger
        finally:
            conn.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise IndexNotFoundError(f"the readers of {self.path} are closed")
            for thread in [t for t in self._open if not t.is_alive()]:
                self._open.pop(thread).close()
            try:
                if read_only_filesystem(self.path.parent):  # as Ledger.open: no WAL, no locks
                    uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
                    conn = sqlite3.connect(
                        uri, uri=True, check_same_thread=False, isolation_level=None
                    )
                else:
                    conn = sqlite3.connect(
                        self.path, timeout=30.0, check_same_thread=False, isolation_level=None
                    )
                    conn.execute("PRAGMA query_only=ON")
            except sqlite3.DatabaseError as exc:
                raise IndexCorruptError(f"cannot read the ledger {self.path}: {exc}") from exc
            old = self._open.pop(threading.current_thread(), None)
            if old is not None:
                old.close()
            self._open[threading.current_thread()] = conn
            return conn

    def close(self) -> None:
        """Close every thread's connection; later reads raise IndexNotFoundError."""
        with self._lock:
            self._closed = True
            for conn in self._open.values():
                conn.close()
            self._open.clear()


__all__ = ["LedgerReaders"]
