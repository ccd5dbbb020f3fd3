"""Who may call the API (/v1) and MCP (/mcp): ASGI middleware the server puts around them.

- **Keys**: `NEWSDESK_API_KEYS` is a comma list of keys or the path of a file of keys (one a
  line, `#` comments). When keys are set, every request under the API's prefixes needs
  `Authorization: Bearer <key>`; otherwise it gets 401 with an OpenAI-style error object.
  The page keeps its own login (`NEWSDESK_AUTH`).
- **Loopback hosts**: bound to loopback with no keys, the API answers only requests whose
  Host is a loopback name, so a web page cannot reach it by DNS rebinding (MCP's SDK checks
  /mcp the same way).
- **Only for the API**: CORS, when configured, wraps the API's paths only; the page keeps
  Gradio's own policy.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from newsdesk.core.errors import ConfigError

API_PREFIXES = ("/v1", "/mcp")  # the paths these rules cover
MIN_KEY_CHARS = 16  # a key short enough to guess is a mistake worth one clear error


def parse_api_keys(value: str) -> frozenset[str] | None:
    """The keys `value` names, or None when it is empty (no keys: the API is open)."""
    value = (value or "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file():
        where = str(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    elif value.startswith(("/", "~", "./", "../")):  # a path, not a key (base64 keys hold /)
        raise ConfigError(f"NEWSDESK_API_KEYS: {value}: no such file")
    else:
        where = "NEWSDESK_API_KEYS"
        keys = [k.strip() for k in value.split(",") if k.strip()]
    if not keys:
        raise ConfigError(f"{where}: no keys")
    for i, key in enumerate(keys, start=1):
        if len(key) < MIN_KEY_CHARS or any(ch.isspace() for ch in key):
            raise ConfigError(
                f"{where}: key {i} must be at least {MIN_KEY_CHARS} characters with no spaces"
            )
    return frozenset(keys)


def bearer(scope: Scope) -> str | None:
    """The token of the request's `Authorization: Bearer` header, or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def admitted(token: str | None, keys: frozenset[str]) -> bool:
    """Whether `token` is one of `keys`, compared in constant time."""
    if not token:
        return False
    given = token.encode()
    return any(hmac.compare_digest(given, key.encode()) for key in keys)


class RequireKey:
    """ASGI middleware: requests under `prefixes` need one of `keys` (None: all pass)."""

    def __init__(
        self, app: ASGIApp, *, keys: frozenset[str] | None, prefixes: tuple[str, ...]
    ) -> None:
        self.app = app
        self.keys = keys
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.keys is None
            or scope["type"] != "http"
            or not under(scope.get("path", ""), self.prefixes)
            or admitted(bearer(scope), self.keys)
        ):
            await self.app(scope, receive, send)
            return
        await _refuse(
            send,
            401,
            "a valid API key is needed: send Authorization: Bearer <key>",
            "invalid_api_key",
            ((b"www-authenticate", b"Bearer"),),
        )


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def _host_name(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            if host.startswith("["):  # [::1]:7860
                return host.split("]", 1)[0] + "]"
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


class LoopbackHosts:
    """ASGI middleware: requests under `prefixes` must name a loopback Host (DNS rebinding:
    a page whose name now points at 127.0.0.1 still sends its own name)."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not under(scope.get("path", ""), self.prefixes)
            or _host_name(scope) in LOOPBACK_NAMES
        ):
            await self.app(scope, receive, send)
            return
        await _refuse(send, 421, "this server answers its API on loopback names only", None)


class ForPaths:
    """`wrap` (a middleware factory taking the app) applied to `prefixes` only."""

    def __init__(
        self, app: ASGIApp, *, prefixes: tuple[str, ...], wrap: Callable[[ASGIApp], ASGIApp]
    ) -> None:
        self.app = app
        self.prefixes = prefixes
        self.wrapped = wrap(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and under(scope.get("path", ""), self.prefixes):
            await self.wrapped(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


async def _refuse(
    send: Send,
    status: int,
    message: str,
    code: str | None,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "API_PREFIXES",
    "ForPaths",
    "LoopbackHosts",
    "RequireKey",
    "admitted",
    "bearer",
    "parse_api_keys",
    "under",
]
