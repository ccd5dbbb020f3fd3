"""The app in a real headless Chromium (Debian's /usr/bin/chromium through Playwright):
ask the seed question, click its citation, see the highlighted passage; and an archive of
HTML/JS payloads that must stay inert text."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO, SEED_QUESTION, free_port, make_settings

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = REPO / "artifacts"
TIMEOUT_MS = 60_000
SEED_FILE = REPO / "sample/archive/world/ibtimes-russia-urges-kyiv-peace-talks.md"

# Records every distinct text of the newest assistant message, to see the answer arrive in steps.
WATCH_STREAM = """
window.__ndSeen = [];
new MutationObserver(() => {
  const bots = document.querySelectorAll('#nd-chat [data-testid="bot"]');
  if (!bots.length) return;
  const text = bots[bots.length - 1].innerText;
  if (window.__ndSeen[window.__ndSeen.length - 1] !== text) window.__ndSeen.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium (apt)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def serve(assistant: Any, index: Path) -> tuple[Any, str]:
    from newsdesk.server import launch

    settings = make_settings(index, port=free_port())
    return launch(assistant, settings, block=False), f"http://127.0.0.1:{settings.port}/"


@pytest.fixture(scope="module")
def seed_app(sample_assistant: Any, sample_index: Path) -> Iterator[str]:
    demo, url = serve(sample_assistant, sample_index)
    try:
        yield url
    finally:
        demo.close()


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.add_init_script(WATCH_STREAM)
    page.goto(url)
    return page, dialogs


def ask(page: Any, question: str) -> None:
    box = page.locator("#nd-question textarea")
    box.fill(question)
    box.press("Enter")


def test_seed_question_answer_and_citation_click(browser: Any, seed_app: str) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, seed_app)
    expect(page.locator("#nd-facts")).to_contain_text("articles")
    ask(page, SEED_QUESTION)
    cite = page.locator('#nd-chat a.nd-cite[href="#cite-1-1"]').first
    expect(cite).to_be_visible()
    bot = page.locator('#nd-chat [data-testid="bot"]').last
    expect(bot).to_contain_text("[1]")
    seen = [text for text in page.evaluate("window.__ndSeen") if text.strip()]
    assert len(seen) >= 2 and "Searching the archive" in seen[0], seen  # arrived in steps

    mark = page.locator("#nd-panel mark.nd-q-cite-1-1").first
    expect(mark).not_to_have_class("nd-active")
    cite.click()
    active = page.locator("#nd-panel mark.nd-active").first
    expect(active).to_be_visible()
    expect(active).to_be_in_viewport()
    expect(page.locator("#nd-panel .nd-source.nd-active")).to_contain_text("IBTimes")
    assert active.inner_text().strip() in SEED_FILE.read_text(encoding="utf-8")
    assert dialogs == []

    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)  # let the smooth scroll settle for the picture
    page.screenshot(path=str(ARTIFACTS / "seed-answer.png"))

    # An example question runs on one click; then [1] of the first answer still opens its
    # passage, now folded below the newer sources.
    page.locator("#nd-examples button").first.click()
    expect(page.locator('#nd-chat [data-testid="bot"]')).to_have_count(2)
    expect(page.locator("#nd-panel details.nd-turn")).to_have_count(2)
    first_turn = page.locator('#nd-panel details.nd-turn[data-turn="1"]')
    expect(first_turn).not_to_have_attribute("open", "")
    cite.click()
    expect(first_turn).to_have_attribute("open", "")
    expect(page.locator("#nd-panel mark.nd-active").first).to_be_in_viewport()
    assert dialogs == []
    page.close()


def test_not_stated_shows_labelled_evidence_that_opens_its_passage(
    browser: Any, seed_app: str
) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, seed_app)
    ask(page, "What did Russia demand of Moldova?")
    box = page.locator("#nd-chat .nd-not-stated").last
    expect(box).to_contain_text("does not state the answer")
    expect(box).to_contain_text("Closest evidence (not an answer):")
    expect(page.locator("#nd-panel")).to_contain_text("Closest evidence (not an answer)")
    box.locator('a.nd-cite[href="#cite-1-1"]').first.click()
    active = page.locator("#nd-panel mark.nd-active").first
    expect(active).to_be_visible()
    expect(active).to_be_in_viewport()
    assert dialogs == []
    page.close()


