"""The headless API under /v1: OpenAI-compatible chat with citations, search, articles, stats.

`build_api(assistant, settings)` returns the FastAPI app that `newsdesk serve` runs (the UI is
mounted on it at `/`, MCP at `/mcp`, by `newsdesk.server`). Its OpenAPI document at
/openapi.json covers these routes only.

- **Chat** (`POST /v1/chat/completions`): the last user message is the question, the earlier
  user messages its history; the reply's content carries the `[n]` markers, `citations` says
  what each number is, `newsdesk.status` the outcome (answered / not_stated / refused).
  Streaming sends OpenAI's `chat.completion.chunk` events, citations on the last one.
- **Bounded**: at most `RUNNING` questions are worked on at once and `WAITING` more wait;
  the next gets 503 with Retry-After at once (never a hung connection). The body limit and
  security headers are the server guard's (`ui.guard`), as for the page.
- **Errors** are OpenAI's error objects with the right status: 400 for a malformed or
  invalid request (which field, why), 401 without a key when keys are set, 404 for an
  unknown model, article or route, 405 for a wrong method, 413 for a body over the limit.
  A server fault is a 500 with a message, never a stack trace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from newsdesk import __version__
from newsdesk.api.schemas import (
    MODEL_ID,
    ArticleOut,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatRequest,
    Choice,
    ChunkChoice,
    Delta,
    ErrorResponse,
    ModelList,
    ModelOut,
    SearchRequest,
    SearchResponse,
    StatsOut,
    error_json,
)
from newsdesk.api.views import (
    article_out,
    citations_out,
    content_of,
    filters_of,
    filters_out,
    hits_out,
    reply_out,
)
from newsdesk.assistant import Assistant, clean_question
from newsdesk.core.config import Settings
from newsdesk.core.errors import NewsdeskError, QuestionError, StoreError
from newsdesk.core.types import Answer, Filters

log = logging.getLogger(__name__)

RUNNING = 4  # questions worked on at once (as the page's queue)
WAITING = 64  # questions waiting at most; the next is told to retry
RETRY_AFTER_S = 2
# One server-sent event of a streamed answer (OpenAPI 3.1: the schema of each event).
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {
            "type": "string",
            "description": "a chat.completion.chunk as JSON; the last event is [DONE]",
        },
        "event": {"type": "string"},
    },
    "required": ["data"],
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 503)
}


class Busy(Exception):
    """Every running and waiting place is taken."""


class Ticket:
    """One request's place at the gate: counted from admission, running once entered,
    released exactly once however the request ends."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._running = False
        self._released = False

    async def __aenter__(self) -> Ticket:
        await self._gate._slots.acquire()
        self._running = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._running:
            self._gate._slots.release()
        self._gate._admitted -= 1


class Gate:
    """At most `running` requests at work and `waiting` more queued (one event loop)."""

    def __init__(self, running: int = RUNNING, waiting: int = WAITING) -> None:
        self._slots = asyncio.Semaphore(running)
        self._limit = running + waiting
        self._admitted = 0

    def admit(self) -> Ticket:
        if self._admitted >= self._limit:
            raise Busy
        self._admitted += 1
        return Ticket(self)


class GatedStream(StreamingResponse):
    """A streamed answer that gives its ticket back however the stream ends (finished,
    failed, the client gone before the first byte)."""

    def __init__(self, content: AsyncIterator[str], ticket: Ticket) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
        self.ticket = ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.ticket.release()


def error(status: int, message: str, kind: str, code: str | None = None, **kw: Any) -> JSONResponse:
    body = error_json(message, kind, code, kw.pop("param", None)).model_dump()
    return JSONResponse(body, status_code=status, **kw)


def newsdesk_error(exc: NewsdeskError) -> JSONResponse:
    """A Newsdesk error as the API's error object: the asker's fault 400, the index's 503."""
    text = " ".join(str(exc).split())
    if isinstance(exc, QuestionError):
        return error(400, text, "invalid_request_error", "invalid_question")
    if isinstance(exc, StoreError):
        return error(503, text, "server_error", "index_unavailable")
    return error(500, text, "server_error")


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p != "body")


