"""Sentence embeddings from a local model: the bundled all-MiniLM-L6-v2 by default.

This module holds what callers use: the `Embedder` protocol and `load_embedder(settings)`, the
one factory. Nothing is fetched from a hub: the model is a folder on disk (the bundled
package's, or one the user names; see `models`), loaded once and used in batches. Backends:
`torch` (sentence-transformers; `torch_backend`) and `onnx` / `onnx-int8` (onnxruntime with
the model's own tokenizer; `onnx_runtime`, with the one-off export in `export`).

Importing this package stays cheap: torch, sentence-transformers and onnxruntime are imported
only when an embedder is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from newsdesk.core.config import Settings, model_cache_dir
from newsdesk.embedding.models import model_identity, resolve_model_path
from newsdesk.embedding.torch_backend import SentenceTransformerEmbedder


class Embedder(Protocol):
    """What ingest and retrieval need from an embedding model."""

    identity: str  # stored with the index; another model is a mismatch
    dimension: int
    max_tokens: int  # the model's own input limit, in its word pieces

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, special tokens included, without truncation."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


# Texts per model call when the settings leave it open. ONNX: one text per call, as fast as
# small batches here and with no padding; and since dynamic int8 quantization scales a call's
# activations together, only a text embedded alone gets a vector that does not depend on its
# batch neighbours. torch: small batches beat large ones.
# Measured: see bench/results/reference.json.
DEFAULT_BATCH = {"torch": 4, "onnx": 1, "onnx-int8": 1}


def load_embedder(settings: Settings) -> Embedder:
    """The composition root's one way to get an embedder: the model and backend `settings`
    name, exporting the model to ONNX first when that backend has no export yet."""
    backend = settings.embedding_backend
    batch_size = settings.embedding_batch_size or DEFAULT_BATCH[backend]
    if backend == "torch":
        return SentenceTransformerEmbedder(settings.embedding_model, batch_size=batch_size)
    from newsdesk.embedding.onnx_runtime import OnnxEmbedder

    return OnnxEmbedder(
        settings.embedding_model,
        quantize=backend == "onnx-int8",
        batch_size=batch_size,
        cache_dir=model_cache_dir(settings),
    )


__all__ = [
    "DEFAULT_BATCH",
    "Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "model_identity",
    "resolve_model_path",
]
