"""The UI's HTML: everything from articles and users escaped, only http(s) links, exact highlights."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import ui_render as render
from app.assistant import MAX_QUESTION_CHARS
from app.ui_handlers import InputError, NewsdeskUI, outlet_choices, parse_filters
from core.records import ArticleInfo, Citation
from core.settings import Settings
from tests.conftest import ROOT

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"Fraud {SCRIPT} ring {IMG} & more"

ARTICLE = (
    "Title line\n\n"
    "  First paragraph opens here. Police said the ring moved 5 <million> & more abroad. It ends here.\n\n"
    "Second paragraph only. The last sentence of the article."
)


class Tags(HTMLParser):
    """Every start tag with its attributes, to check what a browser would create."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    @property
    def hrefs(self) -> list[str | None]:
        return [a.get("href") for t, a in self.tags if t == "a"]

    @property
    def plain(self) -> str:
        return "".join(self.text)


def _no_active_markup(html: str) -> Tags:
    tags = Tags(html)
    assert not tags.names & {"script", "img", "iframe", "object", "embed", "svg", "style"}, tags.names
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs), tags.tags
    return tags


def _citation(n: int = 1, *, start: int, end: int, text: str = ARTICLE, **kw: object) -> Citation:
    fields = {"article_id": "https://news.example/a", "title": "A title", "url": "https://news.example/a",
              "source": "Example News (www.news.example)", "published": date(2025, 11, 4)}
    fields.update(kw)
    return Citation(n=n, quote=text[start:end], start=start, end=end, **fields)  # type: ignore[arg-type]


def _span(sentence: str, text: str = ARTICLE) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def _marked(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", html, re.S)]


# -- escaping ----------------------------------------------------------------------------------


def test_source_card_escapes_title_outlet_and_text():
    text = f"Intro.\n\nThe advert read {SCRIPT} and {IMG} in full. Then more."
    start, end = _span(f"The advert read {SCRIPT} and {IMG} in full.", text)
    c = _citation(start=start, end=end, text=text, title=HOSTILE, source=f"Outlet {IMG}")
    html = render.source_card(c, 0, text)
    tags = _no_active_markup(html)
    assert SCRIPT in tags.plain and IMG in tags.plain and HOSTILE in tags.plain
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert _marked(html) == [text[start:end]]


def test_chat_messages_escape_questions_and_answers():
    answer = render.answer_html(f"It said {SCRIPT} {IMG}. [1]", 2, [_citation(start=0, end=5, title=HOSTILE)])
    tags = _no_active_markup(answer)
    assert f"It said {SCRIPT} {IMG}." in tags.plain
    question = render.user_message_html(f"why {IMG}?")
    assert Tags(question).tags == [] and unescape(question) == f"why {IMG}?"
    assert "&lt;" in render.error_html(SCRIPT)


def test_library_preview_report_and_panel_escape_everything():
    info = ArticleInfo(id=f"file:///tmp/{IMG}.txt", title=HOSTILE, url="javascript:alert(1)", source=IMG,
                       published=None, content_hash="h", chunks=2)
    for html in (
        render.library_table([info]),
        render.library_table([info], query="fraud"),
        render.article_preview(info, f"Para {SCRIPT}\n\nPara {IMG}"),
        render.ingest_result(render.IngestSummary("added 0, updated 0, unchanged 0, failed 1",
                                                  [{"source": IMG, "error": f"bad {SCRIPT}"}], ok=False)),
        render.sources_panel([render.SourcesEntry(0, f"What about {SCRIPT}?", "<p>body</p>")]),
    ):
        _no_active_markup(html)
        assert Tags(html).hrefs == [] or all(h and h.startswith(("http", "#")) for h in Tags(html).hrefs)
    assert "/tmp" not in render.library_table([info])  # server folders are not shown
    # A dropdown label is text, which Gradio shows as text (the browser test opens it).
    assert render.article_choice(info).startswith(HOSTILE[:30])


# -- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)", "java\tscript:alert(1)",
    "java\nscript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "//evil.example/x",
    "/relative/path", "http://", "https://", "file:///etc/passwd", 'https://x.example/"onmouseover="alert(1)',
    "https://x.example/<script>", "", None,
])
def test_only_http_links_are_emitted(url):
    assert render.safe_url(url) is None
    c = _citation(start=0, end=5, url=url or "")
    assert Tags(render.source_card(c, 0, ARTICLE)).hrefs == []
    assert Tags(render.link(url, "label")).hrefs == []


