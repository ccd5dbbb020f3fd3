"""Load and freshness of the running `newsdesk serve`, driven through gradio_client on loopback.

- 20 concurrent sessions (one gradio_client.Client each, in threads) ask dev-set questions and
  follow-ups for a bounded time, and at least MIN_TURNS each. Every question carries a token
  naming its session and turn; after every reply the test checks that the session's chat and
  sources panel hold only its own tokens and that the standalone question the app shows for a
  follow-up is the one built from this session's history. Figures go to artifacts/load.json
  (short) or load-long.json (long).
- Ingest while serving: a second process ingests new articles into the index the server reads;
  questions keep being answered and the new articles are found without a restart.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    REPO,
    SEED_QUESTION,
    SHARED,
    free_port,
    short_and_long,
    stop_process,
    wait_for_port,
)
from test_ui_app import ask, client, content, plain, questions, reply

from newsdesk.assistant import clean_question
from newsdesk.retriever.followup import rewrite_followup
from newsdesk.ui.state import MAX_TURNS

SESSIONS = 20
SHORT_SECONDS = 10.0
LONG_SECONDS = 300.0
MIN_TURNS = 4  # every session asks at least this many, however long the replies take
ARTIFACTS = REPO / "artifacts"
FOLLOWUPS = (
    "And what happened next?",
    "Who said that?",
    "Why did that happen?",
    "What about the cost?",
    "And what did they say about it?",
    "How much was that deal worth?",
    "And when was that?",
)
SAMPLE_QUESTIONS = (
    SEED_QUESTION,
    "What did Lukashenko warn?",
    "What will the new flood walls cost?",
    "Why is the farmers market moving?",
    "Why did Millbrook vote to rebuild river flood defences?",
    "What does the library's repair cafe do?",
    "What is the boiling point of mercury?",
)
TOKEN = re.compile(r"zq([a-z]{2})x([a-z]{2})")
FOLLOWUP_NOTE = re.compile(r"Read as a follow-up: \u201c(.*?)\u201d", re.S)
REFUSAL_TOPIC = re.compile(r"no article that answers this: \u201c(.*?)\u201d", re.S)


def letters(n: int) -> str:
    return chr(97 + n // 26 % 26) + chr(97 + n % 26)


def token(session: int, turn: int) -> str:
    """A word no article holds, naming the session and the turn."""
    return f"zq{letters(session)}x{letters(turn)}"


# ------------------------------------------------------------------ the server


@contextmanager
def serving(index: Path, log: Path) -> Iterator[str]:
    """`newsdesk serve` on a free loopback port, as a user starts it; yields its URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "newsdesk.cli", "serve", "--index", str(index)]
            + ["--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 240
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    wait_for_port(port, timeout=1.0)
                    break
                except TimeoutError:
                    continue
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            wait_for_port(port, timeout=1.0)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process(proc)


# ------------------------------------------------------------------ one session


@dataclass
class SessionRun:
    number: int
    questions: list[str]  # the pool of new questions this session asks
    deadline: float
    asked: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    followups: int = 0
    refusals: int = 0
    checks: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self, url: str) -> None:
        rng = random.Random(self.number)
        try:
            c = client(url)
        except Exception as exc:  # counted, never hidden: errors must be 0
            self.errors.append(f"session {self.number}: no client: {exc!r}")
            return
        turn = 0
        while turn < MIN_TURNS or time.monotonic() < self.deadline:
            follow = bool(self.asked) and rng.random() < 0.4
            mark = token(self.number, turn)  # first in a question, so follow-ups take it up
            if follow:
                question = f"{rng.choice(FOLLOWUPS)} {mark}"
            else:
                question = f"{mark} {rng.choice(self.questions)}"
            history = [clean_question(q, 2000) for q in self.asked[-MAX_TURNS:]]
            started = time.perf_counter()
            try:
                chat, panel = ask(c, question)
            except Exception as exc:
                self.errors.append(f"session {self.number} turn {turn}: {exc!r}")
                return
            self.latencies.append(time.perf_counter() - started)
            self.asked.append(question)
            turn += 1
            self.followups += follow
            problem = self.check(chat, panel, question, history)
            if problem:
                self.errors.append(f"session {self.number} turn {turn - 1}: {problem}")
                return

    def check(
        self, chat: list[dict[str, Any]], panel: str, question: str, history: list[str]
    ) -> str:
        """'' if the reply belongs to this session and shows the right standalone question."""
        self.checks += 1
        last = reply(chat)
        if "nd-error" in last:
            return f"error reply: {plain(last)[:300]}"
        if questions(chat) != self.asked[-MAX_TURNS:]:
            return "the chat does not hold exactly this session's questions"
        seen = " ".join(content(m) for m in chat) + panel
        foreign = {m.group(0) for m in TOKEN.finditer(seen) if m.group(1) != letters(self.number)}
        if foreign:
            return f"another session's words in this session: {sorted(foreign)[:5]}"
        expected = rewrite_followup(clean_question(question, 2000), history)
        if "nd-refusal" in last:
            self.refusals += 1
            shown = REFUSAL_TOPIC.search(last)
            if shown is None or unescape(shown.group(1)) != expected.strip().rstrip("?.! "):
                return f"refusal does not restate {expected!r}"
            return ""
        note = FOLLOWUP_NOTE.search(last)
        standalone = unescape(note.group(1)) if note else clean_question(question, 2000)
        if standalone != expected:
            return f"read as {standalone!r}, expected {expected!r} from this session's history"
        return ""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@pytest.fixture(scope="module")
