"""The shapes of the headless API: OpenAI's Chat Completions where a client expects them,
Newsdesk's own fields under `citations` and `newsdesk` where it does not look.

Requests are validated here (types, lengths, dates), so a bad request is a 400 with an
OpenAI-style error object before any work is done; the OpenAPI document at /openapi.json is
generated from these models, so it says what the server does.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from newsdesk.core.types import Mode, Status

MODEL_ID = "newsdesk"
# The longest list a request may hold (messages, filter values): a bound, not a quota.
MAX_ITEMS = 256


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(_Strict):
    """What the archive is narrowed to; every field optional, all must hold."""

    since: date | None = Field(default=None, description="first publication date, inclusive")
    until: date | None = Field(default=None, description="last publication date, inclusive")
    sources: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    categories: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    names: list[str] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="people, organisations or places every article must name",
    )


class NewsdeskOptions(_Strict):
    """Newsdesk's extension of a chat request (a plain OpenAI client leaves it out)."""

    filters: FiltersIn | None = None
    mode: Mode | None = Field(default=None, description="retrieval mode; the server's default")
    k: StrictInt | None = Field(default=None, ge=1, le=50, description="articles retrieved")


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    """One message of the conversation; only the users' messages are read."""

    model_config = ConfigDict(extra="allow")  # name, tool_calls and the like are ignored

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


class ChatRequest(BaseModel):
    """OpenAI's Chat Completions request. Sampling fields a client sends (temperature,
    max_tokens, ...) are accepted and have no effect: the answer is quoted, not sampled."""

    model_config = ConfigDict(extra="allow")

    # any string is read (an unknown model is a 404, as OpenAI's); the document lists the one
    model: str = Field(
        description=f"the answerer; `{MODEL_ID}` is the one there is",
        json_schema_extra={"enum": [MODEL_ID]},
    )
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_ITEMS)
    stream: StrictBool = False
    newsdesk: NewsdeskOptions | None = None


class CitationOut(BaseModel):
    """What `[n]` in the answer points to: the passage, verbatim, and where it is."""

    n: int
    doc_id: str
    title: str
    source: str
    published: str | None
    url: str | None
    quote: str = Field(description="the cited sentence(s), verbatim")
    passage: str
    start: int = Field(description="offset of the passage in the article text")
    end: int
    quote_start: int | None = Field(
        description="offset of the quote in the article text (None: it joins sentences apart)"
    )
    quote_end: int | None
    page: int | None = Field(
        default=None, description="the page the quote starts on, for paged sources (PDF)"
    )
    page_end: int | None = Field(default=None, description="the page the quote ends on")


class RetrievedOut(BaseModel):
    doc_id: str
    score: float


class FiltersOut(BaseModel):
    """The filters the answer was found under: the request's, with the question's date words
    ("in March 1987") read into since/until."""

    since: date | None
    until: date | None
    sources: list[str]
    categories: list[str]
    names: list[str]


class NewsdeskReply(BaseModel):
    status: Status = Field(description="answered, not_stated (covered, not said) or refused")
    refused: bool = Field(description="true for both non-answers")
    standalone_question: str = Field(description="the question with its follow-up resolved")
    evidence: str | None = Field(description="not_stated: the closest evidence, not an answer")
    filters: FiltersOut
    retrieved: list[RetrievedOut]
    notice: str | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut]
    newsdesk: NewsdeskReply


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed answer; the last carries citations and status."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[CitationOut] | None = None
    newsdesk: NewsdeskReply | None = None


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "newsdesk"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class SearchRequest(_Strict):
    query: str = Field(min_length=1)
    filters: FiltersIn | None = None
    mode: Mode | None = None
    k: StrictInt = Field(default=10, ge=1, le=50)


class PassageOut(BaseModel):
    chunk_id: str
    text: str
    start: int
    end: int
    score: float
    page: int | None = Field(default=None, description="the page it starts on (PDF)")


class SearchHit(BaseModel):
    rank: int
    doc_id: str
    score: float
    title: str
    source: str
    published: str | None
    url: str | None
    category: str | None
    passages: list[PassageOut]


class SearchResponse(BaseModel):
    object: Literal["list"] = "list"
    query: str
    standalone_query: str
    filters: FiltersOut
    data: list[SearchHit]


class QuoteOut(BaseModel):
    speaker: str | None
    mention: str
    quote: str
    start: int
    end: int
    attribution: str


class NameOut(BaseModel):
    name: str
    type: str


class ArticleOut(BaseModel):
    doc_id: str
    title: str
    text: str
    source: str
    published: str | None
    url: str | None
    category: str | None
    author: str | None
    quotes: list[QuoteOut] = Field(description="direct quotations with their speakers")
    names: list[NameOut] = Field(description="people, organisations, places, most named first")


class AskOut(BaseModel):
    """A cited answer outside the chat format (the MCP `ask` tool)."""

    answer: str = Field(description="the answer with [n] markers; for a non-answer, why")
    status: Status
    refused: bool
    evidence: str | None = Field(description="not_stated: the closest evidence, not an answer")
    citations: list[CitationOut]


class QuoteHitOut(QuoteOut):
    doc_id: str
    published: str | None


class TimelineEntryOut(BaseModel):
    n: int
    published: str | None = Field(description="None: an undated report, never placed by guess")
    doc_id: str
    title: str
    text: str = Field(description="the development, verbatim from the report")
    start: int
    end: int


class TimelineOut(BaseModel):
    story_id: str
    headline: str
    entries: list[TimelineEntryOut] = Field(description="dated developments, oldest first")
    undated: list[TimelineEntryOut]


class StatsOut(BaseModel):
    """`newsdesk stats --json`."""

    articles: int
    chunks: int
    sources: list[str]
    earliest: str | None = Field(description="ISO date of the oldest dated article")
    latest: str | None
    embedding_model: str | None
    aliases: int = Field(description="other doc_ids under which a duplicate is stored")
    categories: list[str]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error object."""

    error: ErrorBody


def error_json(message: str, kind: str, code: str | None = None, param: str | None = None) -> Any:
    return ErrorResponse(error=ErrorBody(message=message, type=kind, param=param, code=code))


__all__ = [
    "MODEL_ID",
    "ArticleOut",
    "AskOut",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatRequest",
    "ErrorResponse",
    "FiltersIn",
    "ModelList",
    "SearchRequest",
    "SearchResponse",
    "StatsOut",
]
