"""What test modules share besides fixtures: paths, the seed question, settings, and the
processes some tests start (free ports, stopping servers, a real `chroma run`).

Fixtures live in conftest.py; modules import these names with `from helpers import ...`.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from newsdesk.core.config import Settings
    from newsdesk.store.ledger import Ledger

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample" / "archive"
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_REUTERS = SHARED / "reuters"
SEED_QUESTION = "What did Russia demand of Ukraine?"
# A small dated wire archive: one story in three reports (Texaco, Pennzoil), quotes of two
# speakers on one subject; (id, published, title, body).
WIRE = [
    (
        "w/1",
        "1987-04-12",
        "TEXACO FILES FOR BANKRUPTCY",
        "Texaco Inc filed for protection under Chapter 11 of the bankruptcy code on Sunday, "
        "rather than post a bond in its legal battle with Pennzoil Co.",
    ),
    (
        "w/2",
        "1987-04-13",
        "PENNZOIL TO CHALLENGE TEXACO BANKRUPTCY FILING",
        "Pennzoil Co said it would challenge the Chapter 11 bankruptcy filing of Texaco Inc, a "
        "tactic to avoid posting a bond in their legal battle.",
    ),
    (
        "w/3",
        "1987-04-14",
        "TEXACO, PENNZOIL STILL FAR APART ON SETTLEMENT",
        "Texaco Inc and Pennzoil Co are still far apart on a settlement after Texaco filed for "
        "protection under Chapter 11 of the bankruptcy code, executives said.",
    ),
    (
        "w/4",
        "1987-03-01",
        "BROWN ATTACKS STEEL TARIFF",
        'Gordon Brown met industry leaders in London. "The tariff on steel must go," Brown said.',
    ),
    (
        "w/5",
        "1987-03-05",
        "BROWN PROMISES TO CUT STEEL TARIFF",
        'Gordon Brown spoke in Leeds on Thursday. "We will cut the steel tariff next year," '
        "Brown said.",
    ),
    (
        "w/6",
        "1987-03-04",
        "STEEL TARIFF A SCANDAL, SAYS HOWARD",
        'Michael Howard attacked the steel tariff in London. "The steel tariff is a scandal," '
        "Howard said.",
    ),
]


def long_selected(config: pytest.Config) -> bool:
    """True when the run asked for `long` tests (-m long, -m "slow or long"; not "not long").
    A -m on the command line replaces the default "not long", so conftest skips a `long`
    test the run did not ask for by name."""
    expr = str(config.getoption("markexpr") or "")
    return bool(re.search(r"(?<!not )\blong\b", expr))


def short_and_long(short: tuple[Any, ...], long: tuple[Any, ...]) -> list[Any]:
    """The parameters of a test run at two sizes: `short` by default, `long` marked so."""
    return [
        pytest.param(*short, id="short"),
        pytest.param(*long, id="long", marks=pytest.mark.long),
    ]


def make_settings(index: Path, **kw: Any) -> Settings:
    """Settings for an index in a temp dir; `kw` overrides any other field."""
    from newsdesk.core.config import Settings

    return Settings(index=index, **kw)


@contextmanager
def open_ledger(index: Path) -> Iterator[Ledger]:
    """The ledger of an existing index, closed afterwards."""
    from newsdesk.store.ledger import Ledger

    ledger = Ledger.open(index, create=False)
    try:
        yield ledger
    finally:
        ledger.close()


def orphans(index: Path, table: str) -> int:
    """Rows of `table` (keyed by content_hash) whose text is no longer stored."""
    with open_ledger(index) as ledger:
        return int(
            ledger._conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE content_hash NOT IN "
                "(SELECT content_hash FROM texts)"
            ).fetchone()[0]
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Ask a server process to stop; kill it if it has not within `timeout`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class ChromaServer:
    """A real `chroma run` server on a free loopback port; can be stopped and restarted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        self.proc = subprocess.Popen(
            [
                chroma,
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def mined_index(root: Path, stories: dict[str, str], embedder: Any, recognizer: Any) -> Any:
    """`stories` (file name -> text) written to root/archive, ingested into root/index and
    enriched with entities (and what is mined from them); the enrich report."""
    from newsdesk.ingest.enrich import enrich
    from newsdesk.ingest.pipeline import ingest

    archive = root / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    for name, text in stories.items():
        (archive / name).write_text(text, encoding="utf-8")
    index = root / "index"
    ingest(make_settings(index), [str(archive)], embedder=embedder)
    return enrich(make_settings(index, enrich="all"), recognizer=recognizer, embedder=embedder)


def wire_index(root: Path, embedder: Any, recognizer: Any) -> Path:
    """The WIRE stories as a JSON Lines archive, ingested and enriched under `root`; the
    index's path."""
    import json

    lines = "".join(
        json.dumps({"id": i, "published": d, "title": t, "body": b}) + "\n" for i, d, t, b in WIRE
    )
    mined_index(root, {"wire.jsonl": lines}, embedder, recognizer)
    return root / "index"
