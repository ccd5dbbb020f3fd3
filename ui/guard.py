"""What stands between the network and the app: an ASGI middleware around everything served.

Gradio serves more than this app uses, and trusts more than a newsroom server should. `Guard`
(one pure-ASGI layer, no buffering of responses) makes the server

- **bounded**: a request body over `max_body` bytes gets 413 before the app reads it (by its
  Content-Length, or by counting when it is sent in pieces), so a 50 MB post costs nothing;
- **closed where the app is**: the upload route answers 404 unless the page adds files (its
  Sources tab, where the server lets it change the archive: `max_upload` is then the limit of
  an upload request, behind the login when one is set), and the REST routes that run an event
  by name answer 404 for every name but the public ones: the page's private callbacks
  (refresh, new conversation, the Sources tab's) are no API. The page reaches them by number,
  through the queue or `run/predict`, as every Gradio page does; that stays, behind the login
  when one is set;
- **slow to guess passwords**: after `max_failures` wrong logins from one client within
  `window_s`, its logins get 429 with Retry-After until the lockout (doubling with each
  further failure, at most `max_lockout_s`) has passed;
- **unframeable and strict about types**: every response carries X-Frame-Options DENY, a CSP
  of `frame-ancestors 'none'`, X-Content-Type-Options nosniff and Referrer-Policy no-referrer,
  and a session cookie Gradio sets with SameSite=None is sent as SameSite=Lax.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/upload/")
# Gradio's routes that run an event by its API name (the longer prefix first).
RUN_BY_NAME = ("/gradio_api/call/v2/", "/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")
LOGIN_PATHS = ("/login", "/login/")
# The page's own route for events that skip the queue (it names the event by number, as the
# queue does): the page needs it, and it stays behind the login when one is set.
PAGE_ROUTE = "predict"


class _TooLarge(Exception):
    pass


@dataclass
class LoginThrottle:
    """Wrong logins per client: a sliding window of failures, then a doubling lockout."""

    max_failures: int = 5
    window_s: float = 900.0  # failures are remembered this long, so the lockout keeps doubling
    first_lockout_s: float = 30.0
    max_lockout_s: float = 900.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, client: str) -> float:
        """Seconds `client` must wait before its next login is heard (0: now)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - self.clock())

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window_s]
            recent.append(now)
            self._failures[client] = recent
            over = len(recent) - self.max_failures
            if over >= 0:
                lockout = min(self.max_lockout_s, self.first_lockout_s * 2.0**over)
                self._locked_until[client] = now + lockout
                log.warning(
                    "guard: %d failed logins from %s; locked out %.0fs",
                    len(recent),
                    client,
                    lockout,
                )
            if len(self._failures) > 10_000:  # forget the oldest clients, not the newest
                for stale in list(self._failures)[:5_000]:
                    self._failures.pop(stale, None)
                    self._locked_until.pop(stale, None)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
            self._locked_until.pop(client, None)


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        public_api: Collection[str] = (),
        throttle: LoginThrottle | None = None,
        api_prefixes: Collection[str] = (),
        max_upload: int | None = None,
    ) -> None:
        """`api_prefixes`: paths whose refusals are OpenAI-style error objects (the headless
        API's clients read `error.message`), not the page's `detail`. `max_upload`: the
        largest upload request, None to keep the upload route closed."""
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.api_prefixes = tuple(api_prefixes)
        self.public_api = frozenset(public_api)
        self.throttle = throttle or LoginThrottle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        api = any(path == p or path.startswith(p + "/") for p in self.api_prefixes)
        upload = method == "POST" and path in UPLOAD_PATHS
        if (upload and self.max_upload is None) or self._private_by_name(path):
            log.info("guard: %s %s is closed", method, path)
            await _reply(send, 404, "Not Found")
            return
        limit = self.max_upload if upload and self.max_upload is not None else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reply(send, 413, f"request body over {limit} bytes", api=api)
            return
        login = method == "POST" and path in LOGIN_PATHS
        client = _client(scope)
        if login:
            wait = self.throttle.wait_s(client)
            if wait > 0:
                headers = ((b"retry-after", str(int(wait) + 1).encode()),)
                await _reply(send, 429, "too many failed logins; wait and try again", headers)
                return
        started = False
        status = 0
        received = 0
        too_large = False
        too_large_detail = f"request body over {limit} bytes"

        async def counted() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started, status
            if too_large:  # the app turned the aborted read into a response of its own
                if message["type"] == "http.response.start" and not started:
                    started, status = True, 413
                    await _reply(send, 413, too_large_detail, api=api)
                return
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                message["headers"] = _secured(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            if not started:
                await _reply(send, 413, too_large_detail, api=api)
            return
        if login:
            if status == 200:
                self.throttle.succeeded(client)
            elif 400 <= status < 500:
                self.throttle.failed(client)

    def _private_by_name(self, path: str) -> bool:
        for prefix in RUN_BY_NAME:
            if path.startswith(prefix):
                name = path[len(prefix) :].strip("/").split("/", 1)[0]
                return name not in self.public_api and name != PAGE_ROUTE
        return False


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


def _secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = []
    for key, value in headers:
        if key.lower() == b"set-cookie":
            value = value.replace(b"SameSite=none", b"SameSite=lax").replace(
                b"SameSite=None", b"SameSite=Lax"
            )
        out.append((key, value))
    present = {key.lower() for key, _ in out}
    out.extend((key, value) for key, value in SECURITY_HEADERS if key not in present)
    return out


async def _reply(
    send: Send,
    status: int,
    detail: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    *,
    api: bool = False,
) -> None:
    if api:
        error = {"message": detail, "type": "invalid_request_error", "param": None, "code": None}
        body = json.dumps({"error": error}).encode()
    else:
        body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": _secured(
                [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ]
            ),
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = ["Guard", "LoginThrottle"]
