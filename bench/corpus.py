"""The folders and questions the benchmark runs on.

Full mode: the whole shared archive (BBC + seed). Small mode: the bundled sample archive plus
~50 BBC files (those the first dev questions are about, so retrieval quality still means
something), copied to a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.measure import DEV_QUESTIONS, REPO, SHARED_DATA
from newsdesk.evals.questions import EvalQuestion, load_questions

SAMPLE = REPO / "sample" / "archive"
SMALL_BBC_FILES = 50


FALLBACK_QUESTIONS = (
    "What did Russia demand of Ukraine?",
    "Why did the library reopen?",
    "What happened to the flood defences?",
    "What did the market sell?",
)


def questions(limit: int | None = None) -> list[EvalQuestion]:
    """The dev questions (or, without the shared evals, a few about the sample archive)."""
    if DEV_QUESTIONS.is_file():
        found = load_questions(DEV_QUESTIONS)
    else:
        found = [EvalQuestion(f"q{i}", q, (), "single") for i, q in enumerate(FALLBACK_QUESTIONS)]
    return found[:limit] if limit else found


def small_folder(root: Path, n_bbc: int = SMALL_BBC_FILES) -> Path:
    """sample archive + `n_bbc` BBC files under `root`/corpus, doc_ids as in the full archive."""
    corpus = root / "corpus"
    shutil.copytree(SAMPLE, corpus / "sample")
    bbc = SHARED_DATA / "bbc"
    if not bbc.is_dir():
        return corpus
    wanted: list[str] = []
    for q in questions():
        wanted += [r.removeprefix("bbc/") for r in q.relevant if r.startswith("bbc/")]
    others = sorted(str(p.relative_to(bbc)) for p in bbc.glob("*/*.txt"))
    chosen: list[str] = []
    for rel in wanted + others[:: max(1, len(others) // n_bbc)]:
        if rel not in chosen and (bbc / rel).is_file():
            chosen.append(rel)
        if len(chosen) >= n_bbc:
            break
    for rel in chosen:
        (corpus / "bbc" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bbc / rel, corpus / "bbc" / rel)
    return corpus


def full_folder() -> Path:
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"the full benchmark needs the shared archive at {SHARED_DATA}")
    return SHARED_DATA


def count_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())
