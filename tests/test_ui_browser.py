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
