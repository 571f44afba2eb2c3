"""The Gradio app: a chat whose answers cite their sources, beside a sources panel, and a library tab.

`build_ui(assistant, settings)` returns the Blocks; `launch(settings, ...)` seeds an empty store,
warms the models, serves on 127.0.0.1 (unless told otherwise) and blocks until Ctrl-C. Gradio is
imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import ui_render as render
from app.conversation import Turn
from app.retrieval import Filters
from app.sessions import SessionReaper, limit_malloc_arenas
from core.errors import ConfigError, NewsdeskError
from core.records import Answer, ArticleInfo
from core.settings import Settings
from core.text import source_host
from ingest.loaders import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:
    import gradio as gr

    from app.assistant import Assistant
    from ingest.gate import Upload
    from ingest.loaders import Loaded
    from ingest.pipeline import Ingestor

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES = (
    "What did Korea agree to with Cambodia?",
    "Who leads Cambodia's committee against cyber fraud?",
    "What did Ambassador Park thank Cambodia for?",
)
UPLOAD_TYPES = SUPPORTED_EXTENSIONS
MAX_PASSAGES = 30
CHAT_HEIGHT = "calc(100vh - 330px)"
"""The chat fills the window but the header, the question box and the examples (at 1280x720, the
question box stays above the fold)."""
SESSION_CAPACITY = 1000
"""Browser sessions whose state the server keeps (least recently used dropped first). Gradio keeps
every session, closed or not, up to 10,000 by default (docs/reliability.md, Load)."""
MAX_KEPT_ANSWERS = 50
"""Exchanges a chat keeps (messages, sources, follow-up context); older ones leave the top of the chat,
so a session's memory stops growing however long it runs."""


class InputError(NewsdeskError):
    """A value typed into the UI is not usable; the message says what to type instead."""


# -- small pure helpers ------------------------------------------------------------------------


def parse_day(value: str | None, what: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"the {what} date \u201c{value}\u201d is not a date: write it as YYYY-MM-DD, "
                         "for example 2025-11-04") from e


def parse_filters(since: str | None, until: str | None, sources: Sequence[str] | None) -> Filters:
    start, end = parse_day(since, "from"), parse_day(until, "to")
    if start and end and start > end:
        raise InputError(f"the date range is empty: {start.isoformat()} is after {end.isoformat()}")
    return Filters(since=start, until=end, sources=tuple(sources or ()))


def split_locations(text: str | None) -> list[str]:
    """URLs typed one per line (or separated by spaces)."""
    return [part for part in (text or "").split() if part]