def test_http_links_open_safely():
    assert render.safe_url(" https://news.example/a?b=1&c=2 ") == "https://news.example/a?b=1&c=2"
    tags = Tags(render.link("https://news.example/a?b=1&c=2", "x"))
    (_, attrs), = tags.tags
    assert attrs["href"] == "https://news.example/a?b=1&c=2"
    assert attrs["target"] == "_blank" and "noopener" in (attrs["rel"] or "")
    card = render.source_card(_citation(start=0, end=5), 0, ARTICLE)
    assert "https://news.example/a" in Tags(card).hrefs


# -- highlights --------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", [
    "First paragraph opens here.",
    "Police said the ring moved 5 <million> & more abroad.",
    "It ends here.",
    "Second paragraph only.",
    "The last sentence of the article.",
    "Title line",
])
def test_highlight_is_exact_and_inside_its_paragraph(sentence):
    start, end = _span(sentence)
    html = render.highlighted_paragraph(ARTICLE, start, end)
    assert _marked(html) == [sentence]
    shown = unescape(re.sub(r"</?mark>", "", html))
    paragraph = next(p.strip() for p in ARTICLE.split("\n\n") if sentence in p)
    assert shown == paragraph


def test_cited_passage_follows_a_moved_quote_and_flags_a_missing_one():
    start, end = _span("It ends here.")
    moved = "New lead paragraph.\n\n" + ARTICLE
    assert _marked(render.cited_passage(_citation(start=start, end=end), moved)) == ["It ends here."]
    gone = render.cited_passage(_citation(start=start, end=end), "Completely rewritten.")
    assert _marked(gone) == ["It ends here."] and "changed" in gone
    deleted = render.cited_passage(_citation(start=start, end=end), None)
    assert "deleted" in deleted


def test_long_paragraphs_are_cut_around_the_highlight():
    words = " ".join(f"word{i}" for i in range(600))
    text = f"{words}. The cited sentence. {words}."
    start, end = _span("The cited sentence.", text)
    html = render.highlighted_paragraph(text, start, end)
    assert _marked(html) == ["The cited sentence."]
    assert len(unescape(html)) < render.MAX_PARAGRAPH_CHARS + 100 and html.count("\u2026") == 2


# -- answers and panel -------------------------------------------------------------------------


def test_markers_link_to_their_sources_and_unknown_numbers_stay_text():
    cites = [_citation(1, start=0, end=5), _citation(2, start=0, end=5)]
    html = render.answer_html("One. [1] Two. [2] Not a citation [7].", 3, cites)
    assert Tags(html).hrefs == ["#src-3-1", "#src-3-2"]
    assert "[7]" in Tags(html).plain
    body = render.sources_body(cites, 3, lambda _id: ARTICLE, abstained=False)
    ids = [a.get("id") for t, a in Tags(body).tags if t == "article"]
    assert ids == ["src-3-1", "src-3-2"]


def test_abstention_and_empty_store_read_as_such():
    note = render.answer_html("The ingested articles do not say.", 0, [], abstained=True)
    assert "Not answered by the articles" in Tags(note).plain
    body = render.sources_body([_citation(start=0, end=5)], 0, lambda _id: ARTICLE, abstained=True)
    assert "do not answer this" in Tags(body).plain
    assert "Library" in Tags(render.sources_body([], 0, lambda _id: None, abstained=True, empty_store=True)).plain
    assert "Library" in Tags(render.chat_placeholder(0)).plain


