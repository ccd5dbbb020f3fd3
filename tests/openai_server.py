"""A fake LLM server on loopback that speaks the real protocols, for tests.

`FakeLLMServer` answers the OpenAI chat-completions protocol (``POST .../chat/completions``,
JSON or server-sent events when ``"stream": true``) and Ollama's own chat protocol
(``POST /api/chat``, JSON or newline-delimited JSON when streaming), so the real client code
(openai / ollama packages under llama-index) runs against it.

Each request takes the next `Reply` from a queue, or `default` when the queue is empty. A reply
can be scripted text, an echo of the prompt, an HTTP error, a delay (to trip a client timeout)
or a stream that is cut off halfway. Every request received is recorded.

    with FakeLLMServer() as server:
        server.push(Reply("Kyiv was urged to talk [1]."))
        settings = Settings(llm_base_url=server.openai_url, llm_model="fake")
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server does with one request."""

    text: str = ""
    echo: bool = False  # reply with the prompt: "SYSTEM:\n...\n\nUSER:\n..."
    status: int = 200  # anything else is sent as an error body in the protocol's shape
    delay_s: float = 0.0  # sleep before sending anything (to outlast a client timeout)
    cut_after: int | None = None  # streaming only: drop the connection after this many pieces


@dataclass(frozen=True)
class Received:
    """A request as the server saw it."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        """The text of all messages with `role`, joined by blank lines."""
        return "\n\n".join(str(m.get("content", "")) for m in self.messages if m["role"] == role)


def pieces(text: str) -> list[str]:
    """Split a reply into stream deltas the way a model does: a word and its trailing space."""
    return re.findall(r"\S+\s*|\s+", text)


def echo_text(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"{m['role'].upper()}:\n{m.get('content', '')}" for m in messages)


class FakeLLMServer:
    """A threaded HTTP server on 127.0.0.1 with a scripted reply queue."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply("The archive does not say.")
        self.requests: list[Received] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes replies that are sleeping
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server root; the base URL for the Ollama protocol."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """The base URL for the OpenAI protocol (what clients call ``api_base``)."""
        return f"{self.url}/v1"

    # ------------------------------------------------------------ script
    def push(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    @property
    def last(self) -> Received:
        with self._lock:
            return self.requests[-1]

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams, so a cut stream is visible to the client
    fake: FakeLLMServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def do_GET(self) -> None:
        self.close_connection = True
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        self.close_connection = True
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": "body is not JSON"})
            return
        path = self.path.split("?")[0]
        self.fake.record(Received("POST", path, body, dict(self.headers.items())))
        if path.endswith("/chat/completions"):
            protocol = "openai"
        elif path == "/api/chat":
            protocol = "ollama"
        else:
            self._json(404, {"error": f"no route {path}"})
            return
        reply = self.fake.next_reply()
        if reply.delay_s:
            self.fake.sleep(reply.delay_s)
        text = echo_text(body.get("messages", [])) if reply.echo else reply.text
        model = str(body.get("model", "fake"))
        try:
            if reply.status != 200:
                self._error(protocol, reply.status)
            elif protocol == "openai" and body.get("stream"):
                self._openai_stream(model, text, reply.cut_after)
            elif protocol == "openai":
                self._json(200, _openai_completion(model, text))
            elif body.get("stream", True):  # Ollama streams unless told not to
                self._ollama_stream(model, text, reply.cut_after)
            else:
                self._json(200, _ollama_message(model, text, done=True))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    # ------------------------------------------------------------ writers
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, protocol: str, status: int) -> None:
        if protocol == "openai":
            payload: dict[str, Any] = {
                "error": {"message": "scripted failure", "type": "server_error", "code": status}
            }
        else:
            payload = {"error": "scripted failure"}
        self._json(status, payload)

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _openai_stream(self, model: str, text: str, cut_after: int | None) -> None:
        self._start_chunked("text/event-stream")
        parts = pieces(text)
        for i, part in enumerate(parts):
            if cut_after is not None and i >= cut_after:
                return  # connection closes without the terminating chunk
            delta: dict[str, Any] = {"content": part}
            if i == 0:
                delta["role"] = "assistant"
            self._chunk(_sse(_openai_chunk(model, delta, None)))
            time.sleep(0.002)
        self._chunk(_sse(_openai_chunk(model, {}, "stop")))
        self._chunk(b"data: [DONE]\n\n")
        self._end_chunked()

    def _ollama_stream(self, model: str, text: str, cut_after: int | None) -> None:
        self._start_chunked("application/x-ndjson")
        for i, part in enumerate(pieces(text)):
            if cut_after is not None and i >= cut_after:
                return
            self._chunk(json.dumps(_ollama_message(model, part, done=False)).encode() + b"\n")
            time.sleep(0.002)
        self._chunk(json.dumps(_ollama_message(model, "", done=True)).encode() + b"\n")
        self._end_chunked()


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _openai_chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _openai_completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _ollama_message(model: str, text: str, *, done: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": model,
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": text},
        "done": done,
    }
    if done:
        out.update(done_reason="stop", total_duration=1000, prompt_eval_count=10, eval_count=10)
    return out
