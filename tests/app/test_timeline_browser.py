"""A timeline in the chat, in a real browser: `python -m app ui` seeded with the dated story (tests/data/dated),
asked for a timeline; the answer is a dated list whose markers open their source. NEWSDESK_SCREENSHOTS=1
saves docs/screenshots/timeline.png (the README's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from bench.load import AppProcess
from tests.app.test_ui_browser import ANSWER_TIMEOUT, SCREENSHOTS, START_TIMEOUT, _ask, browser  # noqa: F401
from tests.conftest import DATA

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def dated_server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:  # noqa: F811
    app = AppProcess(tmp_path_factory.mktemp("ui-timeline"), sources=(DATA / "dated",),
                     env={"NEWSDESK_COLLECTION": "ui-timeline", "NO_PROXY": "127.0.0.1,localhost"})
    try:
        app.start(timeout=START_TIMEOUT)
    except RuntimeError as e:
        pytest.fail(str(e))
    yield app
    app.stop()


def test_a_timeline_shows_as_a_dated_list_whose_markers_open_their_sources(browser: Any,  # noqa: F811
                                                                           dated_server: AppProcess) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    try:
        page.goto(dated_server.url)
        page.wait_for_selector("#nd-question textarea", timeout=30_000)
        section = _ask(page, "Timeline of the Cambodia-Korea task force")
        timeline = page.locator("#nd-chat .nd-timeline").last
        expect(timeline).to_be_visible(timeout=ANSWER_TIMEOUT)
        events = timeline.locator("li.nd-event")
        assert events.count() >= 5
        days = events.locator(".nd-day").all_inner_texts()
        assert days[0].replace("\u00a0", " ") == "1 September 2025"
        arrest = events.filter(has_text="On October 28, 2025, police in Sihanoukville")
        expect(arrest.locator(".nd-stated")).to_be_visible()
        marker = arrest.locator("a.nd-cite").first
        n = marker.inner_text().strip("[]")
        marker.click()
        expect(page.locator(f"#src-0-{n}")).to_be_in_viewport()
        expect(section.locator(f"#src-0-{n} mark")).to_contain_text("arrested three recruiters")
        if os.environ.get("NEWSDESK_SCREENSHOTS") == "1":
            # The end of the timeline (the arrest, the latest figure, the note on undated articles) beside
            # the arrest's source, as a user sees them after clicking its marker.
            timeline.locator("li.nd-event").last.scroll_into_view_if_needed()
            page.evaluate("window.scrollTo(0, 0)")
            page.mouse.move(0, 0)
            page.wait_for_timeout(600)
            page.screenshot(path=str(SCREENSHOTS / "timeline.png"))
    finally:
        context.close()