# ------------------------------------------------------------------ hostile archive
PAYLOAD_TXT = """\
Harbour board <b>bans</b> night fishing <script>window.__pwned=1</script>

The Saltmarsh harbour board banned night fishing on Tuesday after three boats collided in fog. \
<script>window.__pwned=1;alert(1)</script> The harbour master said [the ban](javascript:\
window.__pwned=1) would last until the **new lights** are installed. \
<img src=x onerror="window.__pwned=1;alert(2)"> Fishermen \
protested the decision outside the board office. <svg onload="window.__pwned=1;alert(3)"></svg> \
A vote on compensation is expected next month. <a href="javascript:window.__pwned=1">read more</a> \
<iframe src="javascript:parent.__pwned=1"></iframe> <details open ontoggle="window.__pwned=1">x\
</details> <style>body{display:none}</style>
"""

PAYLOAD_RECORDS = [
    {
        "id": "hostile/record",
        "title": "Saltmarsh harbour lights <b>replaced</b>",
        "source": "Evil <script>window.__pwned=1</script> Gazette",
        "published": "2024-06-01",
        "category": "local",
        "url": "javascript:window.__pwned=1;alert(5)",
        "text": "The Saltmarsh harbour lights will be replaced with LED beacons costing "
        "40,000 pounds, the harbour board said. &lt;img src=x onerror=window.__pwned=1&gt; "
        "The beacons arrive in August.",
    }
]


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[str]:
    from newsdesk.assistant import Assistant, build_answerer
    from newsdesk.ingest.pipeline import ingest
    from newsdesk.retriever.search import Searcher

    root = tmp_path_factory.mktemp("hostile")
    archive = root / "archive"
    archive.mkdir()
    (archive / "payloads.txt").write_text(PAYLOAD_TXT, encoding="utf-8")
    (archive / "records.json").write_text(json.dumps(PAYLOAD_RECORDS), encoding="utf-8")
    settings = make_settings(root / "index")
    report = ingest(settings, [str(archive)], embedder=embedder)
    assert report.articles_ok == 2, report.errors
    assistant = Assistant(
        settings, Searcher.open(settings, embedder=embedder), build_answerer(settings)
    )
    stored = assistant.article("payloads.txt")
    assert stored is not None and "<script>" in stored.text  # the payloads reach the UI
    demo, url = serve(assistant, root / "index")
    try:
        yield url
    finally:
        demo.close()


def test_hostile_articles_stay_inert(browser: Any, hostile_app: str) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, hostile_app)
    panel = page.locator("#nd-panel")
    turns = [
        ("What did the harbour master say about the ban on night fishing?", "cite-1-1"),
        ("What will replace the Saltmarsh harbour lights?", "cite-2-1"),
        ("What is the boiling point of mercury?", "near-3-1"),
    ]
    for question, anchor in turns:
        ask(page, question)
        link = page.locator(f'#nd-chat a.nd-cite[href="#{anchor}"]').first
        expect(link).to_be_visible()
        link.click()
        expect(page.locator(f"#{anchor}")).to_be_attached()
    page.locator("#nd-panel details.nd-turn > summary").last.click()  # unfold the first turn
    page.wait_for_timeout(1500)  # give any payload (img onerror, svg onload) time to fire

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    expect(panel).to_contain_text("<script>window.__pwned=1;alert(1)</script>")
    expect(panel).to_contain_text('<img src=x onerror="window.__pwned=1;alert(2)">')
    expect(panel).to_contain_text("javascript:window.__pwned=1;alert(5)")  # shown, not linked
    expect(panel).to_contain_text("Harbour board <b>bans</b> night fishing")
    expect(panel).to_contain_text("[the ban](javascript:window.__pwned=1)")
    first_answer = page.locator('#nd-chat [data-testid="bot"]').first
    expect(first_answer).to_contain_text("[the ban](javascript:window.__pwned=1)")  # no Markdown
    expect(first_answer).to_contain_text("<script>window.__pwned=1;alert(1)</script>")
    for selector in (
        "script",
        "img",
        "svg",
        "iframe",
        "style",
        "[onerror]",
        "[onload]",
        "[ontoggle]",
        "b",
    ):
        assert page.locator(f"#nd-panel .nd-source {selector}").count() == 0, selector
        assert page.locator(f'#nd-chat [data-testid="bot"] {selector}').count() == 0, selector
    assert page.locator('a[href^="javascript:" i]').count() == 0
    assert page.locator("#nd-panel a.nd-url").count() == 0  # the only url was javascript:
    page.close()


