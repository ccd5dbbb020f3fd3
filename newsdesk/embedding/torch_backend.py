"""The torch embedding backend: the model's own sentence-transformers pipeline.

It is the reference the ONNX backends match. sentence-transformers (and so torch) is imported
only when an embedder is built.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from newsdesk.core.errors import ModelLoadError
from newsdesk.embedding.models import model_identity, resolve_model_path


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
        """Word pieces per text, special tokens included, without truncation."""
        if not texts:  # the transformers tokenizer fails on an empty batch
            return []
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
