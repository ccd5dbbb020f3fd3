"""The People and Stories tabs and the name filter, in a real headless Chromium: a person's
page with their quotes, a story's timeline in date order, a question kept to the articles
naming someone. Over a small dated wire archive enriched as ingest enriches it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import make_settings, wire_index
from test_ui_browser import browser, open_page, serve  # noqa: F401 (the browser fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def news_app(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, recognizer: Any
) -> Iterator[str]:
    from newsdesk.assistant import build_assistant

    index = wire_index(tmp_path_factory.mktemp("news-ui"), embedder, recognizer)
    assistant = build_assistant(make_settings(index), embedder=embedder)
    demo, url = serve(assistant, index)
    try:
        yield url
    finally:
        demo.close()
        assistant.close()


def test_a_person_s_page_shows_their_quotes_and_articles(
    browser: Any,  # noqa: F811 (the fixture imported above)
    news_app: str,
) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, news_app)
    page.locator("#nd-tab-people-button, button[role=tab]:has-text('People')").first.click()
    page.locator("#nd-name-query textarea, #nd-name-query input").first.fill("gordon brown")
    page.locator("#nd-name-find").click()
    profile = page.locator("#nd-profile .nd-profile")
    expect(profile).to_have_attribute("data-name", "Gordon Brown")
    expect(profile.locator(".nd-profile-meta")).to_contain_text("Person")
    quotes = profile.locator("li.nd-said")
    expect(quotes).to_have_count(2)
    # newest first, verbatim, with the article and its date
    expect(quotes.nth(0)).to_contain_text("We will cut the steel tariff next year")
    expect(quotes.nth(0)).to_contain_text("w/5 \u00b7 1987-03-05")
    expect(quotes.nth(1)).to_contain_text("The tariff on steel must go")
    expect(profile.locator(".nd-months tr")).to_have_count(1)  # both in March 1987
    expect(profile.locator(".nd-named li")).to_have_count(2)
    assert "Howard" not in profile.inner_text()
    assert dialogs == []
    page.close()


def test_a_story_s_timeline_lists_its_reports_in_date_order(
    browser: Any,  # noqa: F811 (the fixture imported above)
    news_app: str,
) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, news_app)
    page.locator("#nd-tab-stories-button, button[role=tab]:has-text('Stories')").first.click()
    box = page.locator("#nd-story-query textarea, #nd-story-query input").first
    box.fill("Texaco Pennzoil bankruptcy battle")
    page.locator("#nd-story-find").click()
    entries = page.locator("#nd-timeline .nd-tl-entry")
    expect(entries).to_have_count(3)
    dates = [entries.nth(i).locator(".nd-date").inner_text() for i in range(3)]
    assert dates == ["1987-04-12", "1987-04-13", "1987-04-14"]
    expect(entries.nth(0)).to_contain_text("Texaco Inc filed for protection")
    expect(page.locator("#nd-timeline h3")).to_contain_text("Texaco")
    assert dialogs == []
    page.close()


def test_the_name_filter_keeps_answers_to_articles_naming_someone(
    browser: Any,  # noqa: F811 (the fixture imported above)
    news_app: str,
) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, news_app)
    names = page.locator("#nd-names-filter input").first
    names.click()
    names.fill("Michael Howard")
    page.locator("ul[role=listbox] li:has-text('Michael Howard')").first.click()
    box = page.locator("#nd-question textarea")
    box.fill("What about the steel tariff?")
    box.press("Enter")
    bot = page.locator('#nd-chat [data-testid="bot"]').last
    expect(bot).to_contain_text("[1]")
    expect(page.locator("#nd-panel .nd-source").first).to_contain_text("Howard")
    assert "Gordon Brown" not in page.locator("#nd-panel").inner_text()
    assert dialogs == []
    page.close()


def test_a_name_in_an_answer_opens_its_page(
    browser: Any,  # noqa: F811 (the fixture imported above)
    news_app: str,
) -> None:
    from playwright.sync_api import expect

    page, dialogs = open_page(browser, news_app)
    box = page.locator("#nd-question textarea")
    box.fill("What did Gordon Brown say about the steel tariff?")
    box.press("Enter")
    bot = page.locator('#nd-chat [data-testid="bot"]').last
    expect(bot).to_contain_text("We will cut the steel tariff next year")
    link = bot.locator("a.nd-name", has_text="Gordon Brown").first
    expect(link).to_have_attribute("href", "#name-Gordon%20Brown")
    link.click()
    profile = page.locator("#nd-profile .nd-profile")
    expect(profile).to_have_attribute("data-name", "Gordon Brown")
    expect(profile.locator("li.nd-said")).to_have_count(2)
    expect(page.locator("#nd-profile")).to_be_visible()  # the People tab is the one shown
    assert dialogs == []
    page.close()
