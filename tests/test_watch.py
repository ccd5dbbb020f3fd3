"""`newsdesk watch` against a real loopback news site whose feed changes between polls: the
conditional GETs it sends (and the 304s it gets), summaries replaced by their pages, sitemaps
and URL lists, a failing source backing off while the others go on, validators surviving a
restart, stopping between steps, the one-watcher lock, and a real `newsdesk watch` process
stopped by SIGINT. Real model, real ledger and Chroma; no test reads the clock."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import make_settings, open_ledger
from test_cli import _restore_logging  # noqa: F401 - autouse here too: main() sets up logging
from test_loaders import _no_proxy  # noqa: F401 - autouse here too: loopback needs no proxy

from newsdesk.cli import main
from newsdesk.core.errors import ConfigError, IndexWriteError
from newsdesk.ingest.watch import LOCK_FILE, PollReport, Watcher, parse_interval, watch_lock
from newsdesk.ingest.web import fetch

if TYPE_CHECKING:
    from newsdesk.embedding import Embedder


# --------------------------------------------------------------------------- the news site


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    status: int = 200


@dataclass(frozen=True)
class Asked:
    path: str
    if_none_match: str
    if_modified_since: str
    status: int


@dataclass
class Site:
    """What the loopback server serves (changed by the tests between polls) and every request
    it answered."""

    url: str = ""
    pages: dict[str, Page] = field(default_factory=dict)
    log: list[Asked] = field(default_factory=list)
    on_request: Callable[[str], None] | None = None

    def put(self, path: str, body: str, content_type: str = "", *, etag: bool = True) -> None:
        data = body.encode()
        tag = f'"{hashlib.sha1(data).hexdigest()[:12]}"' if etag else ""
        kind = content_type or "text/html; charset=utf-8"
        self.pages[path] = Page(data, kind, etag=tag)

    def asked(self, path: str) -> list[Asked]:
        return [a for a in self.log if a.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        site = self.server.site
        if site.on_request is not None:
            site.on_request(self.path)
        page = site.pages.get(self.path)
        none_match = self.headers.get("If-None-Match", "")
        since = self.headers.get("If-Modified-Since", "")
        if page is None:
            status, body = 404, b"not here"
        elif page.status != 200:
            status, body = page.status, b"down"
        elif (page.etag and none_match == page.etag) or (
            not page.etag and page.last_modified and since == page.last_modified
        ):
            status, body = 304, b""
        else:
            status, body = 200, page.body
        site.log.append(Asked(self.path, none_match, since, status))
        self.send_response(status)
        if page is not None:
            self.send_header("Content-Type", page.content_type)
            if page.etag:
                self.send_header("ETag", page.etag)
            if page.last_modified:
                self.send_header("Last-Modified", page.last_modified)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


@pytest.fixture
def site() -> Iterator[Site]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.site = Site(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.site
    finally:
        httpd.shutdown()
        httpd.server_close()


def long_text(subject: str, sentences: int = 7) -> str:
    """An article body well over the summary limit (1,000 characters)."""
    return " ".join(
        f"{subject} came up again at meeting {n} of the valley council, where members heard "
        "residents, engineers and the police on what the work will cost and when it ends."
        for n in range(1, sentences + 1)
    )


FERRY_PAGE = """<!DOCTYPE html>
<html><head><title>Valley ferry back in service | Valley Gazette</title></head><body>
<nav><a href="/">Home</a> NAVLINK</nav>
<article><h1>Valley ferry back in service</h1>
<p>The Valley ferry returned to service on Tuesday after a two-year refit that cost three
million pounds, its operator said at the Millford slipway.</p>
<p>Crossings between Millford and Eastbank resume every half hour from six in the morning,
and the refitted ferry now carries forty bicycles as well as cars.</p>
<p>The operator said fares would stay at their 2022 level until the end of the year, and that
the old timetable boards at both slipways would be replaced in the spring.</p>
</article><footer>FOOTERTEXT</footer></body></html>
"""
FERRY_SUMMARY = "The Valley ferry is running again after its refit."


def rss(site: Site, items: list[tuple[str, str, str, str]]) -> str:
    """An RSS feed of (guid, title, link path, description)."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>{site.url}{link}</link>"
        f"<pubDate>Tue, 04 Jun 2024 09:00:00 GMT</pubDate><description>{text}</description></item>"
        for guid, title, link, text in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Valley Gazette</title><link>{site.url}/</link>{body}</channel></rss>"
    )


