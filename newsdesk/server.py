"""`newsdesk serve`: one ASGI app on one port, run by uvicorn.

- `/v1/...` the headless API (`api.http`) and `/openapi.json` its document;
- `/mcp` the MCP server over streamable HTTP (`api.mcp`, stateless);
- `/` the chat page (`ui.app`, Gradio mounted on the same FastAPI app).

Around all of it the server guard (`ui.guard`: body limits, closed routes, login throttling,
security headers); around the API's paths CORS when `NEWSDESK_CORS_ORIGINS` names origins,
the API keys (`NEWSDESK_API_KEYS`), and on loopback without keys a check that the Host is a
loopback name (`api.access`). The page keeps its own login (`NEWSDESK_AUTH`); its Sources tab
changes the archive only behind it or on loopback (`manages_sources`). The API and MCP share
one gate (`api.gate`) on the questions at work.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from mcp.server.transport_security import TransportSecuritySettings
from starlette.middleware.cors import CORSMiddleware

from newsdesk.api.access import API_PREFIXES, ForPaths, LoopbackHosts, RequireKey, parse_api_keys
from newsdesk.api.gate import default_gate
from newsdesk.api.http import build_api
from newsdesk.api.mcp import build_mcp
from newsdesk.assistant import Assistant
from newsdesk.core.config import Settings
from newsdesk.core.errors import ConfigError
from newsdesk.ui.app import PUBLIC_API, mount_page, parse_auth
from newsdesk.ui.guard import Guard, LoginThrottle

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
UPLOAD_FILES = 5  # an upload request may carry this many files of the largest size ingested


class Server:
    """A running `newsdesk serve`: `url`, and `close()` to stop it (tests, `block=False`)."""

    def __init__(self, server: uvicorn.Server, url: str, thread: threading.Thread | None) -> None:
        self._server = server
        self._thread = thread
        self.url = url

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)


def build_server_app(assistant: Assistant, settings: Settings) -> FastAPI:
    """The whole app `serve` runs (see the module docstring)."""
    keys = parse_api_keys(settings.api_keys)
    parse_auth(settings.auth)  # a bad login setting fails here, in one line
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    rebinding_guard = _is_loopback(settings.host) and keys is None
    gate = default_gate()
    mcp = build_mcp(assistant, gate=gate)
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.max_request_bytes,
        transport_security=TransportSecuritySettings(
            enable_dns_rebinding_protection=rebinding_guard,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
            + origins,
        ),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    app = build_api(assistant, settings, gate=gate, lifespan=lifespan)
    app.router.routes.extend(mcp_app.routes)  # /mcp, before the page's catch-all mount
    manage = manages_sources(settings)
    mount_page(app, assistant, settings, manage=manage)
    # added innermost first: the guard ends up outermost
    app.add_middleware(RequireKey, keys=keys, prefixes=API_PREFIXES)
    if rebinding_guard:
        app.add_middleware(LoopbackHosts, prefixes=API_PREFIXES)
    if origins:
        cors = functools.partial(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "authorization",
                "content-type",
                "mcp-session-id",
                "mcp-protocol-version",
            ],
        )
        app.add_middleware(ForPaths, prefixes=API_PREFIXES, wrap=cors)
    app.add_middleware(
        Guard,
        max_body=settings.max_request_bytes,
        public_api=PUBLIC_API,
        throttle=LoginThrottle(),
        api_prefixes=API_PREFIXES,
        max_upload=UPLOAD_FILES * settings.max_file_bytes if manage else None,
    )
    return app


def manages_sources(settings: Settings) -> bool:
    """May the page add and remove sources? Behind a login, or on this machine only; a page
    served to the network without a login only shows them (anyone could empty the archive)."""
    return bool(settings.auth) or _is_loopback(settings.host)


def launch(assistant: Assistant, settings: Settings, *, block: bool = True) -> Server:
    """Serve on settings.host:settings.port (127.0.0.1 by default). With `block=False`,
    return once the server answers (tests); call `.close()` to stop it."""
    if not _is_loopback(settings.host):
        if not settings.auth:
            log.warning(
                "serving on %s without a login (the Sources tab only shows the sources); set "
                "NEWSDESK_AUTH to require one",
                settings.host,
            )
        if not settings.api_keys:
            log.warning(
                "serving the API on %s without keys; set NEWSDESK_API_KEYS to require them",
                settings.host,
            )
    _check_port_free(settings.host, settings.port)
    app = build_server_app(assistant, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}/"
    if block:
        print(f"Newsdesk on {url} (API {url}v1, MCP {url}mcp); Ctrl-C stops it", flush=True)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn stops cleanly, then passes Ctrl-C on
            pass
        except SystemExit as exc:  # uvicorn's way of saying it could not start
            raise ConfigError(f"cannot serve on {settings.host}:{settings.port}") from exc
        return Server(server, url, None)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            failed.append(exc)

    thread = threading.Thread(target=run, name="newsdesk-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            reason = f" ({failed[0]})" if failed else ""
            raise ConfigError(f"cannot serve on {settings.host}:{settings.port}{reason}")
        time.sleep(0.05)
    return Server(server, url, thread)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    """Fail in one line, before the app is built, if something already listens there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {port} is in use; pick another with --port") from exc
            raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc


__all__ = ["Server", "build_server_app", "launch", "manages_sources"]
