"""The running Gradio app, driven through gradio_client on a loopback port: ask, follow up,
filter, refuse, report errors, keep sessions apart, serve no files, require a login."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import SEED_QUESTION, free_port, make_settings

from newsdesk.core.errors import ConfigError
from newsdesk.server import launch
from newsdesk.ui.app import parse_auth

SEED_TITLE = "Russia Now Urges Kyiv To Enter Peace Talks"


@pytest.fixture(scope="module")
def app_url(sample_assistant: Any, sample_index: Path) -> Iterator[str]:
    settings = make_settings(sample_index, port=free_port())
    demo = launch(sample_assistant, settings, block=False)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        demo.close()


def client(url: str, **kw: Any) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, **kw)


def ask(
    c: Any,
    question: str,
    since: str = "",
    until: str = "",
    sources: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> tuple[list[dict[str, Any]], str]:
    chat, panel, box = c.predict(
        question, since, until, list(sources), list(categories), api_name="/ask"
    )
    assert box == ""
    return chat, panel


def content(message: dict[str, Any]) -> str:
    body = message["content"]
    if isinstance(body, list):
        return "".join(part.get("text", "") for part in body if isinstance(part, dict))
    return str(body)


def plain(markup: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", markup))


def reply(chat: list[dict[str, Any]]) -> str:
    assert chat[-1]["role"] == "assistant"
    return content(chat[-1])


def questions(chat: list[dict[str, Any]]) -> list[str]:
    return [plain(content(m)) for m in chat if m["role"] == "user"]


def test_seed_question_gets_a_cited_answer(app_url: str) -> None:
    chat, panel = ask(client(app_url), SEED_QUESTION)
    answer = reply(chat)
    assert 'class="nd-cite" href="#cite-1-1"' in answer and "[1]</a>" in answer
    assert "nd-error" not in answer and "nd-refusal" not in answer
    assert re.search(r"Peskov|Lukashenko|Russia", plain(answer))
    assert 'id="cite-1-1"' in panel and "<mark" in panel
    assert SEED_TITLE in plain(panel) and "IBTimes" in panel and "2022-11-24" in panel


def test_follow_up_uses_this_sessions_history(app_url: str) -> None:
    c = client(app_url)
    ask(c, SEED_QUESTION)
    chat, panel = ask(c, "What did Lukashenko warn?")
    answer = plain(reply(chat))
    assert "destruction" in answer and "[1]" in answer
    assert questions(chat) == [SEED_QUESTION, "What did Lukashenko warn?"]
    assert 'href="#cite-2-1"' in reply(chat) and 'id="cite-2-1"' in panel
    chat, _ = ask(c, "And what did Belarus say?")
    assert "Read as a follow-up" in reply(chat) and "Russia" in plain(reply(chat))
    fresh, _ = ask(client(app_url), "And what did Belarus say?")  # a new session: no history
    assert "Read as a follow-up" not in reply(fresh)


def test_filters_change_the_answer(app_url: str) -> None:
    c = client(app_url)
    _, panel = ask(c, SEED_QUESTION, categories=("local",))
    assert SEED_TITLE not in plain(panel)
    _, panel = ask(c, SEED_QUESTION, until="2022-01-01")
    assert SEED_TITLE not in plain(panel)
    _, panel = ask(
        c,
        SEED_QUESTION,
        since="2022-11-01",
        until="2022-11-30",
        categories=("world",),
        sources=("IBTimes",),
    )
    assert SEED_TITLE in plain(panel) and "<mark" in panel
    chat, _ = ask(c, SEED_QUESTION, since="last week")
    assert "nd-error" in reply(chat) and "2005-03-01" in plain(reply(chat))


def test_off_topic_question_is_refused_with_closest_articles(app_url: str) -> None:
    chat, panel = ask(client(app_url), "What is the boiling point of mercury?")
    answer = reply(chat)
    assert "nd-refusal" in answer and "no article that answers" in plain(answer)
    assert "Closest articles" in plain(answer) and 'href="#near-1-1"' in answer
    assert 'id="near-1-1"' in panel and "<mark" not in panel


def test_not_stated_says_so_and_shows_the_closest_evidence_as_not_an_answer(
    app_url: str,
) -> None:
    chat, panel = ask(client(app_url), "What did Russia demand of Moldova?")
    answer = reply(chat)
    assert "nd-not-stated" in answer and "nd-refusal" not in answer
    assert "does not state the answer" in plain(answer) and "\u201cMoldova\u201d" in plain(answer)
    assert "Closest evidence (not an answer):" in plain(answer)
    assert 'href="#cite-1-1"' in answer  # the evidence is cited like an answer
    assert "Closest evidence (not an answer)" in plain(panel) and "<mark" in panel


def test_a_year_outside_the_archive_is_refused_with_its_span(app_url: str) -> None:
    chat, _ = ask(client(app_url), "What did Russia demand of Ukraine in 2019?")
    answer = reply(chat)
    assert "nd-refusal" in answer
    assert "The archive covers 2022-2024; nothing from 2019." in plain(answer)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("", "empty"),
        ("   \x00\x01\x02 \x1b\x7f\x08\u200b ", "empty"),
        ("x" * 100_000, "limit"),
    ],
    ids=["empty", "control-characters", "100KB"],
)
def test_bad_questions_get_a_readable_message(app_url: str, question: str, expected: str) -> None:
    c = client(app_url)
    chat, _ = ask(c, question)
    message = reply(chat)
    assert "nd-error" in message and expected in plain(message)
    assert "Traceback" not in message and len(message) < 2000
    chat, _ = ask(c, SEED_QUESTION)  # the app (and this session) keeps working
    assert "[1]</a>" in reply(chat) and len(chat) == 4


def test_concurrent_sessions_keep_separate_histories(app_url: str) -> None:
    plans = {
        "a": [SEED_QUESTION, "And what did Belarus say?", "What did Lukashenko warn?"],
        "b": [
            "Why did Millbrook vote to rebuild river flood defences?",
            "And what did it cost?",
            "What is the boiling point of mercury?",
        ],
    }

    def session(name: str) -> list[dict[str, Any]]:
        c = client(app_url)
        chat: list[dict[str, Any]] = []
        for q in plans[name]:
            chat, _ = ask(c, q)
        return chat

    with ThreadPoolExecutor(max_workers=2) as pool:
        chats = dict(zip(plans, pool.map(session, plans), strict=True))
    for name, chat in chats.items():
        assert questions(chat) == plans[name]
    text_a = plain(" ".join(content(m) for m in chats["a"]))
    text_b = plain(" ".join(content(m) for m in chats["b"]))
    assert "Millbrook" not in text_a and "Lukashenko" not in text_b
    followup_b = plain(content(chats["b"][3]))
    assert "Read as a follow-up" in followup_b and "Russia" not in followup_b


def test_examples_come_from_the_archive(
    app_url: str, sample_assistant: Any, sample_index: Path
) -> None:
    config = httpx.get(f"{app_url}config", timeout=10).json()
    shown = [
        sample[0]
        for comp in config["components"]
        if comp.get("type") == "dataset"
        for sample in comp["props"]["samples"]
    ]
    assert shown and shown == sample_assistant.example_questions(4)
    assert str(sample_index) not in json.dumps(config)  # the page does not reveal the index


def test_seed_question_is_an_example(sample_assistant: Any) -> None:
    # The sample archive suggests it in its .newsdesk-questions file; generated ones follow.
    examples = sample_assistant.example_questions(6)
    assert examples[0] == SEED_QUESTION and len(examples) == 6


def test_no_endpoint_serves_files(app_url: str, sample_index: Path) -> None:
    secret_files = [Path("/etc/passwd"), *sorted(p for p in sample_index.rglob("*") if p.is_file())]
    repo_file = Path(__file__).resolve().parents[1] / "pyproject.toml"
    targets = [*secret_files[:4], repo_file]
    paths = []
    for target in targets:
        paths += [f"gradio_api/file={target}", f"file={target}", f"gradio_api/file=..{target}"]
    paths += [
        "gradio_api/file=../../../../../../etc/passwd",
        "gradio_api/file=pyproject.toml",
        "gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "static/../../../../../../etc/passwd",
        "static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "assets/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "gradio_api/file=/proc/self/environ",
    ]
    markers = [b"root:x:0:0", b"SQLite format 3", b"[build-system]", b"HF_HUB_OFFLINE"]
    with httpx.Client(base_url=app_url, timeout=10) as http:
        for path in paths:
            r = http.get(path)
            assert not (r.status_code == 200 and any(m in r.content for m in markers)), path


def test_binds_loopback_by_default() -> None:
    from newsdesk.core.config import Settings

    assert Settings().host == "127.0.0.1"


def test_parse_auth(tmp_path: Path) -> None:
    assert parse_auth("") is None
    assert parse_auth("reader:pa:ss") == [("reader", "pa:ss")]
    users = tmp_path / "users.txt"
    users.write_text("# readers\nann:one\n\nbob:two\n", encoding="utf-8")
    assert parse_auth(str(users)) == [("ann", "one"), ("bob", "two")]
    for bad in ("no-colon-and-no-file", ":nopass-user", "user:"):
        with pytest.raises(ConfigError):
            parse_auth(bad)
    users.write_text("ann\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        parse_auth(str(users))


def test_login_is_required_when_auth_is_set(sample_assistant: Any, sample_index: Path) -> None:
    settings = make_settings(sample_index, port=free_port(), auth="reader:s3cret-words")
    demo = launch(sample_assistant, settings, block=False)
    url = f"http://127.0.0.1:{settings.port}/"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("config").status_code in (401, 403)
            bad = http.post("login", data={"username": "reader", "password": "wrong"})
            assert bad.status_code >= 400
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises a plain error
            client(url)
        chat, _ = ask(client(url, auth=("reader", "s3cret-words")), SEED_QUESTION)
        assert "[1]</a>" in reply(chat)
    finally:
        demo.close()


def test_llm_server_down_is_a_notice_under_the_answer(sample_assistant: Any) -> None:
    from newsdesk.assistant import Assistant, build_answerer
    from newsdesk.ui.app import answer_turn
    from newsdesk.ui.state import Session

    settings = sample_assistant.settings.model_copy(
        update={
            "answerer": "llm",
            "llm_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "llm_model": "absent",
            "llm_timeout_s": 2.0,
        }
    )
    assistant = Assistant(settings, sample_assistant.searcher, build_answerer(settings))
    steps = list(answer_turn(assistant, SEED_QUESTION, Session(), "", "", [], []))
    chat, panel, session, box = steps[-1]
    assert "[1]</a>" in reply(chat) and "unavailable" in plain(reply(chat))
    assert 'class="nd-notice"' in reply(chat) and "<mark" in panel
    assert session.history() == [SEED_QUESTION] and box == ""


@pytest.mark.server
def test_index_unavailable_is_a_message_and_the_app_recovers(
    tmp_path: Path, embedder: Any, chroma_server: Any
) -> None:
    from helpers import SAMPLE

    from newsdesk.assistant import Assistant, build_answerer
    from newsdesk.ingest.pipeline import ingest
    from newsdesk.retriever.search import Searcher

    settings = make_settings(tmp_path / "index", chroma_url=chroma_server.url, port=free_port())
    assert not ingest(settings, [str(SAMPLE)], embedder=embedder).errors
    assistant = Assistant(
        settings, Searcher.open(settings, embedder=embedder), build_answerer(settings)
    )
    demo = launch(assistant, settings, block=False)
    try:
        c = client(f"http://127.0.0.1:{settings.port}/")
        chat, _ = ask(c, SEED_QUESTION)
        assert "[1]</a>" in reply(chat)
        chroma_server.stop()
        chat, _ = ask(c, SEED_QUESTION)
        assert "nd-error" in reply(chat) and "unavailable" in plain(reply(chat))
        chroma_server.start()
        chat, _ = ask(c, SEED_QUESTION)
        assert "[1]</a>" in reply(chat)
    finally:
        demo.close()


# ------------------------------------------------------------ the guard (ui/guard.py)

SECURITY = {
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_every_response_carries_the_security_headers(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=10) as http:
        for path in ("", "config", "gradio_api/info", "no-such-page"):
            r = http.get(path)
            for key, value in SECURITY.items():
                assert r.headers.get(key) == value, (path, key)


def test_no_private_callback_by_name(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=10) as http:
        for name in ("refresh", "new_conversation", "lambda", "0", "added_files", "removed"):
            for route in ("call", "call/v2", "run", "api"):
                r = http.post(f"gradio_api/{route}/{name}", json={"data": []})
                assert r.status_code == 404, (route, name)
        # the public event is still there for other programs
        assert http.post("gradio_api/call/ask", json={"data": []}).status_code != 404
    chat, _ = ask(client(app_url), SEED_QUESTION)  # and the page's own use of them works
    assert "[1]</a>" in reply(chat)


def test_uploads_are_bounded_and_open_only_where_the_page_manages_sources(
    sample_assistant: Any, sample_index: Path
) -> None:
    from starlette.testclient import TestClient

    from newsdesk.server import build_server_app, manages_sources

    assert manages_sources(make_settings(sample_index))  # this machine only
    assert manages_sources(make_settings(sample_index, host="0.0.0.0", auth="ed:s3cret"))
    public = make_settings(sample_index, host="0.0.0.0")  # the network, no login
    assert not manages_sources(public)
    with TestClient(build_server_app(sample_assistant, public)) as http:
        r = http.post("/gradio_api/upload", files={"files": ("a.txt", b"x" * 1000)})
        assert r.status_code == 404
        shown = {
            c.get("props", {}).get("elem_id") for c in http.get("/config").json()["components"]
        }
        assert {"nd-sources", "nd-sources-read-only"} <= shown
        assert not shown & {"nd-upload", "nd-feed-url", "nd-remove", "nd-remove-yes"}

    settings = make_settings(sample_index, port=free_port(), max_file_bytes=4096)
    server = launch(sample_assistant, settings, block=False)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/", timeout=30) as http:
            ok = http.post("gradio_api/upload", files={"files": ("a.txt", b"x" * 1000)})
            assert ok.status_code == 200 and ok.json()[0].endswith("a.txt")
            one = http.post("gradio_api/upload", files={"files": ("b.txt", b"x" * 5000)})
            assert one.status_code == 413  # a file over the ingest limit
            many = [("files", (f"{i}.txt", b"x" * 4000)) for i in range(6)]
            assert http.post("gradio_api/upload", files=many).status_code == 413  # the request
            big = http.post("gradio_api/queue/join", content=b"{" + b" " * 300_000 + b"}")
            assert big.status_code == 413  # other requests keep the small limit
    finally:
        server.close()


def test_request_bodies_are_bounded(app_url: str) -> None:
    big = b"{" + b" " * (50 * 1024 * 1024) + b"}"

    def pieces() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 16384

    with httpx.Client(base_url=app_url, timeout=60) as http:
        headers = {"content-type": "application/json"}
        r = http.post("gradio_api/queue/join", content=big, headers=headers)
        assert r.status_code == 413 and "bytes" in r.json()["detail"]
        r = http.post("gradio_api/queue/join", content=pieces(), headers=headers)  # chunked
        assert r.status_code == 413
    chat, _ = ask(client(app_url), SEED_QUESTION)  # the server is none the worse
    assert "[1]</a>" in reply(chat)


def test_wrong_passwords_lock_the_client_out_and_cookies_stay_same_site(
    sample_assistant: Any, sample_index: Path
) -> None:
    settings = make_settings(sample_index, port=free_port(), auth="reader:s3cret-words")
    demo = launch(sample_assistant, settings, block=False)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}/", timeout=10) as http:
            good = http.post("login", data={"username": "reader", "password": "s3cret-words"})
            assert good.status_code == 200
            cookies = good.headers.get_list("set-cookie")
            assert cookies and not any("samesite=none" in c.lower() for c in cookies)
            codes = [
                http.post("login", data={"username": "reader", "password": f"guess{i}"})
                for i in range(7)
            ]
            assert [r.status_code for r in codes] == [400] * 5 + [429] * 2
            assert int(codes[-1].headers["retry-after"]) > 0
            locked = http.post("login", data={"username": "reader", "password": "s3cret-words"})
            assert locked.status_code == 429  # even the right password waits out the lockout
    finally:
        demo.close()


def test_the_login_lockout_doubles_and_expires() -> None:
    from newsdesk.ui.guard import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(max_failures=3, window_s=60, first_lockout_s=10, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("a")
    assert throttle.wait_s("a") == 0
    throttle.failed("a")
    assert throttle.wait_s("a") == 10 and throttle.wait_s("b") == 0  # per client
    now[0] += 11
    assert throttle.wait_s("a") == 0
    throttle.failed("a")  # the fourth failure within the window: twice as long
    assert throttle.wait_s("a") == 20
    now[0] += 120  # the window has passed: the old failures are forgotten
    throttle.failed("a")
    assert throttle.wait_s("a") == 0
    throttle.succeeded("a")
    assert throttle.wait_s("a") == 0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_oversized_requests_leave_no_memory_behind(app_url: str) -> None:
    body = b'{"data": ["' + b"x" * (320 * 1024) + b'"]}'
    with httpx.Client(base_url=app_url, timeout=60) as http:
        for _ in range(20):  # warm up whatever a first request allocates
            http.post("gradio_api/queue/join", content=body)
        before = rss_mb()
        codes = {http.post("gradio_api/queue/join", content=body).status_code for _ in range(1000)}
        after = rss_mb()
    assert codes == {413}
    assert after - before < 50, (before, after)  # 1,000 x 320 KB sent; none of it kept


def test_a_full_queue_tells_the_client_to_retry(
    sample_assistant: Any, sample_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import newsdesk.ui.app as app

    class Slow:  # the real assistant, taking its time: what a loaded server looks like
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def stream(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(3)
            return self.inner.stream(*args, **kwargs)

    monkeypatch.setattr(app, "CONCURRENCY", 1)
    monkeypatch.setattr(app, "QUEUE_SIZE", 1)
    settings = make_settings(sample_index, port=free_port())
    demo = launch(Slow(sample_assistant), settings, block=False)  # type: ignore[arg-type]
    try:
        url = f"http://127.0.0.1:{settings.port}/"
        jobs = [
            client(url).submit(SEED_QUESTION, "", "", [], [], api_name="/ask") for _ in range(4)
        ]
        outcomes = []
        for job in jobs:
            try:
                job.result(timeout=60)
                outcomes.append("answered")
            except Exception as exc:  # noqa: BLE001 - gradio_client raises its own plain errors
                outcomes.append(str(exc))
        assert outcomes.count("answered") >= 1
        refused = [o for o in outcomes if o != "answered"]
        assert refused and all("queue is full" in o.lower() for o in refused), outcomes
    finally:
        demo.close()
