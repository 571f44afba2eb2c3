"""What the UI's events do: the chat, the library, ingest and delete, independent of the layout.

`NewsdeskUI` holds the handlers; each takes plain values and returns plain values or Gradio updates, so
it can be read and tested without building the page (`app.ui` lays the page out and wires the events).
Gradio is imported inside the handlers that need it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import ui_render as render
from app.conversation import Turn
from app.library import Library
from app.retrieval import Filters
from core.errors import ConfigError, NewsdeskError
from core.records import Answer, ArticleInfo
from core.settings import Settings
from core.text import source_host

if TYPE_CHECKING:
    from app.assistant import Assistant
    from core.versions import VersionHistory
    from ingest.gate import Upload
    from ingest.loaders import Loaded

logger = logging.getLogger(__name__)

MAX_KEPT_ANSWERS = 50
"""Exchanges a chat keeps (messages, sources, follow-up context); older ones leave the top of the chat,
so a session's memory stops growing however long it runs."""

EXPORT_FORMATS = {"markdown": "md", "csv": "csv", "json": "json"}
"""The answer's export buttons: format -> file extension (`app.export`)."""
EXPORTS_KEPT = 600
"""At most this many files stay in the server's export folder, the newest (and none older than
`Settings.ui_files_hours`): by the time a download button shows one, Gradio has copied it into its own file
cache, which `Blocks(delete_cache=...)` ages out the same way."""

CHAT_INPUTS = ("question", "session", "since", "until", "as_of", "outlets", "k", "mode")
"""The chat event's inputs by name, in the order `NewsdeskUI.respond` and `validate` take them
(`app.ui.ChatTab.inputs` lists its components in this order)."""


@dataclass
class LibraryView:
    """What shows the store's contents, by the name of the component each value goes to (`app.ui.Views`)."""

    header: str
    chatbot: Any
    """An update of the chat's placeholder."""
    table: str
    picker: Any
    preview: str
    outlets: Any
    watched: str
    """The feeds `python -m ingest watch` keeps current, with their last poll and error."""
    stories: str
    """The stories several outlets published (`ingest.near_duplicates` groups)."""


