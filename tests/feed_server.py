"""A real RSS feed on loopback, for the tests that add a feed by URL: an HTTP server on
127.0.0.1 at a free port, in a thread, serving `FEED` at /news/rss.xml (404 elsewhere)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FEED_PATH = "/news/rss.xml"
FEED_TITLES = (
    "Valley ferry returns after a two-year refit",
    "Orchard growers report a record cider apple harvest",
)
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Valley Gazette</title><link>http://127.0.0.1/</link><description>Local news</description>
<item><title>{}</title><link>http://127.0.0.1/news/ferry</link><guid>valley-ferry-refit</guid>
<pubDate>Tue, 04 Jun 2024 09:00:00 GMT</pubDate>
<description>The Valley ferry returned to service on Tuesday after a two-year refit costing
3 million pounds, its operator said. Crossings between Millford and Eastbank resume every half
hour, and the ferry now carries forty bicycles.</description></item>
<item><title>{}</title><link>http://127.0.0.1/news/orchard</link><guid>orchard-harvest</guid>
<pubDate>Wed, 05 Jun 2024 10:00:00 GMT</pubDate>
<description>Orchard growers in the valley picked a record 9,000 tonnes of cider apples this
season, the growers' association said, after a warm spring and no late frost.</description></item>
</channel></rss>
""".format(*FEED_TITLES).encode()


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        if self.path != FEED_PATH:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@contextmanager
def feed_server() -> Iterator[str]:
    """The feed's URL while the server runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, name="feed-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{FEED_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
