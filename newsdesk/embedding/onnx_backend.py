"""The ONNX Runtime embedding backend: the same sentence-transformers model, without torch.

At first use the model's transformer is exported to ONNX (and, for onnx-int8, quantized:
dynamic, per-channel, signed or unsigned weights as suits the CPU) into the model cache
(`Settings.model_cache`, by default ~/.cache/newsdesk/models), as `<identity>-onnx[-int8]/`
with the model's own `tokenizer.json` and a small manifest. The export runs in a child
process (torch and the exporter peak at ~0.8-2 GB), once per machine rather than per index.
The folder is written under a temporary name and renamed into place, so a crash never leaves
a half-written model behind.

From then on only onnxruntime, the `tokenizers` library and numpy run: tokenize (truncated at
the model's `max_seq_length`), run the transformer, mean-pool over the attention mask and
L2-normalise, exactly as the model's sentence-transformers pipeline does. torch is imported only
by the export's child process.

The identity is the model's own ("all-MiniLM-L6-v2"), so an index built with torch can be
queried with ONNX and vice versa: the fp32 export agrees with torch to ~1e-6, the int8 model to
~0.99 cosine (see tests/test_onnx_backend.py). The int8 backend embeds documents with the int8
model and questions with the fp32 one, so it keeps both exports.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from newsdesk.core.errors import ModelLoadError
from newsdesk.embedding import model_identity, resolve_model_path

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "newsdesk-onnx.json"
MANIFEST_FORMAT = 1
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MAX_DOC_SESSIONS = 8  # ingest runs one single-threaded session per core, up to this many

_Session = tuple[Any, tuple[str, ...]]  # an onnxruntime session and the inputs it takes


def cache_folder(cache_dir: Path, identity: str, quantize: bool) -> Path:
    """Where the exported model of `identity` lives under `cache_dir`."""
    return Path(cache_dir) / f"{identity}-onnx{'-int8' if quantize else ''}"


# ------------------------------------------------------------------ the model's own settings
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _model_spec(path: Path) -> dict[str, Any]:
    """max_seq_length, dimension and pooling as the sentence-transformers folder declares them."""
    config = _read_json(path / "config.json")
    st_config = _read_json(path / "sentence_bert_config.json")
    try:
        modules = json.loads((path / "modules.json").read_text("utf-8"))
    except FileNotFoundError:
        modules = []
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path / 'modules.json'}: {exc}") from exc
    pooling: dict[str, Any] = {}
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith("Pooling"):
            pooling = _read_json(path / str(module.get("path", "")) / "config.json")
    if pooling and not pooling.get("pooling_mode_mean_tokens", False):
        raise ModelLoadError(
            f"the ONNX backend supports mean-pooling models only; {path} pools otherwise "
            "(use embedding_backend=torch)"
        )
    if pooling and any(
        pooling.get(k)
        for k in (
            "pooling_mode_cls_token",
            "pooling_mode_max_tokens",
            "pooling_mode_mean_sqrt_len_tokens",
        )
    ):
        raise ModelLoadError(f"the ONNX backend cannot combine pooling modes of {path}")
    if not (path / TOKENIZER_FILE).exists():
        raise ModelLoadError(f"the ONNX backend needs {path / TOKENIZER_FILE} (a fast tokenizer)")
    max_len = st_config.get("max_seq_length") or config.get("max_position_embeddings") or 512
    max_len = min(int(max_len), int(config.get("max_position_embeddings") or max_len))
    dimension = pooling.get("word_embedding_dimension") or config.get("hidden_size")
    if not dimension:
        raise ModelLoadError(f"cannot tell the embedding dimension of {path}")
    return {
        "max_seq_length": max_len,
        "dimension": int(dimension),
        "do_lower_case": bool(st_config.get("do_lower_case", False)),
        "pad_token_id": int(config.get("pad_token_id") or 0),
    }


# ------------------------------------------------------------------ export (the only torch use)
@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantizer logs advice through `logging.warning()`, which is not news for
    the user and would also configure the root logger (basicConfig) when nothing has."""

    def keep(record: logging.LogRecord) -> bool:
        return record.name != "root"

    root = logging.getLogger()
    placeholder = logging.NullHandler() if not root.handlers else None
    if placeholder is not None:
        root.addHandler(placeholder)
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
        if placeholder is not None:
            root.removeHandler(placeholder)