def prune(written: "OrderedDict[Path, float]", *, now: float, max_age: float, keep: int) -> int:
    """Delete the files of `written` (path -> when it was written, oldest first) older than `max_age` seconds
    and all but the newest `keep`; returns how many were deleted."""
    gone = 0
    while written and (len(written) > keep or now - next(iter(written.values())) > max_age):
        path, _ = written.popitem(last=False)
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def article_choices(articles: Iterable[ArticleInfo]) -> list[tuple[str, str]]:
    """(label, id) of each article, for the article picker."""
    return [(render.article_choice(a), a.id) for a in articles]


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
    last: Answer | None = None
    """The newest answer, for the export buttons (without its retrieval hits, which are not exported)."""

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

    def __init__(self, assistant: "Assistant", settings: Settings, library: Library | None = None) -> None:
        self.assistant = assistant
        self.settings = settings
        self.library = library or Library(assistant, settings)
        self._assistants: dict[str, Assistant] = {assistant.answerer.name: assistant}
        self._exports: "tempfile.TemporaryDirectory[str] | None" = None
        self._exports_lock = threading.Lock()
        self._written: OrderedDict[Path, float] = OrderedDict()

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
                if self.settings.abstain_threshold is not None:  # as build_assistant: the support alone decides
                    parts["threshold"] = self.settings.abstain_threshold
                    parts["abstention"] = None
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
        self, question: str, session: ChatSession | None, since: str, until: str, as_of: str,
        sources: list[str] | None, k: float | None, mode: str | None,
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
            day = parse_day(as_of, "as-of")
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
            for event in assistant.stream(question, history=history, filters=filters, k=int(k) if k else None,
                                          as_of=day):
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

    def take_question(self, question: str, since: str, until: str, as_of: str) -> str:
        """The question box after Ask: emptied when the question will be asked, kept (to correct it)
        when the validator refuses it. Runs beside `respond`, which has already read the box."""
        checks = self.validate(question, None, since, until, as_of, None, None, None)
        return "" if all(c is None or c["is_valid"] for c in checks) else question

    def validate(
        self, question: str, session: Any, since: str, until: str, as_of: str, sources: Any, k: Any, mode: Any
    ) -> list[Any]:
        """Gradio's validator for `respond`: messages shown on the inputs, before anything runs; one per
        input of `CHAT_INPUTS`, in its order (None: nothing to say about that input)."""
        import gradio as gr

        from app.assistant import MAX_QUESTION_CHARS

        checks: dict[str, Any] = {}
        text = " ".join((question or "").split())
        if not text:
            checks["question"] = gr.validate(False, "Type a question first.")
        elif len(text) > MAX_QUESTION_CHARS:
            checks["question"] = gr.validate(False, f"That question is {len(text)} characters long; the limit is "
                                                    f"{MAX_QUESTION_CHARS}.")
        else:
            checks["question"] = gr.validate(True, "")
        for name, value, what in (("since", since, "from"), ("until", until, "to"), ("as_of", as_of, "as-of")):
            try:
                parse_day(value, what)
                checks[name] = gr.validate(True, "")
            except InputError as e:
                checks[name] = gr.validate(False, _sentence(str(e)))
        if all(c["is_valid"] for c in checks.values()):
            try:
                parse_filters(since, until, None)
            except InputError as e:
                checks["until"] = gr.validate(False, _sentence(str(e)))
        return [checks.get(name) for name in CHAT_INPUTS]

    def _finish(
        self, question: str, answer: Answer, turn: int, messages: list[dict[str, str]], session: ChatSession,
        mode: str,
    ) -> tuple[Any, Any, Any]:
        empty = answer.empty_store
        body = render.sources_body(answer.citations, turn, self.article_text, abstained=answer.abstained,
                                   short=answer.short_answer,
                                   empty_store=empty)
        from app.assistant import describe_search

        seconds = answer.timings.get("total", 0.0)
        timing = f"{mode} answer in {_duration(seconds)}" if seconds else ""
        footer = ". ".join(p for p in (timing, describe_search(answer.window).rstrip("."),
                                       *(c.rstrip(".") for c in answer.changed)) if p)
        session.entries.append(render.SourcesEntry(turn, question, body, answer.abstained and not empty, footer))
        if not empty:
            session.turns.append(Turn(question, answer.text, answer.standalone_question))
            session.last = replace(answer, hits=[])
        if answer.timeline is not None and answer.timeline.events:
            messages[-1] = _bot(render.timeline_html(answer.timeline, turn, answer.citations))
        else:
            messages[-1] = _bot(render.answer_html(answer.text, turn, answer.citations,
                                                   abstained=answer.abstained and not empty,
                                                   referents=answer.referents, short=answer.short_answer))
        session.messages = messages
        session.trim()
        return list(session.messages), session.panel(), session

    def clear(self) -> tuple[list[Any], str, ChatSession]:
        return [], render.sources_panel([]), ChatSession()

    def exports(self, session: ChatSession | None) -> list[Any]:
        """The export buttons after an answer: Markdown, CSV and JSON files of the newest answer (hidden
        while there is none). Files are named by their content, in one folder per server."""
        import gradio as gr

        answer = session.last if session else None
        if answer is None:
            return [gr.update(value=None, visible=False)] * len(EXPORT_FORMATS)
        return [gr.update(value=str(self._export_file(answer, fmt)), visible=True) for fmt in EXPORT_FORMATS]

    def _export_file(self, answer: Answer, fmt: str) -> Path:
        import hashlib

        from app.export import render as export

        data = export(answer, fmt).encode("utf-8")
        with self._exports_lock:
            if self._exports is None:
                self._exports = tempfile.TemporaryDirectory(prefix="newsdesk-exports-")
            folder = Path(self._exports.name)
            path = folder / f"newsdesk-answer-{hashlib.sha256(data).hexdigest()[:12]}.{EXPORT_FORMATS[fmt]}"
            if not path.exists():
                path.write_bytes(data)
            self._written[path] = time.time()
            self._written.move_to_end(path)
            prune(self._written, now=time.time(), max_age=self.settings.ui_files_hours * 3600, keep=EXPORTS_KEPT)
        return path

    def close(self) -> None:
        """Delete the export folder and every file in it (the server is stopping)."""
        with self._exports_lock:
            if self._exports is not None:
                self._exports.cleanup()
                self._exports = None
                self._written.clear()

    # library ------------------------------------------------------------------------------------

    def articles(self) -> list[ArticleInfo]:
        try:
            return self.assistant.store.list_articles()
        except NewsdeskError as e:
            import gradio as gr

            gr.Warning(escape(_sentence(str(e))), title="The store is unavailable")
            return []

    def views(self, query: str = "", selected: str | None = None, outlets: list[str] | None = None) -> "LibraryView":
        """Everything that shows the store's contents: header, placeholder, library, pickers."""
        import gradio as gr

        articles = self.articles()
        chunks = sum(a.chunks for a in articles)
        outlet_list = outlet_choices(articles)
        known_hosts = {host for _, host in outlet_list}
        shown = [a for a in articles if render.matches(a, query or "")]
        choices = article_choices(shown)
        keep = selected if selected in {a.id for a in shown} else None
        info = next((a for a in articles if a.id == keep), None)
        return LibraryView(
            header=render.header(len(articles), chunks),
            chatbot=gr.update(placeholder=render.chat_placeholder(len(articles))),
            table=render.library_table(articles, query or ""),
            picker=gr.update(choices=choices, value=keep),
            preview=render.article_preview(info, self.article_text(info.id) if info else None),
            outlets=gr.update(choices=outlet_list, value=[h for h in (outlets or []) if h in known_hosts]),
            watched=self.watched(),
            stories=self.stories(articles),
        )

    def stories(self, articles: Sequence[ArticleInfo]) -> str:
        """The near-duplicate groups as the last write left them (read only; titles from `articles`)."""
        from ingest.near_duplicates import NearDuplicates

        try:
            groups = NearDuplicates.for_reading(self.settings).groups()
        except Exception as e:  # the list is a view: the Library shows the rest without it
            logger.warning("near-duplicate groups unavailable: %s", e)
            groups = []
        return render.story_groups(groups, {a.id: a for a in articles})

    def watched(self) -> str:
        from ingest.watch import read_status

        return render.watched_feeds(read_status(self.settings))

    def search(self, query: str, selected: str | None) -> tuple[str, Any]:
        import gradio as gr

        articles = self.articles()
        shown = [a for a in articles if render.matches(a, query or "")]
        keep = selected if selected in {a.id for a in shown} else None
        return (render.library_table(articles, query or ""),
                gr.update(choices=article_choices(shown), value=keep))

    def preview(self, article_id: str | None) -> tuple[str, Any]:
        import gradio as gr

        try:
            info = self.assistant.store.get_article(article_id) if article_id else None
        except NewsdeskError as e:
            gr.Warning(escape(_sentence(str(e))), title="Could not read the article")
            info = None
        text = self.article_text(info.id) if info else None
        return render.article_preview(info, text), gr.update(interactive=info is not None)

    def _history(self, article_id: str | None) -> "VersionHistory | None":
        import gradio as gr

        try:
            return self.library.history(article_id) if article_id else None
        except NewsdeskError as e:
            gr.Warning(escape(_sentence(str(e))), title="Could not read the article's versions")
            return None

    def versions(self, article_id: str | None) -> tuple[str, Any, Any, Any]:
        """The selected article's versions and what its last update changed; the compare pickers (shown
        only for an article with more than one version) start at the version before the current and the current."""
        import gradio as gr

        history = self._history(article_id)
        if history is None or len(history.versions) < 2:
            empty = gr.update(choices=[], value=None)
            return render.versions_panel(history), empty, empty, gr.update(visible=False)
        choices = [(render.version_choice(v), v.content_hash) for v in history.versions]
        old, new = history.versions[-2], history.versions[-1]
        return (render.versions_panel(history, history.diffs[-1], (old, new)),
                gr.update(choices=choices, value=old.content_hash), gr.update(choices=choices, value=new.content_hash),
                gr.update(visible=True))

    def compare(self, article_id: str | None, old_hash: str | None, new_hash: str | None) -> str:
        """The versions panel with what changed from the version `old_hash` to `new_hash` (any two, either order)."""
        history = self._history(article_id)
        if history is None:
            return ""
        by_hash = {v.content_hash: v for v in history.versions}
        if old_hash not in by_hash or new_hash not in by_hash:
            return render.versions_panel(history)
        diff = self.library.compare(history.article_id, str(old_hash), str(new_hash))
        return render.versions_panel(history, diff, (by_hash[str(old_hash)], by_hash[str(new_hash)]))

    def delete(self, article_id: str | None) -> tuple[str, None]:
        """Delete one article; returns a one-line report, and no selection (the article is gone: a picker
        still holding its id would be refused by Gradio in the next library event)."""
        import gradio as gr

        if not article_id:
            raise gr.Error("Select an article to delete first.", print_exception=False)
        try:
            info, deleted = self.library.delete(article_id, door="UI")
        except NewsdeskError as e:
            raise gr.Error(escape(_sentence(str(e))), title="Could not delete", print_exception=False) from e
        title = info.title if info and info.title else article_id
        outcome = "Deleted" if deleted else "Already gone:"
        return render.ingest_result(render.IngestSummary(f"{outcome} \u201c{title}\u201d.")), None

    def ingest(self, files: Sequence[str] | None, urls: str | None, feeds: str | None, progress: Any) -> str | None:
        """Ingest uploads, URLs and feeds through the untrusted-input gate (`ingest.gate`: http(s) URLs and
        uploaded files only, never a server path); returns the report (summary line and errors), None when
        there was nothing to ingest."""
        import gradio as gr

        uploads = uploads_of(files)
        web, feed_list = split_locations(urls), split_locations(feeds)
        if not uploads and not web and not feed_list:
            gr.Warning("Choose files to upload, or enter a URL or a feed, then press Ingest.",
                       title="Nothing to ingest")
            return None
        progress(0.0, desc="Reading sources")
        jsonl = any(u.name.lower().endswith(".jsonl") for u in uploads)
        total = len(uploads) + len(web) if not jsonl and not feed_list else None

        def tracked(item: "Loaded | None", done: int) -> None:
            if item is None:
                progress(None, desc="Embedding and indexing")
            else:
                progress((done, total), desc=f"Read {item.source}", unit="articles")

        try:
            done = self.library.ingest(uploads=uploads, urls=web, feeds=feed_list,
                                       upload_folder=gradio_upload_folder(), door="UI", progress=tracked)
        except NewsdeskError as e:
            raise gr.Error(escape(_sentence(str(e))), title="Ingest failed", print_exception=False) from e
        report = done.report
        summary = render.IngestSummary(report.summary(), report.errors, ok=report.failed == 0, notes=done.notes)
        return render.ingest_result(summary)


def gradio_upload_folder() -> Path:
    """Where Gradio keeps the files users upload (and nothing else); `test_ui_render.py` fails if it moves."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def uploads_of(files: Sequence[str] | None) -> list["Upload"]:
    """Gradio's uploaded files (paths in its upload folder, named as the user named them)."""
    from ingest.gate import Upload

    return [Upload(Path(str(f)), Path(str(f)).name) for f in files or []]


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _sentence(message: str) -> str:
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "." if message else "Something went wrong."
