"""Load on the headless API: 50 concurrent streaming clients (the `openai` SDK's AsyncOpenAI,
one client each) against a real `newsdesk serve` for a bounded time, and at least MIN_TURNS
turns each.

Every question carries a token naming its client and turn, and follow-ups send the client's
own history as earlier user messages. After every streamed reply the test checks that it
holds only this client's tokens and that the standalone question the server reports is the
one built from this client's history: no answer crosses into another conversation. Errors
must be 0. Figures (requests, p50/p95 to the first token and to the end) go to
artifacts/api-load.json (short) or api-load-long.json (long); tests check behaviour, the
figures are for the record.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import short_and_long
from test_load import (  # noqa: F401 (load_archive is a fixture)
    ARTIFACTS,
    FOLLOWUPS,
    MIN_TURNS,
    TOKEN,
    letters,
    load_archive,
    percentile,
    serving,
    token,
)

from newsdesk.assistant import clean_question
from newsdesk.retriever.followup import rewrite_followup

CLIENTS = 50
SHORT_SECONDS = 10.0
LONG_SECONDS = 30.0
MAX_HISTORY = 6


@dataclass
class ClientRun:
    number: int
    questions: list[str]
    deadline: float
    asked: list[str] = field(default_factory=list)
    first_token_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    followups: int = 0
    checks: int = 0
    errors: list[str] = field(default_factory=list)

    async def run(self, url: str) -> None:
        from openai import AsyncOpenAI

        rng = random.Random(self.number)
        client = AsyncOpenAI(base_url=f"{url}v1", api_key="unused", max_retries=0, timeout=300)
        try:
            turn = 0
            while turn < MIN_TURNS or time.monotonic() < self.deadline:
                follow = bool(self.asked) and rng.random() < 0.4
                mark = token(self.number, turn)
                if follow:
                    question = f"{rng.choice(FOLLOWUPS)} {mark}"
                else:
                    question = f"{mark} {rng.choice(self.questions)}"
                history = self.asked[-MAX_HISTORY:]
                try:
                    text, last = await self.ask(client, question, history)
                except Exception as exc:  # counted, never hidden: errors must be 0
                    self.errors.append(f"client {self.number} turn {turn}: {exc!r}")
                    return
                self.asked.append(question)
                self.followups += follow
                turn += 1
                problem = self.check(text, last, question, history)
                if problem:
                    self.errors.append(f"client {self.number} turn {turn - 1}: {problem}")
                    return
        finally:
            await client.close()

    async def ask(self, client: Any, question: str, history: list[str]) -> tuple[str, Any]:
        messages = [{"role": "user", "content": q} for q in (*history, question)]
        started = time.perf_counter()
        stream = await client.chat.completions.create(
            model="newsdesk", messages=messages, stream=True
        )
        pieces: list[str] = []
        last = None
        async for chunk in stream:
            piece = chunk.choices[0].delta.content if chunk.choices else None
            if piece and not pieces:
                self.first_token_s.append(time.perf_counter() - started)
            if piece:
                pieces.append(piece)
            last = chunk
        self.total_s.append(time.perf_counter() - started)
        return "".join(pieces), last

    def check(self, text: str, last: Any, question: str, history: list[str]) -> str:
        """'' if the streamed reply belongs to this client's conversation."""
        self.checks += 1
        extras = (last.model_extra or {}) if last is not None else {}
        if "newsdesk" not in extras or last.choices[0].finish_reason != "stop":
            return "the stream did not end with the final chunk"
        standalone = extras["newsdesk"]["standalone_question"]
        seen = text + " " + standalone + json.dumps(extras.get("citations"))
        foreign = {m.group(0) for m in TOKEN.finditer(seen) if m.group(1) != letters(self.number)}
        if foreign:
            return f"another client's words in this reply: {sorted(foreign)[:5]}"
        expected = rewrite_followup(
            clean_question(question, 2000), [clean_question(h, 2000) for h in history]
        )
        if standalone != expected:
            return f"read as {standalone!r}, expected {expected!r} from this client's history"
        return ""


async def drive(url: str, pool: list[str], seconds: float) -> tuple[list[ClientRun], float]:
    deadline = time.monotonic() + seconds
    runs = [
        ClientRun(n, random.Random(2000 + n).sample(pool, min(len(pool), 12)), deadline)
        for n in range(CLIENTS)
    ]
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(r.run(url) for r in runs)), timeout=seconds + 600)
    return runs, time.monotonic() - started


def run_api_load(
    load_archive: tuple[Path, list[str], str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    seconds: float,
    out: str,
) -> None:
    index, pool, archive = load_archive
    with serving(index, tmp_path / "serve.log") as url:
        runs, elapsed = asyncio.run(drive(url, pool, seconds))
    first = [x for r in runs for x in r.first_token_s]
    total = [x for r in runs for x in r.total_s]
    errors = [e for r in runs for e in r.errors]

    def ms(values: list[float], q: float | None = None) -> float | None:
        if not values:
            return None
        value = statistics.median(values) if q is None else percentile(values, q)
        return round(value * 1000, 1)

    figures = {
        "archive": archive,
        "clients": CLIENTS,
        "clients_served": sum(1 for r in runs if r.total_s),
        "seconds": round(elapsed, 1),
        "requests": len(total),
        "followups": sum(r.followups for r in runs),
        "isolation_checks": sum(r.checks for r in runs),
        "errors": len(errors),
        "first_token_p50_ms": ms(first),
        "first_token_p95_ms": ms(first, 0.95),
        "total_p50_ms": ms(total),
        "total_p95_ms": ms(total, 0.95),
        "requests_per_s": round(len(total) / elapsed, 2),
        "first_errors": errors[:5],
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / out).write_text(json.dumps(figures, indent=2) + "\n", "utf-8")
    print("api load:", json.dumps(figures))
    assert not errors, errors[:5]
    assert figures["clients_served"] == CLIENTS
    assert all(len(r.total_s) >= MIN_TURNS for r in runs), "a client stopped short"
    assert figures["followups"] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "seconds, out",
    short_and_long((SHORT_SECONDS, "api-load.json"), (LONG_SECONDS, "api-load-long.json")),
)
def test_fifty_concurrent_streaming_api_clients(
    load_archive: tuple[Path, list[str], str],  # noqa: F811 (the fixture)
    tmp_path: Path,
    seconds: float,
    out: str,
) -> None:
    run_api_load(load_archive, tmp_path, seconds, out)