def build_api(
    assistant: Assistant, settings: Settings, *, gate: Gate | None = None, **app_kwargs: Any
) -> FastAPI:
    """The API app over `assistant`; `gate` bounds the questions at work (default RUNNING
    and WAITING); `app_kwargs` go to FastAPI (a lifespan, middleware)."""
    app = FastAPI(
        title="Newsdesk API",
        version=__version__,
        description="Cited answers, search and articles of a news archive. "
        "Chat follows OpenAI's Chat Completions; `citations` and `newsdesk` are extensions.",
        docs_url=None,
        redoc_url=None,
        **app_kwargs,
    )
    gate = gate or Gate(RUNNING, WAITING)
    created = int(time.time())

    # ------------------------------------------------------------ errors
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = _where(tuple(first.get("loc", ())))
        if first.get("type") == "json_invalid":
            return error(400, "the request body is not valid JSON", "invalid_request_error")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "")
        return error(400, message or "invalid request", "invalid_request_error", param=where)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error(exc.status_code, str(exc.detail), kind, headers=exc.headers)

    @app.exception_handler(NewsdeskError)
    async def refused(request: Request, exc: NewsdeskError) -> JSONResponse:
        return newsdesk_error(exc)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return error(
            503,
            "the server is answering as many questions as it can; retry shortly",
            "server_error",
            "server_busy",
            headers={"retry-after": str(RETRY_AFTER_S)},
        )

    # ------------------------------------------------------------ chat
    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={
            **ERRORS,
            200: {
                "content": {"text/event-stream": {"schema": SSE_EVENT}},
                "description": "the answer; with `stream`, chat.completion.chunk events",
            },
        },
        summary="Answer the last user message, with citations",
    )
    async def chat(body: ChatRequest) -> Any:
        if body.model != MODEL_ID:
            return error(
                404,
                f"the model '{body.model}' does not exist; use '{MODEL_ID}'",
                "invalid_request_error",
                "model_not_found",
                param="model",
            )
        asked = [m.text for m in body.messages if m.role == "user"]
        if not asked:
            return error(
                400,
                "messages: no user message to answer",
                "invalid_request_error",
                param="messages",
            )
        question, history = asked[-1], asked[:-1]
        for text in (question, *history):  # a bad question fails before any work
            clean_question(text, settings.max_question_chars)
        options = body.newsdesk
        filters = filters_of(options.filters if options else None)
        kwargs = {
            "history": history,
            "filters": filters,
            "mode": options.mode if options else None,
            "k": options.k if options else None,
        }
        ticket = gate.admit()
        reply_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            pieces = assistant.stream(question, **kwargs)  # type: ignore[arg-type]
            return GatedStream(_events(pieces, ticket, reply_id, body.model, filters), ticket)
        try:
            async with ticket:
                answer = await anyio.to_thread.run_sync(
                    lambda: assistant.ask(question, **kwargs)  # type: ignore[arg-type]
                )
        finally:
            ticket.release()
        return ChatCompletion(
            id=reply_id,
            created=int(time.time()),
            model=body.model,
            choices=[Choice(message=AssistantMessage(content=content_of(answer)))],
            citations=citations_out(answer),
            newsdesk=reply_out(answer, filters),
        )

    # ------------------------------------------------------------ the rest
    @app.get("/v1/models", response_model=ModelList, responses=ERRORS, summary="The answerer")
    async def models() -> ModelList:
        return ModelList(data=[ModelOut(id=MODEL_ID, created=created)])

    @app.get(
        "/v1/models/{model_id}", response_model=ModelOut, responses=ERRORS, summary="One model"
    )
    async def model(model_id: str) -> Any:
        if model_id != MODEL_ID:
            return error(
                404,
                f"the model '{model_id}' does not exist",
                "invalid_request_error",
                "model_not_found",
            )
        return ModelOut(id=MODEL_ID, created=created)

    @app.post(
        "/v1/search",
        response_model=SearchResponse,
        responses=ERRORS,
        summary="Ranked articles and their passages for a query",
    )
    async def search(body: SearchRequest) -> SearchResponse:
        clean_question(body.query, settings.max_question_chars)
        filters = filters_of(body.filters)
        ticket = gate.admit()
        try:
            async with ticket:
                found = await anyio.to_thread.run_sync(
                    lambda: assistant.retrieve(
                        body.query, filters=filters, mode=body.mode, k=body.k
                    )
                )
        finally:
            ticket.release()
        return SearchResponse(
            query=body.query,
            standalone_query=found.standalone_question,
            filters=filters_out(found.filters),
            data=hits_out(found.hits),
        )

    @app.get(
        "/v1/articles/{doc_id:path}",
        response_model=ArticleOut,
        responses=ERRORS,
        summary="An article: text, metadata, quotes and names",
    )
    async def article(doc_id: str) -> Any:
        found = await anyio.to_thread.run_sync(article_out, assistant, doc_id)
        if found is None:
            return error(
                404,
                f"no article '{doc_id}' in the archive",
                "invalid_request_error",
                "article_not_found",
            )
        return found

    @app.get("/v1/stats", response_model=StatsOut, responses=ERRORS, summary="What the index holds")
    async def stats() -> Any:
        return (await anyio.to_thread.run_sync(assistant.stats)).to_json()

    api_routes = [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/v1/")]

    def openapi() -> dict[str, Any]:
        """FastAPI's document without the 422 it adds to every route: this API answers
        invalid requests with 400 and an error object, as OpenAI's does."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.api_route(
        "/v1/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def unknown(request: Request, rest: str) -> JSONResponse:
        """Under /v1, a path no route serves is the API's 404, a wrong method its 405 (not
        the page's, which is mounted behind)."""
        allowed = sorted(
            m
            for r in api_routes
            if r.matches({"type": "http", "path": request.url.path, "method": ""})[0] != Match.NONE
            for m in (r.methods or ())
        )
        if allowed:
            return error(
                405,
                f"{request.method} is not allowed on {request.url.path}",
                "invalid_request_error",
                headers={"allow": ", ".join(allowed)},
            )
        return error(404, f"no such endpoint: {request.url.path}", "invalid_request_error")

    return app


async def _events(
    pieces: Iterator[str | Answer], ticket: Ticket, reply_id: str, model: str, filters: Filters
) -> AsyncIterator[str]:
    """The answer as server-sent events in OpenAI's chunk format, then `[DONE]`."""

    def event(choice: ChunkChoice, **extra: Any) -> str:
        chunk = ChatCompletionChunk(
            id=reply_id, created=int(time.time()), model=model, choices=[choice], **extra
        )
        data = chunk.model_dump(mode="json")
        for key in ("citations", "newsdesk"):  # on the last chunk only
            if data[key] is None:
                del data[key]
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def step() -> str | Answer | None:
        return next(pieces, None)

    try:
        async with ticket:
            yield event(ChunkChoice(delta=Delta(role="assistant", content="")))
            while True:
                item = await anyio.to_thread.run_sync(step)
                if item is None:
                    break
                if isinstance(item, Answer):
                    if item.evidence:
                        yield event(
                            ChunkChoice(delta=Delta(content=content_of(item)[len(item.text) :]))
                        )
                    yield event(
                        ChunkChoice(delta=Delta(), finish_reason="stop"),
                        citations=citations_out(item),
                        newsdesk=reply_out(item, filters),
                    )
                    break
                if item:
                    yield event(ChunkChoice(delta=Delta(content=item)))
    except NewsdeskError as exc:
        yield f"data: {bytes(newsdesk_error(exc).body).decode()}\n\n"  # the SDKs raise it
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    yield "data: [DONE]\n\n"


__all__ = ["RUNNING", "WAITING", "Gate", "build_api"]
