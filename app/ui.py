"""The Gradio page: a chat whose answers cite their sources, beside a sources panel, and a library tab.

Layout and wiring only: what each event does is `app.ui_handlers.NewsdeskUI`, and starting the server
is `app.serve`. Components are held in named fields (`ChatTab`, `LibraryTab`, `Views`), and an event
that runs after another says so with `.then`, never by the order events were registered in. Gradio is
imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import ui_render as render
from app.ui_handlers import (
    CHAT_INPUTS,
    EXPORT_FORMATS,
    ChatSession,
    LibraryView,
    NewsdeskUI,
    article_choices,
    outlet_choices,
)
from core.records import ArticleInfo
from core.settings import Settings
from ingest.loaders import SUPPORTED_EXTENSIONS

if TYPE_CHECKING:
    import gradio as gr

    from app.assistant import Assistant

STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES_FILE = ".examples"
"""Example questions for the "Try:" buttons, one a line, in a file of this name in NEWSDESK_ARTICLES_DIR
(hidden, so an ingest of the folder passes it by). Without one, examples come from the store's newest
articles."""
MAX_EXAMPLES = 3
MAX_PASSAGES = 30
CHAT_HEIGHT = "calc(100vh - 330px)"
"""The chat fills the window but the header, the question box and the examples (at 1280x720, the
question box stays above the fold)."""


@dataclass
class ChatTab:
    chatbot: Any
    question: Any
    send: Any
    clear: Any
    examples: list[Any]
    since: Any
    until: Any
    as_of: Any
    outlets: Any
    k: Any
    mode: Any
    sources: Any
    session: Any
    exports: list[Any]

    @property
    def inputs(self) -> list[Any]:
        """The chat event's inputs, in the order of `CHAT_INPUTS`."""
        return [getattr(self, name) for name in CHAT_INPUTS]

    @property
    def outputs(self) -> list[Any]:
        return [self.chatbot, self.sources, self.session]


@dataclass
class LibraryTab:
    search: Any
    table: Any
    picker: Any
    delete: Any
    confirm_row: Any
    confirm: Any
    cancel: Any
    preview: Any
    files: Any
    urls: Any
    feeds: Any
    ingest: Any
    report: Any
    watched: Any
    stories: Any
    """Stories several outlets published (near-duplicate groups)."""
    versions: Any
    """The selected article's versions and what changed between the two picked in `version_from`/`version_to`."""
    versions_row: Any
    version_from: Any
    version_to: Any


@dataclass
class Views:
    """The components that show the store's contents, named as `LibraryView`'s values for them."""

    header: Any
    chatbot: Any
    table: Any
    picker: Any
    preview: Any
    outlets: Any
    watched: Any
    stories: Any

    @property
    def outputs(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]

    def values(self, view: LibraryView) -> list[Any]:
        """`view`'s values in the order of `outputs`, matched by name."""
        return [getattr(view, f.name) for f in fields(self)]


def example_questions(settings: Settings, articles: Sequence[ArticleInfo]) -> list[str]:
    """The "Try:" questions: those of the examples file beside the articles when there is one, else
    questions about the newest articles in the store; none for an empty store, which has no answers."""
    if not articles:
        return []
    path = settings.articles_dir / EXAMPLES_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    listed = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if listed:
        return listed[:MAX_EXAMPLES]
    return [f"What does \u201c{_short(a.title)}\u201d report?" for a in articles[:MAX_EXAMPLES] if a.title]


def _short(title: str, limit: int = 60) -> str:
    title = " ".join(title.split()).rstrip(".")
    return title if len(title) <= limit else title[:limit].rsplit(" ", 1)[0] + "\u2026"


def file_ages(settings: Settings) -> tuple[int, int]:
    """Gradio's `delete_cache` (every `frequency` seconds, delete this app's cached files older than `age`):
    uploads and exported answers leave the server after `Settings.ui_files_hours`, checked every hour or
    more often, and all of them when it stops."""
    age = max(1, round(settings.ui_files_hours * 3600))
    return min(age, 3600), age