FLOODS = (
    "gazette-floods",
    "Flood walls to be rebuilt",
    "/news/floods",
    long_text("The flood wall"),
)
BRIDGE = ("gazette-bridge", "Bridge closes for repairs", "/news/bridge", long_text("The bridge"))
FERRY = ("gazette-ferry", "Valley ferry back in service", "/news/ferry", FERRY_SUMMARY)
MARKET = ("gazette-market", "Market moves to the square", "/news/market", long_text("The market"))
RSS_TYPE = "application/rss+xml"


def gazette(site: Site, *items: tuple[str, str, str, str]) -> str:
    """The gazette's feed served with these items, and its URL."""
    site.put("/feed.rss", rss(site, list(items)), RSS_TYPE)
    site.put("/news/ferry", FERRY_PAGE)
    return f"{site.url}/feed.rss"


def watcher(index: Path, sources: list[str], embedder: Embedder, **kw: Any) -> Watcher:
    return Watcher(make_settings(index), sources, every_s=60, embedder=embedder, **kw)


def stored(index: Path) -> dict[str, str]:
    """doc_id -> text of every stored article."""
    with open_ledger(index) as ledger:
        hashes = ledger.all_article_hashes()
        return {d: ledger.article(d).text for d in hashes}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- polls


def test_a_feed_is_polled_conditionally_and_what_changed_is_stored(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS, BRIDGE, FERRY)
    watch = watcher(index, [feed], embedder)

    first = watch.poll()
    assert (first.new, first.changed, first.unchanged, first.not_modified) == (3, 0, 0, 0)
    assert first.errors == [] and not first.stopped
    (asked,) = site.asked("/feed.rss")
    assert (asked.if_none_match, asked.status) == ("", 200)
    texts = stored(index)
    assert set(texts) == {"gazette-floods", "gazette-bridge", "gazette-ferry"}
    # the summary-only item: its page was fetched and its text stored under the item's id
    assert [a.status for a in site.asked("/news/ferry")] == [200]
    assert texts["gazette-ferry"].startswith("The Valley ferry returned to service on Tuesday")
    assert "forty bicycles" in texts["gazette-ferry"] and "NAVLINK" not in texts["gazette-ferry"]
    with open_ledger(index) as ledger:
        ferry = ledger.article("gazette-ferry")
        assert ferry is not None and ferry.title == "Valley ferry back in service"
        assert ferry.published == "2024-06-04" and ferry.source == "Valley Gazette"
    # items with their whole text are never fetched as pages
    assert site.asked("/news/floods") == [] and site.asked("/news/bridge") == []

    second = watch.poll()
    assert (second.new, second.changed, second.unchanged, second.not_modified) == (0, 0, 0, 1)
    again = site.asked("/feed.rss")[-1]
    assert again.if_none_match == site.pages["/feed.rss"].etag and again.status == 304
    assert len(site.asked("/news/ferry")) == 1  # a 304 feed leads nowhere

    changed_bridge = (*BRIDGE[:3], BRIDGE[3] + " Update: the bridge reopens in May.")
    gazette(site, FLOODS, changed_bridge, FERRY, MARKET)
    third = watch.poll()
    assert (third.new, third.changed, third.not_modified) == (1, 1, 0)
    assert third.unchanged == 2  # the floods story, and the ferry's summary as it was
    assert site.asked("/feed.rss")[-1].status == 200
    assert len(site.asked("/news/ferry")) == 1  # the item did not change: its page is not asked
    texts = stored(index)
    assert texts["gazette-bridge"].endswith("the bridge reopens in May.")
    assert "gazette-market" in texts
    assert "poll 3: 1 new, 1 changed, 2 unchanged, 0 errors, 0 not modified" in third.summary()