def test_after_a_refusal_the_closest_passages_are_not_styled_as_evidence():
    evidence = Tags(render.sources_body([_citation(start=0, end=5)], 0, lambda _id: ARTICLE, abstained=False))
    closest = Tags(render.sources_body([_citation(start=0, end=5)], 0, lambda _id: ARTICLE, abstained=True))
    classes = lambda tags: [a.get("class") for t, a in tags.tags if t == "article"]  # noqa: E731
    assert classes(evidence) == ["nd-src"] and classes(closest) == ["nd-src nd-closest"]
    css = (ROOT / "app" / "static" / "newsdesk.css").read_text()
    assert ".nd-closest .nd-para mark { background: transparent" in css


def test_the_short_answer_is_bold_in_the_answer_and_in_its_sentence():
    from core.records import Referent, ShortAnswer

    start, end = _span("It ends here.")
    c = _citation(1, start=start, end=end)
    short = ShortAnswer(1, c.article_id, "ends", start + 3, start + 7, "action")
    html = render.answer_html("**ends** [1]\n\nIt [the story] ends here. [1]", 0, [c],
                              referents=[Referent(1, 2, "the story")])
    assert '<strong class="nd-short">ends</strong>' in html
    assert '<span class="nd-added"' in html and "[the story]</span>" in html
    card = render.source_card(c, 0, ARTICLE, short=short)
    assert '<mark>It <strong class="nd-short">ends</strong> here.</mark>' in card


def test_what_the_short_answer_reads_as_is_shown_as_an_addition():
    from core.records import ShortAnswer

    start, end = _span("Police said the ring moved 5 <million> & more abroad.")
    c = _citation(1, start=start, end=end)
    short = ShortAnswer(1, c.article_id, "Police", start, start + 6, "organisation", "the police")
    html = render.answer_html("**Police** [the police] [1]\n\nPolice said it. [1]", 0, [c], short=short)
    assert '<strong class="nd-short">Police</strong> <span class="nd-added"' in html and "[the police]</span>" in html
    # Without the addition recorded, a bracket after the short answer is left as the text says it.
    assert "nd-added" not in render.answer_html("**Police** [the police] [1]", 0, [c])


def test_sources_panel_opens_the_newest_answer():
    entries = [render.SourcesEntry(0, "first?", "<p>a</p>"), render.SourcesEntry(1, "second?", "<p>b</p>")]
    tags = Tags(render.sources_panel(entries))
    details = [a for t, a in tags.tags if t == "details"]
    assert [d["id"] for d in details] == ["turn-1", "turn-0"]
    assert "open" in details[0] and "open" not in details[1]


# -- inputs ------------------------------------------------------------------------------------


def test_dates_are_validated_with_readable_errors():
    f = parse_filters(" 2025-11-01 ", "", ["dnyxxg.com"])
    assert f.since == date(2025, 11, 1) and f.until is None and f.hosts == ("dnyxxg.com",)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        parse_filters("2025-13-01", "", [])
    with pytest.raises(InputError, match="after"):
        parse_filters("2025-11-05", "2025-11-01", [])


def test_outlets_are_listed_once_by_host():
    infos = [ArticleInfo(id=str(i), title="t", url="", source=s, published=None, content_hash="h", chunks=1)
             for i, s in enumerate(["Example News (www.news.example)", "Example News (news.example)", "Other"])]
    assert outlet_choices(infos) == [("Example News (www.news.example)", "news.example"), ("Other", "other")]