def build_ui(assistant: "Assistant", settings: Settings, ui: NewsdeskUI | None = None) -> "gr.Blocks":
    """The Blocks app (theme, CSS and the citation-click script are passed at launch: `launch_options`)."""
    import gradio as gr

    ui = ui or NewsdeskUI(assistant, settings)
    articles = ui.articles()
    with gr.Blocks(title="Newsdesk QA", analytics_enabled=False, delete_cache=file_ages(settings)) as demo:
        header = gr.HTML(render.header(len(articles), sum(a.chunks for a in articles)), js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(ui, settings, articles)
            with gr.Tab("Library", id="library"):
                library = _library_tab(settings, articles)
        views = Views(header=header, chatbot=chat.chatbot, table=library.table, picker=library.picker,
                      preview=library.preview, outlets=chat.outlets, watched=library.watched,
                      stories=library.stories)
        _wire_chat(ui, chat)
        _wire_library(ui, library, views, chat)
        demo.load(lambda *args: views.values(ui.views(*args)), inputs=[library.search, library.picker, chat.outlets],
                  outputs=views.outputs, show_progress="hidden", api_visibility="private")
    return demo


def _chat_tab(ui: NewsdeskUI, settings: Settings, articles: list[ArticleInfo]) -> ChatTab:
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chatbot = gr.Chatbot(
                elem_id="nd-chat", label="Chat", show_label=False, height=CHAT_HEIGHT, min_height=280,
                render_markdown=False, sanitize_html=True, allow_tags=False, feedback_options=None, buttons=[],
                placeholder=render.chat_placeholder(len(articles)), layout="bubble",
            )
            with gr.Row(equal_height=True, elem_id="nd-ask-row"):
                question = gr.Textbox(placeholder="Ask a question about the articles\u2026", show_label=False,
                                      scale=1, lines=1, max_lines=4, autofocus=True, elem_id="nd-question")
                send = gr.Button("Ask", variant="primary", scale=0, min_width=96, elem_id="nd-send")
                clear = gr.Button("Clear chat", variant="secondary", scale=0, min_width=120, elem_id="nd-clear")
            questions = example_questions(settings, articles)
            with gr.Row(elem_id="nd-examples", visible=bool(questions)):
                gr.HTML('<span class="nd-try">Try:</span>', js_on_load=None, elem_classes=["nd-try-wrap"])
                examples = [gr.Button(q, size="sm", variant="secondary", elem_classes=["nd-example"])
                            for q in questions]
            with gr.Accordion("Search options", open=False, elem_id="nd-options"):
                with gr.Row():
                    since = gr.Textbox(label="From date", placeholder="YYYY-MM-DD", max_lines=1, elem_id="nd-since")
                    until = gr.Textbox(label="To date", placeholder="YYYY-MM-DD", max_lines=1, elem_id="nd-until")
                    as_of = gr.Textbox(label="As of", placeholder="today", max_lines=1, elem_id="nd-as-of",
                                       info="Only articles published by then; “last week”, “latest” "
                                            "read from that day")
                outlets = gr.Dropdown(label="Outlets", choices=outlet_choices(articles), multiselect=True, value=[],
                                      info="Only these outlets (none selected: all)", elem_id="nd-outlets")
                with gr.Row():
                    k = gr.Slider(1, MAX_PASSAGES, value=settings.top_k, step=1, label="Passages to retrieve")
                    mode = gr.Dropdown(label="Answer mode", choices=ui.modes, value=ui.assistant.answerer.name,
                                       info="extractive quotes the articles; an LLM writes, then is checked")
        with gr.Column(scale=2, min_width=340):
            sources = gr.HTML(render.sources_panel([]), elem_id="nd-sources-box", js_on_load=None)
            with gr.Row(elem_id="nd-exports"):
                exports = [gr.DownloadButton(f"Download {label}", visible=False, size="sm", variant="secondary",
                                             elem_id=f"nd-export-{fmt}")
                           for fmt, label in zip(EXPORT_FORMATS, ("Markdown", "CSV", "JSON"), strict=True)]
    return ChatTab(chatbot=chatbot, question=question, send=send, clear=clear, examples=examples, since=since,
                   until=until, as_of=as_of, outlets=outlets, k=k, mode=mode, sources=sources,
                   session=gr.State(ChatSession()), exports=exports)


def _wire_chat(ui: NewsdeskUI, chat: ChatTab) -> None:
    import gradio as gr

    def answer(listener: Callable[..., Any], **api: Any) -> None:
        """`respond` on `listener` (an event listener, such as `gr.on` bound to its triggers or an event's
        `.then`), then the question box emptied, or kept when the validator refused the question."""
        asked = listener(fn=ui.respond, inputs=chat.inputs, outputs=chat.outputs, validator=ui.validate,
                         show_progress="minimal", **api)
        asked.then(fn=ui.take_question, inputs=[chat.question, chat.since, chat.until, chat.as_of],
                   outputs=chat.question,
                   queue=False, show_progress="hidden", api_visibility="private")
        asked.then(fn=ui.exports, inputs=chat.session, outputs=chat.exports, show_progress="hidden",
                   api_visibility="private")

    # One public endpoint, /chat, for both triggers: API clients (and bench/load.py) ask exactly as the page does.
    answer(partial(gr.on, [chat.question.submit, chat.send.click]), api_visibility="public", api_name="chat")
    for button in chat.examples:
        shown = button.click(lambda q=button.value: q, outputs=chat.question, queue=False, api_visibility="private")
        answer(shown.then, api_visibility="private")
    for event in (chat.clear.click, chat.chatbot.clear):
        cleared = event(ui.clear, outputs=chat.outputs, queue=False, api_visibility="private")
        cleared.then(fn=ui.exports, inputs=chat.session, outputs=chat.exports, queue=False, show_progress="hidden",
                     api_visibility="private")


def _library_tab(settings: Settings, articles: list[ArticleInfo]) -> LibraryTab:
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            search = gr.Textbox(placeholder="Search titles, outlets, dates\u2026", show_label=False, max_lines=1,
                                elem_id="nd-library-search")
            table = gr.HTML(render.library_table(articles), elem_id="nd-library", js_on_load=None)
            with gr.Row(equal_height=True):
                picker = gr.Dropdown(label="Read or delete an article", choices=article_choices(articles),
                                     value=None, scale=1, elem_id="nd-article")
                delete = gr.Button("Delete\u2026", variant="stop", interactive=False, scale=0, min_width=110,
                                   elem_id="nd-delete")
            with gr.Row(visible=False, equal_height=True) as confirm_row:
                gr.HTML('<div class="nd-confirm">Delete this article and its passages from the store?</div>',
                        js_on_load=None)
                confirm = gr.Button("Delete", variant="stop", size="sm", scale=0, min_width=90,
                                    elem_id="nd-confirm-delete")
                cancel = gr.Button("Cancel", size="sm", scale=0, min_width=90, elem_id="nd-cancel-delete")
            with gr.Row(visible=False, equal_height=True) as versions_row:
                version_from = gr.Dropdown(label="Compare version", choices=[], value=None, elem_id="nd-version-from")
                version_to = gr.Dropdown(label="with version", choices=[], value=None, elem_id="nd-version-to")
            versions = gr.HTML("", elem_id="nd-versions", js_on_load=None)
            preview = gr.HTML(render.article_preview(None, None), elem_id="nd-preview", js_on_load=None)
        with gr.Column(scale=2, min_width=340):
            gr.HTML(f'<h3 class="nd-h3">Add articles</h3><p class="nd-muted nd-small">Upload files (txt, md, html, '
                    f"pdf or jsonl, up to {settings.max_upload_mb} MB each) or enter web addresses (http or https). "
                    "Each uploaded file is kept as its own article: uploading the same file again changes nothing. "
                    "A URL fetched again updates its article when the page changed.</p>", js_on_load=None)
            files = gr.File(label="Files", file_count="multiple", file_types=list(SUPPORTED_EXTENSIONS),
                            elem_id="nd-upload")
            urls = gr.Textbox(label="Article URLs", placeholder="https://\u2026 (one per line)", lines=1,
                              max_lines=5, elem_id="nd-urls")
            feeds = gr.Textbox(label="RSS/Atom feeds", placeholder="https://\u2026/feed.xml (one per line)",
                               lines=1, max_lines=5, elem_id="nd-feeds")
            ingest = gr.Button("Ingest", variant="primary", elem_id="nd-ingest")
            report = gr.HTML("", elem_id="nd-report", js_on_load=None)
            watched = gr.HTML("", elem_id="nd-watched", js_on_load=None)
            stories = gr.HTML("", elem_id="nd-stories", js_on_load=None)
    return LibraryTab(search=search, table=table, picker=picker, delete=delete, confirm_row=confirm_row,
                      confirm=confirm, cancel=cancel, preview=preview, files=files, urls=urls, feeds=feeds,
                      ingest=ingest, report=report, watched=watched, stories=stories, versions=versions,
                      versions_row=versions_row, version_from=version_from, version_to=version_to)


def _wire_library(ui: NewsdeskUI, lib: LibraryTab, views: Views, chat: ChatTab) -> None:
    import gradio as gr

    # Every event that redraws the library runs in one queue ("library-view"), one at a time and in order:
    # a search typed while a delete's refresh is on its way can then neither be overwritten by the
    # refresh's older query nor send an article picker value the refresh has just removed (Gradio refuses
    # it: "Error"). Writes to the store run one at a time too ("store-writes").
    # The redraw reads the search box when it is sent, and a search typed just then could still be drawn
    # before it (seen on a busy machine: the list of every article stayed under "casino town"); the list is
    # filtered again with the box as it is once the redraw has drawn, so the last search typed always wins.
    def redraw(after: Any) -> None:
        after.then(lambda *args: views.values(ui.views(*args)), inputs=[lib.search, lib.picker, chat.outlets],
                   outputs=views.outputs, concurrency_limit=1, concurrency_id="library-view",
                   show_progress="hidden", api_visibility="private") \
            .then(ui.search, inputs=[lib.search, lib.picker], outputs=[lib.table, lib.picker], concurrency_limit=1,
                  concurrency_id="library-view", show_progress="hidden", api_visibility="private")

    lib.search.change(ui.search, inputs=[lib.search, lib.picker], outputs=[lib.table, lib.picker],
                      trigger_mode="always_last", concurrency_limit=1, concurrency_id="library-view",
                      show_progress="hidden", api_visibility="private")
    lib.picker.change(ui.preview, inputs=lib.picker, outputs=[lib.preview, lib.delete], concurrency_limit=1,
                      concurrency_id="library-view", show_progress="hidden", api_visibility="private")
    lib.picker.change(ui.versions, inputs=lib.picker,
                      outputs=[lib.versions, lib.version_from, lib.version_to, lib.versions_row], concurrency_limit=1,
                      concurrency_id="library-view", show_progress="hidden", api_visibility="private")
    for pick in (lib.version_from, lib.version_to):  # `input`: the user's choice, not the pickers being filled
        pick.input(ui.compare, inputs=[lib.picker, lib.version_from, lib.version_to], outputs=lib.versions,
                   concurrency_limit=1, concurrency_id="library-view", show_progress="hidden",
                   api_visibility="private")

    # Gradio finds the progress tracker by its default value.
    def ingest(files: list[str] | None, urls: str, feeds: str,
               progress: gr.Progress = gr.Progress()) -> tuple:  # noqa: B008
        report = ui.ingest(files, urls, feeds, progress)
        return (gr.skip(),) * 4 if report is None else (report, None, "", "")

    redraw(lib.ingest.click(ingest, inputs=[lib.files, lib.urls, lib.feeds],
                            outputs=[lib.report, lib.files, lib.urls, lib.feeds], concurrency_limit=1,
                            concurrency_id="store-writes", api_visibility="private"))
    show, hide = (lambda: gr.update(visible=True)), (lambda: gr.update(visible=False))
    lib.delete.click(show, outputs=lib.confirm_row, queue=False, api_visibility="private")
    lib.cancel.click(hide, outputs=lib.confirm_row, queue=False, api_visibility="private")
    confirmed = lib.confirm.click(hide, outputs=lib.confirm_row, queue=False, api_visibility="private")
    redraw(confirmed.then(ui.delete, inputs=lib.picker, outputs=[lib.report, lib.picker], concurrency_limit=1,
                          concurrency_id="store-writes", api_visibility="private"))


def launch_options(settings: Settings) -> dict[str, Any]:
    """Theme, CSS, the citation-click script and the upload limit, for `gr.mount_gradio_app`."""
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
