"""The Chroma store: chunk vectors plus an article registry, written so a crash never loses or doubles.

Four collections: `<name>` holds chunks (embedding, text, metadata) and `<name>-articles` holds one
record per article (its full text, metadata, content hash): the current versions, all readers see by
default. `<name>-versions` holds one record per earlier version of an article (its text, metadata, hash
and the dates it was current) and `<name>-history` that version's chunks, copied with their stored
embeddings and sentence vectors (never embedded again). Writing an article follows a small journal in
the registry record:

1. mark the record dirty with the new hash and chunk count (`pending_hash`), text untouched; when the
   text changed and its old version is not in the history yet, the record names the version it is about
   to copy there (`archive`);
2. archive: copy the old version's chunks into the history chunks, then its record into the versions
   (ids derive from article id and old hash, so copying again is idempotent; the version record last, so
   one that exists has all its chunks);
3. write the new chunks (ids derive from article id, content hash and ordinal, so re-writing is idempotent);
4. commit: the record gets the new text and hash (still dirty: old chunks may remain);
5. delete the article's chunks with any other hash, then mark the record clean.

A correction of an article's metadata alone (title, date, outlet, URL, author; the text unchanged) is
no new version: `update_metadata` journals the record (step 1, same hash), rewrites the metadata of the
current chunks in place (their vectors stay), then commits the record's new metadata (step 4) and marks
it clean. The record is written last, so a crash before it leaves the old metadata there and the next
ingest of the article redoes the correction.

`repair()` finishes whatever a crash interrupted: a dirty record that was committed has its old chunks
deleted (its old version is already in the history); one that was not has its partial new chunks and
the history copy this write made (`archive`) deleted, and keeps its old version (or disappears when
there was none). Either way no article or version is lost or doubled, and the next ingest of the new
version leaves what an uninterrupted one leaves. Deleting an article deletes its history too.

Concurrency. A local store has one writer at a time: every write (an ingest batch, a delete, a repair)
holds an advisory lock, `fcntl.flock` on `<store>/.newsdesk-write.lock`, so a second ingest waits for
the batch in progress (saying so) and `repair()` can never undo a write that is still running. A
Chroma server has no such lock across hosts: there `repair()` leaves alone journal entries younger than
`STALE_JOURNAL_SECONDS` (they may belong to a live writer elsewhere), and the next ingest of such an
article rewrites it. Readers see committed versions only: `dense_search` and `get_chunks` drop chunks
whose hash is not their article's committed hash (a write in progress, or old chunks not yet deleted).
A local reader process reopens its Chroma client when another process changed the store, because
Chroma's local vector index is loaded once per process and does not follow other processes' writes.

Readers write too. Before a get or a query, local Chroma "backfills" its segments from its write log:
it reads the segment's last applied log offset, then, in a later transaction, applies the log entries
past it. When a writer in another process applies and commits newer entries in between, the reader
re-applies older ones over them, and an article's record goes back to an earlier state (seen as an
article whose committed hash and text are those of its previous version). Chroma is not built for
several processes on one directory, so the store serializes them itself: a writer holds `CHROMA_LOCK`
exclusively for as long as it holds the write lock, and every Chroma call of a process that is not
writing holds it shared. Within one process Chroma's compaction runs one message at a time, so a
process that writes needs no lock against its own readers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import StoreUnavailable
from core.records import Article, ArticleInfo, ArticleMeta, Chunk, StoredChunk, date_to_int
from core.sentences import SEGMENTATION_VERSION, pack_sentences, unpack_sentences
from core.settings import Settings
from core.text import source_host
from core.versions import ArticleVersion
from vectorstore.embedding import resolve_precision

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000
"""Chunks per Chroma call; below Chroma's max batch size on every backend."""

TRANSIENT_RETRIES = (0.1, 0.3, 1.0)
"""Seconds waited before each new try of a Chroma call that failed with a transient error (`_transient`)."""
_TRANSIENT = ("Nothing found on disk",)
"""Chroma's words for a state that passes by itself: a reader built while another client's write is persisting
the HNSW index finds its folder without the id map yet ("Error creating hnsw segment reader: Nothing found on
disk", from a Chroma server under two concurrent ingests)."""


def _transient(error: Exception) -> bool:
    return any(words in str(error) for words in _TRANSIENT)


READ_BATCH = 500
"""Keys per Chroma read that names them (a `$in` filter): well under SQLite's variable limit."""

LOCK_FILE = ".newsdesk-write.lock"
"""The advisory write lock inside a local store directory."""

CHROMA_LOCK = ".newsdesk-chroma.lock"
"""Held exclusively by the writing process, shared by every other process's Chroma calls (module docstring)."""

INDEX_VERSION = 3
"""How articles are chunked and what their chunks carry; bumped when that changes (2: sentence vectors in
chunk metadata; 3: the sentences themselves beside them). With the sentence segmentation's own version
(`core.sentences.SEGMENTATION_VERSION`), the chunk sizes and the embedding model it makes an article's
index signature: an ingest re-embeds articles stored under another signature, so an upgrade, new
sentence rules or a new chunk size need only a re-ingest."""

CHUNK_TEXT = "text"
"""The metadata key that holds a chunk's text (current chunks and their history copies). Not Chroma's document:
Chroma indexes every document's trigrams for a full-text search nothing here uses, and that index was 45% of
the time a chunk write took (3,000 chunks of the evaluation store: 4.4 s with the text as documents, 2.7 s
with it in the metadata; docs/benchmarks.md, "Ingest"). Chunks stored before are read from their document
(`chunk_text`), so a store needs no re-ingest."""

STALE_JOURNAL_SECONDS = 600.0
"""On a Chroma server, a journal entry younger than this may belong to a live writer: repair() skips it."""


def chunk_id(article_id: str, content_hash: str, ordinal: int) -> str:
    """Deterministic chunk id: the same article version always yields the same ids."""
    key = hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]
    return f"{key}-{content_hash[:16]}-{ordinal:05d}"


