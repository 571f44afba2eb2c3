"""The chat UI in a real browser: `python -m app ui` on a loopback port, driven by Playwright + Chromium.

A missing browser skips these tests, unless NEWSDESK_REQUIRE_BROWSER=1 (CI) makes it a failure.
NEWSDESK_SCREENSHOTS=1 saves docs/screenshots/chat.png and library.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.load import AppProcess
from tests.conftest import ROOT, SEED, SEED_TITLE

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "docs" / "screenshots"
START_TIMEOUT = 240
ANSWER_TIMEOUT = 60_000

UPLOADED_TITLE = "Laos opens a hotline for foreigners trapped in Golden Triangle scam compounds"
UPLOADED = "\n\n".join([
    UPLOADED_TITLE,
    "2025-11-20",
    "Vientiane Test Times (www.vientiane-times.test) \u2013 The Lao Ministry of Public Security opened a free "
    "telephone hotline on Wednesday for foreign workers trapped in scam compounds in the Golden Triangle Special "
    "Economic Zone.",
    "The hotline number is 1919 and it is answered around the clock in Lao, English, Chinese and Vietnamese. "
    "Callers can report confiscated passports, forced labour and threats of violence.",
    "Officials said that calls to the hotline would be passed to a police task force in Bokeo province within one "
    "hour. The ministry said 240 foreigners had already been rescued from the zone this year.",
])

SCRIPT, IMG = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
HOSTILE_TITLE = f"Scam gang posts {SCRIPT} fake job adverts {IMG}"
HOSTILE = "\n\n".join([
    HOSTILE_TITLE,
    "2025-10-02",
    "Test Security Wire (www.securitywire.test) \u2013 Investigators found that a scam gang recruiting in Myanmar "
    "posted fake job adverts on social media.",
    f"The fake job adverts contained the markup {SCRIPT} and {IMG} hidden in their descriptions.",
    "Recruiters promised salaries of 2,000 dollars a month for customer service work, but the workers were taken "
    "across the border to scam compounds.",
])


def _chromium() -> str:
    """The browser binary, or a skip (a failure when NEWSDESK_REQUIRE_BROWSER=1)."""
    path = os.environ.get("NEWSDESK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright Python package is not installed (pip install -r requirements.txt)"
    if problem is None and not (Path(path).is_file() and os.access(path, os.X_OK)):
        problem = f"no Chromium at {path} (apt-get install -y chromium, or set NEWSDESK_CHROMIUM)"
    if problem:
        if os.environ.get("NEWSDESK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required (NEWSDESK_REQUIRE_BROWSER=1) but {problem}")
        pytest.skip(problem)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """`python -m app ui` in a subprocess, seeding its own temporary store from the sample article."""
    app = AppProcess(tmp_path_factory.mktemp("ui"), sources=(SEED.parent,),
                     env={"NEWSDESK_COLLECTION": "ui-browser", "NO_PROXY": "127.0.0.1,localhost"})
    try:
        app.start(timeout=START_TIMEOUT)
    except RuntimeError as e:
        pytest.fail(str(e))
    yield app
    app.stop()


@pytest.fixture
def dialogs() -> list[str]:
    """Messages of every alert/confirm/prompt the page opened (there must be none)."""
    return []


@pytest.fixture
def page(browser: Any, server: AppProcess, dialogs: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(server.url)
    page.wait_for_selector("#nd-question textarea", timeout=30_000)
    yield page
    context.close()


def _ask(page: Any, question: str) -> Any:
    """Ask in the chat and wait for the complete answer; returns its sources-panel section."""
    turns = page.locator("#nd-sources-box details.nd-turn").count()
    page.fill("#nd-question textarea", question)
    page.click("#nd-send")
    section = page.locator(f"#nd-sources-box #turn-{turns}")
    section.wait_for(timeout=ANSWER_TIMEOUT)
    return section


def _open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _ingest_file(page: Any, path: Path) -> str:
    from playwright.sync_api import expect

    _open_tab(page, "Library")
    page.set_input_files("#nd-upload input[type=file]", str(path))
    upload = page.locator("#nd-upload")
    # Uploaded, the file shows as its stem and extension in separate cells, with its size.
    expect(upload).to_contain_text(path.stem, timeout=30_000)
    expect(upload).not_to_contain_text("Uploading", timeout=30_000)
    page.click("#nd-ingest")
    report = page.locator("#nd-report .nd-summary")
    report.wait_for(timeout=ANSWER_TIMEOUT)
    return report.inner_text()


def _screenshot(page: Any, name: str) -> None:
    if os.environ.get("NEWSDESK_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("for (const e of document.querySelectorAll('*')) if (e.scrollTop) e.scrollTop = 0")
        page.evaluate("window.scrollTo(0, 0)")
        page.mouse.move(0, 0)
        page.wait_for_timeout(600)  # scrolling and closing menus settle
        page.screenshot(path=str(SCREENSHOTS / name))


def test_sample_question_gets_cited_answer_with_highlighted_source(page: Any) -> None:
    from playwright.sync_api import expect

    section = _ask(page, "What did Korea agree to with Cambodia?")
    expect(page.locator("#nd-question textarea")).to_have_value("")  # taken, ready for the next question
    answer = page.locator("#nd-chat .message-content").last
    expect(answer).to_contain_text("[1]")
    expect(section).to_contain_text(SEED_TITLE)
    marks = section.locator(".nd-src mark")
    assert marks.count() >= 1
    seed_text = " ".join(SEED.read_text(encoding="utf-8").split())
    for quote in marks.all_inner_texts():
        assert " ".join(quote.split()) in seed_text

    markers = answer.locator("a.nd-cite")
    last = markers.count()
    assert last >= 1
    page.evaluate("window.scrollTo(0, 0)")
    markers.nth(last - 1).click()
    expect(page.locator(f"#src-0-{last}")).to_be_in_viewport()
    _screenshot(page, "chat.png")


def test_example_question_is_asked_and_a_follow_up_keeps_both_answers(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator(".nd-example", has_text="Who leads Cambodia's committee").click()
    first = page.locator("#nd-sources-box #turn-0")
    first.wait_for(timeout=ANSWER_TIMEOUT)
    expect(first).to_contain_text(SEED_TITLE)
    expect(page.locator("#nd-question textarea")).to_have_value("")
    second = _ask(page, "What did Korea agree to with Cambodia?")
    expect(second).to_contain_text(SEED_TITLE)
    expect(page.locator("#nd-chat .message-content")).to_have_count(4)
    expect(page.locator("#nd-sources-box details.nd-turn")).to_have_count(2)


def test_uploaded_article_is_answerable_at_once(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    article = tmp_path / "laos hotline (draft).txt"
    article.write_text(UPLOADED, encoding="utf-8")
    summary = _ingest_file(page, article)
    assert summary.startswith("added 1, updated 0, unchanged 0, failed 0"), summary
    expect(page.locator("#nd-library")).to_contain_text(UPLOADED_TITLE)

    _open_tab(page, "Chat")
    section = _ask(page, "What is the number of the hotline Laos opened for foreigners in scam compounds?")
    expect(page.locator("#nd-chat .message-content").last).to_contain_text("1919")
    expect(section.locator(".nd-src").first).to_contain_text(UPLOADED_TITLE)
    expect(section.locator("mark").first).to_be_visible()

    _open_tab(page, "Library")
    page.locator("#nd-article input").click()
    page.locator("[role=option]", has_text="Laos opens a hotline").first.click()
    expect(page.locator("#nd-preview")).to_contain_text("The hotline number is 1919")
    _screenshot(page, "library.png")


def test_hostile_article_shows_as_text_and_runs_nothing(page: Any, dialogs: list[str], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    article = tmp_path / "hostile.txt"
    article.write_text(HOSTILE, encoding="utf-8")
    summary = _ingest_file(page, article)
    assert "failed 0" in summary, summary
    expect(page.locator("#nd-library")).to_contain_text(HOSTILE_TITLE)
    page.locator("#nd-article input").click()
    page.locator("[role=option]", has_text="Scam gang posts").first.click()
    expect(page.locator("#nd-preview")).to_contain_text(f"contained the markup {SCRIPT} and {IMG} hidden")

    _open_tab(page, "Chat")
    section = _ask(page, "Which markup was hidden in the descriptions of the fake job adverts?")
    expect(section).to_contain_text(HOSTILE_TITLE)
    expect(section.locator("mark", has_text="hidden in their descriptions").first).to_contain_text(
        f"{SCRIPT} and {IMG}")
    expect(page.locator("#nd-chat .message-content").last).to_contain_text(IMG)
    page.wait_for_timeout(1000)  # give a stray onerror handler time to fire
    assert dialogs == []
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('alert(1)'))") is False


def test_abstention_and_bad_dates_are_explained(page: Any) -> None:
    from playwright.sync_api import expect

    section = _ask(page, "What is the capital of Peru?")
    expect(page.locator("#nd-chat .nd-abstain-badge").last).to_have_text("Not answered by the articles")
    expect(section).to_contain_text("Closest passages")

    page.get_by_text("Search options").click()
    page.fill("#nd-since textarea, #nd-since input", "2025-13-01")
    page.fill("#nd-question textarea", "What did Korea agree to with Cambodia?")
    page.click("#nd-send")
    expect(page.get_by_text("is not a date").first).to_be_visible(timeout=20_000)
    expect(page.locator("#nd-question textarea")).to_have_value("What did Korea agree to with Cambodia?")


def test_deleted_article_leaves_library_and_answers(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    title = "Thai police close a call centre run from a riverside hotel in Mae Sot"
    article = tmp_path / "mae-sot.txt"
    article.write_text("\n\n".join([
        title, "2025-09-30",
        "Border Test Daily (www.borderdaily.test) \u2013 Thai police closed a call centre operating from a riverside "
        "hotel in Mae Sot and arrested 14 people, officers said on Tuesday.",
        "The call centre staff had phoned victims in Japan while posing as bank inspectors.",
    ]), encoding="utf-8")
    assert _ingest_file(page, article).startswith("added 1")
    library = page.locator("#nd-library")
    expect(library).to_contain_text(title)

    page.fill("#nd-library-search textarea, #nd-library-search input", "mae sot")
    expect(library).to_contain_text("1 of")
    page.locator("#nd-article input").click()
    page.locator("[role=option]", has_text="Thai police close a call centre").first.click()
    page.click("#nd-delete")
    page.click("#nd-confirm-delete")
    expect(page.locator("#nd-report")).to_contain_text(f"Deleted \u201c{title}\u201d")
    page.fill("#nd-library-search textarea, #nd-library-search input", "")
    expect(library).not_to_contain_text(title)
    expect(library).to_contain_text(SEED_TITLE)

    _open_tab(page, "Chat")
    section = _ask(page, "Which call centre did Thai police close in a riverside hotel in Mae Sot?")
    expect(section).not_to_contain_text(title)
