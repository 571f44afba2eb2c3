"""The Chroma store: chunk vectors plus an article registry, written so a crash never loses or doubles.

Two collections: `<name>` holds chunks (embedding, text, metadata) and `<name>-articles` holds one
record per article (its full text, metadata, content hash). Writing an article follows a small
journal in the registry record:

1. mark the record dirty with the new hash and chunk count (`pending_hash`), text untouched;
2. write the new chunks (ids derive from article id, content hash and ordinal, so re-writing is idempotent);
3. commit: the record gets the new text and hash (still dirty: old chunks may remain);
4. delete the article's chunks with any other hash, then mark the record clean.

`repair()` finishes whatever a crash interrupted: a dirty record that was committed has its old chunks
deleted; one that was not has its partial new chunks deleted and keeps its old version (or disappears
when there was none). Either way no article is lost or doubled.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from core.errors import StoreUnavailable
from core.records import Article, ArticleInfo, Chunk, StoredChunk, date_to_int
from core.settings import Settings
from core.text import source_host

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

logger = logging.getLogger(__name__)

WRITE_BATCH = 2000
"""Chunks per Chroma call; below Chroma's max batch size on every backend."""


def chunk_id(article_id: str, content_hash: str, ordinal: int) -> str:
    """Deterministic chunk id: the same article version always yields the same ids."""
    key = hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:16]
    return f"{key}-{content_hash[:16]}-{ordinal:05d}"


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
        raise StoreUnavailable(_where(settings) + f" is unavailable: {e}") from e


def _where(settings: Settings) -> str:
    if settings.server_mode:
        return f"Chroma server at {settings.chroma_host}:{settings.chroma_port} (NEWSDESK_CHROMA_HOST/PORT)"
    return f"store directory {settings.store_dir} (NEWSDESK_STORE_DIR)"


