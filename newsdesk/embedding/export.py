"""Making the ONNX exports: the fp32 export of the model's transformer (the only torch use),
int8 quantisation (dynamic, per-channel, signed or unsigned weights as suits the CPU), and the
child process they run in.

The export runs in a child process (torch and the exporter peak at ~0.8-2 GB), once per
machine rather than per index: `export_in_subprocess` starts
`python -m newsdesk.embedding.export`, whose `main()` calls `export_model`. The folder is
written under a temporary name and renamed into place, so a crash never leaves a half-written
model behind.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newsdesk.core.errors import ModelLoadError
from newsdesk.embedding.models import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MODEL_FILE,
    ONNX_INPUTS,
    TOKENIZER_FILE,
    cache_folder,
    model_spec,
    read_manifest,
)

log = logging.getLogger(__name__)

OPSET = 17


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
            input_names=list(ONNX_INPUTS),
            output_names=["token_embeddings"],
            dynamic_axes={name: axes for name in (*ONNX_INPUTS, "token_embeddings")},
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


def int8_weight_type() -> str:
    """Signed int8 weights where the CPU has VNNI, unsigned elsewhere. With VNNI, signed
    weights are faster at the same accuracy as unsigned; without it (AVX2 only) signed
    weights lose accuracy. Weights are per-channel: per-tensor was faster but clearly less
    accurate. Measured: see bench/results/reference.json."""
    return "int8" if cpu_has_vnni() else "uint8"


def _quantize(src: Path, out: Path, weight_type: str) -> None:
    """Dynamic quantization with per-channel weights (see `int8_weight_type`)."""
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
    spec = model_spec(model_path)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        log.info("exporting %s to ONNX%s in %s", identity, " (int8)" if quantize else "", folder)
        if quantize:
            fp32 = cache_folder(folder.parent, identity, quantize=False)
            source = fp32 / MODEL_FILE if read_manifest(fp32) else tmp / "fp32.onnx"
            if not source.exists():
                _export_fp32(model_path, source)
            weight_type = int8_weight_type()
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
            if not read_manifest(folder):  # not another process winning the race: a real failure
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
        "newsdesk.embedding.export",
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


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m newsdesk.embedding.export --model DIR --out DIR --identity NAME [--int8]`:
    the child process of `export_in_subprocess`. Its last stderr line is the reason on failure."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m newsdesk.embedding.export")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--identity", required=True)
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        if read_manifest(args.out) is None:  # another process may have finished it meanwhile
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


if __name__ == "__main__":
    sys.exit(main())
