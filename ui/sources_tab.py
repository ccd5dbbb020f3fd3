"""The Sources tab: what the archive holds, by where it came from, and changing it.

A table of the sources (each folder, file, feed or upload ingested, with its articles, their
dates and its last ingest: `Archive.origins`). Where the server lets the page change the
archive (`manage`), below it an upload box and a feed URL box that add, and a picker that
removes a source once the reader confirms. The work is `ingest.sources`; the callbacks here
only stream its steps into a status line and redraw the table. Errors become a line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from newsdesk.assistant import Assistant
from newsdesk.core.config import Settings
from newsdesk.core.errors import NewsdeskError
from newsdesk.ingest import sources as changes
from newsdesk.ingest.loaders import SUPPORTED_SUFFIXES
from newsdesk.store.origins import Origin
from newsdesk.ui import views

log = logging.getLogger(__name__)

UNEXPECTED = "something went wrong inside Newsdesk; the details are in the server log."
CONCURRENCY_ID = "nd-sources"  # one change to the archive at a time, the rest wait their turn
READ_ONLY = (
    "This server shows its sources but does not change them: it serves another address "
    "than this machine without a login (set NEWSDESK_AUTH to add and remove sources here)."
)

Outputs = tuple[str, Any, Any]  # (status, table, picker)


@dataclass(frozen=True)
class SourcesTab:
    """The widgets and events of the Sources tab the rest of the page uses."""

    shown: list[Any]  # the widgets that show the sources (the table, the removal picker)
    redraw: Callable[[], Any]  # their values now: for the page's load event
    changes: tuple[Any, ...]  # the events that changed the archive: chain what else shows it


def listing(assistant: Assistant) -> tuple[str, Any]:
    """(table html, removal picker) of the archive's sources now (for a callback: the picker
    is an update)."""
    try:
        origins = assistant.archive.origins()
    except NewsdeskError as exc:
        return views.empty_html(str(exc)), gr.Dropdown(choices=[], value=None)
    choices = [views.source_choice(o) for o in origins]
    return views.sources_html(origins), gr.Dropdown(choices=choices, value=None)


def table_html(assistant: Assistant) -> str:
    """The table of the archive's sources now, or the line that says why it cannot be read."""
    try:
        return views.sources_html(assistant.archive.origins())
    except NewsdeskError as exc:
        return views.empty_html(str(exc))


def run_change(assistant: Assistant, steps: Iterator[changes.Step]) -> Iterator[Outputs]:
    """Stream a change's steps into the status line; at its end, what it did (each error on a
    line) and the table and picker redrawn."""
    final: changes.Step | None = None
    try:
        for step in steps:
            if step.change is None:
                yield views.status_html(step.message, working=True), gr.skip(), gr.skip()
            else:
                final = step
    except NewsdeskError as exc:
        log.info("sources: change refused: %s", exc)
        yield views.status_html(str(exc), failed=True), *listing(assistant)
        return
    except Exception:
        log.exception("sources: change failed unexpectedly")
        yield views.status_html(UNEXPECTED, failed=True), *listing(assistant)
        return
    assert final is not None and final.change is not None  # every change ends with one
    lines = [f"{e.path}: {e.reason}" for e in final.change.errors]
    yield views.status_html(final.message, lines), *listing(assistant)


def confirm_text(assistant: Assistant, origin: str | None) -> tuple[Any, str, str]:
    """(the confirmation box, its question, the origin it is about) for removing `origin`."""
    found = next((o for o in _origins(assistant) if o.origin == origin), None)
    if found is None:
        return gr.Group(visible=False), "", ""
    copy = (
        "Its uploaded copy is deleted too."
        if found.kind == "upload"
        else "Its files stay where they are; ingesting them again brings it back."
    )
    question = (
        f"Remove {found.name}? Its {found.articles:,} article{'s' * (found.articles != 1)} "
        f"leave the archive and answers stop citing them. {copy}"
    )
    return gr.Group(visible=True), views.status_html(question, failed=True), found.origin


def _origins(assistant: Assistant) -> list[Origin]:
    try:
        return assistant.archive.origins()
    except NewsdeskError as exc:
        log.warning("sources: cannot list them: %s", exc)
        return []


