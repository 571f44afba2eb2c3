"""The chat UI in a real browser: `python -m app ui` on a loopback port, driven by Playwright + Chromium.

A missing browser skips these tests, unless NEWSDESK_REQUIRE_BROWSER=1 (CI) makes it a failure.
NEWSDESK_SCREENSHOTS=1 saves docs/screenshots/chat.png and library.png.
"""

from __future__ import annotations

import json
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
    workdir = tmp_path_factory.mktemp("ui")
    (workdir / "tmp").mkdir()  # the server's temporary folders (Gradio's file cache, the exports), to check
    app = AppProcess(workdir, sources=(SEED.parent,),
                     env={"NEWSDESK_COLLECTION": "ui-browser", "NO_PROXY": "127.0.0.1,localhost",
                          "TMPDIR": str(workdir / "tmp")})
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
    from playwright.sync_api import expect

    turns = page.locator("#nd-sources-box details.nd-turn").count()
    box = page.locator("#nd-question textarea")
    # The previous question's submit empties the box; typing before it has would be wiped (an answer can
    # arrive in 30 ms, before the box is cleared), and the app would then be asked an empty question.
    expect(box).to_have_value("", timeout=ANSWER_TIMEOUT)
    box.fill(question)
    expect(box).to_have_value(question)
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


def test_the_answer_downloads_as_markdown_csv_and_json(page: Any) -> None:
    from playwright.sync_api import expect

    exports = {fmt: page.locator(f"#nd-export-{fmt}") for fmt in ("markdown", "csv", "json")}
    for button in exports.values():
        expect(button).to_be_hidden()  # nothing to export before an answer
    section = _ask(page, "What did Korea agree to with Cambodia?")
    quote = section.locator(".nd-src mark").first.inner_text()
    files = {}
    for fmt, button in exports.items():
        expect(button).to_be_visible(timeout=30_000)
        expect(button).to_be_in_viewport()
        with page.expect_download() as download:
            button.click()
        files[fmt] = (download.value.suggested_filename, Path(download.value.path()).read_text(encoding="utf-8"))
    name, markdown = files["markdown"]
    assert name.endswith(".md") and markdown.startswith("**Q:** What did Korea agree to with Cambodia?")
    assert f"> {' '.join(quote.split())}" in markdown
    name, table = files["csv"]
    assert name.endswith(".csv") and table.startswith("n,title,outlet,published,quote") and SEED_TITLE in table
    name, data = files["json"]
    assert name.endswith(".json") and json.loads(data)["citations"][0]["title"] == SEED_TITLE
    page.click("#nd-clear")
    expect(exports["markdown"]).to_be_hidden()


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


# -- what the web page may and may not make the server do ------------------------------------------


def test_a_server_path_typed_into_the_url_or_feed_box_is_refused(page: Any, tmp_path: Path) -> None:
    """The Library's boxes take web addresses only: a server path is refused before it is opened, and its
    text never reaches the library or the reader."""
    from playwright.sync_api import expect

    secret = tmp_path / "editor" / "notes.txt"
    secret.parent.mkdir()
    secret.write_text("Private notes of the night editor\n\nThe informant inside the ministry is named here. This "
                      "must never be shown to anyone using the web page.", encoding="utf-8")
    _open_tab(page, "Library")
    page.fill("#nd-urls textarea", f"{secret}\nfile://{secret}")
    page.fill("#nd-feeds textarea", str(secret.parent))
    page.click("#nd-ingest")
    report = page.locator("#nd-report")
    expect(report.locator(".nd-summary")).to_contain_text("added 0, updated 0, unchanged 0, failed 3",
                                                          timeout=ANSWER_TIMEOUT)
    expect(report).to_contain_text("not a web address: only http(s) URLs can be entered here")
    expect(report).to_contain_text("only http and https URLs are supported")
    expect(page.locator("#nd-library")).not_to_contain_text("Private notes")
    page.locator("#nd-article input").click()
    expect(page.locator("[role=option]", has_text="Private notes")).to_have_count(0)


