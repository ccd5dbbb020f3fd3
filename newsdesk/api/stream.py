"""A streamed chat answer: OpenAI's `chat.completion.chunk` server-sent events, the
citations and status on the last one, then `[DONE]`. A failure midway is an error event
(the OpenAI SDKs raise it), never a body cut short."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from newsdesk.api.errors import error_of
from newsdesk.api.gate import Ticket
from newsdesk.api.schemas import ChatCompletionChunk, ChunkChoice, Delta
from newsdesk.api.views import citations_out, content_of, reply_out
from newsdesk.core.types import Answer, Filters

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


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=True)}\n\n"


async def chat_events(
    pieces: Iterator[str | Answer], ticket: Ticket, reply_id: str, model: str, filters: Filters
) -> AsyncIterator[str]:
    """`Assistant.stream`'s pieces as events, each step run in a worker thread once the
    ticket has a place."""

    def event(choice: ChunkChoice, **extra: Any) -> str:
        chunk = ChatCompletionChunk(
            id=reply_id, created=int(time.time()), model=model, choices=[choice], **extra
        )
        data = chunk.model_dump(mode="json")
        for key in ("citations", "newsdesk"):  # on the last chunk only
            if data[key] is None:
                del data[key]
        return _sse(data)

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
                    if item.evidence:  # not_stated: the evidence, labelled, as `content_of`
                        rest = content_of(item)[len(item.text) :]
                        yield event(ChunkChoice(delta=Delta(content=rest)))
                    yield event(
                        ChunkChoice(delta=Delta(), finish_reason="stop"),
                        citations=citations_out(item),
                        newsdesk=reply_out(item, filters),
                    )
                    break
                if item:
                    yield event(ChunkChoice(delta=Delta(content=item)))
    except Exception as exc:  # noqa: BLE001 - every failure becomes the stream's error event
        yield _sse(json.loads(bytes(error_of(exc).body)))
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    yield "data: [DONE]\n\n"


__all__ = ["SSE_EVENT", "GatedStream", "chat_events"]