def test_uploads_are_read_where_gradio_keeps_them_under_the_users_names(tmp_path: Path):
    from app.library import same_name_notes
    from app.ui_handlers import gradio_upload_folder, uploads_of
    from ingest.gate import load_untrusted

    assert gradio_upload_folder().is_absolute()  # Gradio's own function, still there (gradio.utils)
    folder = tmp_path / "gradio"
    (folder / "a1").mkdir(parents=True)
    (folder / "b2").mkdir()
    one, two = folder / "a1" / "부산항 기사.txt", folder / "b2" / "부산항 기사.txt"
    one.write_text("Busan raid\n\nCustoms officers in Busan seized 40 fake passports on Monday.", encoding="utf-8")
    two.write_text("Busan raid\n\nCustoms officers in Busan seized 41 fake passports on Monday.", encoding="utf-8")
    outside = tmp_path / "server-notes.txt"
    outside.write_text("Notes\n\nThis file was never uploaded by anyone.", encoding="utf-8")
    uploads = uploads_of([str(one), str(two), str(outside)])
    assert [u.name for u in uploads] == ["부산항 기사.txt", "부산항 기사.txt", "server-notes.txt"]
    loaded = list(load_untrusted(Settings(_env_file=None), uploads=uploads, upload_folder=folder))
    assert [item.error for item in loaded[:2]] == [None, None]
    assert loaded[0].article and loaded[1].article and loaded[0].article.id != loaded[1].article.id
    assert loaded[2].error == "not an uploaded file: only files uploaded through the page can be ingested"
    infos = [ArticleInfo(id=item.article.id, title="Busan raid", url="", source="", published=None,
                         content_hash="h", chunks=1, origin=item.article.origin) for item in loaded[:2] if item.article]
    [note] = same_name_notes(uploads, infos)
    assert note.startswith("2 articles were uploaded as \u201c부산항 기사.txt\u201d.")


def test_importing_the_ui_does_not_import_gradio():
    code = "import sys, app.ui, app.ui_handlers, app.serve, app.ui_render; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the chat handler, with a scripted assistant -----------------------------------------------


class ScriptedStore:
    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def article_text(self, article_id: str) -> str | None:
        return self.texts.get(article_id)


class ScriptedAssistant:
    """Streams a fixed answer (or raises), recording the history and filters it was given."""

    def __init__(self, answer: object = None, error: Exception | None = None) -> None:
        self.answerer = SimpleNamespace(name="extractive")
        self.store = ScriptedStore({"https://news.example/a": ARTICLE})
        self.answer, self.error, self.calls = answer, error, []

    def stream(self, question, *, history=(), filters=None, k=None, as_of=None):
        self.calls.append((question, list(history), filters, k))
        if self.error:
            yield "Half an answer "
            raise self.error
        yield from ("Police said the ring moved money. [1]",)
        yield self.answer


def _respond(ui: NewsdeskUI, question: str, session=None, since: str = "") -> list[tuple]:
    return list(ui.respond(question, session, since, "", "", [], 5, "extractive"))


def test_respond_streams_then_renders_answer_and_sources(tmp_path: Path):
    from core.records import Answer

    start, end = _span("Police said the ring moved 5 <million> & more abroad.")
    answer = Answer(question="q", text="Police said the ring moved money. [1]",
                    citations=[_citation(start=start, end=end)], standalone_question="q", timings={"total": 0.2})
    assistant = ScriptedAssistant(answer)
    ui = NewsdeskUI(assistant, Settings(store_dir=tmp_path, collection="ui-test", _env_file=None))  # type: ignore[arg-type]
    steps = _respond(ui, "What did police say?")
    first_messages, first_panel, _ = steps[0]
    assert first_messages[-1]["role"] == "assistant" and "Searching" in first_messages[-1]["content"]
    assert first_panel == render.sources_panel([])  # the panel stays as it was until the answer is in
    assert all(isinstance(panel, str) and isinstance(chat, list) for chat, panel, _ in steps)  # never skipped
    messages, panel, session = steps[-1]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert Tags(messages[-1]["content"]).hrefs == ["#src-0-1"]
    assert _marked(panel) == ["Police said the ring moved 5 <million> & more abroad."]
    assert "200 ms" in panel
    _respond(ui, "And then?", session)
    assert [t.question for t in assistant.calls[1][1]] == ["What did police say?"]
    assert assistant.calls[1][3] == 5


