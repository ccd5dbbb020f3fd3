"""The benchmark's printed table."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(out)


def _ingest_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, key in (
        ("Newsdesk (" + r["backend"] + ")", "newsdesk"),
        ("naive llama-index", "naive"),
    ):
        got = r.get(key)
        if got:
            rows.append(
                [
                    name,
                    _fmt(got["articles"]),
                    _fmt(got["chunks"]),
                    _fmt(got["wall_s"]),
                    _fmt(got["ingest_articles_per_s"]),
                    _fmt(got["ingest_chunks_per_s"]),
                    _fmt(got["peak_rss_mb"], 0),
                ]
            )
    return rows


def _encode_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = []
    for backend, got in r.get("encode", {}).items():
        cos = got.get("cosine_to_torch") or {}
        rows.append(
            [
                backend,
                _fmt(got["chunks_per_s"]),
                _fmt(got["load_s"]),
                _fmt(cos.get("mean"), 4),
                _fmt(cos.get("min"), 4),
                _fmt(got.get("dense_mrr@10"), 3),
            ]
        )
    return rows


def _scale_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = []
    for row in r.get("scale", []):
        q = row["query_ms"]
        rows.append(
            [
                row["kind"],
                _fmt(row["chunks"]),
                row["store"],
                _fmt(q["retrieve"]["p50"]),
                _fmt(q["retrieve"]["p95"]),
                _fmt(q["total"]["p50"]),
                _fmt(q["total"]["p95"]),
                _fmt(row["open_s"], 2),
                _fmt(row["peak_rss_mb"], 0),
            ]
        )
    return rows


def format_table(r: dict[str, Any]) -> str:
    m = r["machine"]
    parts = [
        f"Newsdesk benchmark ({r['mode']}): {r['files']:,} files, backend {r['backend']}, "
        f"{m['cpus']} x {m['cpu']} (avx2={m['avx2']}, vnni={m['avx512_vnni']}), "
        f"load avg {m['load_avg_start'][0]} -> {m.get('load_avg_end', ['?'])[0]}",
        "",
        _table(
            ["ingest", "articles", "chunks", "wall s", "articles/s", "chunks/s", "peak MB"],
            _ingest_rows(r),
        ),
    ]
    nd = r.get("newsdesk") or {}
    summary = [
        [
            "ingest speedup vs naive (wall, whole processes)",
            _fmt(r.get("ingest_speedup_vs_naive"), 2) + "x",
        ],
        [
            "same, first run on a machine (+ model export)",
            _fmt(r.get("ingest_speedup_vs_naive_first_run"), 2) + "x",
        ],
        [
            "model export, once per machine: s / peak MB",
            f"{_fmt((r.get('export') or {}).get('export_s'))} / "
            f"{_fmt((r.get('export') or {}).get('export_peak_rss_mb'), 0)}",
        ],
        ["ingest overhead over encode-only", _fmt(r.get("ingest_overhead"), 3)],
        ["re-ingest, nothing changed (s)", _fmt(r.get("reingest_noop_s"), 2)],
        [
            "second phase (sentences + entities): wall s / share of the total",
            f"{_fmt(nd.get('enrich_wall_s'), 1)} / {_fmt(nd.get('enrich_share_of_ingest'), 3)}",
        ],
        [
            "per 1,000 articles: sentence vectors s / named entities s",
            f"{_fmt(nd.get('sentences_s_per_1000_articles'), 1)} / "
            f"{_fmt(nd.get('enrich_s_per_1000_articles'), 1)}",
        ],
        ["start-up to first answer, `newsdesk ask` (s)", _fmt(r.get("startup_s"), 2)],
        ["peak RSS serve (MB)", _fmt((r.get("peak_rss_mb") or {}).get("serve"), 0)],
    ]
    q = r.get("query_ms")
    if q:
        for part in ("retrieve", "answer", "total"):
            summary.append(
                [f"query {part} ms p50 / p95", f"{_fmt(q[part]['p50'])} / {_fmt(q[part]['p95'])}"]
            )
        summary.append(["hybrid MRR@10 (dev)", _fmt(r["query"].get("hybrid_mrr@10"), 3)])
    parts += ["", _table(["figure", "value"], summary)]
    if r.get("encode"):
        parts += [
            "",
            _table(
                ["encode-only", "chunks/s", "load s", "cos mean", "cos min", "dense MRR@10"],
                _encode_rows(r),
            ),
        ]
    if r.get("formats"):
        from bench.formats_bench import table as formats_table

        parts += ["", formats_table(r["formats"])]
    if r.get("scale"):
        parts += [
            "",
            _table(
                [
                    "scale",
                    "chunks",
                    "store",
                    "retr p50",
                    "retr p95",
                    "total p50",
                    "total p95",
                    "open s",
                    "peak MB",
                ],
                _scale_rows(r),
            ),
        ]
    return "\n".join(parts)
