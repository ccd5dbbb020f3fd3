"""API keys: `NEWSDESK_API_KEYS` is a comma list of keys or the path of a file of keys (one a
line, `#` comments). When keys are set, every request under the guarded prefixes (/v1, /mcp)
needs `Authorization: Bearer <key>`; otherwise it gets 401 with an OpenAI-style error object.
The UI keeps its own login (`NEWSDESK_AUTH`)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from newsdesk.core.errors import ConfigError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]  # fmt: skip

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
    elif "/" in value:
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

    def _guarded(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            self.keys is None
            or scope["type"] != "http"
            or scope.get("method") == "OPTIONS"  # CORS preflights carry no credentials
            or not self._guarded(scope.get("path", ""))
            or admitted(bearer(scope), self.keys)
        ):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": {
                    "message": "a valid API key is needed: send Authorization: Bearer <key>",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


__all__ = ["RequireKey", "admitted", "bearer", "parse_api_keys"]