def test_a_long_chat_keeps_its_latest_answers_with_unique_anchors(tmp_path: Path):
    from app.ui_handlers import MAX_KEPT_ANSWERS
    from core.records import Answer

    start, end = _span("Police said the ring moved 5 <million> & more abroad.")
    answer = Answer(question="q", text="Police said the ring moved money. [1]",
                    citations=[_citation(start=start, end=end)], standalone_question="q", timings={"total": 0.2})
    ui = NewsdeskUI(ScriptedAssistant(answer), Settings(store_dir=tmp_path, collection="ui-test", _env_file=None))  # type: ignore[arg-type]
    session = None
    for i in range(MAX_KEPT_ANSWERS + 3):
        messages, panel, session = _respond(ui, f"Question {i}?", session)[-1]
    assert len(messages) == 2 * MAX_KEPT_ANSWERS and len(session.entries) == len(session.turns) == MAX_KEPT_ANSWERS
    assert "Question 3?" in messages[0]["content"] and f"Question {MAX_KEPT_ANSWERS + 2}?" in messages[-2]["content"]
    # the newest answer links to its own card, under a number no earlier answer used
    newest = MAX_KEPT_ANSWERS + 2
    assert Tags(messages[-1]["content"]).hrefs == [f"#src-{newest}-1"]
    assert f'id="src-{newest}-1"' in panel and 'id="turn-2"' not in panel and 'id="turn-3"' in panel
    assert "3 earlier answers are no longer kept" in panel
    # the memory a session holds stops growing: one more answer replaces the oldest
    size = len(panel) + sum(len(m["content"]) for m in messages)
    messages, panel, session = _respond(ui, "One more?", session)[-1]
    assert abs(len(panel) + sum(len(m["content"]) for m in messages) - size) < 100


def test_the_question_box_empties_only_when_the_question_is_asked(tmp_path: Path):
    ui = NewsdeskUI(ScriptedAssistant(), Settings(store_dir=tmp_path, collection="ui-test", _env_file=None))  # type: ignore[arg-type]
    assert ui.take_question("What did police say?", "", "", "") == ""
    # refused questions stay in the box to be corrected
    assert ui.take_question("   ", "", "", "") == "   "
    assert ui.take_question("What did police say?", "04/11/2025", "", "") == "What did police say?"
    assert ui.take_question("What did police say?", "2025-12-01", "2025-01-01", "") == "What did police say?"
    assert ui.take_question("x" * (MAX_QUESTION_CHARS + 1), "", "", "") == "x" * (MAX_QUESTION_CHARS + 1)


def test_respond_turns_failures_into_words(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    settings = Settings(store_dir=tmp_path, collection="ui-test", _env_file=None)
    ui = NewsdeskUI(ScriptedAssistant(error=RuntimeError("boom at line 3")), settings)  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="unexpected error"):
        messages, _, session = _respond(ui, "What did police say?")[-1]
    assert "Could not answer" in messages[-1]["content"] and "boom" not in messages[-1]["content"]
    assert "boom at line 3" in caplog.text  # the traceback goes to the log, not the page
    assert session.turns == []


def test_respond_refuses_bad_input_without_touching_the_chat(tmp_path: Path):
    settings = Settings(store_dir=tmp_path, collection="ui-test", _env_file=None)
    assistant = ScriptedAssistant()
    ui = NewsdeskUI(assistant, settings)  # type: ignore[arg-type]
    for question, since, why in (("   ", "", "empty"), ("Fine?", "04/11/2025", "YYYY-MM-DD")):
        with pytest.warns(UserWarning, match=why):
            steps = _respond(ui, question, since=since)
        assert steps == [([], render.sources_panel([]), {"__type__": "update"})]  # the chat is unchanged
    assert assistant.calls == []
    checks = ui.validate("", None, "2025-02-30", "", "4 Nov", [], 5, "extractive")
    assert [c["is_valid"] for c in checks if c] == [False, False, True, False]
    assert "as-of date" in checks[4]["message"]