# ------------------------------------------------------------------ the Sources tab
GLACIER_NAME = "glacier-notes.md"
GLACIER_TITLE = "Alpine glacier loses a tenth of its ice in one summer"
GLACIER = (
    f"# {GLACIER_TITLE}\n\n"
    "The Morteratsch glacier lost a tenth of its ice this summer, glaciologists said. "
    "Meltwater from the Alps filled the valley lakes, and the ice front retreated by "
    "forty metres.\n"
)
GLACIER_QUESTION = "How much ice did the Morteratsch glacier lose this summer?"


@pytest.fixture(scope="module")
def sources_app(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any
) -> Iterator[tuple[str, Path]]:
    """A served private copy of the sample archive, to add to and remove from: (url, folder)."""
    import shutil

    from helpers import SAMPLE

    from newsdesk.assistant import build_assistant
    from newsdesk.ingest.pipeline import ingest

    root = tmp_path_factory.mktemp("sources")
    folder = root / "news"
    shutil.copytree(SAMPLE, folder)
    settings = make_settings(root / "index")
    assert not ingest(settings, [str(folder)], embedder=embedder).errors
    assistant = build_assistant(settings, embedder=embedder)
    server, url = serve(assistant, root / "index")
    try:
        yield url, folder
    finally:
        server.close()
        assistant.close()


def open_sources(page: Any) -> Any:
    """Switch to the Sources tab; its table."""
    page.get_by_role("tab", name="Sources").click()
    return page.locator("#nd-sources")


def source_row(page: Any, text: str) -> Any:
    return page.locator("#nd-sources tr.nd-src", has_text=text)


def finished(page: Any, summary: str) -> None:
    """Wait for the Sources tab's change to end with `summary` (its steps stream in first)."""
    from playwright.sync_api import expect

    line = page.locator("#nd-source-status .nd-status:not(.nd-working) .nd-status-line")
    expect(line).to_have_text(summary, timeout=TIMEOUT_MS)


def test_the_sources_tab_lists_the_sample_sources(
    browser: Any, sources_app: tuple[str, Path]
) -> None:
    from playwright.sync_api import expect

    url, folder = sources_app
    page, dialogs = open_page(browser, url)
    table = open_sources(page)
    row = source_row(page, str(folder.resolve()))
    expect(row).to_have_count(1)
    expect(row.locator(".nd-src-count")).to_have_text("6")
    expect(row.locator(".nd-src-dates")).to_have_text("2022-11-24 to 2024-05-06")
    expect(row.locator(".nd-src-when")).to_contain_text("UTC")
    expect(row).to_contain_text("Folder")
    row.locator("details.nd-parts > summary").click()
    for part in ("local/ \u00b7 3 articles", "science/ \u00b7 2", "world/ \u00b7 1 article"):
        expect(row.locator(".nd-parts li", has_text=part)).to_have_count(1)
    expect(table).to_contain_text("Last update")
    assert dialogs == []
    page.close()


