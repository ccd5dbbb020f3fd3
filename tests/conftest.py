"""Shared fixtures: the real bundled model (loaded once), real indexes in temp dirs,
a real `chroma run` server, and isolation from the user's NEWSDESK_* environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample" / "archive"
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
SEED_QUESTION = "What did Russia demand of Ukraine?"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's ONNX export cache: exported once per run, never the user's ~/.cache."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Tests never see the developer's NEWSDESK_* settings; every process they start (CLI,
    server) shares the session's model cache."""
    for key in list(os.environ):
        if key.startswith("NEWSDESK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSDESK_MODEL_CACHE", str(model_cache))


@pytest.fixture(scope="session")
def embedder(model_cache: Path):  # type: ignore[no-untyped-def]
    """The default backend's embedder (what users get), loaded once."""
    from newsdesk.core.config import Settings
    from newsdesk.embedding import load_embedder

    return load_embedder(Settings(model_cache=model_cache))


@pytest.fixture(scope="session")
def torch_embedder():  # type: ignore[no-untyped-def]
    """The sentence-transformers pipeline itself: the reference the ONNX backends match."""
    from newsdesk.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


def make_settings(index: Path, **kw: object):  # type: ignore[no-untyped-def]
    from newsdesk.core.config import Settings

    return Settings(index=index, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The bundled sample archive, ingested once per test session (treat as read-only)."""
    from newsdesk.ingest.pipeline import ingest

    index = tmp_path_factory.mktemp("sample") / "index"
    report = ingest(make_settings(index), [str(SAMPLE)], embedder=embedder)
    assert not report.errors, report.errors
    return index


@pytest.fixture(scope="session")
def sample_assistant(sample_index: Path, embedder):  # type: ignore[no-untyped-def]
    from newsdesk.assistant import Assistant, build_answerer
    from newsdesk.retriever.search import Searcher

    settings = make_settings(sample_index)
    return Assistant(settings, Searcher.open(settings, embedder=embedder), build_answerer(settings))


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """../shared/data (BBC + seed) ingested once per session: the eval archive. Slow."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    from newsdesk.ingest.pipeline import ingest

    cached = os.environ.get("NEWSDESK_TEST_SHARED_INDEX")
    if cached and Path(cached, "ledger.sqlite").exists():
        return Path(cached)
    index = tmp_path_factory.mktemp("shared") / "index"
    ingest(make_settings(index), [str(SHARED_DATA)], embedder=embedder)
    return index


@pytest.fixture(scope="session")
def shared_assistant(shared_index: Path, embedder):  # type: ignore[no-untyped-def]
    from newsdesk.assistant import Assistant, build_answerer
    from newsdesk.retriever.search import Searcher

    settings = make_settings(shared_index)
    return Assistant(settings, Searcher.open(settings, embedder=embedder), build_answerer(settings))


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


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()