def test_validators_survive_a_restart_and_last_modified_is_used(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    site.put("/wire.rss", rss(site, [FLOODS, BRIDGE]), RSS_TYPE, etag=False)
    site.pages["/wire.rss"].last_modified = "Tue, 04 Jun 2024 09:00:00 GMT"
    feed = f"{site.url}/wire.rss"
    assert watcher(index, [feed], embedder).poll().new == 2

    restarted = watcher(index, [feed], embedder).poll()  # a new process: validators from disk
    assert (restarted.new, restarted.not_modified) == (0, 1)
    last = site.asked("/wire.rss")[-1]
    assert (last.if_modified_since, last.if_none_match, last.status) == (
        "Tue, 04 Jun 2024 09:00:00 GMT",
        "",
        304,
    )
    # a server that sends no validators: an identical body is not read again
    site.pages["/wire.rss"].last_modified = ""
    assert watcher(index, [feed], embedder).poll().not_modified == 1
    assert site.asked("/wire.rss")[-1].status == 200


def test_fetch_is_conditional_only_when_asked(site: Site) -> None:
    site.put("/page", FERRY_PAGE)
    etag = site.pages["/page"].etag
    plain = fetch(f"{site.url}/page", timeout_s=5, max_bytes=1 << 20)
    assert (plain.not_modified, plain.etag, plain.kind) == (False, etag, "html")
    again = fetch(f"{site.url}/page", timeout_s=5, max_bytes=1 << 20, etag=etag)
    assert again.not_modified and again.data == b"" and again.etag == etag


def test_a_failing_source_backs_off_while_the_others_go_on(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS)
    site.put("/down.rss", rss(site, [MARKET]), RSS_TYPE)
    site.pages["/down.rss"].status = 503
    down = f"{site.url}/down.rss"
    now = [0.0]
    watch = watcher(index, [down, feed], embedder, clock=lambda: now[0])

    reports: list[PollReport] = []
    for _ in range(5):  # one poll a minute (--every 60s), by the watcher's clock
        reports.append(watch.poll())
        now[0] += 60
    # tried at 0 and 60 s; then after 2 intervals (180 s); then after 4 (420 s)
    assert len(site.asked("/down.rss")) == 3
    assert [bool(r.backing_off) for r in reports] == [False, False, True, False, True]
    assert [r.errors[0].reason for r in reports if r.errors] == [
        "HTTP 503 Service Unavailable (next try in 1m)",
        "HTTP 503 Service Unavailable (failed 2 times in a row, next try in 2m)",
        "HTTP 503 Service Unavailable (failed 3 times in a row, next try in 4m)",
    ]
    # the other source was asked at every poll
    assert [a.status for a in site.asked("/feed.rss")] == [200, 304, 304, 304, 304]
    assert reports[0].new == 1 and set(stored(index)) == {"gazette-floods"}

    site.pages["/down.rss"].status = 200  # back up: taken in at its next try, then every poll
    now[0] = 420
    recovered = watch.poll()
    assert recovered.new == 1 and recovered.errors == [] and "gazette-market" in stored(index)
    now[0] += 60
    assert watch.poll().backing_off == [] and site.asked("/down.rss")[-1].status == 304


def test_a_summary_whose_page_fails_is_kept_and_its_page_asked_for_again(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS, FERRY)
    site.pages["/news/ferry"].status = 500
    watch = watcher(index, [feed], embedder)
    first = watch.poll()
    assert first.new == 2 and [e.path for e in first.errors] == [f"{site.url}/news/ferry"]
    assert first.errors[0].reason == "HTTP 500 Internal Server Error (summary kept)"
    assert stored(index)["gazette-ferry"] == FERRY_SUMMARY

    site.pages["/news/ferry"].status = 200
    second = watch.poll()  # the feed's validators were not recorded: it is read in full again
    assert site.asked("/feed.rss")[-1].if_none_match == ""
    assert (second.new, second.changed, second.unchanged) == (0, 1, 1)
    assert "forty bicycles" in stored(index)["gazette-ferry"]
    assert watch.poll().not_modified == 1


def test_a_url_list_of_a_sitemap_and_a_page(site: Site, tmp_path: Path, embedder: Embedder) -> None:
    index = tmp_path / "index"
    site.put("/news/ferry", FERRY_PAGE)
    site.put(
        "/news/quay",
        FERRY_PAGE.replace("Valley ferry back", "Quay reopens").replace(
            "The Valley ferry returned", "The quay reopened and the Valley ferry returned"
        ),
    )
    site.put("/about", FERRY_PAGE.replace("Valley ferry back in service", "About the Gazette"))

    def sitemap(quay_lastmod: str) -> None:
        site.put(
            "/sitemap.xml",
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{site.url}/news/ferry</loc><lastmod>2024-06-04</lastmod></url>"
            f"<url><loc>{site.url}/news/quay</loc><lastmod>{quay_lastmod}</lastmod></url>"
            "</urlset>",
            "application/xml",
        )

    sitemap("2024-06-04")
    listed = tmp_path / "gazette.urls"
    listed.write_text(f"# the gazette\n{site.url}/sitemap.xml\n{site.url}/about\n")
    watch = watcher(index, [str(listed)], embedder)
    first = watch.poll()
    assert (first.new, first.errors) == (3, [])
    assert set(stored(index)) == {
        f"{site.url}/news/ferry",
        f"{site.url}/news/quay",
        f"{site.url}/about",
    }

    sitemap("2024-06-05")  # the quay page's lastmod moved; the ferry page's did not
    second = watch.poll()
    assert len(site.asked("/news/ferry")) == 1  # same lastmod: not asked
    quay = site.asked("/news/quay")[-1]
    assert quay.if_none_match == site.pages["/news/quay"].etag and quay.status == 304
    assert (second.new, second.changed, second.not_modified) == (0, 0, 3)  # ferry, quay, about


def test_a_local_file_is_read_as_ingest_reads_it_when_its_bytes_change(
    tmp_path: Path, embedder: Embedder
) -> None:
    index, export = tmp_path / "index", tmp_path / "export.jsonl"
    record = '{{"id": "{}", "title": "{}", "text": "{}"}}\n'
    export.write_text(record.format("w/1", "Flood walls", long_text("The flood wall")))
    watch = watcher(index, [str(export)], embedder)
    assert watch.poll().new == 1
    assert watch.poll().not_modified == 1
    with export.open("a") as more:
        more.write(record.format("w/2", "Bridge", long_text("The bridge")))
    grown = watch.poll()
    assert (grown.new, grown.unchanged, grown.not_modified) == (1, 1, 0)
    with open_ledger(index) as ledger:
        assert ledger.articles_by_origin(str(export.resolve())) == {
            "w/1": "export.jsonl",
            "w/2": "export.jsonl",
        }


def test_stopping_while_fetching_stores_nothing(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS, FERRY)
    watch = watcher(index, [feed], embedder)
    site.on_request = lambda path: watch.stop() if path == "/news/ferry" else None
    stopped = watch.poll()  # Ctrl-C while the ferry page is being fetched
    assert stopped.stopped and "(stopped: nothing stored)" in stopped.summary()
    with open_ledger(index) as ledger:
        assert ledger.all_article_hashes() == {}
        assert ledger.watched(feed) == {}  # nothing recorded either: asked in full next time

    site.on_request = None
    resumed = watcher(index, [feed], embedder).poll()
    assert resumed.new == 2 and site.asked("/feed.rss")[-1].if_none_match == ""


def test_intervals() -> None:
    assert [parse_interval(t) for t in ("30s", "15m", "1h", "2h30m", "1h0m5s")] == [
        30,
        900,
        3600,
        9000,
        3605,
    ]
    for bad in ("", "15", "1d", "m", "0s", "15 m"):
        with pytest.raises(ConfigError):
            parse_interval(bad)


def test_bad_usage_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["watch", "http://127.0.0.1:9/feed", "--every", "soon", "--index", str(tmp_path)])
    assert usage.value.code == 2
    assert "expected an interval like 30s, 15m, 1h or 2h30m" in capsys.readouterr().err
    code = main(["watch", str(tmp_path / "missing.rss"), "--once", "--index", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("newsdesk: error: ")
    assert "missing.rss: no such file" in err[0]


# --------------------------------------------------------------------------- one watcher


def test_a_second_watcher_is_refused_and_a_dead_ones_lock_blocks_nothing(
    site: Site, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS)
    with watch_lock(index):
        with pytest.raises(IndexWriteError, match="already watching"), watch_lock(index):
            pass
        code = main(["watch", feed, "--once", "--index", str(index)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and err == [
            f"newsdesk: error: another `newsdesk watch` (pid {os.getpid()}) is already "
            f"watching {index}; stop it first"
        ]
    # a process that took the lock and died: its lock file (and pid) stay, the lock does not
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'4194000')",
            str(index / LOCK_FILE),
        ],
        check=True,
    )
    assert (index / LOCK_FILE).read_text().startswith("4194000")
    with watch_lock(index):
        assert (index / LOCK_FILE).read_text() == f"{os.getpid()}\n"


def _lines(stream: Any) -> queue.Queue[str]:
    """The lines of a process's stream as they come."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_a_real_watch_stops_on_sigint_and_refuses_a_second(
    site: Site, tmp_path: Path, embedder: Embedder
) -> None:
    index = tmp_path / "index"
    feed = gazette(site, FLOODS, FERRY)
    command = str(Path(sys.executable).with_name("newsdesk"))
    proc = subprocess.Popen(
        [command, "watch", feed, "--every", "1s", "--index", str(index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = _lines(proc.stdout)
        first = out.get(timeout=180)
        assert "poll 1: 2 new, 0 changed, 0 unchanged, 0 errors, 0 not modified" in first
        assert "poll 2: 0 new" in out.get(timeout=60)  # polling on: a 304 this time

        second = subprocess.run(
            [command, "watch", feed, "--once", "--index", str(index)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"newsdesk: error: another `newsdesk watch` (pid {proc.pid}) is already watching "
            f"{index}; stop it first"
        ]

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err
        (line,) = err.strip().splitlines()
        assert line.startswith("newsdesk: watch stopped after ") and line.endswith(" polls")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert set(stored(index)) == {"gazette-floods", "gazette-ferry"}
    assert main(["watch", feed, "--once", "--index", str(index)]) == 0  # its lock went with it
