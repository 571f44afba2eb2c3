"""A BM25 index (tantivy) that follows the Chroma store by small updates, with native date/outlet filters.

Chroma stays the single source of truth; the index holds one document per committed chunk (its id, its
article's id and version, the searchable text, `published` as YYYYMMDD and the outlet's host) plus one
state document naming the store generation it reflects. It lives on disk beside the store (for a Chroma
server, in this replica's own `store_dir`), so a new process opens it instead of building it.

Updates are proportional to the change. A writing process's store calls `apply` under its write lock
with the articles it wrote, deleted or repaired: their documents are deleted by article id and their
committed chunks added, and the state document moves to the new generation in the same commit (a tantivy
commit is atomic, so a reader never sees half an update or two generations mixed). A reader that sees the
store's generation move reloads its searcher; when the index's state document does not name that
generation (a writer without this follower, a crash between Chroma's write and the index's, another host
writing to a Chroma server), it catches up by diffing the registry's articles against the article
versions the index holds (content hash, and the title, date and outlet the index searches and filters by,
so a metadata correction is caught up too): a read per article, then an update of the articles that differ. A missing or
unreadable index is rebuilt from the store once, logged, never an error for the user.

One writer: the tantivy writer is only opened under the store's write lock (local store), or under
tantivy's own lock file (one replica's processes on a Chroma server); a reader that finds it held serves
the index as it is and tries again on its next refresh, since the holder is about to update it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.records import ArticleMeta, StoredChunk, date_to_int
from core.text import content_words, source_host

if TYPE_CHECKING:
    import tantivy

    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)


def indexed_version(content_hash: str, meta: ArticleMeta) -> str:
    """What the index holds of an article version: its text's hash and the metadata it searches (title) and
    filters (date, outlet host) by. A registry record and its chunks give the same value."""
    import hashlib

    facets = f"{meta.title}\0{date_to_int(meta.published)}\0{source_host(meta.source, meta.url)}"
    return f"{content_hash}@{hashlib.sha1(facets.encode('utf-8')).hexdigest()[:12]}"

CHECK_INTERVAL = 1.0
"""Seconds between checks of the store's generation token (one cheap metadata read)."""

SCHEMA_VERSION = 1
"""The index's fields; part of its directory name, so a new schema builds a new index beside the old."""

LISTED_FILTERS = 4
"""Filters whose passing chunk ids `matching_all` keeps (per index generation)."""

WRITER_HEAP = 50_000_000
"""Bytes tantivy buffers before it flushes a segment (its minimum is 15 MB per thread)."""

TOKENIZERS = ("newsdesk", "en_stem")

_FOLLOWERS: "weakref.WeakKeyDictionary[ArticleStore, LexicalIndex]" = weakref.WeakKeyDictionary()
_FOLLOWERS_GUARD = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is in requirements; degrade to unstemmed words
        return None
    return Stemmer.Stemmer("english")


IRREGULAR = {form: base for base, forms in {
    "arise": "arose arisen", "bear": "bore borne", "begin": "began begun", "break": "broke broken",
    "bring": "brought", "build": "built", "buy": "bought", "catch": "caught", "choose": "chose chosen",
    "come": "came", "draw": "drew drawn", "drive": "drove driven", "eat": "ate eaten", "fall": "fell fallen",
    "feel": "felt", "fight": "fought", "find": "found", "flee": "fled", "fly": "flew flown",
    "forbid": "forbade forbidden", "forget": "forgot forgotten", "freeze": "froze frozen", "get": "got gotten",
    "give": "gave given", "go": "went gone", "grow": "grew grown", "hide": "hid hidden", "hold": "held",
    "keep": "kept", "know": "knew known", "lead": "led", "leave": "left", "lend": "lent", "lose": "lost",
    "make": "made", "mean": "meant", "meet": "met", "pay": "paid", "ride": "rode ridden", "rise": "risen",
    "run": "ran", "see": "saw seen", "seek": "sought", "sell": "sold", "send": "sent", "shake": "shook shaken",
    "shoot": "shot", "sing": "sang sung", "sink": "sank sunk", "speak": "spoke spoken", "spend": "spent",
    "stand": "stood", "steal": "stole stolen", "strike": "struck stricken", "swear": "swore sworn",
    "take": "took taken", "teach": "taught", "tell": "told", "think": "thought", "throw": "threw thrown",
    "understand": "understood", "wake": "woke woken", "wear": "wore worn", "win": "won", "withdraw":
    "withdrew withdrawn", "write": "wrote written", "overtake": "overtook overtaken", "undertake":
    "undertook undertaken", "uphold": "upheld", "withhold": "withheld", "mislead": "misled", "overcome":
    "overcame", "sweep": "swept", "weep": "wept", "sleep": "slept", "feed": "fed", "bleed": "bled",
}.items() for form in forms.split()}
"""Past forms of irregular verbs and their base: "met" is "meet" (and so "meeting"), which no stemmer sees.
Forms that are mostly other words in news ("rose", "lay", "bound") are left out; "won" (the currency) and
"left" (the side) are in, for "who won" and "who left" are asked far more often."""