def test_an_upload_is_found_by_the_chat_and_its_removal_takes_it_out(
    browser: Any, sources_app: tuple[str, Path], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    url, _ = sources_app
    upload = tmp_path / GLACIER_NAME
    upload.write_text(GLACIER, encoding="utf-8")
    scan = tmp_path / "scan.bmp"
    scan.write_bytes(b"BM\x00\x00 not an article")
    page, dialogs = open_page(browser, url)
    open_sources(page)
    expect(source_row(page, GLACIER_NAME)).to_have_count(0)
    page.locator("#nd-upload input[type=file]").set_input_files([str(upload), str(scan)])
    expect(page.locator("#nd-upload a[href$='/scan.bmp']")).to_have_count(1)  # both are up
    page.locator("#nd-add-files").click()
    finished(page, "1 article added, 0 updated, 0 unchanged, 0 removed; 1 error")
    status = page.locator("#nd-source-status")
    expect(status.locator(".nd-src-errors li")).to_have_count(1)  # one line per bad file
    expect(status.locator(".nd-src-errors li")).to_contain_text(
        "scan.bmp: unsupported file type '.bmp'"
    )
    row = source_row(page, GLACIER_NAME)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Uploaded file")
    expect(row.locator(".nd-src-dates")).to_have_text("undated")
    facts = page.locator("#nd-facts")
    expect(facts).to_contain_text("7 articles", timeout=TIMEOUT_MS)  # the chat's facts follow

    page.get_by_role("tab", name="Ask").click()
    ask(page, GLACIER_QUESTION)
    expect(page.locator('#nd-chat a.nd-cite[href="#cite-1-1"]').first).to_be_visible()
    expect(page.locator("#nd-panel details.nd-turn[data-turn='1']")).to_contain_text(GLACIER_TITLE)

    # Removing asks first; Cancel keeps it.
    open_sources(page)
    pick = page.locator("#nd-remove-pick input")
    pick.click()
    page.get_by_role("option", name=f"{GLACIER_NAME} (1 article)").click()
    page.locator("#nd-remove").click()
    confirm = page.locator("#nd-confirm").first  # (Gradio nests a group in its own id)
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(f"Remove {GLACIER_NAME}? Its 1 article leave")
    page.locator("#nd-remove-no").click()
    expect(confirm).to_be_hidden()
    expect(source_row(page, GLACIER_NAME)).to_have_count(1)

    pick.click()
    page.get_by_role("option", name=f"{GLACIER_NAME} (1 article)").click()
    page.locator("#nd-remove").click()
    expect(confirm).to_be_visible()
    page.locator("#nd-remove-yes").click()
    finished(page, "0 articles added, 0 updated, 0 unchanged, 1 removed")
    expect(confirm).to_be_hidden()
    expect(source_row(page, GLACIER_NAME)).to_have_count(0)
    expect(facts).to_contain_text("6 articles", timeout=TIMEOUT_MS)

    page.get_by_role("tab", name="Ask").click()
    ask(page, GLACIER_QUESTION)
    expect(page.locator('#nd-chat [data-testid="bot"]')).to_have_count(2)
    second = page.locator("#nd-panel details.nd-turn[data-turn='2']")
    expect(second).to_be_attached()
    expect(second).not_to_contain_text(GLACIER_TITLE)
    expect(page.locator('#nd-chat [data-testid="bot"]').last).not_to_contain_text(GLACIER_TITLE)
    assert dialogs == []
    page.close()


def test_a_feed_url_is_added(browser: Any, sources_app: tuple[str, Path]) -> None:
    from feed_server import FEED_TITLES, feed_server
    from playwright.sync_api import expect

    url, _ = sources_app
    page, dialogs = open_page(browser, url)
    open_sources(page)
    box = page.locator("#nd-feed-url").locator("textarea, input").first
    box.fill("ftp://example.org/rss.xml")
    page.locator("#nd-add-feed").click()
    status = page.locator("#nd-source-status")
    expect(status).to_contain_text("only http:// and https:// URLs", timeout=TIMEOUT_MS)
    with feed_server() as feed:
        box.fill(feed)
        page.locator("#nd-add-feed").click()
        finished(page, "2 articles added, 0 updated, 0 unchanged, 0 removed")
    row = source_row(page, feed)
    expect(row).to_have_count(1)
    expect(row.locator(".nd-src-count")).to_have_text("2")
    expect(row.locator(".nd-src-dates")).to_have_text("2024-06-04 to 2024-06-05")
    expect(row).to_contain_text("Web")

    page.get_by_role("tab", name="Ask").click()
    ask(page, "When do the Valley ferry crossings resume?")
    expect(page.locator("#nd-panel details.nd-turn[data-turn='1']")).to_contain_text(FEED_TITLES[0])
    assert dialogs == []
    page.close()


def test_the_sources_tab_is_behind_the_login(
    browser: Any, sample_assistant: Any, sample_index: Path
) -> None:
    import httpx
    from playwright.sync_api import expect

    from newsdesk.server import launch

    settings = make_settings(sample_index, port=free_port(), auth="editor:s3cret-words")
    server = launch(sample_assistant, settings, block=False)
    url = f"http://127.0.0.1:{settings.port}/"
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.get("config").status_code in (401, 403)
            upload = http.post("gradio_api/upload", files={"files": ("a.txt", b"hello")})
            assert upload.status_code in (401, 403)
        page, dialogs = open_page(browser, url)
        login = page.get_by_role("button", name="Login")
        expect(login).to_be_visible()
        assert page.get_by_role("tab", name="Sources").count() == 0
        assert page.locator("#nd-sources, #nd-upload").count() == 0
        page.get_by_label("username").fill("editor")
        page.get_by_label("password").fill("wrong")
        login.click()
        expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
        assert page.get_by_role("tab", name="Sources").count() == 0
        page.get_by_label("username").fill("editor")  # the failed attempt emptied it
        page.get_by_label("password").fill("s3cret-words")
        login.click()
        expect(open_sources(page)).to_contain_text("world/")
        expect(page.locator("#nd-upload")).to_be_visible()
        assert dialogs == []
        page.close()
    finally:
        server.close()
