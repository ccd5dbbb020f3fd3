"""The ONNX Runtime backend: export beside the index, reuse, agreement with torch, retrieval."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SAMPLE, SEED_QUESTION, SHARED_DATA, make_settings

from ingest.pipeline import ingest
from newsdesk.embedding import resolve_model_path
from newsdesk.errors import ModelLoadError
from newsdesk.onnx_backend import MANIFEST_FILE, MODEL_FILE, OnnxEmbedder, cache_folder
from retriever.search import Searcher

MODEL = "all-MiniLM-L6-v2"
SEED_DOC = "world/ibtimes-russia-urges-kyiv-peace-talks.md"


def sentences() -> list[str]:
    """~30 real texts of very different lengths: headlines, sentences, whole articles (longer
    than the model's 256 word pieces, so truncation must agree too), and edge cases."""
    out: list[str] = ["", "Who won?", "  padded   with spaces  ", "Ünïcödé naïve café résumé"]
    bbc = SHARED_DATA / "bbc"
    files = sorted(bbc.glob("*/*.txt"))[::150] if bbc.is_dir() else []
    for f in files[:13]:
        text = f.read_text(encoding="utf-8", errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        out.append(lines[0])  # headline
        out.append(text)  # whole article
    for f in sorted(SAMPLE.rglob("*.md")) + sorted(SAMPLE.rglob("*.txt")):
        out.append(f.read_text(encoding="utf-8"))
    return out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


@pytest.fixture(scope="module")
def onnx_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample archive ingested with the fp32 ONNX backend through the settings, so the
    export lands where the composition root puts it: <index>/models/."""
    index = tmp_path_factory.mktemp("onnx") / "index"
    report = ingest(make_settings(index, embedding_backend="onnx"), [str(SAMPLE)])
    assert not report.errors, report.errors
    assert report.chunks_added > 0
    return index


@pytest.fixture(scope="module")
def fp32(onnx_index: Path) -> OnnxEmbedder:
    return OnnxEmbedder(MODEL, quantize=False, batch_size=8, cache_dir=onnx_index / "models")


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    cache = tmp_path_factory.mktemp("int8-cache")
    return OnnxEmbedder(MODEL, quantize=True, batch_size=8, cache_dir=cache)


def test_export_lands_beside_the_index_atomically(onnx_index: Path) -> None:
    models = onnx_index / "models"
    folder = cache_folder(models, MODEL, quantize=False)
    assert folder == models / "all-MiniLM-L6-v2-onnx"
    assert (folder / MODEL_FILE).stat().st_size > 10_000_000
    manifest = json.loads((folder / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["identity"] == MODEL and manifest["max_seq_length"] == 256
    assert manifest["dimension"] == 384 and manifest["quantized"] is False
    assert [p.name for p in models.iterdir()] == [folder.name]  # no temp folder left behind


def test_second_construction_reuses_the_export(onnx_index: Path, fp32: OnnxEmbedder) -> None:
    model = fp32.folder / MODEL_FILE
    before = model.stat()
    again = OnnxEmbedder(MODEL, quantize=False, batch_size=4, cache_dir=onnx_index / "models")
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    np.testing.assert_allclose(again.embed_query("a flood"), fp32.embed_query("a flood"), atol=1e-6)


def test_cached_model_runs_without_torch(fp32: OnnxEmbedder) -> None:
    """Once exported, the query path never imports torch (that is the start-up win)."""
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from newsdesk.onnx_backend import OnnxEmbedder\n"
        f"e = OnnxEmbedder({MODEL!r}, quantize=False, batch_size=4, "
        f"cache_dir=Path({str(fp32.folder.parent)!r}))\n"
        "v = e.embed_query('What did Russia demand of Ukraine?')\n"
        "assert v.shape == (384,), v.shape\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_fp32_agrees_with_torch(fp32: OnnxEmbedder, embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    assert len(texts) >= 25
    ours, theirs = fp32.embed_documents(texts), embedder.embed_documents(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    sims = cosines(ours, theirs)
    assert sims.mean() > 0.999 and sims.min() > 0.999, sims
    # order and batching do not matter: the same text embeds the same alone and in a batch
    np.testing.assert_allclose(fp32.embed_query(texts[5]), ours[5], atol=1e-5)


def test_int8_agrees_with_torch(int8: OnnxEmbedder, embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    sims = cosines(int8.embed_documents(texts), embedder.embed_documents(texts))
    assert sims.mean() > 0.97, sims
    assert sims.min() > 0.9, sims
    assert int8.folder.name == "all-MiniLM-L6-v2-onnx-int8"
    assert (int8.folder / MODEL_FILE).stat().st_size < 40_000_000  # really quantized


def test_token_counts_match_torch(fp32: OnnxEmbedder, embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    assert fp32.count_tokens(texts) == embedder.count_tokens(texts)
    assert fp32.identity == embedder.identity and fp32.max_tokens == embedder.max_tokens
    assert fp32.dimension == embedder.dimension


def test_retrieval_through_an_onnx_index(onnx_index: Path) -> None:
    settings = make_settings(onnx_index, embedding_backend="onnx")
    searcher = Searcher.open(settings)  # the real composition path, reusing the export
    try:
        assert isinstance(searcher.embedder, OnnxEmbedder)
        hits = searcher.search(SEED_QUESTION, mode="dense", k=3)
        assert hits and hits[0].doc_id == SEED_DOC
        assert hits[0].passages[0].similarity > 0.3
    finally:
        searcher.close()


def test_torch_index_queried_with_int8(sample_index: Path, int8: OnnxEmbedder) -> None:
    """Same identity: an index built with torch answers queries embedded with ONNX int8."""
    searcher = Searcher.open(make_settings(sample_index), embedder=int8)
    try:
        hits = searcher.search(SEED_QUESTION, mode="dense", k=3)
        assert hits and hits[0].doc_id == SEED_DOC
    finally:
        searcher.close()


def test_unusable_export_is_an_error_not_a_crash(tmp_path: Path, fp32: OnnxEmbedder) -> None:
    broken = cache_folder(tmp_path, MODEL, quantize=False)
    shutil.copytree(fp32.folder, broken, ignore=shutil.ignore_patterns(MODEL_FILE))
    (broken / MODEL_FILE).write_bytes(b"not an onnx model")
    with pytest.raises(ModelLoadError, match="delete that folder"):
        OnnxEmbedder(MODEL, quantize=False, batch_size=4, cache_dir=tmp_path)


def test_non_mean_pooling_model_is_refused(tmp_path: Path) -> None:
    src = resolve_model_path(MODEL)
    model = tmp_path / "cls-model"
    model.mkdir()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "tokenizer.json"):
        shutil.copy(src / name, model / name)
    (model / "1_Pooling").mkdir()
    pooling = json.loads((src / "1_Pooling" / "config.json").read_text("utf-8"))
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (model / "1_Pooling" / "config.json").write_text(json.dumps(pooling), "utf-8")
    with pytest.raises(ModelLoadError, match="mean-pooling"):
        OnnxEmbedder(str(model), quantize=False, batch_size=4, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_int8_is_quantized_from_an_fp32_export_beside_it(
    tmp_path: Path, fp32: OnnxEmbedder, int8: OnnxEmbedder
) -> None:
    shutil.copytree(fp32.folder, tmp_path / fp32.folder.name)
    again = OnnxEmbedder(MODEL, quantize=True, batch_size=8, cache_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [fp32.folder.name, int8.folder.name]
    texts = sentences()[:6]
    np.testing.assert_allclose(again.embed_documents(texts), int8.embed_documents(texts), atol=1e-5)
