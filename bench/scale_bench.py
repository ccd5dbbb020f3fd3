"""Query latency as the index grows: synthetic chunks, the real query path.

`python -m bench.scale_bench --index DIR --chunks N [--base REAL]` grows an index to N chunks:
a copy of the real index topped up with synthetic chunks written the way ingest leaves them
(ledger rows, Chroma vectors with their metadata, the persisted BM25 index), without running
the model. The dev questions keep their answers among the noise, so the table can say whether
quality holds as well as latency. The harness then runs the query probe on it twice: with the
embedded Chroma store, and with a `chroma run` server serving the very same Chroma folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.measure import bench_env, run_process
from bench.query_bench import run_probe
from bench.synthetic import DIMENSION, Generator
from newsdesk.store.schema import chunk_metadata

BUILD_STAMP = "scale-build.json"
BUILD_FORMAT = 2  # 2: the real index's articles inside, no chunk texts in Chroma


def base_fingerprint(base: Path | None) -> str:
    """Names the real index a synthetic one was grown from (its chunk ids), or "none"."""
    if base is None:
        return "none"
    from newsdesk.store.ledger import Ledger

    ledger = Ledger.open(base, create=False)
    try:
        ids = sorted(c.chunk_id for c in ledger.iter_chunks())
    finally:
        ledger.close()
    return f"{len(ids)}-" + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]


def build(index: Path, n_chunks: int, *, seed: int = 0, base: Path | None = None) -> dict[str, Any]:
    """Grow an index of `n_chunks` chunks at `index` (in this process): a copy of the real
    index `base` (so the dev questions still have their answers among the noise), topped up
    with synthetic chunks the way ingest leaves them (ledger rows, Chroma vectors with their
    metadata, the persisted BM25 index), without running the model."""
    from newsdesk.core.config import BUNDLED_MODEL, Settings
    from newsdesk.store import lexical, schema
    from newsdesk.store.index import Index

    if base is not None:
        shutil.copytree(base, index, ignore=shutil.ignore_patterns(schema.BM25_DIR, "models"))
    settings = Settings(index=index)
    idx = Index.open(settings, create=True)
    timings = {"generate_s": 0.0, "ledger_s": 0.0, "vectors_s": 0.0, "bm25_s": 0.0}
    articles = chunks = 0
    try:
        idx.check_chunking(settings)
        idx.record_identity(BUNDLED_MODEL, DIMENSION, settings)
        real_chunks = idx.vectors.count()
        generator = Generator(seed)
        batches = generator.batches(max(0, n_chunks - real_chunks))
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            timings["generate_s"] += time.perf_counter() - t0
            if batch is None:
                break
            pairs = batch.chunks
            t0 = time.perf_counter()
            idx.vectors.upsert(
                [c.chunk_id for _, c in pairs],
                batch.vectors,
                [chunk_metadata(a, c) for a, c in pairs],
            )
            timings["vectors_s"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            with idx.ledger.transaction():
                for article, content, parts in batch.articles:
                    idx.ledger.put_text(article, content, parts)
                    idx.ledger.put_article(article, content, "synthetic", article.doc_id)
                idx.ledger.bump_generation()
            timings["ledger_s"] += time.perf_counter() - t0
            articles += len(batch.articles)
            chunks += len(pairs)
        t0 = time.perf_counter()
        lexical.save(lexical.build(idx.ledger), index)
        timings["bm25_s"] = time.perf_counter() - t0
        stored = idx.vectors.count()
    finally:
        idx.close()
    if stored != real_chunks + chunks:
        raise RuntimeError(
            f"the vector store holds {stored} chunks, {real_chunks + chunks} written"
        )
    return {
        "chunks": stored,
        "real_chunks": real_chunks,
        "synthetic_chunks": chunks,
        "synthetic_articles": articles,
        "disk_mb": round(_du(index) / 2**20, 1),
        **{k: round(v, 2) for k, v in timings.items()},
    }


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ------------------------------------------------------------------ a `chroma run` server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def chroma_server(path: Path, timeout: float = 120.0) -> Iterator[str]:
    """A `chroma run` server on a free loopback port serving the Chroma folder `path`."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    port = _free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=bench_env(),
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"`chroma run` did not start on port {port}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ the harness's part
def scale_row(index: Path, backend: str, limit: int | None, *, server: bool) -> dict[str, Any]:
    """Probe one index, embedded or through a server, as one row of the scale table."""
    from newsdesk.store import schema

    if not server:
        return run_probe(index, backend=backend, limit=limit)
    with chroma_server(index / schema.CHROMA_DIR) as url:
        return run_probe(index, chroma_url=url, backend=backend, limit=limit)


def run_scale(
    workdir: Path,
    sizes: Sequence[int],
    backend: str,
    limit: int | None,
    real_index: Path | None = None,
    *,
    reuse: bool = False,
    probed: Mapping[Path, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The scale table: the real index (if given) and an index grown from it to each size,
    each queried with the embedded store and with a Chroma server. With `reuse`, a grown
    index left in `workdir` by an earlier run from the same real index is used again (the
    1M build takes half an hour; what is measured here is the querying). `probed` holds
    probes the caller already ran on an index with the embedded store, this backend and
    limit, in one round: those rows are taken as they are, not probed again."""
    rows: list[dict[str, Any]] = []
    targets: list[tuple[str, Path, dict[str, Any]]] = []
    if real_index is not None:
        targets.append(("real", real_index, {}))
    for n in sizes:
        index, built = grow(workdir, n, backend, real_index, reuse=reuse)
        targets.append(("synthetic", index, built))
    for kind, index, built in targets:
        for server in (False, True):
            known = None if server else (probed or {}).get(index)
            probe = known or scale_row(index, backend, limit, server=server)
            rows.append({"kind": kind, **probe, "build": built})
    return rows


def grow(
    workdir: Path, n: int, backend: str, real_index: Path | None, *, reuse: bool
) -> tuple[Path, dict[str, Any]]:
    """The index of `n` chunks grown from `real_index` in `workdir` (built in a child process
    unless `reuse` finds one grown from the same real index) and its build figures."""
    index = workdir / f"synthetic-{n}"
    wanted = {
        "format": BUILD_FORMAT,
        "chunks": n,
        "seed": 0,
        "base": f"{base_fingerprint(real_index)}/{backend}",
    }
    built = _reusable(index, wanted) if reuse else None
    if built is None:
        shutil.rmtree(index, ignore_errors=True)
        argv = [sys.executable, "-m", "bench.scale_bench", "--index", str(index)]
        argv += ["--chunks", str(n)]
        if real_index is not None:
            argv += ["--base", str(real_index)]
        done = run_process(argv).check()
        built = dict(done.json())
        built.update(
            build_wall_s=round(done.wall_s, 2), build_peak_rss_mb=round(done.peak_rss_mb, 1)
        )
        (index / BUILD_STAMP).write_text(json.dumps({**wanted, "built": built}), "utf-8")
    return index, built


def _reusable(index: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    try:
        stamp = json.loads((index / BUILD_STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if {k: stamp.get(k) for k in wanted} != wanted:
        return None
    return {**stamp["built"], "reused": True}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench")
    parser.add_argument("--index", required=True, type=Path)
    parser.add_argument("--chunks", required=True, type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", type=Path, help="a real index to grow from")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.index, args.chunks, seed=args.seed, base=args.base)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
