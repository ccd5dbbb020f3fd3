"""The ONNX Runtime embedding backend (`OnnxEmbedder`): the same sentence-transformers model,
without torch.

At first use the model is exported into the model cache (see `newsdesk.embedding.export`);
from then on only onnxruntime, the `tokenizers` library and numpy run: tokenize (truncated at
the model's `max_seq_length`), run the transformer, mean-pool over the attention mask and
L2-normalise, exactly as the model's sentence-transformers pipeline does.

The identity is the model's own ("all-MiniLM-L6-v2"), so an index built with torch can be
queried with ONNX and vice versa: the fp32 export agrees with torch to ~1e-6, the int8 model to
~0.99 cosine (see tests/test_onnx_backend.py). The int8 backend embeds documents with the int8
model and questions with the fp32 one, so it keeps both exports.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.core.errors import ModelLoadError
from newsdesk.embedding.export import export_in_subprocess, int8_weight_type
from newsdesk.embedding.models import (
    MODEL_FILE,
    ONNX_INPUTS,
    TOKENIZER_FILE,
    cache_folder,
    model_identity,
    read_manifest,
    resolve_model_path,
)

log = logging.getLogger(__name__)

MAX_DOC_SESSIONS = 8  # ingest runs one single-threaded session per core, up to this many

_Session = tuple[Any, tuple[str, ...]]  # an onnxruntime session and the inputs it takes


class OnnxEmbedder:
    """The onnx / onnx-int8 backend: onnxruntime plus the model's own tokenizer.json.

    With `quantize`, documents go through the int8 model and questions through the fp32 one.
    Ingest is where the time goes (thousands of chunks), and int8 documents cost nothing in
    retrieval; a question is one short text, where int8 error does show in retrieval quality
    and the fp32 model costs little time. Measured: see bench/results/reference.json.
    """

    def __init__(self, name: str, *, quantize: bool, batch_size: int, cache_dir: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = resolve_model_path(name)
        self.identity = model_identity(name, path)
        self.quantized = quantize
        self.query_folder = self._ensure_export(path, cache_dir, quantize=False)
        self.folder = self.query_folder
        if quantize:
            self.folder = self._ensure_export(path, cache_dir, quantize=True)
        manifest = read_manifest(self.query_folder) or {}
        self.dimension = int(manifest["dimension"])
        self.max_tokens = int(manifest["max_seq_length"])
        self._lower = bool(manifest.get("do_lower_case", False))
        self._pad_id = int(manifest.get("pad_token_id", 0))
        self._batch_size = batch_size
        self._query_session = self._open_session(self.query_folder, threads=os.cpu_count() or 1)
        self._doc_sessions: list[_Session] | None = None  # opened by the first ingest
        self._tokenizer, self._counter = self._open_tokenizers()

    def _ensure_export(self, path: Path, cache_dir: Path, *, quantize: bool) -> Path:
        """The cached export of the model (exported now if missing or unusable)."""
        folder = cache_folder(cache_dir, self.identity, quantize)
        manifest = read_manifest(folder) or {}
        # int8 weights suit this CPU's kernels (see `int8_weight_type`): a cache made on another
        # machine is quantized again from the fp32 export, in a few seconds.
        wanted = int8_weight_type() if quantize else "float32"
        if manifest.get("identity") != self.identity or manifest.get("weight_type") != wanted:
            if folder.exists():
                log.warning(
                    "replacing the ONNX export at %s (unusable, or made for another CPU)", folder
                )
                shutil.rmtree(folder)
            export_in_subprocess(path, folder, identity=self.identity, quantize=quantize)
            if read_manifest(folder) is None:
                raise ModelLoadError(f"the ONNX export at {folder} is incomplete")
        return folder

    def _open_session(self, folder: Path, *, threads: int) -> _Session:
        """An onnxruntime session using `threads` cores. Idle threads sleep rather than spin:
        on a small machine shared with the UI, Chroma and an ingest, spinning threads took
        the cores others needed and slowed questions down
        (measured: see bench/results/reference.json)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelLoadError(
                f"cannot load the ONNX model {folder / MODEL_FILE}: {exc} "
                "(delete that folder to export it again)"
            ) from exc
        names = tuple(i.name for i in session.get_inputs())
        unknown = set(names) - set(ONNX_INPUTS)
        if unknown:
            raise ModelLoadError(f"the ONNX model wants unknown inputs {sorted(unknown)}")
        return session, names

    def _open_tokenizers(self) -> tuple[Any, Any]:
        """The embedding tokenizer (truncating at `max_tokens`) and the counting one (not)."""
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
            counter = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise ModelLoadError(f"cannot load {self.folder / TOKENIZER_FILE}: {exc}") from exc
        # tokenizer.json may carry its own fixed padding/truncation; ours replace them.
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_tokens)
        counter.no_padding()
        counter.no_truncation()
        return tokenizer, counter

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        return [t.lower() for t in texts] if self._lower else list(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, special tokens included, without truncation."""
        encodings = self._counter.encode_batch(self._prepare(texts), add_special_tokens=True)
        return [len(e.ids) for e in encodings]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Documents (ingest): one single-threaded session per core, each taking every n-th
        batch: faster than one session running each batch on all cores, which spends its
        time synchronising its threads (measured: see bench/results/reference.json)."""
        if self._doc_sessions is None:
            cores = max(1, min(os.cpu_count() or 1, MAX_DOC_SESSIONS))
            self._doc_sessions = [self._open_session(self.folder, threads=1) for _ in range(cores)]
        return self._embed(self._doc_sessions, texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._query_session], [text])[0]

    def _embed(self, sessions: Sequence[_Session], texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(self._prepare(texts), add_special_tokens=True)
        # Similar lengths share a batch, so little of each batch is padding.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        batches = [order[i : i + self._batch_size] for i in range(0, len(order), self._batch_size)]
        out = np.empty((len(encodings), self.dimension), dtype=np.float32)

        def run(k: int) -> None:  # onnxruntime releases the GIL while it computes
            for rows in batches[k :: len(sessions)]:
                out[rows] = self._embed_batch(sessions[k], [encodings[r] for r in rows])

        if len(sessions) == 1 or len(batches) == 1:
            for rows in batches:
                out[rows] = self._embed_batch(sessions[0], [encodings[r] for r in rows])
            return out
        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            for done in [pool.submit(run, k) for k in range(len(sessions))]:
                done.result()
        return out

    def _embed_batch(self, session: _Session, encodings: Sequence[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = 1
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        model, inputs = session
        tokens = model.run(None, {k: feeds[k] for k in inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled / norms, dtype=np.float32)
