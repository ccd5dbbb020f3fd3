"""The ONNX Runtime backend: export into the model cache (in a child process), reuse, agreement
with torch, retrieval."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, SAMPLE, SEED_QUESTION, SHARED_DATA, make_settings

from newsdesk.core.errors import ModelLoadError
from newsdesk.embedding import resolve_model_path
from newsdesk.embedding.export import cpu_has_vnni
from newsdesk.embedding.models import MANIFEST_FILE, MODEL_FILE, cache_folder
from newsdesk.embedding.onnx_runtime import OnnxEmbedder
from newsdesk.ingest.pipeline import ingest
from newsdesk.retriever.search import Searcher

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
def onnx_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The sample archive ingested with the fp32 ONNX backend through the settings and an
    empty model cache, in a fresh process: the export happens where the composition root
    puts it, and the process reports which heavy modules it ever imported."""
    root = tmp_path_factory.mktemp("onnx")
    index, cache = root / "index", root / "models"
    code = (
        "import json, sys\nfrom pathlib import Path\n"
        "from newsdesk.ingest.pipeline import ingest\nfrom newsdesk.core.config import Settings\n"
        f"s = Settings(index=Path({str(index)!r}), embedding_backend='onnx', "
        f"model_cache=Path({str(cache)!r}))\n"
        f"r = ingest(s, [{str(SAMPLE)!r}])\n"
        "print(json.dumps({'errors': len(r.errors), 'chunks': r.chunks_added, "
        "'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    return {"index": index, "cache": cache, **json.loads(out.stdout.splitlines()[-1])}


@pytest.fixture(scope="module")
def onnx_index(onnx_run: dict[str, object]) -> Path:
    assert onnx_run["errors"] == 0 and onnx_run["chunks"] > 0, onnx_run  # type: ignore[operator]
    return Path(str(onnx_run["index"]))


@pytest.fixture(scope="module")
def onnx_cache(onnx_run: dict[str, object]) -> Path:
    return Path(str(onnx_run["cache"]))


@pytest.fixture(scope="module")
def fp32(onnx_cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(MODEL, quantize=False, batch_size=8, cache_dir=onnx_cache)


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    cache = tmp_path_factory.mktemp("int8-cache")
    return OnnxEmbedder(MODEL, quantize=True, batch_size=8, cache_dir=cache)


def test_export_lands_in_the_model_cache_atomically(onnx_cache: Path) -> None:
    folder = cache_folder(onnx_cache, MODEL, quantize=False)
    assert folder == onnx_cache / "all-MiniLM-L6-v2-onnx"
    assert (folder / MODEL_FILE).stat().st_size > 10_000_000
    manifest = json.loads((folder / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["identity"] == MODEL and manifest["max_seq_length"] == 256
    assert manifest["dimension"] == 384 and manifest["quantized"] is False
    assert [p.name for p in onnx_cache.iterdir()] == [folder.name]  # no temp folder left behind


def test_export_runs_in_a_child_process(onnx_run: dict[str, object]) -> None:
    """The ingest that exported the model never imported torch itself: the exporter's ~2 GB
    lived in a child process that has exited."""
    assert onnx_run["torch"] is False and onnx_run["transformers"] is False


def test_unwritable_model_cache_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="NEWSDESK_MODEL_CACHE") as err:
        OnnxEmbedder(MODEL, quantize=True, batch_size=8, cache_dir=blocker / "models")
    assert "\n" not in str(err.value) and str(blocker) in str(err.value)


def test_second_construction_reuses_the_export(onnx_cache: Path, fp32: OnnxEmbedder) -> None:
    model = fp32.folder / MODEL_FILE
    before = model.stat()
    again = OnnxEmbedder(MODEL, quantize=False, batch_size=4, cache_dir=onnx_cache)
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    np.testing.assert_allclose(again.embed_query("a flood"), fp32.embed_query("a flood"), atol=1e-6)


def test_cached_model_runs_without_torch(fp32: OnnxEmbedder) -> None:
    """Once exported, the query path never imports torch (that is the start-up win)."""
    code = (
        "import sys\nfrom pathlib import Path\n"
        "from newsdesk.embedding.onnx_runtime import OnnxEmbedder\n"
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


def test_fp32_agrees_with_torch(fp32: OnnxEmbedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    assert len(texts) >= (25 if (SHARED_DATA / "bbc").is_dir() else 7)
    ours, theirs = fp32.embed_documents(texts), torch_embedder.embed_documents(texts)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    sims = cosines(ours, theirs)
    assert sims.mean() > 0.999 and sims.min() > 0.999, sims
    # order and batching do not matter: the same text embeds the same alone and in a batch
    np.testing.assert_allclose(fp32.embed_query(texts[5]), ours[5], atol=1e-5)


def test_int8_agrees_with_torch(int8: OnnxEmbedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    sims = cosines(int8.embed_documents(texts), torch_embedder.embed_documents(texts))
    assert sims.mean() > 0.97, sims
    assert sims.min() > 0.9, sims
    assert int8.folder.name == "all-MiniLM-L6-v2-onnx-int8"
    assert (int8.folder / MODEL_FILE).stat().st_size < 40_000_000  # really quantized


def test_int8_embeds_documents_int8_and_questions_fp32(
    int8: OnnxEmbedder, fp32: OnnxEmbedder
) -> None:
    """Ingest gets the int8 speed; questions keep fp32 precision (see OnnxEmbedder)."""
    question = "What did Russia demand of Ukraine?"
    np.testing.assert_allclose(int8.embed_query(question), fp32.embed_query(question), atol=1e-5)
    texts = sentences()[4:10]
    docs_int8, docs_fp32 = int8.embed_documents(texts), fp32.embed_documents(texts)
    sims = cosines(docs_int8, docs_fp32)
    assert sims.min() > 0.95 and not np.allclose(docs_int8, docs_fp32, atol=1e-4)
    assert int8.query_folder.name == "all-MiniLM-L6-v2-onnx"
    manifest = json.loads((int8.folder / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["weight_type"] == ("int8" if cpu_has_vnni() else "uint8")
    assert sorted(p.name for p in int8.folder.parent.iterdir()) == [
        "all-MiniLM-L6-v2-onnx",
        "all-MiniLM-L6-v2-onnx-int8",
    ]


def test_default_int8_vectors_do_not_depend_on_batch_neighbours(model_cache: Path) -> None:
    """With the default batch size a text is embedded alone, so the same text gets the same
    vector whatever else is ingested with it (dynamic int8 scales a whole call together)."""
    from newsdesk.core.config import Settings
    from newsdesk.embedding import load_embedder

    embedder = load_embedder(Settings(model_cache=model_cache))
    texts = sentences()[4:12]
    together = embedder.embed_documents(texts)
    alone = np.vstack([embedder.embed_documents([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    reordered = embedder.embed_documents(texts[::-1])[::-1]
    np.testing.assert_allclose(together, reordered, atol=1e-6)


def test_token_counts_match_torch(fp32: OnnxEmbedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    texts = sentences()
    assert fp32.count_tokens(texts) == torch_embedder.count_tokens(texts)
    assert fp32.identity == torch_embedder.identity
    assert fp32.max_tokens == torch_embedder.max_tokens
    assert fp32.dimension == torch_embedder.dimension


def test_count_tokens_is_the_same_in_every_backend(  # type: ignore[no-untyped-def]
    fp32: OnnxEmbedder, int8: OnnxEmbedder, torch_embedder
) -> None:
    """Ingest checks each chunk against `max_tokens` with `count_tokens`, whichever backend
    embeds: special tokens count, and nothing is truncated."""
    long_text = "The committee met again on Tuesday to discuss the budget. " * 60
    texts = ["", "Who won?", "Ünïcödé naïve café résumé", "MIXED Case Words", long_text]
    counts = torch_embedder.count_tokens(texts)
    assert fp32.count_tokens(texts) == counts
    assert int8.count_tokens(texts) == counts
    assert counts[0] == 2  # [CLS] and [SEP] alone
    assert counts[-1] > torch_embedder.max_tokens == fp32.max_tokens == int8.max_tokens
    assert fp32.count_tokens([]) == torch_embedder.count_tokens([]) == []


def test_importing_the_package_loads_no_backend() -> None:
    """`import newsdesk.embedding` stays cheap (the CLI imports it for `--help`): torch,
    sentence-transformers and onnxruntime load only when an embedder is built."""
    heavy = ("torch", "sentence_transformers", "onnxruntime", "transformers")
    code = (
        "import json, sys\nimport newsdesk.embedding\n"
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_retrieval_through_an_onnx_index(onnx_index: Path, onnx_cache: Path) -> None:
    settings = make_settings(onnx_index, embedding_backend="onnx", model_cache=onnx_cache)
    searcher = Searcher.open(settings)  # the real composition path, reusing the export
    try:
        assert isinstance(searcher.embedder, OnnxEmbedder)
        hits = searcher.search(SEED_QUESTION, mode="dense", k=3)
        assert hits and hits[0].doc_id == SEED_DOC
        assert hits[0].passages[0].similarity > 0.3
    finally:
        searcher.close()


def test_torch_index_queried_with_int8(tmp_path: Path, torch_embedder, int8: OnnxEmbedder) -> None:  # type: ignore[no-untyped-def]
    """Same identity: an index built with torch answers queries embedded with ONNX int8."""
    settings = make_settings(tmp_path / "index", embedding_backend="torch")
    report = ingest(settings, [str(SAMPLE)], embedder=torch_embedder)
    assert not report.errors and report.chunks_added > 0
    searcher = Searcher.open(settings, embedder=int8)
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
