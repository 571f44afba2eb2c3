"""Timelines from a running server seeded with the dated story (tests/data/dated): `POST /api/ask` with
`timeline` and `since_last`, `python -m app ask --server` passing them on, and the chat in a real browser,
where a timeline is a dated list whose markers open their source. NEWSDESK_SCREENSHOTS=1 saves
docs/screenshots/timeline.png (the README's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.load import AppProcess
from tests.app.test_ui_browser import ANSWER_TIMEOUT, SCREENSHOTS, START_TIMEOUT, _ask, browser  # noqa: F401
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow

TOPIC = "the Cambodia-Korea task force"


@pytest.fixture(scope="module")
def dated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    app = AppProcess(tmp_path_factory.mktemp("ui-timeline"), sources=(DATA / "dated",),
                     env={"NEWSDESK_COLLECTION": "ui-timeline", "NO_PROXY": "127.0.0.1,localhost"})
    try:
        app.start(timeout=START_TIMEOUT)
    except RuntimeError as e:
        pytest.fail(str(e))
    yield app
    app.stop()


def test_the_api_answers_a_timeline_and_whats_new_since_a_day(dated_server: AppProcess) -> None:
    with httpx.Client(base_url=dated_server.url, timeout=300, trust_env=False) as api:
        timeline = api.post("/api/ask", json={"question": TOPIC, "timeline": True})
        since = api.post("/api/ask", json={"question": TOPIC, "since_last": "2025-10-01"})
        plain = api.post("/api/ask", json={"question": TOPIC})
        assert timeline.status_code == since.status_code == plain.status_code == 200, timeline.text
        events = timeline.json()["timeline"]["events"]
        assert [e["date"] for e in events] == sorted(e["date"] for e in events)
        assert {"date": "2025-10-28", "date_source": "stated"}.items() <= next(
            e for e in events if e["text"].startswith("On October 28, 2025")).items()
        for c in timeline.json()["citations"]:
            text = api.get(f"/api/articles/{c['article_id']}").json()["text"]
            assert text[c["start"]:c["end"]] == c["quote"]
        assert since.json()["timeline"]["kind"] == "since"
        assert all(c["published"] > "2025-10-01" for c in since.json()["citations"])
        assert plain.json()["timeline"] is None


def test_the_cli_passes_timeline_to_a_server(dated_server: AppProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    run = subprocess.run([sys.executable, "-m", "app", "ask", "--server", dated_server.url, "--timeline", "--json",
                          TOPIC], cwd=ROOT, env=dict(env, NO_PROXY="127.0.0.1,localhost"), capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["timeline"]["kind"] == "timeline"


@pytest.mark.browser
def test_a_timeline_shows_as_a_dated_list_whose_markers_open_their_sources(browser: Any,  # noqa: F811
                                                                           dated_server: AppProcess) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    try:
        page.goto(dated_server.url)
        page.wait_for_selector("#nd-question textarea", timeout=30_000)
        section = _ask(page, f"Timeline of {TOPIC}")
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