def test_uploads_with_korean_names_are_each_kept_under_their_own_names(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    busan, seoul = tmp_path / "부산항 기사.txt", tmp_path / "서울 예산.txt"
    busan.write_text("부산항 세관, 온라인 사기 조직의 화물 적발\n\n2025-10-28\n\n"
                     "부산항 세관은 해외 사기 조직이 보낸 화물에서 위조 여권 40개를 적발했다고 밝혔다. "
                     "세관은 경찰과 함께 수사를 이어가고 있다.", encoding="utf-8")
    seoul.write_text("서울시, 사기 피해자 지원 예산 증액\n\n2025-10-29\n\n"
                     "서울시는 온라인 사기 피해자를 돕기 위한 상담 예산을 두 배로 늘린다고 발표했다. "
                     "상담 센터는 다음 달부터 주말에도 문을 연다.", encoding="utf-8")
    _open_tab(page, "Library")
    page.set_input_files("#nd-upload input[type=file]", [str(busan), str(seoul)])
    upload = page.locator("#nd-upload")
    expect(upload).to_contain_text("부산항", timeout=30_000)
    expect(upload).not_to_contain_text("Uploading", timeout=30_000)
    page.click("#nd-ingest")
    summary = page.locator("#nd-report .nd-summary")
    expect(summary).to_contain_text("added 2, updated 0, unchanged 0, failed 0", timeout=ANSWER_TIMEOUT)
    library = page.locator("#nd-library")
    expect(library).to_contain_text("부산항 세관, 온라인 사기 조직의 화물 적발")
    expect(library).to_contain_text("서울시, 사기 피해자 지원 예산 증액")
    expect(library).to_contain_text("uploaded file 부산항 기사.txt")
    expect(library).not_to_contain_text("uploads/")

    page.set_input_files("#nd-upload input[type=file]", [str(busan), str(seoul)])  # the same files again
    expect(upload).not_to_contain_text("Uploading", timeout=30_000)
    page.click("#nd-ingest")
    expect(summary).to_contain_text("added 0, updated 0, unchanged 2, failed 0", timeout=ANSWER_TIMEOUT)


def test_sources_panel_scrolls_and_the_question_box_is_in_view(browser: Any, server: AppProcess) -> None:
    """At 1366x900 after five answers every source card and timing line can be scrolled to; at 1280x720
    the question box is above the fold; screen readers get each answer's text, not its HTML."""
    from playwright.sync_api import expect

    small = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    small.goto(server.url)
    small.wait_for_selector("#nd-question textarea", timeout=30_000)
    expect(small.locator("#nd-question textarea")).to_be_in_viewport(ratio=1.0)
    small.context.close()

    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(server.url)
    page.wait_for_selector("#nd-question textarea", timeout=30_000)
    questions = ("What did Korea agree to with Cambodia?", "Who leads Cambodia's committee against cyber fraud?",
                 "What did Ambassador Park thank Cambodia for?", "What did Japan and Cambodia agree to set up?",
                 "What will South Korea do with the citizens Cambodia repatriated?")
    for question in questions:  # short answers: enough of them to fill the panel
        _ask(page, question)
    box = page.locator("#nd-sources-box")
    # Unfold the older answers' sources (all but the first, opened below by a click) so the panel overflows.
    box.evaluate("e => e.querySelectorAll('details.nd-turn:not(#turn-0)').forEach(d => { d.open = true; })")
    sizes = box.evaluate("e => [e.scrollHeight, e.clientHeight, getComputedStyle(e).overflowY]")
    assert sizes[0] > sizes[1] and sizes[2] == "auto", sizes
    assert box.evaluate("e => e.getBoundingClientRect().bottom") <= 900
    box.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    expect(box.locator(".nd-turn").last.locator("summary")).to_be_in_viewport()
    page.locator("#turn-0 summary").click()  # the first answer's sources, folded at the bottom
    box.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    expect(page.locator("#turn-0 .nd-footer")).to_be_in_viewport()
    labels = page.locator("#nd-chat [aria-label*=\"'s message: \"]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('aria-label'))")
    assert len(labels) == 2 * len(questions) and not any("<" in label for label in labels), labels
    assert any("Both sides [Cambodia and South Korea] agreed" in label and "[1]" in label for label in labels)


def test_clearing_the_search_while_a_delete_runs_shows_the_whole_library(page: Any, tmp_path: Path) -> None:
    """The delete's refresh and the search typed meanwhile are drawn in order: no "Error", no stale list."""
    from playwright.sync_api import expect

    title = "Myanmar junta raids a casino town on the Thai border"
    article = tmp_path / "casino-town.txt"
    article.write_text(f"{title}\n\n2025-10-05\n\nMyanmar soldiers raided a casino town on the Thai border on "
                       "Sunday and detained 300 foreign workers, state media reported.", encoding="utf-8")
    assert _ingest_file(page, article).startswith("added 1")
    library = page.locator("#nd-library")
    search = "#nd-library-search textarea, #nd-library-search input"
    page.fill(search, "casino town")
    expect(library).to_contain_text("1 of")
    page.locator("#nd-article input").click()
    page.locator("[role=option]", has_text="Myanmar junta raids").first.click()
    page.click("#nd-delete")
    page.click("#nd-confirm-delete")
    page.fill(search, "")  # at once, while the delete and its refresh are still on their way
    expect(page.locator("#nd-report")).to_contain_text(f"Deleted \u201c{title}\u201d", timeout=ANSWER_TIMEOUT)
    expect(library).to_contain_text(SEED_TITLE)
    expect(library).not_to_contain_text(title)
    expect(library).not_to_contain_text(" of ")
    page.wait_for_timeout(1500)  # anything still queued has drawn by now
    expect(library).to_contain_text(SEED_TITLE)
    assert page.locator("#nd-library .error, #nd-article .error").count() == 0
    assert "Error" not in library.inner_text()


def test_a_crafted_request_cannot_pass_a_server_file_as_an_upload(page: Any, server: AppProcess,
                                                                   tmp_path: Path) -> None:
    """The page's own protocol, spoken by an attacker: the ingest event (private, yet callable the way the
    page calls it) given a server path as if it were an uploaded file. Gradio refuses paths outside its
    upload folder, and the gate refuses them again."""
    import httpx
    from playwright.sync_api import expect

    secret = tmp_path / "payroll.txt"
    secret.write_text("Payroll of the newsroom\n\nThe salaries of every reporter are listed in this file, which "
                      "is not an article.", encoding="utf-8")
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
        config = client.get("/config").json()
        ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
        [dep] = [d for d in config["dependencies"] if "nd-upload" in [ids.get(i) for i in d["inputs"]]]
        data = [[{"path": str(secret), "orig_name": "payroll.txt", "meta": {"_type": "gradio.FileData"}}], "", ""]
        joined = client.post("/gradio_api/queue/join", json={
            "data": data, "fn_index": dep["id"], "session_hash": "crafted-1", "event_data": None,
            "trigger_id": dep["targets"][0][0]})
        assert joined.status_code == 200
        outcome = None
        with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": "crafted-1"}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and '"process_completed"' in line:
                    outcome = json.loads(line.removeprefix("data:"))
                    break
        # Gradio's file route serves only what Gradio put in its cache: not the store, the code, the system.
        for path in ("/etc/passwd", ROOT / "README.md", server.store_dir / "chroma.sqlite3", secret):
            assert client.get(f"/gradio_api/file={path}").status_code == 403, path
    assert outcome is not None and outcome["success"] is False
    _open_tab(page, "Library")
    expect(page.locator("#nd-library")).to_contain_text(SEED_TITLE)
    expect(page.locator("#nd-library")).not_to_contain_text("Payroll of the newsroom")


def test_stopping_the_server_deletes_every_uploaded_and_exported_file(page: Any, server: AppProcess,
                                                                       tmp_path: Path) -> None:
    """Last in this module (it stops the module's server). An upload and an answer's downloads leave copies in
    the server's temporary folders; they age out (`NEWSDESK_UI_FILES_HOURS`) and are all deleted on stop."""
    from playwright.sync_api import expect

    _ask(page, "What did Korea agree to with Cambodia?")
    button = page.locator("#nd-export-json")
    expect(button).to_be_visible(timeout=30_000)
    with page.expect_download():
        button.click()
    upload = tmp_path / "laos-hotline-cleanup.txt"
    upload.write_text(UPLOADED.replace("hotline number is 1919", "hotline number is 1920"), encoding="utf-8")
    assert "failed 0" in _ingest_file(page, upload)
    temp = server.workdir / "tmp"

    def kept() -> list[Path]:
        return [p for p in temp.rglob("*") if p.is_file() and (p.name.startswith("newsdesk-answer-")
                                                              or "gradio" in p.relative_to(temp).parts)]

    assert any(p.name == upload.name for p in kept())  # Gradio's copy of the upload
    assert any(p.parent.name.startswith("newsdesk-exports-") for p in kept())  # the exported answer
    server.stop()
    assert server.proc is not None and server.proc.returncode == 0, server.tail()
    # Gradio 6.31 leaves one empty placeholder file behind per file it hands an event (`File.preprocess`,
    # `DownloadButton.preprocess`); nothing of an article or an answer stays.
    assert [p for p in kept() if p.stat().st_size > 0] == [] and not list(temp.glob("newsdesk-exports-*"))