def outlet_choices(articles: Iterable[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, host) for each outlet in the store, by name."""
    outlets: dict[str, str] = {}
    for a in articles:
        host = source_host(a.source, a.url)
        if host and host not in outlets:
            outlets[host] = a.source or host
    return sorted(((label, host) for host, label in outlets.items()), key=lambda c: c[0].lower())


# -- per-browser-session chat state ------------------------------------------------------------


@dataclass
class ChatSession:
    """One browser tab's conversation: turns for follow-ups, messages shown, sources panels.

    Only the last `MAX_KEPT_ANSWERS` exchanges are kept; `asked` numbers every question ever asked in
    the tab, so the anchors of the sources panel (`src-<turn>-<n>`) stay unique after older ones go."""

    turns: list[Turn] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    entries: list[render.SourcesEntry] = field(default_factory=list)
    asked: int = 0
    dropped: int = 0

    def panel(self) -> str:
        return render.sources_panel(self.entries, dropped=self.dropped)

    def trim(self, keep: int | None = None) -> None:
        """Forget all but the last `keep` exchanges (question and reply), their sources and turns."""
        keep = MAX_KEPT_ANSWERS if keep is None else keep
        excess = len(self.messages) // 2 - keep
        if excess > 0:
            del self.messages[:2 * excess]
            self.dropped += excess
        del self.entries[:max(len(self.entries) - keep, 0)]
        del self.turns[:max(len(self.turns) - keep, 0)]


def _bot(content: str) -> dict[str, str]:
    return {"role": "assistant", "content": content}


def _user(content: str) -> dict[str, str]:
    return {"role": "user", "content": content}


# -- the controller: what the UI's events do ---------------------------------------------------


class NewsdeskUI:
    """Event handlers, independent of the layout (returning plain values or Gradio updates)."""

    def __init__(self, assistant: "Assistant", settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self._assistants: dict[str, Assistant] = {assistant.answerer.name: assistant}
        self._ingestor: Ingestor | None = None

    # chat ---------------------------------------------------------------------------------------

    @property
    def modes(self) -> list[str]:
        modes = ["extractive"]
        for name in (self.assistant.answerer.name, self.settings.llm):
            if name not in modes:
                modes.append(name)
        return modes

    def assistant_for(self, mode: str | None) -> "Assistant":
        """The assistant answering in `mode`, sharing store, embedder and index with the main one."""
        mode = mode or self.assistant.answerer.name
        if mode not in self._assistants:
            from app.answering import make_answerer

            parts: dict[str, Any] = {"embedder": self.assistant.embedder}
            if mode == "extractive":
                if self.settings.abstain_threshold is not None:
                    parts["threshold"] = self.settings.abstain_threshold
            else:
                parts["settings"] = self.settings
            try:
                answerer = make_answerer(mode, **parts)
            except TypeError as e:
                raise ConfigError(f"the {mode} answerer cannot be started from the UI: {e}") from e
            self._assistants[mode] = replace(self.assistant, answerer=answerer)
        return self._assistants[mode]

    def article_text(self, article_id: str) -> str | None:
        try:
            return self.assistant.store.article_text(article_id)
        except NewsdeskError:
            logger.warning("could not read article %s for the sources panel", article_id, exc_info=True)
            return None

    def respond(
        self, question: str, session: ChatSession | None, since: str, until: str, sources: list[str] | None,
        k: float | None, mode: str | None,
    ) -> Iterator[tuple[Any, Any, Any]]:
        """Stream an answer: yields (chat messages, sources panel, session).

        The chat and the panel are always sent as values, never as `gr.skip()`: in Gradio 6 a skipped
        output gets a per-session copy of its component under a new id, and the value sent next is
        then stored again under that id, so every question would leave a copy of the panel in the
        session (docs/reliability.md, Load). The session, a State, is skipped while streaming."""
        import gradio as gr

        from app.assistant import check_question

        session = session or ChatSession()
        panel = session.panel()
        try:
            question = check_question(question)
            filters = parse_filters(since, until, sources)
            assistant = self.assistant_for(mode)
        except NewsdeskError as e:
            # A warning, not gr.Error: an error would paint every output (the whole chat) red.
            gr.Warning(escape(_sentence(str(e))), title="Cannot ask that")
            yield list(session.messages), panel, gr.skip()
            return
        turn = session.asked
        session.asked += 1
        messages = [*session.messages, _user(render.user_message_html(question)), _bot(render.thinking_html())]
        yield list(messages), panel, session

        history = list(session.turns)
        text, answer = "", None
        try:
            for event in assistant.stream(question, history=history, filters=filters, k=int(k) if k else None):
                if isinstance(event, Answer):
                    answer = event
                    continue
                text += event
                messages[-1] = _bot(render.answer_html(text, turn, pending=True))
                yield list(messages), panel, gr.skip()
        except Exception as e:  # whatever failed, the user gets words and the log the traceback
            reason = str(e) if isinstance(e, NewsdeskError) else "an unexpected error (the server log has details)"
            logger.log(logging.WARNING if isinstance(e, NewsdeskError) else logging.ERROR,
                       "answering %r failed", question, exc_info=True)
            gr.Warning(escape(_sentence(reason)), title="Could not answer")
            messages[-1] = _bot(render.error_html(reason))
            session.messages = messages
            session.trim()
            yield list(session.messages), session.panel(), session
            return
        assert answer is not None
        yield self._finish(question, answer, turn, messages, session, assistant.answerer.name)

    def take_question(self, question: str, since: str, until: str) -> str:
        """The question box after Ask: emptied when the question will be asked, kept (to correct it)
        when the validator refuses it. Runs beside `respond`, which has already read the box."""
        checks = self.validate(question, None, since, until, None, None, None)
        return "" if all(c is None or c["is_valid"] for c in checks) else question

    def validate(
        self, question: str, session: Any, since: str, until: str, sources: Any, k: Any, mode: Any
    ) -> list[Any]:
        """Gradio's validator for `respond`: messages shown on the inputs, before anything runs."""
        import gradio as gr

        from app.assistant import MAX_QUESTION_CHARS

        text = " ".join((question or "").split())
        if not text:
            asked = gr.validate(False, "Type a question first.")
        elif len(text) > MAX_QUESTION_CHARS:
            asked = gr.validate(False, f"That question is {len(text)} characters long; the limit is "
                                       f"{MAX_QUESTION_CHARS}.")
        else:
            asked = gr.validate(True, "")
        checks = [asked, None]
        for value, what in ((since, "from"), (until, "to")):
            try:
                parse_day(value, what)
                checks.append(gr.validate(True, ""))
            except InputError as e:
                checks.append(gr.validate(False, _sentence(str(e))))
        if all(c is None or c["is_valid"] for c in checks):
            try:
                parse_filters(since, until, None)
            except InputError as e:
                checks[3] = gr.validate(False, _sentence(str(e)))
        return [*checks, None, None, None]

    def _finish(
        self, question: str, answer: Answer, turn: int, messages: list[dict[str, str]], session: ChatSession,
        mode: str,
    ) -> tuple[Any, Any, Any]:
        empty = "empty store" in answer.notes
        body = render.sources_body(answer.citations, turn, self.article_text, abstained=answer.abstained,
                                   empty_store=empty)
        seconds = answer.timings.get("total", 0.0)
        footer = f"{mode} answer in {_duration(seconds)}" if seconds else ""
        session.entries.append(render.SourcesEntry(turn, question, body, answer.abstained and not empty, footer))
        if not empty:
            session.turns.append(Turn(question, answer.text, answer.standalone_question))
        messages[-1] = _bot(render.answer_html(answer.text, turn, answer.citations,
                                               abstained=answer.abstained and not empty))
        session.messages = messages
        session.trim()
        return list(session.messages), session.panel(), session

    def clear(self) -> tuple[list[Any], str, ChatSession]:
        return [], render.sources_panel([]), ChatSession()

    # library ------------------------------------------------------------------------------------

    def articles(self) -> list[ArticleInfo]:
        try:
            return self.assistant.store.list_articles()
        except NewsdeskError as e:
            import gradio as gr

            gr.Warning(escape(_sentence(str(e))), title="The store is unavailable")
            return []

    def views(self, query: str = "", selected: str | None = None, outlets: list[str] | None = None) -> tuple:
        """Everything that shows the store's contents: header, placeholder, library, pickers."""
        import gradio as gr

        articles = self.articles()
        chunks = sum(a.chunks for a in articles)
        outlet_list = outlet_choices(articles)
        known_hosts = {host for _, host in outlet_list}
        shown = [a for a in articles if render.matches(a, query or "")]
        choices = _article_choices(shown)
        keep = selected if selected in {a.id for a in shown} else None
        info = next((a for a in articles if a.id == keep), None)
        return (
            render.header(len(articles), chunks),
            gr.update(placeholder=render.chat_placeholder(len(articles))),
            render.library_table(articles, query or ""),
            gr.update(choices=choices, value=keep),
            render.article_preview(info, self.article_text(info.id) if info else None),
            gr.update(choices=outlet_list, value=[h for h in (outlets or []) if h in known_hosts]),
        )

    def search(self, query: str, selected: str | None) -> tuple[str, Any]:
        import gradio as gr

        articles = self.articles()
        shown = [a for a in articles if render.matches(a, query or "")]
        keep = selected if selected in {a.id for a in shown} else None
        return (render.library_table(articles, query or ""),
                gr.update(choices=_article_choices(shown), value=keep))

    def preview(self, article_id: str | None) -> tuple[str, Any]:
        import gradio as gr

        try:
            info = self.assistant.store.get_article(article_id) if article_id else None
        except NewsdeskError as e:
            gr.Warning(escape(_sentence(str(e))), title="Could not read the article")
            info = None
        text = self.article_text(info.id) if info else None
        return render.article_preview(info, text), gr.update(interactive=info is not None)

    def delete(self, article_id: str | None) -> tuple[str, None]:
        """Delete one article; returns a one-line report, and no selection (the article is gone: a picker
        still holding its id would be refused by Gradio in the next library event)."""
        import gradio as gr

        if not article_id:
            raise gr.Error("Select an article to delete first.", print_exception=False)
        try:
            info = self.assistant.store.get_article(article_id)
            deleted = self.assistant.store.delete_article(article_id)
        except NewsdeskError as e:
            raise gr.Error(escape(_sentence(str(e))), title="Could not delete", print_exception=False) from e
        self.assistant.lexical.refresh(force=True)
        title = info.title if info and info.title else article_id
        outcome = "Deleted" if deleted else "Already gone:"
        logger.info("deleted article %s from the UI", article_id)
        return render.ingest_result(render.IngestSummary(f"{outcome} \u201c{title}\u201d.")), None

    def ingestor(self) -> "Ingestor":
        if self._ingestor is None:
            from ingest.pipeline import Ingestor

            self._ingestor = Ingestor.from_settings(self.settings, store=self.assistant.store,
                                                    embedder=self.assistant.embedder)
        return self._ingestor

    def ingest(self, files: Sequence[str] | None, urls: str | None, feeds: str | None, progress: Any) -> str | None:
        """Ingest uploads, URLs and feeds through the untrusted-input gate (`ingest.gate`: http(s) URLs and
        uploaded files only, never a server path); returns the report (summary line and errors), None when
        there was nothing to ingest."""
        import gradio as gr

        from ingest.gate import load_untrusted

        uploads = uploads_of(files)
        web, feed_list = split_locations(urls), split_locations(feeds)
        if not uploads and not web and not feed_list:
            gr.Warning("Choose files to upload, or enter a URL or a feed, then press Ingest.",
                       title="Nothing to ingest")
            return None
        progress(0.0, desc="Reading sources")
        jsonl = any(u.name.lower().endswith(".jsonl") for u in uploads)
        total = len(uploads) + len(web) if not jsonl and not feed_list else None

        def tracked() -> Iterator["Loaded"]:
            loaded = load_untrusted(self.settings, uploads=uploads, urls=web, feeds=feed_list,
                                    upload_folder=gradio_upload_folder())
            for done, item in enumerate(loaded, start=1):
                progress((done, total), desc=f"Read {item.source}", unit="articles")
                yield item
            progress(None, desc="Embedding and indexing")

        try:
            report = self.ingestor().run(tracked())
            notes = same_name_notes(uploads, self.assistant.store.list_articles())
        except NewsdeskError as e:
            raise gr.Error(escape(_sentence(str(e))), title="Ingest failed", print_exception=False) from e
        self.assistant.lexical.refresh(force=True)
        logger.info("ingest from the UI: %s", report.summary())
        summary = render.IngestSummary(report.summary(), report.errors, ok=report.failed == 0, notes=notes)
        return render.ingest_result(summary)


def gradio_upload_folder() -> Path:
    """Where Gradio keeps the files users upload (and nothing else); `test_ui_render.py` fails if it moves."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def uploads_of(files: Sequence[str] | None) -> list["Upload"]:
    """Gradio's uploaded files (paths in its upload folder, named as the user named them)."""
    from ingest.gate import Upload

    return [Upload(Path(str(f)), Path(str(f)).name) for f in files or []]


def same_name_notes(uploads: Sequence["Upload"], articles: Sequence[ArticleInfo]) -> list[str]:
    """A line for each uploaded name under which the store now holds more than one article: an upload is
    its own article (identified by its content), so a changed file sits beside the earlier one."""
    from ingest.gate import UPLOAD_PREFIX

    notes = []
    for name in dict.fromkeys(u.name for u in uploads):
        same = [a for a in articles if a.origin == UPLOAD_PREFIX + name]
        if len(same) > 1:
            notes.append(f"{len(same)} articles were uploaded as \u201c{name}\u201d. Each upload is kept as its own "
                         "article; delete the earlier ones in the list if this file replaces them.")
    return notes


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "." if message else "Something went wrong."


# -- layout ------------------------------------------------------------------------------------


def build_ui(assistant: "Assistant", settings: Settings) -> "gr.Blocks":
    """The Blocks app (theme, CSS and the citation-click script are passed at launch: `launch_options`)."""
    import gradio as gr

    ui = NewsdeskUI(assistant, settings)
    articles = ui.articles()
    with gr.Blocks(title="Newsdesk QA", analytics_enabled=False) as demo:
        header = gr.HTML(render.header(len(articles), sum(a.chunks for a in articles)), js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(ui, settings, articles)
            with gr.Tab("Library", id="library"):
                library = _library_tab(ui, settings, articles)
        views = [header, chat["chatbot"], library["table"], library["select"], library["preview"], chat["outlets"]]
        demo.load(ui.views, inputs=[library["search"], library["select"], chat["outlets"]], outputs=views,
                  show_progress="hidden", api_visibility="private")
        _wire_library(ui, library, views, chat)
    return demo


def _chat_tab(ui: NewsdeskUI, settings: Settings, articles: list[ArticleInfo]) -> dict[str, Any]:
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chatbot = gr.Chatbot(
                elem_id="nd-chat", label="Chat", show_label=False, height=CHAT_HEIGHT, min_height=280,
                render_markdown=False,
                sanitize_html=True, allow_tags=False, feedback_options=None, buttons=[],
                placeholder=render.chat_placeholder(len(articles)), layout="bubble",
            )
            with gr.Row(equal_height=True, elem_id="nd-ask-row"):
                question = gr.Textbox(placeholder="Ask a question about the articles\u2026", show_label=False,
                                      scale=1, lines=1, max_lines=4, autofocus=True, elem_id="nd-question")
                send = gr.Button("Ask", variant="primary", scale=0, min_width=96, elem_id="nd-send")
                clear = gr.Button("Clear chat", variant="secondary", scale=0, min_width=120, elem_id="nd-clear")
            with gr.Row(elem_id="nd-examples"):
                gr.HTML('<span class="nd-try">Try:</span>', js_on_load=None, elem_classes=["nd-try-wrap"])
                examples = [gr.Button(q, size="sm", variant="secondary", elem_classes=["nd-example"])
                            for q in EXAMPLES]
            with gr.Accordion("Search options", open=False, elem_id="nd-options"):
                with gr.Row():
                    since = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", max_lines=1, elem_id="nd-since")
                    until = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", max_lines=1, elem_id="nd-until")
                outlets = gr.Dropdown(label="Outlets", choices=outlet_choices(articles), multiselect=True, value=[],
                                      info="Only these outlets (none selected: all)", elem_id="nd-outlets")
                with gr.Row():
                    k = gr.Slider(1, MAX_PASSAGES, value=settings.top_k, step=1, label="Passages to retrieve")
                    mode = gr.Dropdown(label="Answer mode", choices=ui.modes, value=ui.assistant.answerer.name,
                                       info="extractive quotes the articles; an LLM writes, then is checked")
        with gr.Column(scale=2, min_width=340):
            sources = gr.HTML(render.sources_panel([]), elem_id="nd-sources-box", js_on_load=None)
    session = gr.State(ChatSession())

    inputs = [question, session, since, until, outlets, k, mode]
    outputs = [chatbot, sources, session]
    ask = {"fn": ui.respond, "inputs": inputs, "outputs": outputs, "validator": ui.validate,
           "show_progress": "minimal", "api_visibility": "private"}
    # Empties the question box once the question is taken; registered after `ask` on the same
    # triggers, so `ask` has read the box first (and this one answers after a round trip).
    take = {"fn": ui.take_question, "inputs": [question, since, until], "outputs": question, "queue": False,
            "show_progress": "hidden", "api_visibility": "private"}
    # One public endpoint, /chat, for both triggers: API clients (and bench/load.py) ask exactly as the page does.
    gr.on([question.submit, send.click], **{**ask, "api_visibility": "public"}, api_name="chat")
    gr.on([question.submit, send.click], **take)
    for button, text in zip(examples, EXAMPLES):
        shown = button.click(lambda q=text: q, outputs=question, api_visibility="private", queue=False)
        shown.then(**ask)
        shown.then(**take)
    for event in (clear.click, chatbot.clear):
        event(ui.clear, outputs=[chatbot, sources, session], api_visibility="private", queue=False)
    return {"chatbot": chatbot, "outlets": outlets}


def _library_tab(ui: NewsdeskUI, settings: Settings, articles: list[ArticleInfo]) -> dict[str, Any]:
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            search = gr.Textbox(placeholder="Search titles, outlets, dates\u2026", show_label=False, max_lines=1,
                                elem_id="nd-library-search")
            table = gr.HTML(render.library_table(articles), elem_id="nd-library", js_on_load=None)
            with gr.Row(equal_height=True):
                select = gr.Dropdown(label="Read or delete an article", choices=_article_choices(articles),
                                     value=None, scale=1, elem_id="nd-article")
                delete = gr.Button("Delete\u2026", variant="stop", interactive=False, scale=0, min_width=110,
                                   elem_id="nd-delete")
            with gr.Row(visible=False, equal_height=True) as confirm_row:
                gr.HTML('<div class="nd-confirm">Delete this article and its passages from the store?</div>',
                        js_on_load=None)
                confirm = gr.Button("Delete", variant="stop", size="sm", scale=0, min_width=90,
                                    elem_id="nd-confirm-delete")
                cancel = gr.Button("Cancel", size="sm", scale=0, min_width=90, elem_id="nd-cancel-delete")
            preview = gr.HTML(render.article_preview(None, None), elem_id="nd-preview", js_on_load=None)
        with gr.Column(scale=2, min_width=340):
            gr.HTML(f'<h3 class="nd-h3">Add articles</h3><p class="nd-muted nd-small">Upload files (txt, md, html, '
                    f"pdf or jsonl, up to {settings.max_upload_mb} MB each) or enter web addresses (http or https). "
                    "Each uploaded file is kept as its own article: uploading the same file again changes nothing. "
                    "A URL fetched again updates its article when the page changed.</p>", js_on_load=None)
            files = gr.File(label="Files", file_count="multiple", file_types=list(UPLOAD_TYPES),
                            elem_id="nd-upload")
            urls = gr.Textbox(label="Article URLs", placeholder="https://\u2026 (one per line)", lines=1,
                              max_lines=5, elem_id="nd-urls")
            feeds = gr.Textbox(label="RSS/Atom feeds", placeholder="https://\u2026/feed.xml (one per line)",
                               lines=1, max_lines=5, elem_id="nd-feeds")
            ingest = gr.Button("Ingest", variant="primary", elem_id="nd-ingest")
            report = gr.HTML("", elem_id="nd-report", js_on_load=None)
    return {"search": search, "table": table, "files": files, "urls": urls, "feeds": feeds, "ingest": ingest,
            "report": report, "select": select, "preview": preview, "delete": delete, "confirm_row": confirm_row,
            "confirm": confirm, "cancel": cancel}


def _article_choices(articles: Iterable[ArticleInfo]) -> list[tuple[str, str]]:
    return [(render.article_choice(a), a.id) for a in articles]


def _wire_library(ui: NewsdeskUI, lib: dict[str, Any], views: list[Any], chat: dict[str, Any]) -> None:
    import gradio as gr

    private: dict[str, Any] = {"api_visibility": "private"}
    # Every event that redraws the library runs in one queue, one at a time and in order: a search typed
    # while a delete's refresh is on its way can then neither be overwritten by the refresh's older query
    # nor send an article picker value the refresh has just removed (Gradio refuses it: "Error").
    view = {"concurrency_limit": 1, "concurrency_id": "library-view", "show_progress": "hidden", **private}
    refresh = {"fn": ui.views, "inputs": [lib["search"], lib["select"], chat["outlets"]], "outputs": views, **view}
    writes = {"concurrency_limit": 1, "concurrency_id": "store-writes", **private}
    lib["search"].change(ui.search, inputs=[lib["search"], lib["select"]], outputs=[lib["table"], lib["select"]],
                         trigger_mode="always_last", **view)
    lib["select"].change(ui.preview, inputs=lib["select"], outputs=[lib["preview"], lib["delete"]], **view)

    # Gradio finds the progress tracker by its default value.
    def ingest(files: list[str] | None, urls: str, feeds: str,
               progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        report = ui.ingest(files, urls, feeds, progress)
        return (gr.skip(),) * 4 if report is None else (report, None, "", "")

    lib["ingest"].click(ingest, inputs=[lib["files"], lib["urls"], lib["feeds"]],
                        outputs=[lib["report"], lib["files"], lib["urls"], lib["feeds"]], **writes).then(**refresh)
    show, hide = (lambda: gr.update(visible=True)), (lambda: gr.update(visible=False))
    lib["delete"].click(show, outputs=lib["confirm_row"], queue=False, **private)
    lib["cancel"].click(hide, outputs=lib["confirm_row"], queue=False, **private)
    lib["confirm"].click(hide, outputs=lib["confirm_row"], queue=False, **private).then(
        ui.delete, inputs=lib["select"], outputs=[lib["report"], lib["select"]], **writes).then(**refresh)


# -- launching ---------------------------------------------------------------------------------


def launch_options(settings: Settings) -> dict[str, Any]:
    """Theme, CSS, the citation-click script and the upload limit, for `Blocks.launch`."""
    import gradio as gr

    script = (STATIC / "newsdesk.js").read_text(encoding="utf-8")
    theme = gr.themes.Soft(
        primary_hue="blue", secondary_hue="slate", neutral_hue="slate",
        # Bundled fonts only (no font CDN offline); weight 600 falls back to Bold, since the bundled
        # SemiBold face renders some letters from another face.
        font=(gr.themes.LocalFont("IBM Plex Sans", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"),
    ).set(button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
          button_primary_text_color="white", button_primary_text_color_hover="white",
          button_cancel_background_fill="#dc2626", button_cancel_background_fill_hover="#b91c1c",
          button_cancel_text_color="white", button_cancel_text_color_hover="white")
    return {
        "theme": theme,
        "css": (STATIC / "newsdesk.css").read_text(encoding="utf-8"),
        "head": f"<script>{script}</script>",
        "max_file_size": f"{settings.max_upload_mb}mb",
    }


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    if not settings.auth:
        return None
    user, _, password = settings.auth.partition(":")
    return user, password


def seed_store(assistant: "Assistant", settings: Settings) -> str | None:
    """Ingest the bundled sample articles into an empty store; returns what happened (None: not needed)."""
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    if assistant.store.list_articles():
        return None
    folder = settings.articles_dir
    if not folder.is_dir():
        logger.warning("the store is empty and the sample folder %s does not exist", folder)
        return f"the store is empty and there is no sample folder {folder} (NEWSDESK_ARTICLES_DIR)"
    ingestor = Ingestor.from_settings(settings, store=assistant.store, embedder=assistant.embedder)
    report = ingestor.run(load_sources([str(folder)], settings))
    assistant.lexical.refresh(force=True)
    logger.info("seeded the empty store from %s: %s", folder, report.summary())
    for error in report.errors:
        logger.warning("seeding: %s: %s", error["source"], error["error"])
    return f"the store was empty: ingested the sample articles from {folder}: {report.summary()}"


def warm_up(assistant: "Assistant") -> None:
    """Load the embedding model and the lexical index now, so the first question is quick."""
    started = time.perf_counter()
    assistant.embedder.embed_query("warm up")
    assistant.lexical.refresh()
    if assistant.lexical.size:
        try:  # retrieval only: an LLM answerer is not called before anyone asks
            assistant.retriever.search("What happened?", k=1)
        except NewsdeskError:
            logger.warning("the warm-up search failed", exc_info=True)
    logger.info("models warmed up in %.1f s", time.perf_counter() - started)


def is_loopback(host: str) -> bool:
    """True for an interface only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail at once, before loading any model, when the port is taken."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind((host, port))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another port with --port"
                          ) from e


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int | None = None, seed: bool = True) -> int:
    """Serve the UI until Ctrl-C; returns the exit code."""
    from app.assistant import build_assistant

    host = host or "127.0.0.1"
    if port is not None:
        _check_port(host, port)
    if not settings.auth and not is_loopback(host):
        print(f"Newsdesk QA: WARNING: serving on {host} without a login. Anyone who can reach this port can ask, "
              "ingest URLs and delete articles. Set NEWSDESK_AUTH=user:password (docs: SECURITY.md).",
              file=sys.stderr, flush=True)
    limit_malloc_arenas()  # before the model and the server start their threads
    print("Newsdesk QA: loading the store and the embedding model\u2026", flush=True)
    assistant = build_assistant(settings)
    if seed:
        done = seed_store(assistant, settings)
        if done:
            print(f"Newsdesk QA: {done}", flush=True)
    warm_up(assistant)
    demo = build_ui(assistant, settings)
    demo.queue(default_concurrency_limit=4)
    try:
        _, url, _ = demo.launch(
            server_name=host, server_port=port, auth=auth_pair(settings),
            auth_message="Newsdesk QA: sign in" if settings.auth else None, prevent_thread_lock=True,
            state_session_capacity=SESSION_CAPACITY,
            quiet=True, show_error=False, ssr_mode=False, share=False, footer_links=[],
            **launch_options(settings),
        )
    except OSError as e:
        raise ConfigError(f"cannot serve on {host}:{port or 'the default port'}: {e} (choose another with --port)"
                          ) from e
    reaper = SessionReaper(demo.state_holder, idle_after=settings.session_idle_minutes * 60,
                           trim_every=settings.heap_trim_seconds).start()
    print(f"Newsdesk QA is running on {url.rstrip('/')}/  (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nNewsdesk QA: stopping.", flush=True)
    finally:
        reaper.stop()
        demo.close()
    return 0
