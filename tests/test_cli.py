"""The `newsdesk` command as a user runs it: `main(argv)` in process (its exit codes, stdout
and stderr), plus one run of the installed console script."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import SEED_QUESTION

from newsdesk import __version__
from newsdesk.cli import main

SUBCOMMANDS = ("ingest", "enrich", "check", "repair", "stats", "ask", "serve", "eval")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Runner = Callable[..., Run]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    """`run(*argv)`: call `main` and return its exit code and output. argparse exits with
    SystemExit (--help, --version, usage errors); that is an exit code too."""

    def call(*argv: str) -> Run:
        capsys.readouterr()  # drop anything printed before
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return call


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main` configures logging (`basicConfig`, quieter library loggers). Undo it after each
    test, so that no handler bound to a test's captured stderr outlives the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = logging.Logger.manager.loggerDict
    levels = {n: lg.level for n, lg in loggers.items() if isinstance(lg, logging.Logger)}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def test_help_lists_every_subcommand(run: Runner) -> None:
    top = run("--help")
    assert top.code == 0
    for name in SUBCOMMANDS:
        assert name in top.out
        sub = run(name, "--help")
        assert sub.code == 0 and "usage: newsdesk " + name in sub.out
    version = run("--version")
    assert version.code == 0 and version.out.strip() == f"newsdesk {__version__}"


def test_the_installed_command_runs() -> None:
    """One real process: the console script pip installed, not `main` imported here."""
    script = Path(sys.executable).with_name("newsdesk")
    assert script.is_file(), f"no console script at {script}: pip install -e . first"
    out = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: newsdesk")
    assert all(name in out.stdout for name in SUBCOMMANDS)


def test_ask_json_contract(run: Runner, sample_index: Path) -> None:
    out = run("ask", SEED_QUESTION, "--index", str(sample_index), "--json")
    assert out.code == 0, out.err
    got = json.loads(out.out)
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


def test_ask_plain_output_follow_up_and_filters(run: Runner, sample_index: Path) -> None:
    out = run(
        "ask", "What did Lukashenko warn?", "--history", SEED_QUESTION, "--index", str(sample_index)
    )
    assert out.code == 0, out.err
    assert "destruction" in out.out and "Sources:" in out.out and "IBTimes" in out.out
    filtered = run(
        "ask", SEED_QUESTION, "--index", str(sample_index), "--category", "local", "--json"
    )
    assert filtered.code == 0, filtered.err
    got = json.loads(filtered.out)
    assert all(not c["doc_id"].startswith("world/") for c in got["citations"])


def test_errors_are_one_line(
    run: Runner, tmp_path: Path, sample_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = run("ask", "anything", "--index", str(tmp_path / "none"))
    assert missing.code == 1
    assert missing.err.strip().count("\n") == 0 and "Traceback" not in missing.err
    empty = run("ask", "  ", "--index", str(sample_index))
    assert empty.code == 1 and "empty" in empty.err
    bad_date = run("ask", "x", "--since", "last tuesday", "--index", str(sample_index))
    assert bad_date.code == 2 and "2005-03-01" in bad_date.err
    monkeypatch.setenv("NEWSDESK_K", "lots")
    bad_setting = run("stats", "--index", str(sample_index))
    assert bad_setting.code == 2 and "k" in bad_setting.err
