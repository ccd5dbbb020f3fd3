"""The archive as an MCP server (the official `mcp` SDK): tools an agent can call to search
the archive, get cited answers, read articles, quotes and timelines.

`newsdesk mcp --index DIR` serves it over stdio; `newsdesk serve` over streamable HTTP at
/mcp (stateless: any replica can take any request), behind the API keys when keys are set.
Each tool returns structured content matching its output schema, plus the same as JSON text
for clients that read only text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from newsdesk import __version__
from newsdesk.api.gate import Busy, Gate, default_gate
from newsdesk.api.schemas import (
    MAX_ITEMS,
    ArticleOut,
    AskOut,
    FiltersIn,
    QuoteHitOut,
    SearchResponse,
    StatsOut,
    TimelineEntryOut,
    TimelineOut,
)
from newsdesk.api.views import (
    article_out,
    ask_out,
    filters_of,
    search_out,
)
from newsdesk.assistant import Assistant
from newsdesk.core.errors import NewsdeskError
from newsdesk.core.types import Mode

INSTRUCTIONS = (
    "Newsdesk answers from a news archive only. Use `ask` for a cited answer to a question "
    "(its status says whether the archive states the answer: answered, not_stated or "
    "refused; never present a non-answer as an answer), `search_archive` to find articles, "
    "`get_article` to read one, `quotes` for what a person said, `timeline` for how a story "
    "unfolded, `archive_stats` for what the archive covers (sources, dates)."
)
T = TypeVar("T")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

Since = Annotated[date | None, Field(description="only articles published on or after (ISO)")]
Until = Annotated[date | None, Field(description="only articles published on or before (ISO)")]
Sources = Annotated[list[str] | None, Field(description="only these sources", max_length=MAX_ITEMS)]


def _filters(since: date | None, until: date | None, sources: list[str] | None) -> FiltersIn:
    return FiltersIn(since=since, until=until, sources=sources or [])


def build_mcp(assistant: Assistant, *, gate: Gate | None = None) -> MCPServer:
    """The MCP server over `assistant`; its tools take places at `gate` (the one the HTTP
    API uses, on `serve`); errors reach the agent as tool errors, in one line."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    server: MCPServer = MCPServer(
        name="newsdesk", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )
    root.handlers[:] = handlers  # the SDK configures the root logger; the program owns it
    root.setLevel(level)
    gate = gate or default_gate()

    async def guarded(call: Callable[[], T]) -> T:
        try:
            return await gate.run(call)
        except Busy as exc:
            raise ToolError("the server is answering as many questions as it can; retry") from exc
        except NewsdeskError as exc:
            raise ToolError(" ".join(str(exc).split())) from exc

    @server.tool(annotations=READ_ONLY)
    async def ask(
        question: Annotated[str, Field(description="the question, in plain words")],
        history: Annotated[
            list[str] | None,
            Field(description="earlier questions of the conversation, oldest first"),
        ] = None,
        since: Since = None,
        until: Until = None,
        sources: Sources = None,
    ) -> AskOut:
        """Answer a question from the archive. Every sentence of the answer is quoted from an
        article and carries [n], a number of `citations` (title, source, date, the quoted
        sentence). `status` is answered, not_stated (the archive covers the subject but does
        not state the fact; `evidence` is the closest, not an answer) or refused."""
        filters = filters_of(_filters(since, until, sources))
        answer = await guarded(
            lambda: assistant.ask(question, history=history or (), filters=filters)
        )
        return ask_out(answer)

    @server.tool(annotations=READ_ONLY)
    async def search_archive(
        query: Annotated[str, Field(description="words or a question")],
        k: Annotated[int, Field(ge=1, le=50, description="how many articles")] = 10,
        mode: Annotated[Mode, Field(description="hybrid (best), dense or bm25")] = "hybrid",
        since: Since = None,
        until: Until = None,
        sources: Sources = None,
    ) -> SearchResponse:
        """Find the articles that best match a query, ranked, each with its matching passages
        (verbatim, with character offsets into the article text) and metadata."""
        filters = filters_of(_filters(since, until, sources))
        found = await guarded(lambda: assistant.retrieve(query, filters=filters, mode=mode, k=k))
        return search_out(query, found)

    @server.tool(annotations=READ_ONLY)
    async def get_article(
        doc_id: Annotated[str, Field(description="an article's doc_id, as search results give")],
    ) -> ArticleOut:
        """One article: its full text, title, source, date, URL, and the quotations and names
        found in it."""
        found = await guarded(lambda: article_out(assistant, doc_id))
        if found is None:
            raise ToolError(f"no article '{doc_id}' in the archive")
        return found

    @server.tool(annotations=READ_ONLY)
    async def archive_stats() -> StatsOut:
        """What the archive holds: article and passage counts, sources, categories, and the
        dates of its oldest and newest articles."""
        return StatsOut(**(await guarded(assistant.stats)).to_json())

    @server.tool(annotations=READ_ONLY)
    async def quotes(
        speaker: Annotated[str | None, Field(description="who said it, e.g. Gordon Brown")] = None,
        about: Annotated[str | None, Field(description="words the quotation is about")] = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 20,
    ) -> list[QuoteHitOut]:
        """Direct quotations from the archive with their speakers, verbatim, newest first:
        what `speaker` said about `about` (either may be left out)."""
        hits = await guarded(
            lambda: assistant.archive.quotes(speaker=speaker, query=about, limit=limit)
        )
        return [
            QuoteHitOut(
                doc_id=h.doc_id,
                published=h.published or None,
                speaker=h.quote.speaker,
                mention=h.quote.mention,
                quote=h.quote.text,
                start=h.quote.start,
                end=h.quote.end,
                attribution=h.quote.attribution,
            )
            for h in hits
        ]

    @server.tool(annotations=READ_ONLY)
    async def timeline(
        story: Annotated[str, Field(description="the story, e.g. 'the Yukos affair'")],
    ) -> TimelineOut:
        """How a story unfolded: its reports' developments in date order, one verbatim line
        each; undated reports are listed apart, never placed by guess."""
        found = await guarded(lambda: assistant.timeline(story))
        if found is None:
            raise ToolError(f"no story in the archive matches '{story}'")

        def entry(e: Any) -> TimelineEntryOut:
            return TimelineEntryOut(
                n=e.n,
                published=e.published or None,
                doc_id=e.doc_id,
                title=e.title,
                text=e.text,
                start=e.start,
                end=e.end,
            )

        return TimelineOut(
            story_id=found.story_id,
            headline=found.headline,
            entries=[entry(e) for e in found.entries],
            undated=[entry(e) for e in found.undated],
        )

    return server


def run_stdio(assistant: Assistant) -> None:
    """`newsdesk mcp`: the MCP server over stdin/stdout until the client closes it."""
    build_mcp(assistant).run("stdio")


__all__ = ["INSTRUCTIONS", "build_mcp", "run_stdio"]
