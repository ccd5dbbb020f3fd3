"""The optional generative answerer: an LLM (through llama-index) writes the answer.

The LLM sees the question and the top passages (see `retriever.prompts`) and must cite each
sentence with ``[n]``; `retriever.citations` checks what comes back. When the server cannot be
reached, times out or fails, the extractive answerer answers instead and the result carries a
notice saying so. Streaming shows whole sentences, already checked.

llama-index objects stay in this module; the LLM is built from `Settings` on first use, never
from llama-index's global ``Settings.llm``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError, LLMError
from newsdesk.core.types import ArticleHit, Composed, Passage
from newsdesk.retriever.answering import Answerer
from newsdesk.retriever.citations import CitationChecker
from newsdesk.retriever.prompts import build_prompt, passage_budget, select_passages

log = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 512
TEMPERATURE = 0.1
OLLAMA_CONTEXT = 4096  # num_ctx: prompt (< ~3000 tokens) plus the answer


def check_llm_settings(settings: Settings) -> None:
    """Raise ConfigError when the LLM settings cannot work."""
    examples = {"openai": "http://127.0.0.1:8080/v1", "ollama": "http://127.0.0.1:11434"}
    example = examples.get(settings.llm_provider, "")
    if not settings.llm_base_url:
        raise ConfigError(
            f"the llm answerer needs the URL of its {settings.llm_provider} server: "
            f"set NEWSDESK_LLM_BASE_URL (e.g. {example})"
        )
    if not settings.llm_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"NEWSDESK_LLM_BASE_URL must start with http:// or https://, "
            f"got {settings.llm_base_url!r} (e.g. {example})"
        )
    if not settings.llm_model:
        raise ConfigError(
            "the llm answerer needs a model name: set NEWSDESK_LLM_MODEL "
            "(the name the server knows the model by)"
        )


def build_llm(settings: Settings) -> Any:
    """The llama-index LLM named by `settings` (no request is made)."""
    check_llm_settings(settings)
    if settings.llm_provider == "openai":
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.llm_model,
            api_base=settings.llm_base_url,
            api_key=settings.llm_api_key,
            is_chat_model=True,
            is_function_calling_model=False,
            timeout=settings.llm_timeout_s,
            max_retries=0,
            temperature=TEMPERATURE,
            max_tokens=MAX_ANSWER_TOKENS,
        )
    if settings.llm_provider == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            request_timeout=settings.llm_timeout_s,
            temperature=TEMPERATURE,
            # Set, so the client does not ask the server (/api/show) for the model's window.
            context_window=OLLAMA_CONTEXT,
            additional_kwargs={"num_predict": MAX_ANSWER_TOKENS},
        )
    raise ConfigError(f"unknown llm_provider {settings.llm_provider!r}; use openai or ollama")


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What the clients raise when the server is unreachable, slow or replies badly."""
    import httpx
    import ollama
    import openai

    return (
        openai.OpenAIError,
        ollama.ResponseError,
        httpx.HTTPError,
        OSError,  # includes ConnectionError and TimeoutError
        json.JSONDecodeError,
    )


def describe_failure(exc: BaseException, timeout_s: float) -> str:
    """A short reason for the notice: "connection refused", "no reply within 1 s", ..."""
    import httpx
    import ollama
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return f"no reply within {timeout_s:g} s"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if isinstance(exc, ollama.ResponseError):
        return f"HTTP {exc.status_code}" if exc.status_code > 0 else f"error: {exc.error}"
    if isinstance(exc, openai.APIConnectionError | httpx.ConnectError | ConnectionError):
        # ollama raises ConnectionError "from None": the httpx error is still the context.
        cause = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}".lower()
        return "connection refused" if "refused" in cause else "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection broke off"
    if isinstance(exc, json.JSONDecodeError):
        return "the reply is not valid JSON"
    return f"{type(exc).__name__}: {exc}"


class LLMAnswerer:
    """Answers with an LLM; falls back to `fallback` (the extractive answerer) on failure."""

    def __init__(self, settings: Settings, fallback: Answerer) -> None:
        check_llm_settings(settings)
        self.settings = settings
        self.fallback = fallback
        self._llm: Any = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.settings.llm_base_url

    @property
    def llm(self) -> Any:
        """The llama-index LLM, built on first use."""
        with self._lock:
            if self._llm is None:
                self._llm = build_llm(self.settings)
            return self._llm

    # ------------------------------------------------------------ answering
    def compose(self, question: str, hits: Sequence[ArticleHit]) -> Composed:
        passages = select_passages(hits, budget_tokens=passage_budget(question))
        if not passages:
            return self.fallback.compose(question, hits)
        try:
            reply = self._chat(question, passages)
            checker = CitationChecker(passages)
            checker.feed(reply)
            checker.finish()
            if not checker.text:
                raise LLMError("the reply was empty")
        except LLMError as exc:
            notice = self._notice(str(exc))
            return replace(self.fallback.compose(question, hits), notice=notice)
        return checker.composed()

    def stream(self, question: str, hits: Sequence[ArticleHit]) -> Iterator[str | Composed]:
        """Yield checked sentences as the LLM writes them, then the final `Composed`."""
        passages = select_passages(hits, budget_tokens=passage_budget(question))
        if not passages:
            yield from self.fallback.stream(question, hits)
            return
        checker = CitationChecker(passages)
        try:
            for delta in self._stream_chat(question, passages):
                piece = checker.feed(delta)
                if piece:
                    yield piece
            piece = checker.finish()
            if piece:
                yield piece
            if not checker.text:
                raise LLMError("the reply was empty")
        except LLMError as exc:
            if checker.text:  # part of the answer is on screen already: keep it, say so
                piece = checker.finish(complete=False)
                if piece:
                    yield piece
                notice = f"LLM server at {self.url} stopped mid-answer ({exc}); answer incomplete."
                log.warning("%s", notice)
                yield checker.composed(notice=notice)
                return
            yield from self._fall_back_stream(question, hits, str(exc))
            return
        yield checker.composed()

    # ------------------------------------------------------------ the LLM calls
    def _messages(self, question: str, passages: Sequence[Passage]) -> list[Any]:
        from llama_index.core.llms import ChatMessage, MessageRole

        system, user = build_prompt(question, passages)
        log.debug("prompt: %d passages, %d characters", len(passages), len(system) + len(user))
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=system),
            ChatMessage(role=MessageRole.USER, content=user),
        ]

    def _chat(self, question: str, passages: Sequence[Passage]) -> str:
        messages = self._messages(question, passages)
        try:
            response = self.llm.chat(messages)
        except _transport_errors() as exc:
            raise LLMError(describe_failure(exc, self.settings.llm_timeout_s)) from exc
        return str(response.message.content or "")

    def _stream_chat(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        messages = self._messages(question, passages)
        try:
            for response in self.llm.stream_chat(messages):
                if response.delta:
                    yield str(response.delta)
        except _transport_errors() as exc:
            raise LLMError(describe_failure(exc, self.settings.llm_timeout_s)) from exc

    # ------------------------------------------------------------ fallback
    def _notice(self, reason: str) -> str:
        notice = f"LLM server at {self.url} unavailable ({reason}); answered extractively."
        log.warning("%s", notice)
        return notice

    def _fall_back_stream(
        self, question: str, hits: Sequence[ArticleHit], reason: str
    ) -> Iterator[str | Composed]:
        notice = self._notice(reason)
        for item in self.fallback.stream(question, hits):
            yield replace(item, notice=notice) if isinstance(item, Composed) else item
