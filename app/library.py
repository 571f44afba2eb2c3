"""The store as the web page and the APIs change it: list, read, ingest (through the untrusted-input gate)
and delete, one write at a time, with the lexical index refreshed after each change.

The UI's handlers (`app.ui_handlers`) and the JSON API (`app.api`) both call this, so the two doors
cannot drift apart: the same vetting, the same reports, the same notes about same-named uploads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.records import ArticleInfo
from core.settings import Settings
from core.versions import SentenceDiff, VersionHistory, compare_versions, version_history

if TYPE_CHECKING:
    from app.assistant import Assistant
    from ingest.gate import Upload
    from ingest.loaders import Loaded
    from ingest.pipeline import Ingestor, IngestReport

logger = logging.getLogger(__name__)

Progress = Callable[["Loaded | None", int], None]
"""Called with each source read and how many have been read so far, then with None once all are read."""


@dataclass
class Ingested:
    """What one ingest from the web page or an API did."""

    report: "IngestReport"
    notes: list[str] = field(default_factory=list)


class Library:
    """The store's articles for the web page and the APIs. Writes (ingest, delete) take turns: a lock held
    across the whole write, shared by every door of one server."""

    def __init__(self, assistant: "Assistant", settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self._writes = threading.Lock()
        self._ingestor: Ingestor | None = None

    def articles(self) -> list[ArticleInfo]:
        return self.assistant.store.list_articles()

    def article(self, article_id: str) -> ArticleInfo | None:
        return self.assistant.store.get_article(article_id)

    def text(self, article_id: str) -> str | None:
        return self.assistant.store.article_text(article_id)

    def history(self, article_id: str) -> VersionHistory | None:
        """The article's versions, oldest first, with what changed from each to the next."""
        return version_history(self.assistant.store, article_id)

    def compare(self, article_id: str, old_hash: str, new_hash: str) -> SentenceDiff | None:
        return compare_versions(self.assistant.store, article_id, old_hash, new_hash)

    def delete(self, article_id: str, *, door: str) -> tuple[ArticleInfo | None, bool]:
        """Delete one article and its earlier versions: (what it was, whether it was still there)."""
        with self._writes:
            info = self.article(article_id)
            deleted = self.assistant.store.delete_article(article_id)
            self.assistant.lexical.refresh(force=True)
        logger.info("deleted article %s from the %s", article_id, door)
        return info, deleted

    def ingestor(self) -> "Ingestor":
        if self._ingestor is None:
            from ingest.pipeline import Ingestor

            self._ingestor = Ingestor.from_settings(self.settings, store=self.assistant.store,
                                                    embedder=self.assistant.embedder)
        return self._ingestor

    def ingest(self, *, uploads: Sequence["Upload"] = (), urls: Sequence[str] = (), feeds: Sequence[str] = (),
               upload_folder: Path, door: str, progress: Progress | None = None) -> Ingested:
        """Ingest uploaded files (only those under `upload_folder`), http(s) article URLs and feed URLs
        through `ingest.gate`; raises NewsdeskError when the store fails."""
        from ingest.gate import load_untrusted

        def tracked() -> Iterator["Loaded"]:
            loaded = load_untrusted(self.settings, uploads=uploads, urls=urls, feeds=feeds,
                                    upload_folder=upload_folder)
            done = 0
            for done, item in enumerate(loaded, start=1):
                if progress is not None:
                    progress(item, done)
                yield item
            if progress is not None:
                progress(None, done)

        with self._writes:
            report = self.ingestor().run(tracked())
            self.assistant.lexical.refresh(force=True)
            notes = same_name_notes(uploads, self.articles())
        logger.info("ingest from the %s: %s", door, report.summary())
        return Ingested(report, notes)


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