def _stemmed(tokens: list[str]) -> list[str]:
    stemmer = _stemmer()
    return stemmer.stemWords(tokens) if stemmer else tokens


def lexical_tokens(text: str) -> list[str]:
    """Content words, stemmed: the vocabulary of the "newsdesk" lexical index."""
    return _stemmed(content_words(text))


def sentence_tokens(text: str) -> list[str]:
    """`lexical_tokens` with irregular past forms read as their verb ("met" is "meet"): the vocabulary the
    answerer matches a question with its sentences in. Not the index's: there it cost realtimeqa-dev one
    question of recall@4 with as-of off (0.714 -> 0.696)."""
    return _stemmed([IRREGULAR.get(w, w) for w in content_words(text)])


def _schema(tokenizer: str) -> "tantivy.Schema":
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("article_id", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("version", fast=True, tokenizer_name="raw", index_option="basic")
    """`<article id> <content hash>`: what the catch-up diff compares with the registry."""
    builder.add_text_field("kind", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("generation", stored=True, tokenizer_name="raw", index_option="basic")
    # "newsdesk" text arrives as our tokens joined by spaces; positions are not needed (no phrase queries).
    builder.add_text_field("body", tokenizer_name="whitespace" if tokenizer == "newsdesk" else "en_stem",
                           index_option="freq")
    builder.add_integer_field("published", indexed=True, fast=True)
    builder.add_text_field("host", fast=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


class LexicalIndex:
    """BM25 over every committed chunk, with the date and outlet filters in the query itself."""

    def __init__(self, store: "ArticleStore", directory: Path, tokenizer: str = "newsdesk") -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"lexical_tokenizer must be one of {', '.join(TOKENIZERS)}, not {tokenizer!r}")
        self.store = store
        self.directory = directory
        self.tokenizer = tokenizer
        self._schema = _schema(tokenizer)
        self._index: tantivy.Index | None = None
        self._generation: str | None = None
        """The store generation this process's searcher is known to reflect."""
        self._checked_at = 0.0
        self._lock = threading.RLock()
        self.builds = 0
        """Full builds from the store in this process (opening the persisted index is not one)."""
        self.documents_written = 0
        """Chunk documents this process added by updates and catch-ups (not builds): proportional to changes."""
        self.articles_touched = 0
        """Articles whose documents this process replaced or deleted by updates and catch-ups."""
        self._listed: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
        """`matching_all`'s answers for the generation `_generation` (a few filters: an as-of date is set
        once and kept for many questions)."""

    @classmethod
    def for_store(cls, store: "ArticleStore") -> "LexicalIndex":
        """The index following `store` (one per store object: it applies the store's own writes)."""
        with _FOLLOWERS_GUARD:
            index = _FOLLOWERS.get(store)
            if index is None:
                index = cls(store, cls.location(store), store.settings.lexical_tokenizer)
                store.change_listeners.append(index.apply)
                _FOLLOWERS[store] = index
            return index

    @staticmethod
    def location(store: "ArticleStore") -> Path:
        settings = store.settings
        name = f"{settings.collection}-{settings.lexical_tokenizer}-v{SCHEMA_VERSION}"
        if settings.server_mode:  # this replica's own copy, named after the server it follows
            host = re.sub(r"[^A-Za-z0-9.-]", "_", settings.chroma_host or "")
            name = f"{host}-{settings.chroma_port}-{name}"
            if not settings.store_dir.is_dir():  # an app on a server keeps no state of its own: a cache
                import tempfile

                return Path(tempfile.gettempdir()) / f"newsdesk-lexical-{os.getuid()}" / name
        return settings.store_dir / "lexical-index" / name

    # -- reading -------------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Follow the store: reload the searcher when its generation moved, catching up if needed.
        `force` checks now rather than after `CHECK_INTERVAL`."""
        now = time.monotonic()
        if not force and self._generation is not None and now - self._checked_at < CHECK_INTERVAL:
            return
        with self._lock:
            self._checked_at = now
            generation = self.store.generation()
            if self._index is not None and self._generation == generation:
                return
            try:
                index = self._open()
                index.reload()
                state = self._state(index)
            except ValueError as e:  # damaged since it was opened (a segment file lost or overwritten)
                self._discard(e)
                state = None
            if state == generation:
                self._generation = generation
                return
            self._catch_up()

    @property
    def size(self) -> int:
        """Chunks in the index."""
        self.refresh()
        index = self._index
        if index is None:
            return 0
        return int(index.searcher().search(self._chunks_query(), 1, count=True).count)

    def search(
        self, query: str, k: int, *, since: int = 0, until: int = 0, sources: tuple[str, ...] = (),
        undated: bool = False,
    ) -> list[tuple[str, float]]:
        """Chunk ids and BM25 scores, best first; filters on published (YYYYMMDD ints) and source host. With
        `until`, undated chunks are left out unless `undated`."""
        import tantivy

        self.refresh()
        text = self._text_query(query)
        if text is None or k <= 0 or self._index is None:
            return []
        clauses = [(tantivy.Occur.Must, text)] + [(tantivy.Occur.Must, q) for q in
                                                  self._filter_queries(since, until, sources, undated)]
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(clauses), k, count=False).hits
        return [(searcher.doc(address)["chunk_id"][0], float(score)) for score, address in hits if score > 0]

    def count(self, *, since: int = 0, until: int = 0, sources: tuple[str, ...] = (), undated: bool = False) -> int:
        """How many chunks pass these filters (exact for the generation the index reflects)."""

        self.refresh()
        if self._index is None:
            return 0
        return int(self._index.searcher().search(self._passing(since, until, sources, undated), 1, count=True).count)

    def matching(self, chunk_ids: Sequence[str], *, since: int = 0, until: int = 0, sources: tuple[str, ...] = (),
                 undated: bool = False) -> set[str]:
        """The ids among `chunk_ids` whose chunks pass these filters (one query, no chunk read from Chroma)."""
        import tantivy

        self.refresh()
        if self._index is None or not chunk_ids:
            return set()
        clauses = [tantivy.Query.term_set_query(self._schema, "chunk_id", list(chunk_ids))]
        clauses += self._filter_queries(since, until, sources, undated)
        searcher = self._index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in clauses]),
                               len(chunk_ids), count=False).hits
        return {searcher.doc(address)["chunk_id"][0] for _, address in hits}

    def matching_all(self, *, since: int = 0, until: int = 0, sources: tuple[str, ...] = (), undated: bool = False,
                     limit: int) -> list[str] | None:
        """Every chunk id that passes these filters, or None when more than `limit` do: for a narrow filter,
        the dense search among exactly these chunks (`ArticleStore.dense_search(ids=...)`) is many times
        faster than Chroma's metadata filter. Kept for the index's generation, for a few filters."""

        self.refresh()
        if self._index is None:
            return None
        key = (since, until, tuple(sources), undated, self._generation)
        with self._lock:
            if key in self._listed:
                self._listed.move_to_end(key)
                return self._listed[key] if len(self._listed[key]) <= limit else None
        query = self._passing(since, until, sources, undated)
        searcher = self._index.searcher()
        count = int(searcher.search(query, 1, count=True).count)
        if count > limit:
            return None
        ids = [searcher.doc(address)["chunk_id"][0] for _, address in
               searcher.search(query, count, count=False).hits] if count else []
        with self._lock:
            self._listed[key] = ids
            while len(self._listed) > LISTED_FILTERS:
                self._listed.popitem(last=False)
        return ids

    def _text_query(self, query: str) -> "tantivy.Query | None":
        import tantivy

        if self.tokenizer == "newsdesk":
            tokens = lexical_tokens(query)
            if not tokens:
                return None
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", t)) for t in tokens])
        words = re.findall(r"\w+", query.lower())  # plain words: no query-language operators
        if not words or self._index is None:
            return None
        parsed, _errors = self._index.parse_query_lenient(" ".join(words), ["body"])
        return parsed

    def _filter_queries(self, since: int, until: int, sources: Sequence[str], undated: bool) -> list["tantivy.Query"]:
        import tantivy

        queries = []
        lower = since or (1 if until and not undated else None)  # undated chunks have published 0
        if lower is not None or until:
            queries.append(tantivy.Query.range_query(self._schema, "published", tantivy.FieldType.Integer,
                                                     lower, until or None))
        if sources:
            queries.append(tantivy.Query.term_set_query(self._schema, "host", list(sources)))
        return queries

    def _passing(self, since: int, until: int, sources: Sequence[str], undated: bool) -> "tantivy.Query":
        """The chunks that pass these filters (every chunk when there is none)."""
        import tantivy

        filters = self._filter_queries(since, until, sources, undated) or [self._chunks_query()]
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in filters])

    def _chunks_query(self) -> "tantivy.Query":
        import tantivy

        return tantivy.Query.term_query(self._schema, "kind", "chunk")

    def _state(self, index: "tantivy.Index") -> str | None:
        """The store generation the index's last commit reflects (None: never completed a build)."""
        import tantivy

        searcher = index.searcher()
        hits = searcher.search(tantivy.Query.term_query(self._schema, "kind", "state"), 1, count=False).hits
        return searcher.doc(hits[0][1])["generation"][0] if hits else None

    # -- writing -------------------------------------------------------------------------------

    def apply(self, article_ids: list[str], previous: str, generation: str) -> None:
        """The store's change listener: re-index `article_ids` after the write that moved the store from
        generation `previous` to `generation` (called under the store's write lock)."""
        with self._lock, self._writer(wait=True) as writer:
            if writer is None:
                logger.info("the lexical index in %s is being written elsewhere; it catches up on refresh",
                            self.directory)
                return
            index = self._open()
            index.reload()
            state = self._state(index)
            if state is None:  # never built (or rebuilt after damage): this build includes the write
                self._build(writer)
                return
            self._replace(writer, article_ids)
            # Only a local store is ordered by its lock: on a server another host may have written between
            # `previous` and `generation`, which the next refresh's diff finds.
            if state == previous and not self.store.settings.server_mode:
                self._set_state(writer, generation)
            writer.commit()
            index.reload()
            if self._state(index) == generation:
                self._generation = generation

    def _catch_up(self) -> None:
        """Bring the index to the store's current generation by the registry diff (or a build)."""
        with self._writer(wait=False) as writer:
            if writer is None:  # its holder is updating the index: serve it as it is, look again next refresh
                return
            index = self._open()
            index.reload()
            generation = self.store.generation()  # under the lock: no local write can move it now
            if self._state(index) is None:
                self._build(writer)
                return
            registry = {a.id: indexed_version(a.content_hash, a) for a in self.store.list_articles()}
            held = self._held_versions(index)
            changed = sorted(a for a in registry.keys() | held.keys() if registry.get(a) != held.get(a))
            self._replace(writer, changed)
            self._set_state(writer, generation)
            writer.commit()
            index.reload()
            self._generation = generation
            logger.info("lexical index caught up with %d changed article(s)", len(changed))

    def _held_versions(self, index: "tantivy.Index") -> dict[str, str]:
        """Article id -> `indexed_version` of the chunks the index holds (a terms aggregation: no document
        read). Chunks indexed before it included the metadata hold the bare hash: caught up once."""
        searcher = index.searcher()
        articles = max(1, int(searcher.num_docs))
        result = searcher.aggregate(self._chunks_query(), {"v": {"terms": {"field": "version", "size": articles}}})
        held = {}
        for bucket in result["v"]["buckets"]:
            article_id, _, version = str(bucket["key"]).rpartition(" ")
            held[article_id] = version
        return held

    def _replace(self, writer: "tantivy.IndexWriter", article_ids: Sequence[str]) -> None:
        for article_id in article_ids:
            writer.delete_documents_by_term("article_id", article_id)
        added = self._add(writer, self.store.chunks_of(list(article_ids))) if article_ids else 0
        self.documents_written += added
        self.articles_touched += len(article_ids)

    def _build(self, writer: "tantivy.IndexWriter") -> None:
        """Index every committed chunk of the store, from scratch."""
        started = time.perf_counter()
        self.builds += 1
        generation = self.store.generation()  # before the scan: a change during it shows as a mismatch
        writer.delete_all_documents()
        hashes = self.store.article_hashes()
        added = self._add(writer, (c for c in self.store.iter_chunks() if hashes.get(c.article_id) == c.content_hash))
        self._set_state(writer, generation)
        writer.commit()
        index = self._open()
        index.reload()
        self._generation = generation
        logger.info("built the lexical index of %d chunks in %s in %.2fs", added, self.directory,
                    time.perf_counter() - started)
        self._remove_legacy()

    def _remove_legacy(self) -> None:
        """Delete the BM25 cache that earlier versions rebuilt on every change (this index replaces it)."""
        settings = self.store.settings
        if settings.server_mode:
            host = re.sub(r"[^A-Za-z0-9.-]", "_", settings.chroma_host or "")
            old = settings.store_dir / "lexical-cache" / f"{host}-{settings.chroma_port}-{settings.collection}"
        else:
            old = settings.store_dir / "lexical" / settings.collection
        for path in (old, old.with_name(old.name + ".tmp"), old.with_name(old.name + ".old")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                logger.info("removed the old BM25 cache %s", path)

    def _add(self, writer: "tantivy.IndexWriter", chunks: Iterable[StoredChunk]) -> int:
        import tantivy

        added = 0
        for chunk in chunks:
            text = f"{chunk.title}\n{chunk.text}"
            body = " ".join(lexical_tokens(text)) if self.tokenizer == "newsdesk" else text
            version = f"{chunk.article_id} {indexed_version(chunk.content_hash, chunk)}"
            writer.add_document(tantivy.Document(
                chunk_id=chunk.id, article_id=chunk.article_id, version=version, kind="chunk", body=body,
                published=date_to_int(chunk.published), host=chunk.host))
            added += 1
        return added

    def _set_state(self, writer: "tantivy.IndexWriter", generation: str) -> None:
        import tantivy

        writer.delete_documents_by_term("kind", "state")
        writer.add_document(tantivy.Document(kind="state", generation=generation))

    @contextmanager
    def _writer(self, wait: bool) -> Iterator["tantivy.IndexWriter | None"]:
        """The index's one writer, under the store's write lock; None when another process holds either."""
        locking = self.store.writing() if wait else self.store.writing_if_free()
        with locking as held:
            if held is False:
                yield None
                return
            try:
                writer = self._open().writer(heap_size=WRITER_HEAP, num_threads=1)
            except ValueError as e:  # tantivy's lock file: another process of this replica is writing
                if "LockBusy" not in str(e):
                    raise
                yield None
                return
            try:
                yield writer
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # releases tantivy's lock file

    def _discard(self, error: Exception) -> None:
        """Remove a damaged index, so that the next writer builds it anew."""
        logger.warning("the lexical index in %s is unreadable (%s): rebuilding it from the store", self.directory,
                       error)
        self._index = None
        self._generation = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def _open(self) -> "tantivy.Index":
        """The index on disk, created empty when missing; a damaged one is removed and created anew."""
        import tantivy

        with self._lock:
            if self._index is not None:
                return self._index
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(self.directory), reuse=True)
                self._index.searcher()
            except (ValueError, OSError) as e:
                self._discard(e)
                self.directory.mkdir(parents=True, exist_ok=True)
                self._index = tantivy.Index(self._schema, path=str(self.directory), reuse=True)
            return self._index
