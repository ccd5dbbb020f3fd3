"""`python -m bench.run [--small] [--out bench/results/bench.json]`: the whole benchmark.

Prints a table and writes every figure as JSON. Full mode runs on the shared archive (BBC +
seed) and grows synthetic indexes to 100k and 1M chunks (expect well over an hour on 2 cores);
`--small` runs on the sample archive plus ~50 BBC files with synthetic indexes up to 10k chunks
(a few minutes; what CI runs so the harness cannot rot).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import corpus
from bench.encode_bench import run_encode, run_export
from bench.formats_bench import run as run_formats
from bench.ingest_bench import run_naive, run_newsdesk
from bench.measure import REPO
from bench.query_bench import run_probe, run_startup
from bench.report import format_table
from bench.scale_bench import run_scale

log = logging.getLogger("bench")

BACKENDS = ("torch", "onnx", "onnx-int8")
SECTIONS = ("naive", "encode", "query", "startup", "formats", "scale")


def machine() -> dict[str, Any]:
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": model or platform.processor(),
        "avx2": "avx2" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "python": platform.python_version(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from newsdesk.core.config import Settings

    started = time.perf_counter()
    backend = args.backend or Settings().embedding_backend
    skip = set(args.skip)
    folder = corpus.small_folder(workdir) if args.small else corpus.full_folder()
    limit = 12 if args.small else None
    out: dict[str, Any] = {
        "mode": "small" if args.small else "full",
        "machine": machine(),
        "folder": str(folder),
        "files": corpus.count_files(folder),
        "backend": backend,
    }
    index = workdir / "newsdesk-index"
    models = workdir / "models"
    for stale in (index, workdir / "naive-chroma", models):
        shutil.rmtree(stale, ignore_errors=True)
    # Every measured process shares one model cache, as a user's processes do.
    os.environ["NEWSDESK_MODEL_CACHE"] = str(models)
    log.info("export the model for %s (once per machine) ...", backend)
    out["export"] = run_export(backend, models)
    log.info("ingest with Newsdesk (%s) ...", backend)
    nd = run_newsdesk(folder, index, backend)
    out["newsdesk"] = nd
    out["reingest_noop_s"] = nd["reingest_noop_s"]
    if "naive" not in skip:
        save(out, args.out, complete=False)
        log.info("ingest with the naive llama-index baseline ...")
        naive = run_naive(folder, workdir / "naive-chroma")
        out["naive"] = naive
        out["ingest_speedup_vs_naive"] = round(naive["wall_s"] / nd["wall_s"], 2)
        # A machine's very first ingest also pays the one-off export.
        first = nd["wall_s"] + out["export"]["export_s"]
        out["ingest_speedup_vs_naive_first_run"] = round(naive["wall_s"] / first, 2)
    out["ingest_articles_per_s"] = {
        "newsdesk": nd["ingest_articles_per_s"],
        "naive": out.get("naive", {}).get("ingest_articles_per_s"),
    }
    out["ingest_chunks_per_s"] = {
        "newsdesk": nd["ingest_chunks_per_s"],
        "naive": out.get("naive", {}).get("ingest_chunks_per_s"),
    }
    if "encode" not in skip:
        save(out, args.out, complete=False)
        log.info("encode-only per backend: %s ...", ", ".join(args.backends))
        encoded = run_encode(index, args.backends, workdir, models)
        out["encode"] = encoded
        out["encode_only_chunks_per_s"] = {b: r["chunks_per_s"] for b, r in encoded.items()}
        limit_rate = out["encode_only_chunks_per_s"].get(backend)
        if limit_rate and nd["ingest_chunks_per_s"]:
            out["ingest_overhead"] = round(1.0 - nd["ingest_chunks_per_s"] / limit_rate, 3)
    rounds = 1 if args.small else 2
    if "query" not in skip:
        save(out, args.out, complete=False)
        log.info("query latency ...")
        probe = run_probe(index, backend=backend, limit=limit, rounds=rounds)
        out["query"] = probe
        out["query_ms"] = probe["query_ms"]
    if "startup" not in skip:
        save(out, args.out, complete=False)
        log.info("start-up ...")
        out["startup"] = run_startup(index, backend, repeats=1 if args.small else 3)
        out["startup_s"] = out["startup"]["startup_s"]
    out["peak_rss_mb"] = {
        "ingest": nd["peak_rss_mb"],
        "serve": out.get("query", {}).get("peak_rss_mb"),
        "naive_ingest": out.get("naive", {}).get("peak_rss_mb"),
    }
    if "formats" not in skip:
        save(out, args.out, complete=False)
        log.info("reading each input format, and big files streamed ...")
        out["formats"] = run_formats(workdir / "formats", small=args.small)
    if "scale" not in skip:
        save(out, args.out, complete=False)
        log.info("scale: %s chunks ...", ", ".join(f"{n:,}" for n in args.sizes))
        # In one round (small mode) the query probe is the real index's embedded row as is.
        probed = {index: out["query"]} if "query" in out and rounds == 1 else None
        out["scale"] = run_scale(
            workdir / "scale",
            args.sizes,
            backend,
            limit,
            real_index=index,
            reuse=args.reuse_scale,
            probed=probed,
        )
    out["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["complete"] = True
    return out


def save(result: dict[str, Any], path: Path, *, complete: bool = True) -> None:
    """Write the figures so far (a long run that dies late still leaves them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**result, "complete": complete}, indent=2) + "\n", "utf-8")
    tmp.replace(path)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--small", action="store_true", help="tiny folder, scale to 10k chunks")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "bench" / "results" / "bench.json",
        help="where to write the JSON (default bench/results/bench.json)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="backend Newsdesk ingests and queries with (default: settings)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="backends for the encode-only runs (comma-separated)",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="synthetic index sizes in chunks, "
        "comma-separated (default 100000,1000000; small: 10000)",
    )
    parser.add_argument(
        "--reuse-scale",
        action="store_true",
        help="with --workdir: query grown indexes an earlier run left there (same real index)",
    )
    parser.add_argument("--skip", default="", help=f"sections to skip: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep indexes here (default: a temporary folder, removed at the end)",
    )
    args = parser.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    default_sizes = "10000" if args.small else "100000,1000000"
    args.sizes = [int(s) for s in (args.sizes or default_sizes).split(",") if s]
    args.skip = [s for s in args.skip.split(",") if s]
    if set(args.skip) - set(SECTIONS):
        parser.error(f"--skip takes {', '.join(SECTIONS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args, workdir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    save(result, args.out)
    print(format_table(result))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