class ArticleStore:
    """Articles and their chunks in Chroma (local persistent, or a Chroma server)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.location = _where(settings)
        self._client = _connect(settings)
        try:
            self.chunks: Collection = self._client.get_or_create_collection(
                settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
            self.registry: Collection = self._client.get_or_create_collection(
                f"{settings.collection}-articles", configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        except Exception as e:
            raise StoreUnavailable(f"{self.location} is unavailable: {e}") from e

    # -- change tracking -----------------------------------------------------------------------

    def generation(self) -> str:
        """A token that changes whenever chunks are written or deleted (by any process)."""
        collection = self._call("reading the collection", self._client.get_collection, self.settings.collection,
                                embedding_function=None)
        return str((collection.metadata or {}).get("generation", ""))

    def _bump_generation(self) -> None:
        self._call("marking a change", self.chunks.modify, metadata={"generation": uuid.uuid4().hex})

    # -- reading -------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise StoreUnavailable(f"{self.location}: {what} failed: {e}") from e

    def _records(self, where: dict[str, Any] | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
        got = self._call("reading articles", self.registry.get, ids=ids, where=where, include=["metadatas"])
        return [dict(meta, id=i) for i, meta in zip(got["ids"], got["metadatas"])]

    def article_hashes(self) -> dict[str, str]:
        """Committed article id -> content hash."""
        return {r["id"]: r["content_hash"] for r in self._records() if r.get("content_hash")}

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
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                yield stored_chunk(cid, text, meta)
            if len(got["ids"]) < batch:
                return
            offset += batch

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        got = self._call("reading chunks", self.chunks.get, ids=list(ids), include=["documents", "metadatas"])
        by_id = {cid: stored_chunk(cid, t, m) for cid, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def dense_search(
        self, embedding: "np.ndarray", k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks by cosine similarity (1 - distance), best first."""
        n = min(k, self.count_chunks())
        if n <= 0:
            return []
        got = self._call(
            "searching", self.chunks.query, query_embeddings=[embedding.tolist()], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (stored_chunk(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0]
            )
        ]

    # -- writing -------------------------------------------------------------------------------

    def write_articles(self, prepared: Sequence[PreparedArticle]) -> None:
        """Write new or changed articles with the journal described in the module docstring."""
        if not prepared:
            return
        previous = {r["id"]: r for r in self._records(ids=[p.article.id for p in prepared])}
        self._mark_pending(prepared, previous)
        self._write_chunks(prepared)
        self._commit_records(prepared)
        for p in prepared:
            if p.article.id in previous:
                self._delete_chunks_except(p.article.id, p.article.content_hash)
        self._mark_clean([p.article.id for p in prepared])
        self._bump_generation()

    def delete_article(self, article_id: str) -> bool:
        """Remove an article and its chunks; False when it was not stored."""
        records = self._records(ids=[article_id])
        if not records:
            return False
        # Uncommitted first: a crash midway leaves a record that repair() removes.
        meta = dict(_meta_only(records[0]), content_hash="", dirty=True, pending_hash="")
        self._call("marking an article for deletion", self.registry.update, ids=[article_id], metadatas=[meta])
        self._call("deleting chunks", self.chunks.delete, where={"article_id": article_id})
        self._call("deleting an article", self.registry.delete, ids=[article_id])
        self._bump_generation()
        return True

    def repair(self) -> int:
        """Finish or undo writes a crash interrupted; returns how many articles needed it."""
        dirty = self._records(where={"dirty": True})
        for record in dirty:
            article_id, committed = record["id"], record.get("content_hash", "")
            if committed:
                self._delete_chunks_except(article_id, committed)
                self._mark_clean([article_id])
            else:
                self._call("deleting chunks", self.chunks.delete, where={"article_id": article_id})
                self._call("deleting an article", self.registry.delete, ids=[article_id])
            logger.debug("repaired %s (committed version kept: %s)", article_id, bool(committed))
        if dirty:
            logger.warning("repaired %d article(s) left by an interrupted write", len(dirty))
            self._bump_generation()
        return len(dirty)

    def _delete_chunks_except(self, article_id: str, keep_hash: str) -> None:
        self._call("deleting old chunks", self.chunks.delete,
                   where={"$and": [{"article_id": article_id}, {"content_hash": {"$ne": keep_hash}}]})

    def _mark_pending(self, prepared: Sequence[PreparedArticle], previous: dict[str, dict[str, Any]]) -> None:
        """Journal step 1. Existing records keep their text and hash; new ones get an uncommitted record."""
        updates = [p for p in prepared if p.article.id in previous]
        if updates:
            metas = [dict(_meta_only(previous[p.article.id]), dirty=True, pending_hash=p.article.content_hash)
                     for p in updates]
            self._call("journaling articles", self.registry.update, ids=[p.article.id for p in updates],
                       metadatas=metas)
        new = [p for p in prepared if p.article.id not in previous]
        if new:
            self._upsert_records(new, content_hash="", dirty=True)

    def _commit_records(self, prepared: Sequence[PreparedArticle]) -> None:
        """Journal step 3: the new text and hash become the article's."""
        self._upsert_records(prepared, content_hash=None, dirty=True)

    def _mark_clean(self, ids: list[str]) -> None:
        records = self._records(ids=ids)
        if records:
            self._call("committing articles", self.registry.update, ids=[r["id"] for r in records],
                       metadatas=[dict(_meta_only(r), dirty=False, pending_hash="") for r in records])

    def _upsert_records(self, prepared: Sequence[PreparedArticle], *, content_hash: str | None, dirty: bool) -> None:
        import numpy as np

        metas, vectors = [], []
        for p in prepared:
            committed = p.article.content_hash if content_hash is None else content_hash
            metas.append(dict(_article_meta(p.article), content_hash=committed, chunks=len(p.chunks), dirty=dirty,
                              pending_hash=p.article.content_hash))
            mean = p.embeddings.mean(axis=0) if len(p.embeddings) else np.ones(p.embeddings.shape[1])
            vectors.append((mean / (np.linalg.norm(mean) or 1.0)).tolist())
        self._call("writing articles", self.registry.upsert, ids=[p.article.id for p in prepared], metadatas=metas,
                   documents=[p.article.text for p in prepared], embeddings=vectors)

    def _write_chunks(self, prepared: Sequence[PreparedArticle]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[list[float]] = []
        for p in prepared:
            base = _chunk_meta(p.article)
            for chunk, vector in zip(p.chunks, p.embeddings):
                ids.append(chunk_id(p.article.id, p.article.content_hash, chunk.ordinal))
                texts.append(chunk.text)
                metas.append(dict(base, ordinal=chunk.ordinal, start=chunk.start, end=chunk.end))
                vectors.append(vector.tolist())
        for i in range(0, len(ids), WRITE_BATCH):
            j = i + WRITE_BATCH
            self._call("writing chunks", self.chunks.upsert, ids=ids[i:j], documents=texts[i:j],
                       metadatas=metas[i:j], embeddings=vectors[i:j])


def _article_meta(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "published": article.published.isoformat() if article.published else "",
        "published_int": date_to_int(article.published),
        "author": article.author,
        "origin": article.origin,
    }


def _chunk_meta(article: Article) -> dict[str, Any]:
    meta = _article_meta(article)
    del meta["author"], meta["origin"]
    return dict(meta, article_id=article.id, content_hash=article.content_hash,
                host=source_host(article.source, article.url))


def _meta_only(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "id"}


def _info(record: dict[str, Any]) -> ArticleInfo:
    return ArticleInfo(
        id=record["id"], title=record.get("title", ""), url=record.get("url", ""), source=record.get("source", ""),
        published=_parse_date(record.get("published", "")), content_hash=record.get("content_hash", ""),
        chunks=int(record.get("chunks", 0)), origin=record.get("origin", ""), author=record.get("author", ""),
    )


def stored_chunk(cid: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    """A chunk read back from Chroma."""
    return StoredChunk(
        id=cid, article_id=meta["article_id"], ordinal=int(meta["ordinal"]), text=text, start=int(meta["start"]),
        end=int(meta["end"]), title=meta.get("title", ""), url=meta.get("url", ""), source=meta.get("source", ""),
        published=_parse_date(meta.get("published", "")), content_hash=meta.get("content_hash", ""),
        host=meta.get("host", ""),
    )
