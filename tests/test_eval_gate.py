"""The CI gate: `newsdesk eval` over ../shared/data (dev, hard_dev, dev2) and ../shared/reuters
(reuters_dev) with thresholds set just under what the project reaches, so a retrieval or
answer regression fails CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SHARED

GATES = {
    "dev": [
        "hybrid.mrr@10=0.97",
        "hybrid.hit@1=0.95",
        "hybrid.hit@10=0.98",
        "answers.keyword_recall=0.70",
        "answers.citation_precision=0.95",
    ],
    "hard_dev": [
        # The int8 model's vectors depend on the CPU (signed kernels with AVX512-VNNI, unsigned
        # ones on AVX2 only), and hard_dev's 36 answerable questions feel it: hybrid MRR@10
        # 0.623 on a Xeon with VNNI, 0.592 on an AMD EPYC with AVX2 (2026-12-04: an index the
        # code of 2026-12-03 built there gives the same chunks and the same 0.592, so it is the
        # CPU, not a change). The gate sits under both.
        "hybrid.mrr@10=0.57",
        "hybrid.hit@10=0.85",
        "hybrid.recall@10=0.83",
        # One question on the refusal boundary is worth ~0.03 here: hd-013's best passage sits
        # at cosine 0.39 with torch vectors and with int8 ones, but its coverage crosses 0.70
        # only with torch (measured: torch 0.417, onnx-int8 0.375). The int8 kernels differ
        # by CPU, so the gate leaves room for one such flip.
        # With the sentence reader (2026-12-02): keyword recall 0.417, citation precision 0.583.
        "answers.keyword_recall=0.37",
        "answers.citation_precision=0.53",
    ],
    # dev2 reached hybrid MRR@10 0.957, Hit@1 0.933, Hit@10 0.989, keyword recall 0.767,
    # citation precision 0.955 (2026-12-04, follow-ups that speak of "the company" with no
    # name read as follow-ups); the gates sit two or three questions under.
    "dev2": [
        "hybrid.mrr@10=0.93",
        "hybrid.hit@1=0.90",
        "hybrid.hit@10=0.96",
        "answers.keyword_recall=0.74",
        "answers.citation_precision=0.92",
    ],
    # reuters_dev over the dated Reuters archive reached hybrid MRR@10 0.796, Hit@1 0.662,
    # Hit@10 0.985, keyword recall 0.572, citation precision 0.651 (2026-12-04, the same,
    # and a period's news looked for in the days after it too); with the wire-copy splitter
    # fixes, on an EPYC with VNNI: 0.776, 0.631, 0.985, 0.608, 0.664 (0.791, 0.662, 0.985,
    # 0.585, 0.672 there before them). The gates hold both.
    "reuters_dev": [
        "hybrid.mrr@10=0.76",
        "hybrid.hit@1=0.62",
        "hybrid.hit@10=0.95",
        "answers.keyword_recall=0.54",
        "answers.citation_precision=0.61",
    ],
}
# At most this share of answerable questions not answered (refused or "not stated"), and at
# least this share of null questions not answered. Reached on 2026-12-02 with the three
# outcomes: false non-answers dev 1/66, hard_dev 6/36 (3 of them refusals on the boundary
# above), dev2 2/90, reuters_dev 4/65 (1/65 on 2026-12-04, a period's news looked for after
# it too); nulls not answered dev 2/6, hard_dev 0/4, dev2 15/60,
# reuters_dev 7/15.
MAX_FALSE_REFUSALS = {"dev": 0.04, "hard_dev": 0.20, "dev2": 0.04, "reuters_dev": 0.04}
MIN_NULLS_NOT_ANSWERED = {"dev": 0.30, "hard_dev": 0.0, "dev2": 0.22, "reuters_dev": 0.40}


ARCHIVES = {"reuters_dev": "reuters_index"}  # the index fixture of each set; else shared_index


@pytest.mark.slow
@pytest.mark.parametrize("name", list(GATES))
def test_eval_gates_hold_on_the_shared_archive(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    shared_index: Path = request.getfixturevalue(ARCHIVES.get(name, "shared_index"))
    out = tmp_path / f"{name}.json"
    plot = tmp_path / f"{name}.png"
    cmd = [
        sys.executable,
        "-m",
        "newsdesk.cli",
        "eval",
        "--questions",
        str(SHARED / "evals" / f"{name}.jsonl"),
        "--index",
        str(shared_index),
        "--answers",
        "--json",
        str(out),
        "--plot",
        str(plot),
    ]
    for gate in GATES[name]:
        cmd += ["--fail-under", gate]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=os.environ)
    print(done.stdout)
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(out.read_text())["files"][f"{name}.jsonl"]
    assert set(report["modes"]) == {"bm25", "dense", "hybrid"}
    figures = report["metrics"]
    # Fusion must beat each half on the harder set, as the README claims.
    if name == "hard_dev":
        assert figures["hybrid.mrr@10"] > figures["bm25.mrr@10"]
        assert figures["hybrid.mrr@10"] > figures["dense.mrr@10"]
    assert figures["answers.false_refusal_rate"] <= MAX_FALSE_REFUSALS[name]
    assert figures["answers.refusal_rate"] >= MIN_NULLS_NOT_ANSWERED[name]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