def test_example_questions_come_from_the_file_beside_the_articles_else_from_the_store(tmp_path: Path):
    from app.ui import EXAMPLES_FILE, example_questions

    settings = Settings(articles_dir=tmp_path, _env_file=None)
    info = [ArticleInfo(id=f"a{i}", title=title, url="", source="", published=None, content_hash="h", chunks=1)
            for i, title in enumerate(["Thai police close a call centre run from a riverside hotel in Mae Sot.",
                                       "Laos opens a hotline", "", "Interpol warns of pig butchering"])]
    assert example_questions(settings, []) == []  # an empty store shows no examples
    assert example_questions(settings, info) == [
        "What does \u201cThai police close a call centre run from a riverside hotel\u2026\u201d report?",
        "What does \u201cLaos opens a hotline\u201d report?"]
    (tmp_path / EXAMPLES_FILE).write_text("# a comment\nWho runs the hotline?\n\nWhen did it open?\n",
                                          encoding="utf-8")
    assert example_questions(settings, info) == ["Who runs the hotline?", "When did it open?"]
    assert example_questions(settings, []) == []  # nothing to answer them from


def test_the_library_lists_watched_feeds_with_their_last_poll_and_error(tmp_path: Path):
    from bench import free_port
    from ingest.watch import FeedWatcher

    settings = Settings(store_dir=tmp_path / "store", _env_file=None)
    ui = NewsdeskUI(SimpleNamespace(answerer=SimpleNamespace(name="extractive")), settings)
    assert "No feeds are watched" in ui.watched() and "python -m ingest watch" in ui.watched()

    down = f"http://127.0.0.1:{free_port()}/feed.xml?a=1&b=<x>"
    settings = settings.model_copy(update={"allow_private_urls": True})
    FeedWatcher(settings, [down], every=60).poll(down)  # nothing listens there: the poll fails, and says so
    html = NewsdeskUI(SimpleNamespace(answerer=SimpleNamespace(name="extractive")), settings).watched()
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.DOTALL)]
    assert "connection refused" in cells[2] and "next try" in cells[2]
    assert "UTC" in cells[1] and cells[3] == "0"
    assert "<x>" not in html and "&lt;x&gt;" in html  # the URL is text, not markup


def test_exported_answers_are_capped_aged_out_and_deleted_when_the_server_stops(tmp_path: Path, monkeypatch):
    import time

    from app import ui_handlers
    from app.ui import file_ages
    from app.ui_handlers import ChatSession
    from core.records import Answer

    settings = Settings(store_dir=tmp_path, collection="ui-test", ui_files_hours=2, _env_file=None)
    ui = NewsdeskUI(ScriptedAssistant(), settings)  # type: ignore[arg-type]
    monkeypatch.setattr(ui_handlers, "EXPORTS_KEPT", 5)
    clock = [time.time()]
    monkeypatch.setattr(ui_handlers, "time", SimpleNamespace(time=lambda: clock[0]))

    def exported(n: int) -> list[Path]:
        answer = Answer(question=f"Question {n}?", text=f"Answer {n}. [1]", citations=[_citation(start=0, end=12 + n)])
        return [Path(update["value"]) for update in ui.exports(ChatSession(last=answer))]

    first = exported(0)
    folder = first[0].parent
    assert [p.suffix for p in first] == [".md", ".csv", ".json"] and all(p.is_file() for p in first)
    assert exported(0) == first and len(list(folder.iterdir())) == 3  # the same answer again: nothing added
    clock[0] += 3 * 3600  # later than ui_files_hours
    second = exported(1)
    assert not any(p.exists() for p in first) and all(p.exists() for p in second)  # aged out, the new one kept
    third, newest = exported(2), exported(3)
    assert set(folder.iterdir()) == {*third[1:], *newest}  # the newest EXPORTS_KEPT files, oldest gone first
    ui.close()
    assert not folder.exists()  # the server stopped: no answer stays behind on its disk
    again = exported(4)
    assert again[0].parent != folder and all(p.exists() for p in again)  # a later export makes a new folder
    ui.close()
    # Gradio's own cache of uploads and downloads ages out the same way (checked every hour at most)
    assert file_ages(settings) == (3600, 7200)
    assert file_ages(Settings(store_dir=tmp_path, ui_files_hours=0.25, _env_file=None)) == (900, 900)
