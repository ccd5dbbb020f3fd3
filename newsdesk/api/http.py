"""The headless API under /v1: OpenAI-compatible chat with citations, search, articles, stats.

`build_api(assistant, settings)` returns the FastAPI app that `newsdesk serve` runs (the UI is
mounted on it at `/`, MCP at `/mcp`, by `newsdesk.server`). Its OpenAPI document at
/openapi.json covers these routes only.

- **Chat** (`POST /v1/chat/completions`): the last user message is the question, the earlier
  user messages its history; the reply's content carries the `[n]` markers, `citations` says
  what each number is, `newsdesk.status` the outcome (answered / not_stated / refused).
  Streaming sends OpenAI's `chat.completion.chunk` events (`api.stream`).
- **Bounded** by the gate it shares with MCP (`api.gate`); the body limit and security
  headers are the server guard's (`ui.guard`), as for the page.
- **Errors** are OpenAI's error objects (`api.errors`) with the right status: 400 for a
  malformed or invalid request (which field, why), 401 without a key when keys are set, 404
  for an unknown model, article or route, 405 for a wrong method, 413 for a body over the
  limit, 503 when busy. A server fault is a 500 with a message, never a stack trace.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from newsdesk import __version__
from newsdesk.api.errors import AsciiJSON, error, error_of
from newsdesk.api.gate import RETRY_AFTER_S, Busy, Gate, default_gate
from newsdesk.api.schemas import (
    MODEL_ID,
    ArticleOut,
    AssistantMessage,
    ChatCompletion,
    ChatRequest,
    Choice,
    ErrorResponse,
    ModelList,
    ModelOut,
    SearchRequest,
    SearchResponse,
    StatsOut,
)
from newsdesk.api.stream import SSE_EVENT, GatedStream, chat_events
from newsdesk.api.views import (
    article_out,
    citations_out,
    content_of,
    filters_of,
    reply_out,
    search_out,
)
from newsdesk.assistant import Assistant, clean_question
from newsdesk.core.config import Settings
from newsdesk.core.errors import NewsdeskError, QuestionError

log = logging.getLogger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 503)
}


def usable_history(texts: list[str], max_chars: int) -> list[str]:
    """The earlier user messages that are questions: one a client cannot have asked here (a
    "thanks", an over-long paste) is left out rather than failing every later turn."""
    kept = []
    for text in texts:
        try:
            clean_question(text, max_chars)
        except QuestionError:
            continue
        kept.append(text)
    return kept


class _Answering(APIRoute):
    """A route whose unexpected failure is answered (a 500 error object, logged) on the spot,
    not passed up to Starlette's last-resort handler, which also drops the connection."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except (HTTPException, RequestValidationError, NewsdeskError, Busy):
                raise  # the app's handlers answer these
            except Exception as exc:  # noqa: BLE001 - a bug: answered in one line, logged
                return error_of(exc)

        return answered


def build_api(
    assistant: Assistant, settings: Settings, *, gate: Gate | None = None, **app_kwargs: Any
) -> FastAPI:
    """The API app over `assistant`; `gate` bounds the questions at work (shared with MCP
    by `newsdesk.server`); `app_kwargs` go to FastAPI (a lifespan, middleware)."""
    app = FastAPI(
        title="Newsdesk API",
        version=__version__,
        description="Cited answers, search and articles of a news archive. "
        "Chat follows OpenAI's Chat Completions; `citations` and `newsdesk` are extensions.",
        docs_url=None,
        redoc_url=None,
        default_response_class=AsciiJSON,
        **app_kwargs,
    )
    app.router.route_class = _Answering
    gate = gate or default_gate()
    created = int(time.time())

    # ------------------------------------------------------------ errors
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> AsciiJSON:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        if first.get("type") == "json_invalid":
            return error(400, "the request body is not valid JSON")
        message = str(first.get("msg") or "invalid request")
        return error(400, f"{where}: {message}" if where else message, param=where)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> AsciiJSON:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error(exc.status_code, str(exc.detail), kind, headers=exc.headers)

    @app.exception_handler(NewsdeskError)
    async def refused(request: Request, exc: NewsdeskError) -> AsciiJSON:
        return error_of(exc)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> AsciiJSON:
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
                code="model_not_found",
                param="model",
            )
        asked = [m.text for m in body.messages if m.role == "user"]
        if not asked:
            return error(400, "messages: no user message to answer", param="messages")
        question = asked[-1]
        clean_question(question, settings.max_question_chars)  # a bad one fails before work
        options = body.newsdesk
        filters = filters_of(options.filters if options else None)
        kwargs: dict[str, Any] = {
            "history": usable_history(asked[:-1], settings.max_question_chars),
            "filters": filters,
            "mode": options.mode if options else None,
            "k": options.k if options else None,
        }
        reply_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            ticket = gate.admit()
            pieces = assistant.stream(question, **kwargs)
            return GatedStream(chat_events(pieces, ticket, reply_id, body.model, filters), ticket)
        answer = await gate.run(lambda: assistant.ask(question, **kwargs))
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
            return error(404, f"the model '{model_id}' does not exist", code="model_not_found")
        return ModelOut(id=MODEL_ID, created=created)

    @app.post(
        "/v1/search",
        response_model=SearchResponse,
        responses=ERRORS,
        summary="Ranked articles and their passages for a query",
    )
    async def search(body: SearchRequest) -> SearchResponse:
        query = clean_question(body.query, settings.max_question_chars)
        filters = filters_of(body.filters)
        found = await gate.run(
            lambda: assistant.retrieve(query, filters=filters, mode=body.mode, k=body.k)
        )
        return search_out(query, found)

    @app.get(
        "/v1/articles/{doc_id:path}",
        response_model=ArticleOut,
        responses=ERRORS,
        summary="An article: text, metadata, quotes and names",
    )
    async def article(doc_id: str) -> Any:
        found = await gate.run(lambda: article_out(assistant, doc_id))
        if found is None:
            return error(404, f"no article '{doc_id}' in the archive", code="article_not_found")
        return found

    @app.get("/v1/stats", response_model=StatsOut, responses=ERRORS, summary="What the index holds")
    async def stats() -> Any:
        return (await gate.run(assistant.stats)).to_json()

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
    async def unknown(request: Request, rest: str) -> AsciiJSON:
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
                headers={"allow": ", ".join(allowed)},
            )
        return error(404, f"no such endpoint: {request.url.path}")

    return app


__all__ = ["build_api", "usable_history"]
