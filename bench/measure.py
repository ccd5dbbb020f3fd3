"""Measuring processes: wall time, peak memory, percentiles, and where things live."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
DEV_QUESTIONS = SHARED / "evals" / "dev.jsonl"


@dataclass(frozen=True)
class Finished:
    """A child process that ran to its end."""

    argv: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The last JSON document the process printed on stdout."""
        text = self.stdout.strip()
        start = text.rfind("\n{")
        return json.loads(text[start + 1 :] if start >= 0 else text)

    def check(self, *, ok: tuple[int, ...] = (0,)) -> Finished:
        if self.returncode not in ok:
            raise RuntimeError(
                f"{' '.join(self.argv[:4])} ... exited {self.returncode}: {self.stderr[-2000:]}"
            )
        return self


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of measured processes: offline, quiet, and no stray NEWSDESK_ settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSDESK_") or k == "NEWSDESK_MODEL_CACHE"  # the harness's own
    }
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        GRADIO_ANALYTICS_ENABLED="False",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")])),
    )
    env.update(extra)
    return env


def newsdesk_cmd() -> list[str]:
    """The installed `newsdesk` script of this interpreter (what a user starts)."""
    script = shutil.which("newsdesk", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "newsdesk.cli"]


def run_process(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 7200.0
) -> Finished:
    """Run `argv` to its end: wall time from spawn to exit, and the child's peak RSS.

    The peak is the kernel's high-water mark of the child's own memory (VmHWM), sampled until
    it exits: wait4's ru_maxrss would also count the memory of this process at fork time.
    """
    argv = list(argv)
    with open(os.devnull, "rb") as stdin, _tempfile() as out, _tempfile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=stdin, stdout=out, stderr=err, cwd=REPO, env=dict(env or bench_env())
        )
        deadline = started + timeout
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if not peak_kb:  # no /proc: fall back to rusage (may include this process's size)
            peak_kb = usage.ru_maxrss
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        return Finished(argv, proc.returncode, wall, peak_kb / 1024.0, stdout, stderr)


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tempfile() -> Any:
    import tempfile

    return tempfile.TemporaryFile()


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


def summary_ms(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "n": len(values),
    }  # type: ignore[dict-item]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def rate(count: float, seconds: float) -> float | None:
    return round(count / seconds, 2) if seconds > 0 else None
