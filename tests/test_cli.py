"""The `newsdesk` command end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import SEED_QUESTION


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsdesk.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


def test_help_lists_every_subcommand() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in ("ingest", "stats", "ask", "serve", "eval"):
        assert name in out.stdout
        sub = run(name, "--help")
        assert sub.returncode == 0 and "usage: newsdesk " + name in sub.stdout


def test_ask_json_contract(sample_index: Path) -> None:
    out = run("ask", SEED_QUESTION, "--index", str(sample_index), "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert {
        "question",
        "standalone_question",
        "answer",
        "refused",
        "citations",
        "retrieved",
        "timings_ms",
    } <= set(got)
    assert got["refused"] is False and "[1]" in got["answer"]
    cite = got["citations"][0]
    assert {
        "n",
        "doc_id",
        "aliases",
        "title",
        "source",
        "published",
        "url",
        "passage",
        "start",
        "end",
        "score",
    } <= set(cite)
    assert cite["doc_id"] == "world/ibtimes-russia-urges-kyiv-peace-talks.md"
    assert cite["source"] == "IBTimes" and cite["published"] == "2022-11-24"
    assert len(got["retrieved"]) == 6  # at least k=10 asked; the sample holds 6
    assert {"retrieve", "answer"} <= set(got["timings_ms"])


def test_ask_plain_output_follow_up_and_filters(sample_index: Path) -> None:
    out = run(
        "ask", "What did Lukashenko warn?", "--history", SEED_QUESTION, "--index", str(sample_index)
    )
    assert out.returncode == 0, out.stderr
    assert "destruction" in out.stdout and "Sources:" in out.stdout and "IBTimes" in out.stdout
    filtered = run(
        "ask", SEED_QUESTION, "--index", str(sample_index), "--category", "local", "--json"
    )
    got = json.loads(filtered.stdout)
    assert all(not c["doc_id"].startswith("world/") for c in got["citations"])


def test_errors_are_one_line(tmp_path: Path, sample_index: Path) -> None:
    missing = run("ask", "anything", "--index", str(tmp_path / "none"))
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr
    empty = run("ask", "  ", "--index", str(sample_index))
    assert empty.returncode == 1 and "empty" in empty.stderr
    bad_date = run("ask", "x", "--since", "last tuesday", "--index", str(sample_index))
    assert bad_date.returncode == 2 and "2005-03-01" in bad_date.stderr
    bad_setting = run("stats", "--index", str(sample_index), NEWSDESK_K="lots")
    assert bad_setting.returncode == 2 and "k" in bad_setting.stderr
