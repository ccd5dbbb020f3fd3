"""The Gradio app: `build_app(assistant)` makes the page, `mount_page` puts it on the server.

Only presentation lives here. Callbacks turn widget values into one `Assistant.stream` call
(with this session's earlier questions as history) and its results into HTML via `ui.render`.
Errors become a readable message in the chat; the app keeps running. The People, Stories and
Sources tabs live in `ui.tabs` and `ui.sources_tab`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from newsdesk.assistant import Assistant
from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError, NewsdeskError
from newsdesk.core.types import Answer, Article
from newsdesk.ui import render
from newsdesk.ui.browser import CITATION_CLICKS_JS, CSS, NAME_CLICKS_JS
from newsdesk.ui.sources_tab import sources_tab
from newsdesk.ui.state import Session, Turn, parse_filters
from newsdesk.ui.tabs import filter_names, find_names, people_tab, stories_tab

log = logging.getLogger(__name__)

CONCURRENCY = 4  # questions answered at once; more wait in Gradio's queue
QUEUE_SIZE = 64  # questions waiting at most; the next is told the queue is full, to retry
PUBLIC_API = ("ask",)  # the one event other programs may run by name
N_EXAMPLES = 4
UNEXPECTED = "something went wrong inside Newsdesk; the details are in the server log."

Outputs = tuple[list[dict[str, str]], Any, Session, str]


def answer_turn(
    assistant: Assistant,
    question: str,
    session: Session,
    since: str | None,
    until: str | None,
    sources: list[str] | None,
    categories: list[str] | None,
    names: list[str] | None = None,
) -> Iterator[Outputs]:
    """Ask one question in this session; yield (chat, sources panel, session, question box)
    as the answer streams in. Errors end the turn with a message, never an exception."""
    session = session if isinstance(session, Session) else Session()
    question = question if isinstance(question, str) else ""
    number = session.next_number
    yield session.messages((question, render.pending_html())), gr.skip(), session, ""
    try:
        filters = parse_filters(since, until, sources, categories, names)
        text, answer = "", None
        stream = assistant.stream(question, history=session.history(), filters=filters)
        for item in stream:
            if isinstance(item, Answer):
                answer = item
            else:
                text += item
                chat = session.messages((question, render.streaming_html(text)))
                yield chat, gr.skip(), session, ""
        if answer is None:  # pragma: no cover - Assistant.stream always ends with an Answer
            raise NewsdeskError("the assistant returned no answer")
        articles: dict[str, Article | None] = {
            c.passage.doc_id: assistant.article(c.passage.doc_id) for c in answer.citations
        }
        turn = Turn(
            number,
            question,
            render.answer_html(answer, number, cited_names(assistant, answer)),
            render.sources_section(answer, number, articles),
            answered=True,
        )
        log.info(
            "turn %d answered: status=%s citations=%d",
            number,
            answer.status,
            len(answer.citations),
        )
    except NewsdeskError as exc:
        log.info("turn %d not answered: %s: %s", number, type(exc).__name__, exc)
        turn = Turn(number, question, render.error_html(str(exc)))
    except Exception:
        log.exception("turn %d failed unexpectedly", number)
        turn = Turn(number, question, render.error_html(UNEXPECTED))
    session = session.add(turn)
    yield session.messages(), session.panel(), session, ""


def cited_names(assistant: Assistant, answer: Answer) -> list[tuple[str, str]]:
    """(name, type) of the names the cited articles name, for links in the answer; none
    when the index holds no names (not enriched) or cannot say."""
    try:
        return assistant.archive.names_in([c.passage.doc_id for c in answer.citations])
    except NewsdeskError as exc:
        log.warning("no names for the answer's links: %s", exc)
        return []


def archive_facts(assistant: Assistant) -> tuple[str, list[str], list[str]]:
    """(facts html, sources, categories) of the archive, or an error line and no choices."""
    try:
        stats = assistant.stats()
        warning = assistant.index_warning()
    except NewsdeskError as exc:
        return render.facts_error_html(str(exc)), [], []
    html = render.facts_html(stats)
    if warning:  # a reader must see that answers may miss what the index lost
        html = render.facts_error_html(warning, prefix="Index incomplete") + html
    return html, list(stats.sources), list(stats.categories)


def example_questions(assistant: Assistant, n: int = N_EXAMPLES) -> list[str]:
    try:
        return assistant.example_questions(n)
    except NewsdeskError as exc:
        log.warning("no example questions: %s", exc)
        return []


def build_app(
    assistant: Assistant, settings: Settings | None = None, *, manage: bool = False
) -> gr.Blocks:
    """The chat page over `assistant`: chat, filters, archive facts, examples, sources; and
    the People, Stories and Sources tabs. `settings` are the server's (default: the
    assistant's); with `manage` the Sources tab adds and removes sources."""
    served = (settings or assistant.settings).model_copy(
        update={"index": Path(assistant.searcher.index.dir)}
    )
    facts, source_names, category_names = archive_facts(assistant)
    name_choices = filter_names(assistant)
    examples = example_questions(assistant)

    def ask(
        question: str,
        session: Session,
        since: str | None,
        until: str | None,
        sources: list[str] | None,
        categories: list[str] | None,
        names: list[str] | None,
    ) -> Iterator[Outputs]:
        yield from answer_turn(
            assistant, question, session, since, until, sources, categories, names
        )

    def refresh() -> tuple[str, Any, Any]:
        html, srcs, cats = archive_facts(assistant)
        return html, gr.Dropdown(choices=srcs), gr.Dropdown(choices=cats)

    def new_conversation() -> tuple[list[dict[str, str]], str, Session]:
        session = Session()
        return [], session.panel(), session

    with gr.Blocks(title="Newsdesk", analytics_enabled=False, fill_width=True) as demo:
        session = gr.State(Session())
        gr.Markdown(
            "## Newsdesk\nAsk the news archive. Every sentence of an answer cites its "
            "passage: click a **[n]** to read it in its article."
        )
        with gr.Tabs(elem_id="nd-tabs") as tabs:
            with gr.Tab("Ask", id="ask", elem_id="nd-tab-ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=360):
                    chat = gr.Chatbot(
                        label="Conversation",
                        elem_id="nd-chat",
                        height=520,
                        sanitize_html=True,
                        render_markdown=False,
                        allow_tags=False,
                        feedback_options=None,
                        buttons=["copy"],
                        placeholder="Answers from the archive appear here, with their sources.",
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            show_label=False,
                            placeholder="Ask about the archive, e.g. a person, place or event",
                            elem_id="nd-question",
                            lines=1,
                            max_lines=4,
                            scale=5,
                            autofocus=True,
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="nd-ask")
                    tried = (
                        gr.Examples(
                            examples=[[q] for q in examples],
                            inputs=[box],
                            label="Try asking",
                            elem_id="nd-examples",
                        )
                        if examples
                        else None
                    )
                    clear = gr.Button("New conversation", size="sm", elem_id="nd-new")
                with gr.Column(scale=2, min_width=320):
                    with gr.Accordion("Filters (apply to the next question)", open=True):
                        with gr.Row():
                            since = gr.Textbox(
                                label="Since", placeholder="YYYY-MM-DD", elem_id="nd-since"
                            )
                            until = gr.Textbox(
                                label="Until", placeholder="YYYY-MM-DD", elem_id="nd-until"
                            )
                        sources = gr.Dropdown(
                            choices=source_names,
                            value=[],
                            multiselect=True,
                            label="Sources",
                            elem_id="nd-sources-filter",
                        )
                        categories = gr.Dropdown(
                            choices=category_names,
                            value=[],
                            multiselect=True,
                            label="Categories",
                            elem_id="nd-categories-filter",
                        )
                        names = gr.Dropdown(
                            choices=name_choices,
                            value=[],
                            multiselect=True,
                            allow_custom_value=True,
                            label="Naming (people, organisations, places)",
                            elem_id="nd-names-filter",
                        )
                    facts_box = gr.HTML(facts, elem_id="nd-facts", js_on_load=None)
                    panel = gr.HTML(
                        Session().panel(),
                        elem_id="nd-panel",
                        js_on_load=CITATION_CLICKS_JS + NAME_CLICKS_JS,
                    )
                    # filled by a click on a name in an answer (NAME_CLICKS_JS)
                    name_open = gr.Textbox(elem_id="nd-name-open", elem_classes="nd-hidden")
                    name_go = gr.Button(elem_id="nd-name-go", elem_classes="nd-hidden")

            people = people_tab(assistant)
            stories_tab(assistant)
            archive = sources_tab(assistant, served, manage=manage)

        def open_name(name: str) -> tuple[Any, str, Any, str]:
            picker, page = find_names(assistant, name, "Any")
            return gr.Tabs(selected="people"), name, picker, page

        name_go.click(
            open_name,
            [name_open],
            [tabs, people.query, people.picker, people.page],
            api_visibility="private",
        )

        inputs = [box, session, since, until, sources, categories, names]
        outputs = [chat, panel, session, box]
        box.submit(ask, inputs, outputs, api_name="ask")
        send.click(ask, inputs, outputs, api_visibility="undocumented")
        if tried is not None:
            tried.load_input_event.then(ask, inputs, outputs, api_visibility="undocumented")
        clear.click(new_conversation, None, [chat, panel, session], api_visibility="private")
        chat.clear(new_conversation, None, [chat, panel, session], api_visibility="private")
        demo.load(refresh, None, [facts_box, sources, categories], api_visibility="private")
        for changed in archive.changes:  # the chat's facts and filters follow the archive
            changed.then(refresh, None, [facts_box, sources, categories], api_visibility="private")
        demo.load(archive.redraw, None, archive.shown, api_visibility="private")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def parse_auth(auth: str) -> list[tuple[str, str]] | None:
    """`NEWSDESK_AUTH`: "user:password", or the path of a file of user:password lines."""
    auth = (auth or "").strip()
    if not auth:
        return None
    path = Path(auth).expanduser()
    if path.is_file():
        where, lines = str(path), path.read_text(encoding="utf-8").splitlines()
    elif ":" in auth:
        where, lines = "NEWSDESK_AUTH", [auth]
    else:
        raise ConfigError(
            "NEWSDESK_AUTH must be user:password or the path of a file of user:password "
            "lines; the value given is neither (no ':' and no such file)"
        )
    pairs: list[tuple[str, str]] = []
    for i, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{where}: line {i}: expected user:password")
        pairs.append((user.strip(), password))
    if not pairs:
        raise ConfigError(f"{where}: no user:password lines")
    return pairs


def mount_page(
    app: Any, assistant: Assistant, settings: Settings, *, manage: bool = False
) -> gr.Blocks:
    """Build the page and mount it at `/` of the FastAPI `app` (`newsdesk.server` serves it),
    behind the login `settings.auth` names, if any. With `manage` its Sources tab adds files
    (uploads of up to `settings.max_file_bytes` each) and feeds, and removes sources."""
    auth = parse_auth(settings.auth)
    demo = build_app(assistant, settings, manage=manage)
    gr.mount_gradio_app(
        app,
        demo,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        run_history=False,
        auth=auth,
        auth_message="Newsdesk: sign in to ask the archive." if auth else None,
        blocked_paths=[str(Path(settings.index).expanduser().resolve())],
        show_error=False,
        max_file_size=settings.max_file_bytes if manage else "1mb",
        ssr_mode=False,
        enable_monitoring=False,
        pwa=False,
        mcp_server=False,
        css=CSS,
    )
    return demo