def _export_fp32(model_path: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_path)).eval()

    class _TokenEmbeddings(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    # Trace with a padded batch so the graph keeps the attention-mask path.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer chatter about constant-folded shapes
        torch.onnx.export(
            _TokenEmbeddings(model),
            (ids, mask, torch.zeros_like(ids)),
            str(out),
            input_names=list(_INPUTS),
            output_names=["token_embeddings"],
            dynamic_axes={name: axes for name in (*_INPUTS, "token_embeddings")},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def cpu_has_vnni() -> bool:
    """Whether this CPU multiplies uint8 by int8 in one instruction (AVX-VNNI / AVX512-VNNI).
    Without it, x86 int8 kernels can saturate on signed weights."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    return False


def _weight_type() -> str:
    """Signed int8 weights where the CPU has VNNI, unsigned elsewhere. Measured (dynamic
    quantization, per-channel, 600 BBC chunks, cosine to the fp32 export):
    - Xeon with AVX512-VNNI: int8 58.5 chunks/s, cosine mean 0.994, min 0.987; uint8 38.9
      chunks/s, same cosine (per-tensor int8 was faster, 64.8, but fell to mean 0.952).
    - EPYC with AVX2 only: uint8 per-channel mean 0.995; signed weights lost accuracy there.
    """
    return "int8" if cpu_has_vnni() else "uint8"


def _quantize(src: Path, out: Path, weight_type: str) -> None:
    """Dynamic quantization with per-channel weights (see `_weight_type`)."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnxruntime's quantizer needs the `onnx` package
        raise ModelLoadError(
            f"the onnx-int8 backend needs {exc.name or 'onnx'}: pip install onnx"
        ) from exc

    weights = QuantType.QInt8 if weight_type == "int8" else QuantType.QUInt8
    with _quiet_root_logger(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(src), str(out), weight_type=weights, per_channel=True)


def export_model(model_path: Path, folder: Path, *, identity: str, quantize: bool) -> None:
    """Export the model at `model_path` into `folder` (atomically: temp folder, then rename).
    The int8 model is quantized from the fp32 export beside it when there is one."""
    spec = _model_spec(model_path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        log.info("exporting %s to ONNX%s in %s", identity, " (int8)" if quantize else "", folder)
        if quantize:
            fp32 = cache_folder(folder.parent, identity, quantize=False)
            source = fp32 / MODEL_FILE if _manifest(fp32) else tmp / "fp32.onnx"
            if not source.exists():
                _export_fp32(model_path, source)
            weight_type = _weight_type()
            _quantize(source, tmp / MODEL_FILE, weight_type)
            (tmp / "fp32.onnx").unlink(missing_ok=True)
        else:
            weight_type = "float32"
            _export_fp32(model_path, tmp / MODEL_FILE)
        shutil.copyfile(model_path / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        manifest = {
            "format": MANIFEST_FORMAT,
            "identity": identity,
            "quantized": quantize,
            "weight_type": weight_type,
            "source": str(model_path),
            **spec,
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        try:
            tmp.rename(folder)
        except OSError:
            if not _manifest(folder):  # not another process winning the race: a real failure
                raise
            log.info("another process exported %s first; using its copy", identity)
    except ModelLoadError:
        raise
    except Exception as exc:  # torch/onnx raise many unrelated types
        raise ModelLoadError(f"cannot export {model_path} to ONNX in {folder}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_in_subprocess(model_path: Path, folder: Path, *, identity: str, quantize: bool) -> None:
    """`export_model` in a child process: torch, transformers and the exporter's ~2 GB stay
    out of the ingest or server process, which only ever runs the exported file."""
    cmd = [
        sys.executable,
        "-m",
        "newsdesk.embedding.onnx_backend",
        "--model",
        str(model_path),
        "--out",
        str(folder),
        "--identity",
        identity,
        *(["--int8"] if quantize else []),
    ]
    log.info("exporting %s to ONNX once (cached in %s)", identity, folder.parent)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise ModelLoadError(f"cannot export {model_path} to ONNX in {folder}: {reason}")


def _manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    if not (folder / MODEL_FILE).is_file() or not (folder / TOKENIZER_FILE).is_file():
        return None
    return data


# ------------------------------------------------------------------ the embedder
class OnnxEmbedder:
    """The onnx / onnx-int8 backend: onnxruntime plus the model's own tokenizer.json.

    With `quantize`, documents go through the int8 model and questions through the fp32 one.
    Ingest is where the time goes (thousands of chunks), and int8 documents cost nothing in
    retrieval; a question is one short text, where int8 error does show: on hard_dev, hybrid
    MRR@10 was 0.588 with int8 questions and 0.630 with fp32 questions over the same int8
    documents (torch throughout: 0.640), for ~2 ms more per question.
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
        manifest = _manifest(self.query_folder) or {}
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
        manifest = _manifest(folder) or {}
        # int8 weights suit this CPU's kernels (see `_weight_type`): a cache made on another
        # machine is quantized again from the fp32 export, in a few seconds.
        wanted = _weight_type() if quantize else "float32"
        if manifest.get("identity") != self.identity or manifest.get("weight_type") != wanted:
            if folder.exists():
                log.warning(
                    "replacing the ONNX export at %s (unusable, or made for another CPU)", folder
                )
                shutil.rmtree(folder)
            export_in_subprocess(path, folder, identity=self.identity, quantize=quantize)
            if _manifest(folder) is None:
                raise ModelLoadError(f"the ONNX export at {folder} is incomplete")
        return folder

    def _open_session(self, folder: Path, *, threads: int) -> _Session:
        """An onnxruntime session using `threads` cores. Idle threads sleep rather than spin:
        on a 2-core machine shared with the UI, Chroma and an ingest, spinning doubled
        question latency."""
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
        unknown = set(names) - set(_INPUTS)
        if unknown:
            raise ModelLoadError(f"the ONNX model wants unknown inputs {sorted(unknown)}")
        return session, names

    def _open_tokenizers(self) -> tuple[Any, Any]:
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
        batch. Measured here on 2 cores: 86 chunks/s, against 64-68 for one session running
        each batch on both cores (which spends its time synchronising its threads)."""
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


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m newsdesk.embedding.onnx_backend --model DIR --out DIR --identity NAME [--int8]`: the
    child process of `export_in_subprocess`. Its last stderr line is the reason on failure."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m newsdesk.embedding.onnx_backend")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        if _manifest(args.out) is None:  # another process may have finished it meanwhile
            export_model(args.model, args.out, identity=args.identity, quantize=args.int8)
    except ModelLoadError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"cannot write to {args.out.parent}: {exc.strerror or exc} "
            "(set NEWSDESK_MODEL_CACHE to a writable folder)",
            file=sys.stderr,
        )
        return 2
    return 0


__all__ = ["OnnxEmbedder", "cache_folder", "export_in_subprocess", "export_model"]


if __name__ == "__main__":
    sys.exit(main())