def version_id(article_id: str, content_hash: str) -> str:
    """Deterministic id of an article's version in the history: copying it twice writes it once."""
    return f"{hashlib.sha1(article_id.encode('utf-8')).hexdigest()[:16]}-{content_hash[:32]}"


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PreparedArticle:
    """An article with its chunks and their embeddings, ready to write."""

    article: Article
    chunks: Sequence[Chunk]
    embeddings: "np.ndarray"
    sentence_vectors: Sequence[str] = ()
    """Per chunk, its sentences' vectors packed by `vectorstore.embedding.pack_vectors` (may be empty)."""
    embedding_keys: Sequence[str] = ()
    """Per chunk, `ArticleStore.embedding_key` of what was embedded for it (may be empty)."""


@dataclass(frozen=True)
class IndexState:
    """What an ingest needs to know of the stored articles (`ArticleStore.index_state`)."""

    hashes: dict[str, str]
    """Committed article id -> content hash."""
    stale: set[str]
    """Ids indexed under another `index_signature`: re-embedded by the next ingest."""
    metadata: dict[str, dict[str, Any]]
    """Article id -> its stored metadata (title, dates, outlet, URL, author, origin)."""

    def unchanged(self, article: Article) -> bool:
        """Stored as it is now: same text, same metadata, current index."""
        return self.same_text(article) and self.metadata.get(article.id) == _article_meta(article)

    def same_text(self, article: Article) -> bool:
        """Stored with this text and indexed as now (its metadata may differ)."""
        return self.hashes.get(article.id) == article.content_hash and article.id not in self.stale

    def stored_meta(self, article_id: str) -> ArticleMeta | None:
        """The stored title, date, outlet and URL of an article (None when it is not stored)."""
        stored = self.metadata.get(article_id)
        return ArticleMeta(**_meta_from(stored)) if stored is not None else None


def _connect(settings: Settings) -> "ClientAPI":
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.server_mode:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except Exception as e:
        raise StoreUnavailable(_where(settings) + f" is unavailable: {e}{_disk_hint(settings)}") from e


def _disk_hint(settings: Settings) -> str:
    """Why a local store directory cannot be written, when the file system says so (Chroma writes even to read)."""
    if settings.server_mode:
        return ""
    try:
        fs = os.statvfs(settings.store_dir)
    except OSError:
        return ""
    if fs.f_flag & os.ST_RDONLY:
        return " (the file system is read-only; the store needs write access, even to be read)"
    if fs.f_bavail * fs.f_frsize < 1024 * 1024:
        return " (the disk is full)"
    if not os.access(settings.store_dir, os.W_OK):
        return " (this user cannot write to it; the store needs write access, even to be read)"
    return ""


def _where(settings: Settings) -> str:
    if settings.server_mode:
        return f"Chroma server at {settings.chroma_host}:{settings.chroma_port} (NEWSDESK_CHROMA_HOST/PORT)"
    return f"store directory {settings.store_dir} (NEWSDESK_STORE_DIR)"


class _WriteLock:
    """`flock` on a local store's lock file: one writing process at a time, re-entrant within a process.
    The writing process also holds the Chroma lock exclusively, so no other process's Chroma call runs
    while it writes (`reading`)."""

    def __init__(self, path: "os.PathLike[str]") -> None:
        self.path = path
        self.chroma_path = os.path.join(os.path.dirname(path), CHROMA_LOCK)
        self._thread_lock = threading.RLock()  # threads of one process take turns too
        self._depth = 0
        self._fds: tuple[int, int | None] | None = None

    @contextmanager
    def hold(self, where: str, wait: bool = True) -> Iterator[bool]:
        """Hold the lock; yields True. With `wait=False`, yields False at once when another holds it."""
        if not self._thread_lock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._depth == 0:
                self._fds = self._acquire_both(where, wait)
                if self._fds is None:
                    yield False
                    return
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fds is not None:
                    for fd in self._fds:  # closing a descriptor releases its lock
                        if fd is not None:
                            os.close(fd)
                    self._fds = None
        finally:
            self._thread_lock.release()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Around one Chroma call: shared with other readers, never during another process's write. A
        process that is writing reads without it (its own calls are serialized by Chroma)."""
        if self._depth:
            yield
            return
        fd = _open_lock_file(self.chroma_path)
        if fd is None:  # a store that cannot be written (read-only): no writer can be there either
            yield
            return
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _acquire_both(self, where: str, wait: bool) -> tuple[int, int | None] | None:
        fd = self._acquire(where, wait)
        if fd is None:
            return None
        try:
            chroma = _open_lock_file(self.chroma_path)
            if chroma is not None:
                import fcntl

                fcntl.flock(chroma, fcntl.LOCK_EX)  # waits for Chroma calls of other processes in flight
        except BaseException:
            os.close(fd)
            raise
        return fd, chroma

    def _acquire(self, where: str, wait: bool = True) -> int | None:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreUnavailable(f"{where} cannot be written: {e.strerror} ({self.path})") from e
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    os.close(fd)
                    return None
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                logger.warning("%s is being written by another process%s; waiting for it to finish", where,
                               f" (pid {holder})" if holder else "")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as e:
            os.close(fd)
            raise StoreUnavailable(f"{where} cannot be written: {e.strerror} ({self.path})") from e
        return fd


def _open_lock_file(path: str) -> int | None:
    """A descriptor to `flock`, created when missing; None when the store folder cannot hold one."""
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
        try:
            return os.open(path, flags, 0o644)
        except OSError:
            continue
    return None


_WRITE_LOCKS: dict[str, _WriteLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(settings: Settings) -> _WriteLock | None:
    """The process-wide lock object of a local store (None for a Chroma server)."""
    if settings.server_mode:
        return None
    path = os.path.join(os.path.abspath(settings.store_dir), LOCK_FILE)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, _WriteLock(path))


class _Gate:
    """Many Chroma calls at once, or one client reopen with no call in flight."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._reopening = False

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._cond:
            while self._reopening:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def reopen(self) -> Iterator[None]:
        with self._cond:
            while self._reopening:
                self._cond.wait()
            self._reopening = True
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._reopening = False
                self._cond.notify_all()


