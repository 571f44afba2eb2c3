"""A BM25 index derived from the Chroma store (Chroma's own sparse index is not available locally).

Chroma stays the single source of truth. The index is persisted beside the store (or in a local cache
for a Chroma server) together with the store's generation token, and rebuilt when the token changes,
so several processes ingesting and answering see the same chunks without rebuilding on every query.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.records import date_to_int
from core.text import content_words

if TYPE_CHECKING:
    import bm25s
    import numpy as np

    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)

CHECK_INTERVAL = 1.0
"""Seconds between checks of the store's generation token (one cheap metadata read)."""


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is in requirements; degrade to unstemmed words
        return None
    return Stemmer.Stemmer("english")


def lexical_tokens(text: str) -> list[str]:
    """Content words, stemmed: the vocabulary of the BM25 index and of sentence scoring."""
    tokens = content_words(text)
    stemmer = _stemmer()
    return stemmer.stemWords(tokens) if stemmer else tokens


@dataclass
class _Loaded:
    generation: str
    ids: list[str]
    article_ids: "np.ndarray"
    published: "np.ndarray"
    sources: "np.ndarray"
    bm25: "bm25s.BM25 | None"


class LexicalIndex:
    """BM25 over every chunk in the store, with date/source filters applied as a weight mask."""

    def __init__(self, store: "ArticleStore", directory: Path) -> None:
        self.store = store
        self.directory = directory
        self._loaded: _Loaded | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self.builds = 0
        """How often this process rebuilt the index from the store (a reload from disk is not a build)."""

    @classmethod
    def for_store(cls, store: "ArticleStore") -> "LexicalIndex":
        settings = store.settings
        if settings.server_mode:
            host = re.sub(r"[^A-Za-z0-9.-]", "_", settings.chroma_host or "")
            where = settings.store_dir / "lexical-cache" / f"{host}-{settings.chroma_port}-{settings.collection}"
        else:
            where = settings.store_dir / "lexical" / settings.collection
        return cls(store, where)

    def refresh(self, force: bool = False) -> None:
        """Reload or rebuild when the store changed since the index was built."""
        now = time.monotonic()
        if not force and self._loaded is not None and now - self._checked_at < CHECK_INTERVAL:
            return
        with self._lock:
            generation = self.store.generation()
            self._checked_at = now
            if self._loaded is not None and self._loaded.generation == generation and not force:
                return
            self._loaded = (None if force else self._read(generation)) or self._build(generation)

    @property
    def size(self) -> int:
        self.refresh()
        return len(self._loaded.ids) if self._loaded else 0

    def search(
        self, query: str, k: int, *, since: int = 0, until: int = 0, sources: tuple[str, ...] = (),
        undated: bool = False,
    ) -> list[tuple[str, float]]:
        """Chunk ids and BM25 scores, best first; filters on published (YYYYMMDD ints) and source. With
        `until`, undated chunks are left out unless `undated`."""
        import numpy as np

        self.refresh()
        index = self._loaded
        tokens = lexical_tokens(query)
        if index is None or index.bm25 is None or not tokens or not index.ids:
            return []
        mask = np.ones(len(index.ids), dtype=np.float32)
        if since:
            mask *= index.published >= since
        if until:
            mask *= (index.published <= until) & ((index.published > 0) | undated)
        if sources:
            mask *= np.isin(index.sources, list(sources))
        known = [t for t in tokens if t in index.bm25.vocab_dict]
        if not known or not mask.any():
            return []
        k = min(k, len(index.ids))
        # n_threads=0 scores in this thread; any other value starts a thread pool per query (20 ms under load).
        docs, scores = index.bm25.retrieve([known], k=k, show_progress=False, weight_mask=mask, n_threads=0)
        return [(index.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    # -- build and persist ---------------------------------------------------------------------

    def _build(self, generation: str) -> _Loaded:
        import bm25s
        import numpy as np

        started = time.perf_counter()
        self.builds += 1
        ids, article_ids, published, sources, corpus = [], [], [], [], []
        for chunk in self.store.iter_chunks():
            ids.append(chunk.id)
            article_ids.append(chunk.article_id)
            published.append(date_to_int(chunk.published))
            sources.append(chunk.host)
            corpus.append(lexical_tokens(f"{chunk.title}\n{chunk.text}"))
        bm25 = None
        if ids:
            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG to stdout
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        loaded = _Loaded(generation, ids, np.array(article_ids, dtype=object), np.array(published, dtype=np.int64),
                         np.array(sources, dtype=object), bm25)
        self._write(loaded)
        logger.info("built lexical index of %d chunks in %.2fs", len(ids), time.perf_counter() - started)
        return loaded

    def _write(self, loaded: _Loaded) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory.with_name(self.directory.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            if loaded.bm25 is not None:
                loaded.bm25.save(str(tmp / "bm25"), show_progress=False)
            meta = {"generation": loaded.generation, "ids": loaded.ids, "article_ids": loaded.article_ids.tolist(),
                    "published": loaded.published.tolist(), "sources": loaded.sources.tolist()}
            (tmp / "chunks.json").write_text(json.dumps(meta), encoding="utf-8")
            # Swap directories so a reader never sees a half-written index.
            old = self.directory.with_name(self.directory.name + ".old")
            if self.directory.exists():
                self.directory.rename(old)
            tmp.rename(self.directory)
            if old.exists():
                import shutil

                shutil.rmtree(old, ignore_errors=True)
        except OSError as e:  # a read-only or full disk must not stop answering
            logger.warning("could not persist the lexical index in %s: %s", self.directory, e)

    def _read(self, generation: str) -> _Loaded | None:
        import bm25s
        import numpy as np

        meta_file = self.directory / "chunks.json"
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if meta.get("generation") != generation:
                return None
            bm25 = bm25s.BM25.load(str(self.directory / "bm25"), show_progress=False) if meta["ids"] else None
        except (OSError, ValueError, KeyError) as e:
            logger.debug("no usable lexical index in %s (%s)", self.directory, e)
            return None
        return _Loaded(generation, meta["ids"], np.array(meta["article_ids"], dtype=object),
                       np.array(meta["published"], dtype=np.int64), np.array(meta["sources"], dtype=object), bm25)
