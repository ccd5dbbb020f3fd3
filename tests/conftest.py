"""Shared fixtures: the real bundled model (loaded once), real indexes in temp dirs,
a real `chroma run` server, and isolation from the user's NEWSDESK_* environment.

Plain helpers and constants that test modules import live in helpers.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import (
    SAMPLE,
    SHARED_DATA,
    SHARED_REUTERS,
    ChromaServer,
    long_selected,
    make_settings,
)

if TYPE_CHECKING:
    from newsdesk.assistant import Assistant
    from newsdesk.embedding import Embedder
    from newsdesk.nlp import Recognizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test (or a parameter of one) marked `long` runs only when the run asks for long
    tests: `-m slow` alone would otherwise select the long variants of slow tests."""
    if item.get_closest_marker("long") and not long_selected(item.config):
        pytest.skip("a long variant: run with -m long")


# Indexes of ../shared built earlier, to skip minutes of ingest while developing (read here,
# before the autouse fixture below clears NEWSDESK_* for each test).
CACHED_INDEXES = {
    "shared": os.environ.get("NEWSDESK_TEST_SHARED_INDEX", ""),
    "reuters": os.environ.get("NEWSDESK_TEST_REUTERS_INDEX", ""),
}


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
    # `newsdesk ingest` embeds sentences and finds named entities after indexing; entities
    # cost seconds per sample archive (the spaCy load), so they are off unless a test is about
    # them (tests/test_enrich.py turns them back on).
    monkeypatch.setenv("NEWSDESK_ENRICH", "sentences")


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Embedder:
    """The default backend's embedder (what users get), loaded once."""
    from newsdesk.core.config import Settings
    from newsdesk.embedding import load_embedder

    return load_embedder(Settings(model_cache=model_cache))


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    """The sentence-transformers pipeline itself: the reference the ONNX backends match."""
    from newsdesk.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def recognizer() -> Recognizer:
    """The spaCy recogniser users get (en_core_web_sm, or the offline package), loaded once."""
    from newsdesk.nlp import load_recognizer

    return load_recognizer()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The bundled sample archive, ingested once per test session (treat as read-only)."""
    from newsdesk.ingest.pipeline import ingest

    index = tmp_path_factory.mktemp("sample") / "index"
    report = ingest(make_settings(index), [str(SAMPLE)], embedder=embedder)
    assert not report.errors, report.errors
    _read_sentences(index, embedder)
    return index


def _read_sentences(index: Path, embedder: Embedder) -> None:
    """The sentence vectors of ingest's second phase (as `newsdesk ingest` stores them; the
    entities are left to the tests about them)."""
    from newsdesk.ingest.enrich import enrich

    enrich(make_settings(index, enrich="sentences"), embedder=embedder)


@pytest.fixture(scope="session")
def sample_assistant(sample_index: Path, embedder: Embedder) -> Assistant:
    from newsdesk.assistant import build_assistant

    return build_assistant(make_settings(sample_index), embedder=embedder)


def _ingested(
    name: str, folder: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Path:
    """`folder` of ../shared ingested once per session (or the cached index of that name)."""
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    from newsdesk.ingest.pipeline import ingest

    cached = CACHED_INDEXES[name]
    if cached and Path(cached, "ledger.sqlite").exists():
        return Path(cached)
    index = tmp_path_factory.mktemp(name) / "index"
    ingest(make_settings(index), [str(folder)], embedder=embedder)
    _read_sentences(index, embedder)
    return index


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """../shared/data (BBC + seed) ingested once per session: the eval archive. Slow."""
    return _ingested("shared", SHARED_DATA, tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def reuters_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """../shared/reuters (19,043 dated wire stories) ingested once per session. Slow."""
    return _ingested("reuters", SHARED_REUTERS, tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def shared_assistant(shared_index: Path, embedder: Embedder) -> Assistant:
    from newsdesk.assistant import build_assistant

    return build_assistant(make_settings(shared_index), embedder=embedder)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.stop()