class ArticleStore:
    """Articles and their chunks in Chroma (local persistent, or a Chroma server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.location = _where(settings)
        self._gate = _Gate()
        self._lock = _write_lock(settings)
        self.change_listeners: list[Callable[[list[str], str, str], None]] = []
        """Called as `listener(article_ids, previous_generation, generation)` after each write, delete or
        repair, under the write lock (the lexical index follows the store this way)."""
        self._open()

    def _open(self) -> None:
        store_dir = self.settings.store_dir
        if self._lock is None or (store_dir / "chroma.sqlite3").exists():
            self._open_collections()
            return
        try:
            store_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreUnavailable(f"{self.location} cannot be created: {e.strerror}") from e
        with self.writing():  # two processes creating one store at once race in Chroma's migrations
            self._open_collections()

    def _open_collections(self) -> None:
        self._client = _connect(self.settings)
        for attempt in (1, 2):  # a collection created by another process at the same moment exists on retry
            try:
                self.chunks: Collection = self._client.get_or_create_collection(
                    self.settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
                )
                self.registry: Collection = self._client.get_or_create_collection(
                    f"{self.settings.collection}-articles", configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
                self.versions: Collection = self._client.get_or_create_collection(
                    f"{self.settings.collection}-versions", configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
                self.history: Collection = self._client.get_or_create_collection(
                    f"{self.settings.collection}-history", configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
                break
            except Exception as e:
                if attempt == 2:
                    raise StoreUnavailable(f"{self.location} is unavailable: {e}{_disk_hint(self.settings)}") from e
                time.sleep(0.2)
        self._seen_generation = str((self.chunks.metadata or {}).get("generation", ""))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock (local store; a no-op on a Chroma server). Re-entrant."""
        if self._lock is None:
            yield
            return
        with self._lock.hold(self.location):
            yield

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Around each Chroma call: never at the same time as another process's write (module docstring)."""
        if self._lock is None:
            yield
            return
        with self._lock.reading():
            yield

    @contextmanager
    def writing_if_free(self) -> Iterator[bool]:
        """Hold the write lock when no other process does; yields whether it is held (always True on a
        Chroma server, which has no lock). For work that another writer would do anyway."""
        if self._lock is None:
            yield True
            return
        with self._lock.hold(self.location, wait=False) as held:
            yield held

    # -- change tracking -----------------------------------------------------------------------

    def generation(self) -> str:
        """A token that changes whenever chunks are written or deleted (by any process)."""
        token = self._stored_generation()
        if token != self._seen_generation:
            self._seen_generation = token
            if not self.settings.server_mode:
                self._reopen()
        return token

    def _reopen(self) -> None:
        """Another process wrote: a fresh local client, since the old one's vector index never sees that write."""
        with self._gate.reopen():
            seen = self._seen_generation
            self.close()
            self._open()
            self._seen_generation = seen
        logger.debug("reopened %s after a change by another process", self.location)

    def close(self) -> None:
        """Release the Chroma client (and the memory Chroma caches for it); the store is not used after."""
        try:
            self._client.close()
        except Exception:  # a client that cannot close cleanly is dropped all the same
            logger.debug("closing the Chroma client of %s failed", self.location, exc_info=True)

    def _stored_generation(self) -> str:
        collection = self._call("reading the collection", self._client.get_collection, self.settings.collection,
                                embedding_function=None)
        return str((collection.metadata or {}).get("generation", ""))

    def _bump_generation(self, article_ids: Iterable[str] = ()) -> None:
        previous = self._stored_generation()
        token = uuid.uuid4().hex
        self._call("marking a change", self.chunks.modify, metadata={"generation": token})
        self._seen_generation = token
        changed = sorted(set(article_ids))
        for listener in self.change_listeners:
            try:  # the write is done: a follower that fails catches up on its next refresh
                listener(changed, previous, token)
            except Exception as e:  # said in one line (a full disk is no bug); the traceback is for -v
                logger.warning("a follower of %s failed to apply a change (%s: %s); it catches up on its next "
                               "refresh", self.location, type(e).__name__, e)
                logger.debug("the follower's failure", exc_info=True)

    # -- reading -------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        with self._gate.call(), self._reading():
            for wait in (*TRANSIENT_RETRIES, None):
                try:
                    return self._live(fn)(*args, **kwargs)
                except Exception as e:
                    if wait is not None and _transient(e):  # every call here is idempotent: safe to repeat
                        logger.info("%s: %s: %s; trying again in %.1f s", self.location, what, e, wait)
                        time.sleep(wait)
                        continue
                    raise StoreUnavailable(f"{self.location}: {what} failed: {e}{_disk_hint(self.settings)}") from e
        raise AssertionError("unreachable")

    def _live(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn` bound to the current client or collection (a reopen may have replaced the one it was bound to)."""
        owner = getattr(fn, "__self__", None)
        for live in (self._client, self.chunks, self.registry, self.versions, self.history):
            if owner is not None and owner is not live and type(owner) is type(live) and \
                    getattr(owner, "name", None) == getattr(live, "name", None):
                return getattr(live, fn.__name__)  # type: ignore[no-any-return]
        return fn

    def _records(self, where: dict[str, Any] | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
        got = self._call("reading articles", self.registry.get, ids=ids, where=where, include=["metadatas"])
        return [dict(meta, id=i) for i, meta in zip(got["ids"], got["metadatas"])]

    def article_hashes(self, ids: list[str] | None = None) -> dict[str, str]:
        """Committed article id -> content hash."""
        return {r["id"]: r["content_hash"] for r in self._records(ids=ids) if r.get("content_hash")}

    def index_state(self, ids: list[str] | None = None) -> IndexState:
        """One registry read for an ingest: the committed articles (those with a write in progress left
        out) with their hash and metadata, and which are indexed under another `index_signature`."""
        hashes: dict[str, str] = {}
        stale: set[str] = set()
        metadata: dict[str, dict[str, Any]] = {}
        for r in self._records(ids=ids):
            if r.get("content_hash") and not r.get("dirty"):
                hashes[r["id"]] = r["content_hash"]
                metadata[r["id"]] = {k: r.get(k, 0 if k == "published_int" else "") for k in _ARTICLE_FIELDS}
                if r.get("index") != self.index_signature:
                    stale.add(r["id"])
        return IndexState(hashes, stale, metadata)

    @property
    def index_signature(self) -> str:
        """What the chunks of an article written now are made with (see INDEX_VERSION)."""
        s = self.settings
        header = "" if s.embedding_header == "title_date" else f" header {s.embedding_header}"
        precision = resolve_precision(s.embedding_precision, s.embedding_device)
        number = "" if precision == "float32" else f" {precision}"
        return (f"v{INDEX_VERSION} sentences {SEGMENTATION_VERSION} chunks {s.chunk_tokens}/{s.chunk_overlap_tokens} "
                f"model {s.embedding_model}{number}{header}")

    def embedding_key(self, text: str, spans: Sequence[tuple[int, int]]) -> str:
        """What determines a chunk's vectors: the embedded text, its sentences' spans in it (the sentence
        vectors are pooled over them) and the index signature (model, chunking). Equal keys, equal vectors."""
        digest = hashlib.sha256(self.index_signature.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
        digest.update(",".join(f"{a}:{b}" for a, b in spans).encode("ascii"))
        return digest.hexdigest()[:40]

    def stored_vectors(self, keys: Sequence[str]) -> dict[str, tuple[list[float], str]]:
        """Embedding key -> (chunk vector, packed sentence vectors) of stored chunks with that key, for an
        ingest to reuse instead of embedding the same text again (`embedding_key`)."""
        found: dict[str, tuple[list[float], str]] = {}
        for i in range(0, len(keys), READ_BATCH):
            got = self._call("reading stored vectors", self.chunks.get,
                             where={"embedding_key": {"$in": list(keys[i:i + READ_BATCH])}},
                             include=["metadatas", "embeddings"])
            for meta, vector in zip(got["metadatas"], got["embeddings"]):
                if meta.get("sentence_vectors"):  # a chunk without them (written by hand, damaged) is no model
                    found.setdefault(meta["embedding_key"], (list(map(float, vector)), meta["sentence_vectors"]))
        return found

    def list_articles(self) -> list[ArticleInfo]:
        """Every committed article, newest first."""
        infos = [_info(r) for r in self._records() if r.get("content_hash")]
        return sorted(infos, key=lambda a: (a.published or date.min, a.title), reverse=True)

    def get_article(self, article_id: str) -> ArticleInfo | None:
        records = [r for r in self._records(ids=[article_id]) if r.get("content_hash")]
        return _info(records[0]) if records else None

    def article_text(self, article_id: str) -> str | None:
        got = self._call("reading an article", self.registry.get, ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def count_chunks(self) -> int:
        return int(self._call("counting chunks", self.chunks.count))

    def stats(self) -> dict[str, Any]:
        articles = self.list_articles()
        sources: dict[str, int] = {}
        for a in articles:
            sources[a.source or "(unknown)"] = sources.get(a.source or "(unknown)", 0) + 1
        dates = [a.published for a in articles if a.published]
        return {
            "location": self.location,
            "collection": self.settings.collection,
            "articles": len(articles),
            "chunks": self.count_chunks(),
            "sources": dict(sorted(sources.items(), key=lambda kv: -kv[1])),
            "earliest": min(dates).isoformat() if dates else None,
            "latest": max(dates).isoformat() if dates else None,
        }

    def iter_chunks(self, batch: int = 5000) -> Iterator[StoredChunk]:
        """Every chunk in the store (for the lexical index), in pages."""
        offset = 0
        while True:
            got = self._call(
                "reading chunks", self.chunks.get, limit=batch, offset=offset, include=["documents", "metadatas"]
            )
            for cid, text, meta in _chunk_rows(got["ids"], got["documents"], got["metadatas"]):
                yield stored_chunk(cid, text, meta)
            if len(got["ids"]) < batch:
                return
            offset += batch

    def chunks_of(self, article_ids: Sequence[str], batch: int = 200) -> Iterator[StoredChunk]:
        """The chunks of these articles' committed versions (for the lexical index's updates)."""
        for i in range(0, len(article_ids), batch):
            ids = list(article_ids[i:i + batch])
            got = self._call("reading chunks", self.chunks.get, where={"article_id": {"$in": ids}},
                             include=["documents", "metadatas"])
            found = [stored_chunk(cid, t, m) for cid, t, m in _chunk_rows(got["ids"], got["documents"],
                                                                          got["metadatas"])]
            committed = self._committed(found)
            yield from (c for c in found if c.id in committed)

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        """The chunks with these ids that belong to their article's committed version."""
        got = self._call("reading chunks", self.chunks.get, ids=list(ids), include=["documents", "metadatas"])
        by_id = {cid: stored_chunk(cid, t, m) for cid, t, m in _chunk_rows(got["ids"], got["documents"],
                                                                           got["metadatas"])}
        committed = self._committed(by_id.values())
        return [by_id[i] for i in ids if i in by_id and by_id[i].id in committed]

    def _committed(self, chunks: Iterable[StoredChunk]) -> set[str]:
        """Ids of the chunks whose hash is their article's committed hash: never a write in progress, never
        an old version whose deletion is pending."""
        chunks = list(chunks)
        if not chunks:
            return set()
        hashes = self.article_hashes(sorted({c.article_id for c in chunks}))
        return {c.id for c in chunks if c.content_hash and hashes.get(c.article_id) == c.content_hash}

    def dense_ids(self, embedding: "np.ndarray", k: int) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the nearest chunks, best first, nothing else read: cheap for a large
        `k` (the caller filters them and reads the few it keeps with `get_chunks`, which drops uncommitted ones)."""
        if k <= 0:
            return []
        got = self._call("searching", self.chunks.query, query_embeddings=[embedding.tolist()], n_results=k,
                         include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], got["distances"][0])]

    def dense_search(
        self, embedding: "np.ndarray", k: int, where: dict[str, Any] | None = None, ids: Sequence[str] | None = None,
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks by cosine similarity (1 - distance), best first; among the chunks `where` lets
        through, or among exactly `ids` (no metadata filter: far faster for a narrow set)."""
        if k <= 0 or (ids is not None and not ids):
            return []
        # No count() first: Chroma returns fewer results (or none) when the collection is smaller than k,
        # and counting costs a scan that grows with the collection (7 ms a query at 50k chunks).
        got = self._call(
            "searching", self.chunks.query, query_embeddings=[embedding.tolist()], n_results=k, where=where,
            ids=list(ids) if ids is not None else None, include=["documents", "metadatas", "distances"],
        )
        # a row another process deleted since this one's index was loaded has no text or metadata: left out
        distance = dict(zip(got["ids"][0], got["distances"][0]))
        found = [(stored_chunk(cid, text, meta), 1.0 - float(distance[cid]))
                 for cid, text, meta in _chunk_rows(got["ids"][0], got["documents"][0], got["metadatas"][0])]
        committed = self._committed(c for c, _ in found)
        return [(c, score) for c, score in found if c.id in committed]

    # -- versions ------------------------------------------------------------------------------

    def article_versions(self, article_id: str) -> list[ArticleVersion]:
        """The article's versions, oldest first, the current one last ([] when it is not stored). A history
        copy of the current text (a write interrupted before its commit, or a text the article went back
        to) is not listed twice."""
        records = [r for r in self._records(ids=[article_id]) if r.get("content_hash")]
        if not records:
            return []
        current = records[0]
        got = self._call("reading versions", self.versions.get, where={"article_id": article_id},
                         include=["metadatas"])
        old = [_version(m) for m in got["metadatas"] if m.get("content_hash") != current["content_hash"]]
        old.sort(key=lambda v: (v.superseded or date.max, v.valid_from or date.min))
        return [*old, _version(dict(current, article_id=article_id))]

    def has_versions(self) -> bool:
        """Whether any article has an earlier version (readers skip the history when none has)."""
        return bool(self._call("counting versions", self.versions.count))

    def version_text(self, article_id: str, content_hash: str) -> str | None:
        """The text of one version of an article (current or in the history); None when there is no such version."""
        got = self._call("reading an article", self.registry.get, ids=[article_id], include=["documents", "metadatas"])
        if got["ids"] and got["metadatas"][0].get("content_hash") == content_hash:
            return got["documents"][0]  # type: ignore[no-any-return]
        got = self._call("reading a version", self.versions.get, ids=[version_id(article_id, content_hash)],
                         include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def current_since(self, article_ids: Iterable[str]) -> dict[str, date]:
        """Article id -> the day its current version became current, for the articles that know it (an
        undated article, or one stored before versions were kept, is current since always)."""
        ids = sorted(set(article_ids))
        return {r["id"]: d for r in self._records(ids=ids) if (d := _parse_date(r.get("valid_from", "")))} if ids \
            else {}

    def history_search(
        self, embedding: "np.ndarray", k: int, day: date, where: dict[str, Any] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks of earlier versions that were current on `day` (valid from on or before it,
        superseded after it), best first; `where` filters them as `dense_search` filters current chunks."""
        if k <= 0 or not self.has_versions():
            return []
        valid = [{"valid_from_int": {"$lte": date_to_int(day)}}, {"superseded_int": {"$gt": date_to_int(day)}}]
        got = self._call(
            "searching earlier versions", self.history.query, query_embeddings=[embedding.tolist()], n_results=k,
            where={"$and": [*valid, where] if where else valid}, include=["documents", "metadatas", "distances"],
        )
        distance = dict(zip(got["ids"][0], got["distances"][0]))
        found = [(stored_chunk(cid, text, meta), 1.0 - float(distance[cid]), meta.get("version_id", ""))
                 for cid, text, meta in _chunk_rows(got["ids"][0], got["documents"][0], got["metadatas"][0])]
        # Only versions whose record exists (a copy in progress has none yet), and never the current text.
        archived = set(self._call("reading versions", self.versions.get, ids=sorted({v for *_, v in found}),
                                  include=[])["ids"]) if found else set()
        current = self.article_hashes(sorted({c.article_id for c, *_ in found})) if found else {}
        return [(c, score) for c, score, vid in found
                if vid in archived and current.get(c.article_id) != c.content_hash]

    # -- writing -------------------------------------------------------------------------------

    def write_articles(self, prepared: Sequence[PreparedArticle]) -> None:
        """Write new or changed articles with the journal described in the module docstring."""
        if not prepared:
            return
        with self.writing():
            previous = {r["id"]: r for r in self._records(ids=[p.article.id for p in prepared])}
            starts, archives = self._version_plan(prepared, previous)
            self._mark_pending(prepared, previous, archives)
            self._archive(archives)
            self._write_chunks(prepared)
            self._commit_records(prepared, starts)
            for p in prepared:
                if p.article.id in previous:
                    self._delete_chunks_except(p.article.id, p.article.content_hash, len(p.chunks))
            # Before the records are clean: a crash in between leaves them dirty, so repair() bumps again.
            self._bump_generation(p.article.id for p in prepared)
            self._mark_clean([p.article.id for p in prepared])

    def update_metadata(self, articles: Sequence[Article]) -> None:
        """Correct the metadata of stored articles whose text is unchanged, without embedding anything (the
        journal of the module docstring). The caller knows the embedded text does not depend on what
        changed (`ingest.chunking.Chunker.header`); an article not stored with this text is left alone."""
        if not articles:
            return
        with self.writing():
            previous = {r["id"]: r for r in self._records(ids=[a.id for a in articles])}
            articles = [a for a in articles if previous.get(a.id, {}).get("content_hash") == a.content_hash]
            if not articles:
                return
            ids = [a.id for a in articles]
            self._call("journaling articles", self.registry.update, ids=ids, metadatas=[
                dict(_meta_only(previous[a.id]), dirty=True, pending_hash=a.content_hash, journal_at=time.time(),
                     archive="") for a in articles])
            for a in articles:
                self._retag(a.id, a.content_hash, a)
            metas = []
            for a in articles:
                began = _restarted(previous[a.id], a)
                metas.append(dict(_article_meta(a), valid_from=began.isoformat() if began else "",
                                  valid_from_int=date_to_int(began)))
            self._call("committing articles", self.registry.update, ids=ids, metadatas=metas)
            self._bump_generation(ids)
            self._mark_clean(ids)

    def _retag(self, article_id: str, content_hash: str, meta: ArticleMeta) -> None:
        """Give the chunks of this version of an article `meta` (their text, vectors and offsets stay)."""
        got = self._call("reading chunks", self.chunks.get, include=[],
                         where={"$and": [{"article_id": article_id}, {"content_hash": content_hash}]})
        fields = _chunk_fields(article_id, content_hash, meta)
        for i in range(0, len(got["ids"]), WRITE_BATCH):
            batch = got["ids"][i:i + WRITE_BATCH]
            self._call("correcting chunks", self.chunks.update, ids=batch, metadatas=[fields for _ in batch])

    def delete_article(self, article_id: str) -> bool:
        """Remove an article and its chunks; False when it was not stored."""
        with self.writing():
            records = self._records(ids=[article_id])
            if not records:
                return False
            # Uncommitted first: a crash midway leaves a record that repair() removes.
            meta = dict(_meta_only(records[0]), content_hash="", dirty=True, pending_hash="", journal_at=time.time())
            self._call("marking an article for deletion", self.registry.update, ids=[article_id], metadatas=[meta])
            self._delete_everything_of(article_id)
            # While the record is still there to tell repair() the change is unfinished.
            self._bump_generation([article_id])
            self._call("deleting an article", self.registry.delete, ids=[article_id])
            return True

    def repair(self) -> int:
        """Finish or undo writes a crash interrupted; returns how many articles needed it."""
        with self.writing():
            return self._repair()

    def _repair(self) -> int:
        dirty = self._records(where={"dirty": True})
        if self.settings.server_mode:  # no lock across hosts: a recent entry may be a live writer's
            recent = time.time() - STALE_JOURNAL_SECONDS
            young = [r for r in dirty if float(r.get("journal_at", 0.0)) > recent]
            if young:
                logger.info("%d article(s) are being written (or were in the last %.0f s): left to their writer "
                            "or the next ingest of them", len(young), STALE_JOURNAL_SECONDS)
            dirty = [r for r in dirty if r not in young]
        if not dirty:
            return 0
        # Chunks first, then the change token, then the records: until the records are settled they
        # stay dirty, so a crash anywhere here leaves work the next repair() finishes, token included.
        for record in dirty:
            article_id, committed = record["id"], record.get("content_hash", "")
            if committed:
                # A rewrite of the same text (re-indexing) may have made fewer chunks than there were.
                same = record.get("pending_hash") == committed and "chunks" in record
                self._delete_chunks_except(article_id, committed, int(record["chunks"]) if same else None)
                if same:  # the chunks take the record's metadata (a correction not committed is undone)
                    self._retag(article_id, committed, ArticleMeta(**_meta_from(record)))
                if record.get("archive") and not same:  # not committed: undo this write's copy to the history
                    self._delete_version(str(record["archive"]))
            else:  # a new article never committed, or a deletion: nothing of it stays
                self._delete_everything_of(article_id)
        self._bump_generation(r["id"] for r in dirty)
        for record in dirty:
            article_id, committed = record["id"], record.get("content_hash", "")
            if committed:
                self._mark_clean([article_id])
            else:
                self._call("deleting an article", self.registry.delete, ids=[article_id])
            logger.debug("repaired %s (committed version kept: %s)", article_id, bool(committed))
        logger.warning("repaired %d article(s) left by an interrupted write", len(dirty))
        return len(dirty)

    def _delete_chunks_except(self, article_id: str, keep_hash: str, keep_count: int | None = None) -> None:
        """Delete the article's chunks of other versions and, given `keep_count`, those past its last chunk."""
        stale: dict[str, Any] = {"content_hash": {"$ne": keep_hash}}
        if keep_count is not None:
            stale = {"$or": [stale, {"ordinal": {"$gte": keep_count}}]}
        self._call("deleting old chunks", self.chunks.delete, where={"$and": [{"article_id": article_id}, stale]})

    def _delete_everything_of(self, article_id: str) -> None:
        """An article's chunks, then its history (chunks before records, as they were written)."""
        self._call("deleting chunks", self.chunks.delete, where={"article_id": article_id})
        self._call("deleting earlier versions' chunks", self.history.delete, where={"article_id": article_id})
        self._call("deleting earlier versions", self.versions.delete, where={"article_id": article_id})

    def _delete_version(self, vid: str) -> None:
        self._call("deleting an earlier version's chunks", self.history.delete, where={"version_id": vid})
        self._call("deleting an earlier version", self.versions.delete, ids=[vid])

    def _version_plan(
        self, prepared: Sequence[PreparedArticle], previous: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, date | None], list[tuple[dict[str, Any], date]]]:
        """When each new version became current, and the old versions to copy to the history (each with
        the day it was superseded). An old version already in the history (the article went back to a
        text it had) keeps its first record there."""
        starts: dict[str, date | None] = {}
        changed: list[tuple[dict[str, Any], date]] = []
        for p in prepared:
            old = previous.get(p.article.id)
            old_hash = (old or {}).get("content_hash", "")
            if not old_hash:  # a new article
                starts[p.article.id] = p.article.updated or p.article.published
            elif old_hash == p.article.content_hash:  # the same text, re-indexed (or its metadata corrected)
                starts[p.article.id] = _restarted(old, p.article)  # type: ignore[arg-type]
            else:
                began = _valid_from(old)  # type: ignore[arg-type]
                superseded = max(p.article.updated or date.today(), began or date.min)
                starts[p.article.id] = superseded
                changed.append((old, superseded))  # type: ignore[arg-type]
        if not changed:
            return starts, []
        vids = [version_id(old["id"], old["content_hash"]) for old, _ in changed]
        stored = set(self._call("reading versions", self.versions.get, ids=vids, include=[])["ids"])
        # A copy an unrepaired crash left half-made (its record still names it) is made again, idempotently.
        return starts, [(old, day) for (old, day), vid in zip(changed, vids)
                        if vid not in stored or old.get("archive") == vid]

    def _archive(self, archives: Sequence[tuple[dict[str, Any], date]]) -> None:
        """Journal step 2: the old versions' chunks (as stored: text, metadata, embedding) into the history,
        then their records into the versions, each marked with the days it was current."""
        if not archives:
            return
        ids = [old["id"] for old, _ in archives]
        records = self._call("reading articles", self.registry.get, ids=ids, include=["documents", "embeddings"])
        text = dict(zip(records["ids"], records["documents"]))
        vector = dict(zip(records["ids"], records["embeddings"]))
        for old, superseded in archives:
            vid = version_id(old["id"], old["content_hash"])
            dates = _version_dates(_valid_from(old), superseded)
            got = self._call("reading old chunks", self.chunks.get,
                             where={"$and": [{"article_id": old["id"]}, {"content_hash": old["content_hash"]}]},
                             include=["documents", "metadatas", "embeddings"])
            vectors = dict(zip(got["ids"], got["embeddings"]))
            rows = [(cid, dict(m, version_id=vid, **{CHUNK_TEXT: t}, **dates), vectors[cid])
                    for cid, t, m in _chunk_rows(got["ids"], got["documents"], got["metadatas"])
                    if int(m.get("ordinal", 0)) < int(old.get("chunks", len(got["ids"])))]
            for i in range(0, len(rows), WRITE_BATCH):
                batch = rows[i:i + WRITE_BATCH]
                self._call("copying old chunks to the history", self.history.upsert, ids=[r[0] for r in batch],
                           metadatas=[r[1] for r in batch], embeddings=[list(map(float, r[2])) for r in batch])
            meta = {k: v for k, v in _meta_only(old).items() if k not in _JOURNAL_FIELDS}
            self._call("copying an old version to the history", self.versions.upsert, ids=[vid],
                       documents=[text[old["id"]]], embeddings=[list(map(float, vector[old["id"]]))],
                       metadatas=[dict(meta, article_id=old["id"], chunks=len(rows), **dates)])

    def _mark_pending(self, prepared: Sequence[PreparedArticle], previous: dict[str, dict[str, Any]],
                      archives: Sequence[tuple[dict[str, Any], date]] = ()) -> None:
        """Journal step 1. Existing records keep their text and hash; new ones get an uncommitted record."""
        updates = [p for p in prepared if p.article.id in previous]
        archived = {old["id"]: version_id(old["id"], old["content_hash"]) for old, _ in archives}
        if updates:
            metas = [dict(_meta_only(previous[p.article.id]), dirty=True, pending_hash=p.article.content_hash,
                          journal_at=time.time(), archive=archived.get(p.article.id, "")) for p in updates]
            self._call("journaling articles", self.registry.update, ids=[p.article.id for p in updates],
                       metadatas=metas)
        new = [p for p in prepared if p.article.id not in previous]
        if new:
            self._upsert_records(new, content_hash="", dirty=True)

    def _commit_records(self, prepared: Sequence[PreparedArticle], starts: dict[str, date | None]) -> None:
        """Journal step 4: the new text and hash become the article's, current from `starts`."""
        self._upsert_records(prepared, content_hash=None, dirty=True, starts=starts)

    def _mark_clean(self, ids: list[str]) -> None:
        """Journal's last step. Only the journal's own fields are written (Chroma's update merges them into
        the record): a record read and written back whole could put back a hash another writer replaced
        in between (two writers of one article on a Chroma server, which has no lock)."""
        records = self._records(ids=ids)
        if records:
            self._call("committing articles", self.registry.update, ids=[r["id"] for r in records],
                       metadatas=[{"dirty": False, "pending_hash": "", "archive": ""} for _ in records])

    def _upsert_records(self, prepared: Sequence[PreparedArticle], *, content_hash: str | None, dirty: bool,
                        starts: dict[str, date | None] | None = None) -> None:
        import numpy as np

        metas, vectors = [], []
        for p in prepared:
            committed = p.article.content_hash if content_hash is None else content_hash
            began = (starts or {}).get(p.article.id)
            metas.append(dict(_article_meta(p.article), content_hash=committed, chunks=len(p.chunks), dirty=dirty,
                              pending_hash=p.article.content_hash, journal_at=time.time(),
                              index=self.index_signature, archive="",
                              valid_from=began.isoformat() if began else "", valid_from_int=date_to_int(began)))
            mean = p.embeddings.mean(axis=0) if len(p.embeddings) else np.ones(p.embeddings.shape[1])
            vectors.append((mean / (np.linalg.norm(mean) or 1.0)).tolist())
        self._call("writing articles", self.registry.upsert, ids=[p.article.id for p in prepared], metadatas=metas,
                   documents=[p.article.text for p in prepared], embeddings=vectors)

    def _write_chunks(self, prepared: Sequence[PreparedArticle]) -> None:
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[list[float]] = []
        for p in prepared:
            base = _chunk_meta(p.article)
            packed = list(p.sentence_vectors) or [""] * len(p.chunks)
            keys = list(p.embedding_keys) or [""] * len(p.chunks)
            for chunk, vector, sentences, key in zip(p.chunks, p.embeddings, packed, keys):
                ids.append(chunk_id(p.article.id, p.article.content_hash, chunk.ordinal))
                meta = dict(base, ordinal=chunk.ordinal, start=chunk.start, end=chunk.end, **{CHUNK_TEXT: chunk.text})
                if chunk.sentences:
                    meta["sentences"] = pack_sentences(list(chunk.sentences), offset=chunk.start)
                if sentences:
                    meta["sentence_vectors"] = sentences
                if key:
                    meta["embedding_key"] = key
                metas.append(meta)
                vectors.append(vector.tolist())
        for i in range(0, len(ids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self._call("writing chunks", self.chunks.upsert, ids=ids[i:j], metadatas=metas[i:j],
                       embeddings=vectors[i:j])


def _meta_fields(meta: ArticleMeta) -> dict[str, Any]:
    """An article's shared metadata as Chroma stores it (dates as text, and as YYYYMMDD for range filters)."""
    return {"title": meta.title, "url": meta.url, "source": meta.source,
            "published": meta.published.isoformat() if meta.published else "",
            "published_int": date_to_int(meta.published)}


def _meta_from(stored: dict[str, Any]) -> dict[str, Any]:
    """`ArticleMeta`'s fields from what `_meta_fields` stored."""
    return {"title": stored.get("title", ""), "url": stored.get("url", ""), "source": stored.get("source", ""),
            "published": _parse_date(stored.get("published", ""))}


def _article_meta(article: Article) -> dict[str, Any]:
    return dict(_meta_fields(article), author=article.author, origin=article.origin,
                updated=article.updated.isoformat() if article.updated else "")


_ARTICLE_FIELDS = ("title", "url", "source", "published", "published_int", "author", "origin", "updated")
"""The registry fields `_article_meta` writes: what a metadata correction compares and rewrites."""

_JOURNAL_FIELDS = frozenset({"dirty", "pending_hash", "journal_at", "archive", "valid_from", "valid_from_int"})
"""Registry fields about a write in progress or the current version's start: not copied to a version record."""


def _valid_from(record: dict[str, Any]) -> date | None:
    """The day a stored version became current (records stored before versions were kept: its stated
    update date, else its published date)."""
    return (_parse_date(record.get("valid_from", "")) or _parse_date(record.get("updated", ""))
            or _parse_date(record.get("published", "")))


def _restarted(record: dict[str, Any], article: Article) -> date | None:
    """When the current version of a stored article began, once its metadata is `article`'s: a start read
    from the record's own dates (its update date, else its publication date) follows their correction; a
    start set when an earlier version was superseded stays."""
    began = _valid_from(record)
    stated = _parse_date(record.get("updated", "")) or _parse_date(record.get("published", ""))
    return (article.updated or article.published) if began == stated else began


def _version_dates(began: date | None, superseded: date) -> dict[str, Any]:
    """A history version's days as Chroma stores them (text, and YYYYMMDD for range filters; 0: undated)."""
    return {"valid_from": began.isoformat() if began else "", "valid_from_int": date_to_int(began),
            "superseded": superseded.isoformat(), "superseded_int": date_to_int(superseded)}


def _version(meta: dict[str, Any]) -> ArticleVersion:
    """A version record (or the current article's record, which has no `superseded`) as an `ArticleVersion`."""
    return ArticleVersion(article_id=meta["article_id"], content_hash=meta.get("content_hash", ""),
                          title=meta.get("title", ""), published=_parse_date(meta.get("published", "")),
                          updated=_parse_date(meta.get("updated", "")), valid_from=_valid_from(meta),
                          superseded=_parse_date(meta.get("superseded", "")), chunks=int(meta.get("chunks", 0)))


def _chunk_meta(article: Article) -> dict[str, Any]:
    return _chunk_fields(article.id, article.content_hash, article)


def _chunk_fields(article_id: str, content_hash: str, meta: ArticleMeta) -> dict[str, Any]:
    """What every chunk of an article version carries about it."""
    return dict(_meta_fields(meta), article_id=article_id, content_hash=content_hash,
                host=source_host(meta.source, meta.url))


def _meta_only(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "id"}


def _info(record: dict[str, Any]) -> ArticleInfo:
    return ArticleInfo(id=record["id"], content_hash=record.get("content_hash", ""),
                       chunks=int(record.get("chunks", 0)), origin=record.get("origin", ""),
                       author=record.get("author", ""), **_meta_from(record))


def chunk_text(document: str | None, meta: dict[str, Any] | None) -> str | None:
    """A stored chunk's text: its `CHUNK_TEXT` metadata, or its Chroma document if it was stored before that."""
    text = (meta or {}).get(CHUNK_TEXT)
    return text if isinstance(text, str) else document


def _chunk_rows(ids: Sequence[str], documents: Sequence[str | None] | None,
                metadatas: Sequence[dict[str, Any] | None] | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of each chunk row Chroma returned that has both (a row deleted meanwhile has neither)."""
    documents = documents if documents is not None else [None] * len(ids)
    metadatas = metadatas if metadatas is not None else [None] * len(ids)
    rows = []
    for cid, document, meta in zip(ids, documents, metadatas):
        text = chunk_text(document, meta)
        if text is not None and meta:
            rows.append((cid, text, meta))
    return rows


def stored_chunk(cid: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    """A chunk read back from Chroma."""
    return StoredChunk(
        id=cid, article_id=meta["article_id"], ordinal=int(meta["ordinal"]), text=text, start=int(meta["start"]),
        end=int(meta["end"]), content_hash=meta.get("content_hash", ""), host=meta.get("host", ""),
        sentence_vectors=meta.get("sentence_vectors", ""),
        sentences=tuple(unpack_sentences(meta.get("sentences", ""), offset=int(meta["start"]))), **_meta_from(meta),
    )
