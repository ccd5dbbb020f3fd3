"""The headless API and MCP server, driven by real clients against a real `newsdesk serve`
on a loopback port: the `openai` SDK (sync, async, streaming), llama-index's OpenAILike, the
`mcp` SDK's client (streamable HTTP, and stdio by spawning `newsdesk mcp`), schemathesis
against /openapi.json. Raw HTTP only where a client library would hide the bad input."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import SAMPLE, SEED_QUESTION, free_port, make_settings, wire_index

from newsdesk.server import launch

KEY = "nd-test-key-0123456789abcdef"
NOT_STATED_QUESTION = "What did Russia demand of Moldova?"
REFUSED_QUESTION = "Who won the 2022 football World Cup final in Qatar?"
SEED_TITLE = "Russia Now Urges Kyiv To Enter Peace Talks"


@pytest.fixture(scope="module")
def api_index(tmp_path_factory: pytest.TempPathFactory, embedder: Any, recognizer: Any) -> Path:
    """The sample archive, enriched as `newsdesk ingest` does by default (quotes, names)."""
    from newsdesk.ingest.enrich import enrich
    from newsdesk.ingest.pipeline import ingest

    index = tmp_path_factory.mktemp("api") / "index"
    ingest(make_settings(index), [str(SAMPLE)], embedder=embedder)
    enrich(make_settings(index, enrich="all"), recognizer=recognizer, embedder=embedder)
    return index


@pytest.fixture(scope="module")
def api_assistant(api_index: Path, embedder: Any) -> Iterator[Any]:
    from newsdesk.assistant import build_assistant

    assistant = build_assistant(make_settings(api_index), embedder=embedder)
    yield assistant
    assistant.close()


@pytest.fixture(scope="module")
def api_url(api_assistant: Any, api_index: Path) -> Iterator[str]:
    settings = make_settings(api_index, port=free_port())
    server = launch(api_assistant, settings, block=False)
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="module")
def keyed_url(api_assistant: Any, api_index: Path) -> Iterator[str]:
    settings = make_settings(api_index, port=free_port(), api_keys=f"{KEY},other-key-0123456789")
    server = launch(api_assistant, settings, block=False)
    try:
        yield server.url
    finally:
        server.close()


def openai_client(url: str, key: str = "unused", **kw: Any) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0, **kw)


def extra(obj: Any, name: str) -> Any:
    """An extension field of an SDK object (the SDK keeps unknown fields as extras)."""
    return (obj.model_extra or {})[name]


def ask(url: str, question: str, history: tuple[str, ...] = (), **body: Any) -> Any:
    messages = [{"role": "user", "content": q} for q in history]
    messages.append({"role": "user", "content": question})
    return openai_client(url).chat.completions.create(
        model="newsdesk", messages=messages, extra_body=body or None
    )


# ---------------------------------------------------------------- chat, openai SDK
def test_the_seed_question_is_answered_with_citations(api_url: str) -> None:
    reply = ask(api_url, SEED_QUESTION)
    content = reply.choices[0].message.content
    assert reply.object == "chat.completion" and reply.model == "newsdesk"
    assert reply.choices[0].finish_reason == "stop" and "[1]" in content
    citations = extra(reply, "citations")
    assert citations and {c["n"] for c in citations} >= {1}
    first = citations[0]
    assert first["title"].startswith(SEED_TITLE) and first["source"] == "IBTimes"
    assert first["published"] == "2022-11-24" and first["quote"] in first["passage"]
    assert 0 <= first["start"] < first["end"]
    status = extra(reply, "newsdesk")
    assert status["status"] == "answered" and status["refused"] is False
    assert status["retrieved"][0]["doc_id"] == first["doc_id"]
    for c in citations:  # the offsets slice the article the API serves
        text = httpx.get(f"{api_url}v1/articles/{c['doc_id']}").json()["text"]
        assert text[c["start"] : c["end"]] == c["passage"]
        assert c["quote_start"] is not None
        assert text[c["quote_start"] : c["quote_end"]] == c["quote"]


def test_earlier_user_messages_are_the_history(api_url: str) -> None:
    client = openai_client(api_url)
    reply = client.chat.completions.create(
        model="newsdesk",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": SEED_QUESTION},
            {"role": "assistant", "content": "Russia urged Kyiv to talk [1]."},
            {"role": "user", "content": "And what did Belarus say?"},
        ],
    )
    standalone = extra(reply, "newsdesk")["standalone_question"]
    assert standalone != "And what did Belarus say?" and "Russia" in standalone
    alone = ask(api_url, "And what did Belarus say?")
    assert extra(alone, "newsdesk")["standalone_question"] == "And what did Belarus say?"


def test_the_three_outcomes(api_url: str) -> None:
    answered = ask(api_url, SEED_QUESTION)
    not_stated = ask(api_url, NOT_STATED_QUESTION)
    refused = ask(api_url, REFUSED_QUESTION)
    assert extra(answered, "newsdesk")["status"] == "answered"
    status = extra(not_stated, "newsdesk")
    assert status["status"] == "not_stated" and status["refused"] is True
    content = not_stated.choices[0].message.content
    assert "Closest evidence (not an answer):" in content and extra(not_stated, "citations")
    assert status["evidence"] and status["evidence"] in content
    status = extra(refused, "newsdesk")
    assert status["status"] == "refused" and status["refused"] is True
    assert extra(refused, "citations") == []


def test_filters_travel_in_the_newsdesk_extension(api_url: str) -> None:
    narrowed = ask(api_url, SEED_QUESTION, newsdesk={"filters": {"sources": ["Sky Notes"]}})
    status = extra(narrowed, "newsdesk")
    assert status["filters"]["sources"] == ["Sky Notes"]
    assert all(c["source"] == "Sky Notes" for c in extra(narrowed, "citations"))
    assert "Peskov" not in narrowed.choices[0].message.content
    dated = ask(api_url, SEED_QUESTION, newsdesk={"filters": {"until": "2022-01-01"}})
    assert extra(dated, "newsdesk")["filters"]["until"] == "2022-01-01"
    assert extra(dated, "citations") == []


def test_streaming_gives_the_same_answer_with_citations_on_the_last_chunk(api_url: str) -> None:
    whole = ask(api_url, NOT_STATED_QUESTION)
    stream = openai_client(api_url).chat.completions.create(
        model="newsdesk",
        messages=[{"role": "user", "content": NOT_STATED_QUESTION}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert extra(last, "citations") == extra(whole, "citations")
    assert extra(last, "newsdesk")["status"] == "not_stated"
    assert all("citations" not in (c.model_extra or {}) for c in chunks[:-1])


def test_the_async_client_streams(api_url: str) -> None:
    from openai import AsyncOpenAI

    async def run() -> tuple[str, Any]:
        client = AsyncOpenAI(base_url=f"{api_url}v1", api_key="unused", max_retries=0)
        stream = await client.chat.completions.create(
            model="newsdesk", messages=[{"role": "user", "content": SEED_QUESTION}], stream=True
        )
        pieces, last = [], None
        async for chunk in stream:
            pieces.append(chunk.choices[0].delta.content or "")
            last = chunk
        await client.close()
        return "".join(pieces), last

    text, last = asyncio.run(run())
    assert "[1]" in text and "Peskov" in text
    assert extra(last, "citations")[0]["title"].startswith(SEED_TITLE)


def test_models(api_url: str) -> None:
    client = openai_client(api_url)
    assert [m.id for m in client.models.list()] == ["newsdesk"]
    assert client.models.retrieve("newsdesk").id == "newsdesk"


# ---------------------------------------------------------------- bad requests
def test_bad_requests_get_openai_errors(api_url: str) -> None:
    import openai

    client = openai_client(api_url)
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert unknown.value.code == "model_not_found" and "newsdesk" in unknown.value.message
    with pytest.raises(openai.BadRequestError) as no_user:
        client.chat.completions.create(
            model="newsdesk", messages=[{"role": "system", "content": "be brief"}]
        )
    assert "no user message" in no_user.value.message
    with pytest.raises(openai.BadRequestError) as long:
        client.chat.completions.create(
            model="newsdesk", messages=[{"role": "user", "content": "why " * 1000}]
        )
    assert "the limit is 2,000" in long.value.message
    with pytest.raises(openai.BadRequestError) as backwards:
        ask(api_url, SEED_QUESTION, newsdesk={"filters": {"since": "2024-01-01", "until": "2020"}})
    assert "until" in backwards.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"model": "newsdesk", "messages": "hello"}', 400, "messages"),
        (b'{"model": "newsdesk", "messages": [{"role": "boss", "content": "x"}]}', 400, "role"),
        (b'{"model": "newsdesk", "messages": [{"role": "user", "content": 7}]}', 400, "content"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "model"),
        (b"[]", 400, ""),
        (b'{"model": "newsdesk", "messages": [{"role": "user", "content": "!!"}]}', 400, "empty"),
    ],
)
def test_malformed_bodies_are_400_with_an_error_object(
    api_url: str, body: bytes, status: int, words: str
) -> None:
    response = httpx.post(
        f"{api_url}v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and words in error["message"]


def test_a_body_over_the_limit_is_413_unread(api_url: str) -> None:
    big = b'{"model": "newsdesk", "messages": [{"role": "user", "content": "' + b"a" * 300_000
    response = httpx.post(f"{api_url}v1/chat/completions", content=big + b'"}]}')
    assert response.status_code == 413
    assert "over" in response.json()["error"]["message"]


def test_unknown_paths_methods_and_articles(api_url: str) -> None:
    missing = httpx.get(f"{api_url}v1/articles/no-such-article.md")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "article_not_found"
    nowhere = httpx.get(f"{api_url}v1/embeddings")
    assert nowhere.status_code == 404 and "error" in nowhere.json()
    wrong = httpx.get(f"{api_url}v1/chat/completions")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert wrong.headers["x-frame-options"] == "DENY"  # the server guard covers the API too


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "v1/chat/completions",
            b'{"model": "\\ud800", "messages": [{"role": "user", "content": "x"}]}',
            404,
        ),
        (
            "v1/search",
            b'{"query": "peace \\ud800 talks", "filters": {"sources": ["\\udfff"]}}',
            400,
        ),
        ("v1/chat/completions", b'{"model": "newsdesk", "stream": "yes", "messages": []}', 400),
        ("v1/search", b'{"query": "peace talks", "k": true}', 400),
    ],
)
def test_odd_values_are_answered_not_500(api_url: str, path: str, body: bytes, status: int) -> None:
    response = httpx.post(
        f"{api_url}{path}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()  # valid JSON whatever it echoes


def test_a_history_message_that_is_no_question_is_left_out(api_url: str) -> None:
    reply = ask(
        api_url, "What did Lukashenko warn?", history=(SEED_QUESTION, "\U0001f44d", "x" * 5000)
    )
    assert extra(reply, "newsdesk")["status"] == "answered"


def test_on_loopback_without_keys_the_api_answers_loopback_hosts_only(api_url: str) -> None:
    rebound = httpx.get(f"{api_url}v1/models", headers={"host": "attacker.example:7860"})
    assert rebound.status_code == 421 and "loopback" in rebound.json()["error"]["message"]
    assert httpx.get(f"{api_url}v1/models", headers={"host": "localhost"}).status_code == 200
    assert httpx.get(api_url, headers={"host": "desk.example"}).status_code == 200  # the page


class Broken:  # the real assistant with a fault inside: what a bug looks like from outside
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        yield "Partly"
        raise RuntimeError("a bug")

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")


def test_a_fault_is_a_500_error_object_and_a_stream_ends_with_an_error_event(
    api_assistant: Any, api_index: Path
) -> None:
    import openai

    settings = make_settings(api_index, port=free_port())
    server = launch(Broken(api_assistant), settings, block=False)  # type: ignore[arg-type]
    try:
        client = openai_client(server.url)
        with pytest.raises(openai.InternalServerError) as fault:
            client.chat.completions.create(
                model="newsdesk", messages=[{"role": "user", "content": SEED_QUESTION}]
            )
        assert fault.value.status_code == 500 and "server log" in fault.value.message
        assert "a bug" not in fault.value.message  # details are logged, not sent
        with pytest.raises(openai.APIError, match="server log"):
            for _ in client.chat.completions.create(
                model="newsdesk",
                messages=[{"role": "user", "content": SEED_QUESTION}],
                stream=True,
            ):
                pass
        raw = httpx.post(
            f"{server.url}v1/chat/completions",
            json={
                "model": "newsdesk",
                "stream": True,
                "messages": [{"role": "user", "content": "x y"}],
            },
        )
        assert raw.text.rstrip().endswith("data: [DONE]")
    finally:
        server.close()


# ---------------------------------------------------------------- search, articles, stats
def test_search_article_and_stats(api_url: str) -> None:
    found = httpx.post(
        f"{api_url}v1/search", json={"query": "peace talks", "k": 3, "mode": "bm25"}
    ).json()
    assert found["object"] == "list" and 1 <= len(found["data"]) <= 3
    best = found["data"][0]
    assert best["rank"] == 1 and best["title"].startswith(SEED_TITLE)
    article = httpx.get(f"{api_url}v1/articles/{best['doc_id']}").json()
    for passage in best["passages"]:
        assert article["text"][passage["start"] : passage["end"]] == passage["text"]
    assert article["doc_id"] == best["doc_id"] and article["source"] == "IBTimes"
    assert any(q["speaker"] == "Dmitry Peskov" for q in article["quotes"])
    assert {"name": "Dmitry Peskov", "type": "person"} in article["names"]
    stats = httpx.get(f"{api_url}v1/stats").json()
    assert stats["articles"] == 6 and stats["earliest"] == "2022-11-24"
    narrowed = httpx.post(
        f"{api_url}v1/search", json={"query": "peace talks", "filters": {"sources": ["Sky Notes"]}}
    ).json()
    assert all(hit["source"] == "Sky Notes" for hit in narrowed["data"])
    bad = httpx.post(f"{api_url}v1/search", json={"query": "x", "k": 500})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "k"


def test_the_openapi_document_lists_the_api_only(api_url: str) -> None:
    schema = httpx.get(f"{api_url}openapi.json").json()
    assert set(schema["paths"]) == {
        "/v1/chat/completions",
        "/v1/models",
        "/v1/models/{model_id}",
        "/v1/search",
        "/v1/articles/{doc_id}",
        "/v1/stats",
    }
    for operations in schema["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(api_url: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_url(f"{api_url}openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=checks)

        check()


# ---------------------------------------------------------------- keys
def test_keys_guard_the_api_and_mcp_but_not_the_page(keyed_url: str) -> None:
    import openai

    missing = httpx.get(f"{keyed_url}v1/models")  # the SDK will not send no key at all
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError) as wrong:
        openai_client(keyed_url, key="wrong-key-0123456789abc").models.list()
    assert wrong.value.code == "invalid_api_key"
    reply = openai_client(keyed_url, key=KEY).chat.completions.create(
        model="newsdesk", messages=[{"role": "user", "content": SEED_QUESTION}]
    )
    assert extra(reply, "newsdesk")["status"] == "answered"
    assert openai_client(keyed_url, key="other-key-0123456789").models.list().data
    unkeyed = httpx.post(f"{keyed_url}mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert unkeyed.status_code == 401 and unkeyed.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(keyed_url).status_code == 200  # the page: its own login (none here)
    assert httpx.get(f"{keyed_url}openapi.json").status_code == 200


def test_no_cors_unless_configured(api_url: str) -> None:
    response = httpx.options(
        f"{api_url}v1/models",
        headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_configured_cors_origins_are_allowed(api_assistant: Any, api_index: Path) -> None:
    settings = make_settings(api_index, port=free_port(), cors_origins="https://desk.example")
    server = launch(api_assistant, settings, block=False)
    try:
        allowed = httpx.options(
            f"{server.url}v1/models",
            headers={"origin": "https://desk.example", "access-control-request-method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
        other = httpx.get(f"{server.url}v1/models", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        page = httpx.get(server.url, headers={"origin": "https://desk.example"})
        assert page.headers.get("access-control-allow-origin") != "https://desk.example"
    finally:
        server.close()


# ---------------------------------------------------------------- other programs
def test_llama_index_openai_like_consumes_newsdesk_as_an_llm(api_url: str) -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model="newsdesk",
        api_base=f"{api_url}v1",
        api_key="unused",
        is_chat_model=True,
        max_retries=0,
        timeout=60,
    )
    said = llm.chat([ChatMessage(role="user", content=SEED_QUESTION)])
    assert "[1]" in str(said.message.content) and "Peskov" in str(said.message.content)
    streamed = "".join(r.delta or "" for r in llm.stream_complete(SEED_QUESTION))
    assert "[1]" in streamed


TOOLS = {"ask", "search_archive", "get_article", "archive_stats", "quotes", "timeline"}


async def _use_every_tool(client: Any) -> dict[str, Any]:
    listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.input_schema["type"] == "object"
    out: dict[str, Any] = {}
    out["ask"] = await client.call_tool("ask", {"question": SEED_QUESTION})
    out["search"] = await client.call_tool("search_archive", {"query": "peace talks", "k": 2})
    doc_id = out["search"].structured_content["data"][0]["doc_id"]
    out["article"] = await client.call_tool("get_article", {"doc_id": doc_id})
    out["missing"] = await client.call_tool("get_article", {"doc_id": "no-such.md"})
    out["stats"] = await client.call_tool("archive_stats", {})
    out["quotes"] = await client.call_tool("quotes", {"speaker": "Peskov"})
    out["timeline"] = await client.call_tool("timeline", {"story": "peace talks"})
    out["bad"] = await client.call_tool("search_archive", {"query": "x", "k": 0})
    return out


def _check_tool_results(out: dict[str, Any]) -> None:
    answer = out["ask"].structured_content
    assert answer["status"] == "answered" and "[1]" in answer["answer"]
    assert answer["citations"][0]["title"].startswith(SEED_TITLE)
    assert out["search"].structured_content["data"][0]["title"].startswith(SEED_TITLE)
    assert out["article"].structured_content["source"] == "IBTimes"
    assert out["missing"].is_error and "no article" in out["missing"].content[0].text
    assert out["stats"].structured_content["articles"] == 6
    said = out["quotes"].structured_content["result"]
    assert said and all(q["speaker"] == "Dmitry Peskov" for q in said)
    # the sample's stories are single reports: the timeline is the seed report's
    timeline = out["timeline"].structured_content
    assert not out["timeline"].is_error and timeline["undated"] == []
    seed = out["search"].structured_content["data"][0]["doc_id"]
    assert {e["doc_id"] for e in timeline["entries"]} == {seed}
    assert all(e["published"] == "2022-11-24" for e in timeline["entries"])
    assert out["bad"].is_error


def test_mcp_over_streamable_http(api_url: str) -> None:
    from mcp import Client

    async def run() -> dict[str, Any]:
        async with Client(f"{api_url}mcp") as client:
            return await _use_every_tool(client)

    _check_tool_results(asyncio.run(run()))


def test_mcp_over_http_with_a_key(keyed_url: str) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> Any:
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {KEY}"}, timeout=60) as http,
            Client(streamable_http_client(f"{keyed_url}mcp", http_client=http)) as client,
        ):
            return await client.call_tool("archive_stats", {})

    assert asyncio.run(run()).structured_content["articles"] == 6


def test_mcp_over_stdio_spawning_newsdesk_mcp(api_index: Path) -> None:
    from mcp import Client, StdioServerParameters

    command = shutil.which("newsdesk", path=str(Path(sys.executable).parent))
    assert command, "the newsdesk command is installed beside this python"
    params = StdioServerParameters(command=command, args=["mcp", "--index", str(api_index)])

    async def run() -> dict[str, Any]:
        async with Client(params) as client:
            return await _use_every_tool(client)

    _check_tool_results(asyncio.run(run()))


# ---------------------------------------------------------------- bounded
class Slow:  # the real assistant, taking its time: what a loaded server looks like
    def __init__(self, inner: Any, steps: int, seconds: float) -> None:
        self.inner = inner
        self.steps = steps
        self.seconds = seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        import time

        for _ in range(self.steps):  # a slow answerer: a piece every `seconds`
            time.sleep(self.seconds)
            yield "."
        yield from self.inner.stream(*args, **kwargs)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        *_, answer = self.stream(*args, **kwargs)
        return answer


@pytest.fixture
def one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    import newsdesk.api.gate as gate

    monkeypatch.setattr(gate, "RUNNING", 1)
    monkeypatch.setattr(gate, "WAITING", 1)


async def _outcome(client: Any, stream: bool) -> str:
    import openai

    try:
        reply = await client.chat.completions.create(
            model="newsdesk", messages=[{"role": "user", "content": SEED_QUESTION}], stream=stream
        )
        if stream:
            async for _ in reply:
                pass
        return "answered"
    except openai.InternalServerError as exc:
        assert exc.status_code == 503 and exc.response.headers["retry-after"] == "2"
        assert exc.code == "server_busy"
        return "busy"


def test_a_full_gate_answers_503_at_once(
    api_assistant: Any, api_index: Path, one_place: None
) -> None:
    from openai import AsyncOpenAI

    settings = make_settings(api_index, port=free_port())
    server = launch(Slow(api_assistant, 4, 0.5), settings, block=False)  # type: ignore[arg-type]

    async def run() -> tuple[list[str], str]:
        client = AsyncOpenAI(base_url=f"{server.url}v1", api_key="unused", max_retries=0)
        outcomes = await asyncio.gather(*(_outcome(client, i % 2 == 0) for i in range(5)))
        after = await _outcome(client, False)  # every place given back
        await client.close()
        return list(outcomes), after

    try:
        outcomes, after = asyncio.run(run())
    finally:
        server.close()
    assert outcomes.count("answered") == 2 and outcomes.count("busy") == 3
    assert after == "answered"


def test_a_client_that_leaves_a_stream_gives_its_place_back(
    api_assistant: Any, api_index: Path, one_place: None
) -> None:
    import time

    from openai import AsyncOpenAI

    settings = make_settings(api_index, port=free_port())
    slow = Slow(api_assistant, 60, 0.5)  # 30 s to the end if nobody stops it
    server = launch(slow, settings, block=False)  # type: ignore[arg-type]

    async def run() -> tuple[float, str]:
        client = AsyncOpenAI(base_url=f"{server.url}v1", api_key="unused", max_retries=0)
        stream = await client.chat.completions.create(
            model="newsdesk", messages=[{"role": "user", "content": SEED_QUESTION}], stream=True
        )
        async for _ in stream:  # the first chunk: it holds the one place
            break
        await stream.close()
        left = time.monotonic()
        slow.steps = 0  # the questions after it are quick
        while True:
            outcome = await _outcome(client, False)
            if outcome == "answered" or time.monotonic() - left > 10:
                break
            await asyncio.sleep(0.2)
        await client.close()
        return time.monotonic() - left, outcome

    try:
        waited, outcome = asyncio.run(run())
    finally:
        server.close()
    assert outcome == "answered" and waited < 10  # long before the dropped answer's 30 s


def test_the_gate_counts_every_ticket_once() -> None:
    from newsdesk.api.gate import Busy, Gate

    async def run() -> None:
        gate = Gate(running=1, waiting=1)
        first, second = gate.admit(), gate.admit()
        with pytest.raises(Busy):
            gate.admit()
        async with first:
            assert gate.free_slots == 0 and gate.admitted == 2
            second.release()  # given back before it ran (the client left while waiting)
            second.release()
            assert gate.admitted == 1
            third = gate.admit()
        first.release()  # a second release is a no-op
        assert gate.free_slots == 1 and gate.admitted == 1
        async with third:
            assert gate.free_slots == 0
        assert gate.free_slots == 1 and gate.admitted == 0
        assert await gate.run(lambda: 42) == 42
        assert gate.free_slots == 1 and gate.admitted == 0

    asyncio.run(run())


# ---------------------------------------------------------------- key settings
def test_api_keys_from_a_list_or_a_file(tmp_path: Path) -> None:
    from newsdesk.api.access import parse_api_keys
    from newsdesk.core.errors import ConfigError

    assert parse_api_keys("") is None
    assert parse_api_keys(f" {KEY} , other-key-0123456789 ") == {KEY, "other-key-0123456789"}
    keys = tmp_path / "keys"
    keys.write_text(f"# the desk's keys\n{KEY}\n\n", encoding="utf-8")
    assert parse_api_keys(str(keys)) == {KEY}
    assert parse_api_keys("k2Vz/9Qa+XbT0pLmN3wR5eY=") == {"k2Vz/9Qa+XbT0pLmN3wR5eY="}  # base64
    for bad, words in (
        ("short", "at least 16 characters"),
        (",", "no keys"),
        (str(tmp_path / "missing" / "keys"), "no such file"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_api_keys(bad)


def test_serve_with_a_bad_key_setting_fails_in_one_line(
    api_index: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsdesk.cli import main

    monkeypatch.setenv("NEWSDESK_API_KEYS", "tiny")
    code = main(["serve", "--index", str(api_index), "--port", str(free_port())])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0
    assert err.startswith("newsdesk: error: NEWSDESK_API_KEYS: key 1 must be at least 16")


# ---------------------------------------------------------------- a dated wire archive
@pytest.fixture(scope="module")
def wire_assistant(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, recognizer: Any
) -> Iterator[Any]:
    from newsdesk.assistant import build_assistant

    index = wire_index(tmp_path_factory.mktemp("api-wire"), embedder, recognizer)
    assistant = build_assistant(make_settings(index), embedder=embedder)
    yield assistant
    assistant.close()


def test_mcp_timeline_and_quotes_over_a_dated_archive(wire_assistant: Any) -> None:
    from mcp import Client

    from newsdesk.api.mcp import build_mcp

    async def run() -> tuple[Any, Any, Any]:
        async with Client(build_mcp(wire_assistant)) as client:  # the SDK's in-process link
            timeline = await client.call_tool("timeline", {"story": "Texaco bankruptcy"})
            said = await client.call_tool("quotes", {"speaker": "Gordon Brown", "about": "tariff"})
            dated = await client.call_tool(
                "ask", {"question": "What did Gordon Brown say?", "until": "1987-03-02"}
            )
            return timeline, said, dated

    timeline, said, dated = asyncio.run(run())
    entries = timeline.structured_content["entries"]
    assert [e["doc_id"] for e in entries] == ["w/1", "w/2", "w/3"]
    assert [e["published"] for e in entries] == ["1987-04-12", "1987-04-13", "1987-04-14"]
    assert "Texaco" in timeline.structured_content["headline"].title()
    quotes = said.structured_content["result"]
    assert [q["doc_id"] for q in quotes] == ["w/5", "w/4"]  # newest first
    assert quotes[0]["quote"] == "We will cut the steel tariff next year,"
    answer = dated.structured_content
    assert answer["status"] == "answered"
    assert {c["doc_id"] for c in answer["citations"]} == {"w/4"}