def sources_tab(assistant: Assistant, settings: Settings, *, manage: bool) -> SourcesTab:
    """The Sources tab, inside the page's `gr.Tabs`. `settings` are the server's (the index
    they name is the one `assistant` serves); `manage` shows the add and remove controls."""
    embedder = assistant.searcher.embedder
    with gr.Tab("Sources", id="sources", elem_id="nd-tab-sources") as tab:
        table = gr.HTML(table_html(assistant), elem_id="nd-sources")
        if not manage:
            gr.HTML(views.empty_html(READ_ONLY), elem_id="nd-sources-read-only")

            def table_now() -> str:
                return table_html(assistant)

            tab.select(table_now, None, [table], api_visibility="private")
            return SourcesTab([table], table_now, ())
        with gr.Row(equal_height=False):
            with gr.Column():
                files = gr.File(
                    label="Add files (" + " ".join(sorted(SUPPORTED_SUFFIXES)) + ")",
                    file_count="multiple",
                    type="filepath",
                    elem_id="nd-upload",
                )
                add_files = gr.Button("Add files", variant="primary", elem_id="nd-add-files")
            with gr.Column():
                feed = gr.Textbox(
                    label="Add a feed or page by URL",
                    placeholder="https://example.org/news/rss.xml",
                    elem_id="nd-feed-url",
                    max_lines=1,
                )
                add_feed = gr.Button("Add URL", variant="primary", elem_id="nd-add-feed")
        with gr.Row():
            picker = gr.Dropdown(
                choices=[], value=None, label="Remove a source", elem_id="nd-remove-pick", scale=4
            )
            remove = gr.Button("Remove\u2026", variant="stop", elem_id="nd-remove", scale=1)
        pending = gr.State("")
        with gr.Group(visible=False, elem_id="nd-confirm") as confirm:
            question = gr.HTML(elem_id="nd-confirm-text")
            with gr.Row():
                yes = gr.Button("Yes, remove it", variant="stop", elem_id="nd-remove-yes")
                no = gr.Button("Cancel", elem_id="nd-remove-no")
        status = gr.HTML(elem_id="nd-source-status")

        def added_files(paths: list[str] | None) -> Iterator[Outputs]:
            uploaded = [Path(p) for p in paths or []]
            try:
                steps = changes.add_files(settings, uploaded, embedder=embedder)
                yield from run_change(assistant, steps)
            finally:  # the archive keeps its own copies; Gradio's temporary ones can go
                for path in uploaded:
                    path.unlink(missing_ok=True)

        def added_feed(url: str) -> Iterator[Outputs]:
            yield from run_change(assistant, changes.add_feed(settings, url, embedder=embedder))

        def removed(origin: str) -> Iterator[Outputs]:
            steps = changes.remove_source(settings, origin, embedder=embedder)
            yield from run_change(assistant, steps)

        def asked(origin: str | None) -> tuple[Any, str, str, str]:
            box, text, target = confirm_text(assistant, origin)
            return box, text, target, "" if target else views.status_html("Pick a source.")

        outputs = [status, table, picker]
        work: dict[str, Any] = {
            "api_visibility": "private",
            "concurrency_limit": 1,
            "concurrency_id": CONCURRENCY_ID,
            "show_progress": "hidden",
        }
        done = (
            add_files.click(added_files, [files], outputs, **work).then(
                lambda: None, None, [files], api_visibility="private"
            ),
            add_feed.click(added_feed, [feed], outputs, **work),
            yes.click(
                lambda: gr.Group(visible=False), None, [confirm], api_visibility="private"
            ).then(removed, [pending], outputs, **work),
        )
        remove.click(
            asked, [picker], [confirm, question, pending, status], api_visibility="private"
        )
        no.click(
            lambda: (gr.Group(visible=False), ""),
            None,
            [confirm, pending],
            api_visibility="private",
        )

        def now() -> tuple[str, Any]:
            return listing(assistant)

        tab.select(now, None, [table, picker], api_visibility="private")
    return SourcesTab([table, picker], now, done)


__all__ = ["SourcesTab", "confirm_text", "listing", "run_change", "sources_tab", "table_html"]
