"""The People and Stories tabs: a name's page and a story's timeline, beside the chat.

Each tab is a search box, a picker of what matched and the page of the one picked; the
callbacks only call the assistant and `ui.views`. Errors become a line in the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gradio as gr

from newsdesk.assistant import Assistant
from newsdesk.core.errors import NewsdeskError
from newsdesk.retriever.profiles import best_name
from newsdesk.retriever.stories import Story
from newsdesk.ui import views

log = logging.getLogger(__name__)

MAX_CHOICES = 50
FILTER_NAMES = 300  # names offered in the chat's "Naming" filter (others can be typed)
KINDS = {"Any": None, "People": "person", "Organisations": "org", "Places": "place"}
NO_NAMES = (
    "No names found. Names are found when the index is enriched with entities "
    "(NEWSDESK_ENRICH=all)."
)


def filter_names(assistant: Assistant) -> list[tuple[str, str]]:
    """The names the chat's filter offers: the most named of the archive."""
    try:
        return [
            (f"{name} ({n:,} articles)", name)
            for name, n in assistant.archive.most_named(FILTER_NAMES)
        ]
    except NewsdeskError as exc:
        log.warning("no names for the filter: %s", exc)
        return []


def find_names(assistant: Assistant, query: str, kind: str) -> tuple[Any, str]:
    """(picker, page) for the names holding the words of `query`: the best one's page."""
    try:
        found = assistant.archive.names(query or None, kind=KINDS.get(kind), limit=MAX_CHOICES)
        if not found:
            return gr.Dropdown(choices=[], value=None), views.empty_html(NO_NAMES)
        choices = [views.name_choice(n) for n in found]
        name = (best_name(found, query) or found[0]).name
        return gr.Dropdown(choices=choices, value=name), show_profile(assistant, name)
    except NewsdeskError as exc:
        return gr.Dropdown(choices=[], value=None), views.empty_html(str(exc))


def show_profile(assistant: Assistant, name: str | None) -> str:
    if not name:
        return views.empty_html("Pick a name.")
    try:
        profile = assistant.archive.profile(name)
    except NewsdeskError as exc:
        return views.empty_html(str(exc))
    return views.profile_html(profile) if profile else views.empty_html(f"No {name!r} here.")


def find_stories(assistant: Assistant, query: str) -> tuple[Any, dict[str, Story], str]:
    """(picker, the stories found by id, page of the first) for `query`; with no query,
    every story of more than one report, newest first."""
    try:
        found = assistant.stories(query.strip() or None)[:MAX_CHOICES]
    except NewsdeskError as exc:
        return gr.Dropdown(choices=[], value=None), {}, views.empty_html(str(exc))
    if not found:
        return (
            gr.Dropdown(choices=[], value=None),
            {},
            views.empty_html(
                "No stories found. Stories are grouped when the index is enriched "
                "(NEWSDESK_ENRICH=all)."
            ),
        )
    by_id = {s.story_id: s for s in found}
    first = found[0].story_id
    picker = gr.Dropdown(choices=[views.story_choice(s) for s in found], value=first)
    return picker, by_id, show_timeline(assistant, first, by_id)


def show_timeline(assistant: Assistant, story_id: str | None, found: dict[str, Story]) -> str:
    story = found.get(story_id or "") if isinstance(found, dict) else None
    if story is None:
        return views.empty_html("Pick a story.")
    try:
        return views.timeline_html(assistant.archive.timeline(story), story)
    except NewsdeskError as exc:
        return views.empty_html(str(exc))


@dataclass(frozen=True)
class PeopleTab:
    """The People tab's widgets another part of the page fills (a name clicked in an answer)."""

    query: Any
    picker: Any
    page: Any


def people_tab(assistant: Assistant) -> PeopleTab:
    """The People tab, inside the page's `gr.Tabs`."""
    with gr.Tab("People", id="people", elem_id="nd-tab-people"):
        with gr.Row():
            query = gr.Textbox(
                label="Name", placeholder="e.g. Gordon Brown", elem_id="nd-name-query", scale=4
            )
            kind = gr.Radio(list(KINDS), value="Any", label="Type", elem_id="nd-name-kind")
            find = gr.Button("Find", variant="primary", elem_id="nd-name-find", scale=1)
        picker = gr.Dropdown(choices=[], label="Matching names", elem_id="nd-name-pick")
        page = gr.HTML(
            views.empty_html("Find a person, organisation or place."), elem_id="nd-profile"
        )

        def found(q: str, k: str) -> tuple[Any, str]:
            return find_names(assistant, q, k)

        def picked(name: str | None) -> str:
            return show_profile(assistant, name)

        for event in (query.submit, find.click):
            event(found, [query, kind], [picker, page], api_visibility="private")
        picker.input(picked, [picker], [page], api_visibility="private")
    return PeopleTab(query, picker, page)


def stories_tab(assistant: Assistant) -> None:
    """The Stories tab, inside the page's `gr.Tabs`."""
    with gr.Tab("Stories", id="stories", elem_id="nd-tab-stories"):
        found_state = gr.State({})
        with gr.Row():
            query = gr.Textbox(
                label="Story",
                placeholder="e.g. the Yukos affair (empty: the latest stories)",
                elem_id="nd-story-query",
                scale=5,
            )
            find = gr.Button("Find", variant="primary", elem_id="nd-story-find", scale=1)
        picker = gr.Dropdown(choices=[], label="Stories", elem_id="nd-story-pick")
        page = gr.HTML(
            views.empty_html("Find a story to see how it unfolded."), elem_id="nd-timeline"
        )

        def found(q: str) -> tuple[Any, dict[str, Story], str]:
            return find_stories(assistant, q)

        def picked(story_id: str | None, stories: dict[str, Story]) -> str:
            return show_timeline(assistant, story_id, stories)

        for event in (query.submit, find.click):
            event(found, [query], [picker, found_state, page], api_visibility="private")
        picker.input(picked, [picker, found_state], [page], api_visibility="private")


__all__ = [
    "PeopleTab",
    "filter_names",
    "find_names",
    "find_stories",
    "people_tab",
    "stories_tab",
]