def load_archive(request: pytest.FixtureRequest) -> tuple[Path, list[str], str]:
    """(index, question pool, name): the shared archive and dev questions, else the sample."""
    try:
        index = request.getfixturevalue("shared_index")
    except pytest.skip.Exception:
        return request.getfixturevalue("sample_index"), list(SAMPLE_QUESTIONS), "sample"
    dev = SHARED / "evals" / "dev.jsonl"
    rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line]
    return index, [r["question"] for r in rows], "shared"


def run_load(
    load_archive: tuple[Path, list[str], str], tmp_path: Path, seconds: float, out: str
) -> None:
    index, pool, archive = load_archive
    with serving(index, tmp_path / "serve.log") as url:
        client(url)  # the app answers its config before the clock starts
        deadline = time.monotonic() + seconds
        runs = []
        for n in range(SESSIONS):
            mine = random.Random(1000 + n).sample(pool, min(len(pool), 12))
            runs.append(SessionRun(n, mine, deadline))
        threads = [threading.Thread(target=r.run, args=(url,), daemon=True) for r in runs]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 600)
        elapsed = time.monotonic() - started
        hung = sum(t.is_alive() for t in threads)
    latencies = [x for r in runs for x in r.latencies]
    errors = [e for r in runs for e in r.errors]
    figures = {
        "archive": archive,
        "sessions": SESSIONS,
        "sessions_served": sum(1 for r in runs if r.latencies),
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "followups": sum(r.followups for r in runs),
        "refusals": sum(r.refusals for r in runs),
        "isolation_checks": sum(r.checks for r in runs),
        "errors": len(errors) + hung,
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "first_errors": errors[:5],
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print("load:", json.dumps(figures))
    assert hung == 0, f"{hung} sessions never finished"
    assert not errors, errors[:5]
    assert figures["sessions_served"] == SESSIONS
    assert all(len(r.latencies) >= MIN_TURNS for r in runs), "a session stopped short"
    assert figures["followups"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "seconds, out", short_and_long((SHORT_SECONDS, "load.json"), (LONG_SECONDS, "load-long.json"))
)
def test_twenty_concurrent_sessions(
    load_archive: tuple[Path, list[str], str], tmp_path: Path, seconds: float, out: str
) -> None:
    run_load(load_archive, tmp_path, seconds, out)


def test_the_isolation_check_catches_foreign_words_and_a_wrong_history() -> None:
    from newsdesk.ui.render import question_html

    def chat(*turns: tuple[str, str]) -> list[dict[str, Any]]:
        out = []
        for q, r in turns:
            out += [{"role": "user", "content": question_html(q)}]
            out += [{"role": "assistant", "content": r}]
        return out

    run = SessionRun(3, [], 0.0)
    first = f"Why did Ryanair order new planes? {token(3, 0)}"
    run.asked = [first]
    fine = '<div class="nd-answer">It ordered 70 planes. [1]</div>'
    assert run.check(chat((first, fine)), "", first, []) == ""
    leaked = f'<div class="nd-answer">It ordered 70 planes. {token(4, 2)}</div>'
    assert "another session" in run.check(chat((first, leaked)), "", first, [])
    assert "another session" in run.check(chat((first, fine)), token(5, 0), first, [])
    follow = f"And why? {token(3, 1)}"
    run.asked = [first, follow]
    right = rewrite_followup(follow, [first])
    note = f'<p class="nd-notice nd-followup">Read as a follow-up: \u201c{right}\u201d</p>'
    assert run.check(chat((first, fine), (follow, fine + note)), "", follow, [first]) == ""
    for other, says in (
        (f"Why? {token(3, 1)} {token(7, 0)} Chelsea win cup", "another session"),
        (f"Why? {token(3, 1)} Chelsea win cup", "expected"),  # a history not this session's
    ):
        wrong = fine + note.replace(right, other)
        assert says in run.check(chat((first, fine), (follow, wrong)), "", follow, [first])
    assert "exactly" in run.check(chat((follow, fine)), "", follow, [first])


# ------------------------------------------------------------------ ingest while serving

NEW_ARTICLES = {
    "late/volcano.txt": (
        "Volcano erupts near the glacier town of Qorvik\n\n"
        "A volcano erupted on Tuesday near the glacier town of Qorvik, sending ash twelve "
        "kilometres into the sky. Flights were grounded across the northern islands. "
        "The town's 800 residents were moved to a school in the next valley.\n"
    ),
    "late/orchestra.md": (
        "# Harbour orchestra plays its last concert in the old customs house\n\n"
        "The Harbour Youth Orchestra played its final concert in the old customs house on "
        "Saturday before the building closes for a two-year restoration. The conductor, "
        "Mira Odalys, said the orchestra would rehearse in the lighthouse keeper's cottage.\n"
    ),
}
NEW_QUESTION = "Where did the volcano near Qorvik erupt and what happened to flights?"
NEW_TITLE = "Volcano erupts near the glacier town of Qorvik"


@pytest.mark.slow
def test_ingest_while_serving_keeps_answering_and_finds_new_articles(
    tmp_path: Path, sample_index: Path
) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    folder = tmp_path / "news"
    for rel, text in NEW_ARTICLES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    loop = [SEED_QUESTION, "What did Lukashenko warn?", "Why is the farmers market moving?"]

    with serving(index, tmp_path / "serve.log") as url:
        _, before = ask(client(url), NEW_QUESTION)
        assert NEW_TITLE not in plain(before)
        stop = threading.Event()
        answered: list[float] = []  # when each loop answer came back
        errors: list[str] = []

        def keep_asking() -> None:
            c = client(url)
            i = 0
            while not stop.is_set():
                try:
                    chat, _ = ask(c, loop[i % len(loop)])
                except Exception as exc:
                    errors.append(repr(exc))
                    return
                if "nd-error" in reply(chat) or "[1]</a>" not in reply(chat):
                    errors.append(plain(reply(chat))[:300])
                answered.append(time.monotonic())
                i += 1

        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "newsdesk.cli", "ingest", str(folder), "--index", str(index)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        ended = time.monotonic()
        assert done.returncode == 0, done.stderr
        assert "2 added" in done.stdout
        after, panel = ask(client(url), NEW_QUESTION)  # no restart, no reload
        again, _ = ask(client(url), "Where will the Harbour Youth Orchestra rehearse?")
        time.sleep(1.0)
        stop.set()
        asker.join(timeout=120)

    assert not errors, errors[:3]
    during = [t for t in answered if began <= t <= ended]
    assert len(during) >= 2, f"only {len(during)} answers while the ingest ran"
    assert "[1]</a>" in reply(after) and NEW_TITLE in plain(panel)
    assert "Qorvik" in plain(reply(after))
    assert "lighthouse" in plain(reply(again))
