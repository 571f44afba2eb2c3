"""Hybrid retrieval: dense search in Chroma + BM25 over the same chunks, fused by reciprocal rank."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from core.records import Hit, StoredChunk, date_to_int
from core.settings import Settings
from core.text import source_host

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.embedding import Embedder
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to a published-date range and/or outlets (hosts such as "dnyxxg.com")."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    undated: bool = False
    """With `until`, keep undated articles too (an as-of date: they cannot be placed in time)."""

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(sorted({source_host(s) for s in self.sources if s.strip()}))

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.since:
            clauses.append({"published_int": {"$gte": date_to_int(self.since)}})
        if self.until:
            clauses.append({"published_int": {"$lte": date_to_int(self.until)}})
            if not self.undated:
                clauses.append({"published_int": {"$gt": 0}})
        if self.hosts:
            clauses.append({"host": {"$in": list(self.hosts)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


    def lexical(self) -> dict[str, Any]:
        """The filters as the lexical index's keyword arguments (dates as YYYYMMDD ints)."""
        return {"since": date_to_int(self.since), "until": date_to_int(self.until), "sources": self.hosts,
                "undated": self.undated}


OVERSAMPLE = 1.5
"""Margin over the expected number of unfiltered candidates needed for `wanted` to pass the filter (the
matching chunks are not spread evenly over the neighbourhood of a question)."""

MAX_UNFILTERED_CANDIDATES = 2000
"""Most unfiltered dense candidates fetched (ids and distances only) before a filtered query is cheaper
(calibrated by `python -m bench scale`, see docs/benchmarks.md "Filtered dense search")."""


def unfiltered_candidates(matching: int, total: int, wanted: int,
                          limit: int = MAX_UNFILTERED_CANDIDATES) -> int | None:
    """How many unfiltered dense candidates to fetch so that about `wanted` pass a filter that `matching`
    of `total` chunks pass; None when the filter is narrow enough that Chroma's filtered query is the better
    plan (the candidates needed exceed `limit`, or nothing is known to match)."""
    if matching <= 0 or total <= 0:
        return None
    if matching >= total:
        return wanted
    needed = int(wanted * OVERSAMPLE * total / matching) + 1
    return needed if needed <= limit else None


@dataclass(frozen=True)
class Recency:
    """Newer articles first: each hit's fused score times `floor + (1 - floor) * 0.5 ** (age / half_life)`,
    age in days before `reference` (the as-of day); undated articles get `floor`, as the oldest would."""

    reference: date
    half_life_days: float
    floor: float = 0.0

    def relative_to(self, published: Iterable[date | None]) -> "Recency":
        """The decay measured from the newest of `published` (not after `reference`): "the latest" in a
        collection whose newest article is a year old is that article, not nothing."""
        newest = max((d for d in published if d is not None and d <= self.reference), default=None)
        return replace(self, reference=newest) if newest else self

    def weight(self, published: date | None) -> float:
        if published is None:
            return self.floor
        age = max((self.reference - published).days, 0)
        return self.floor + (1.0 - self.floor) * 0.5 ** (age / self.half_life_days)


@dataclass
class Retrieval:
    """Ranked hits plus per-stage timings in seconds."""

    hits: list[Hit]
    timings: dict[str, float] = field(default_factory=dict)


def rrf_fuse(
    rankings: Iterable[tuple[list[str], float]], k: int
) -> dict[str, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings an id appears in."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    """Finds the chunks most likely to answer a question."""

    def __init__(self, store: "ArticleStore", embedder: "Embedder", lexical: "LexicalIndex", settings: Settings):
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.settings = settings

    def search(self, question: str, *, k: int | None = None, filters: Filters | None = None,
               recency: Recency | None = None) -> Retrieval:
        k = k or self.settings.top_k
        filters = filters or Filters()
        candidates = max(self.settings.candidate_k, k * 3)
        timings: dict[str, float] = {}

        started = time.perf_counter()
        vector = self.embedder.embed_query(question)
        timings["embed"] = time.perf_counter() - started

        started = time.perf_counter()
        dense = self._dense(vector, candidates, filters)
        timings["dense"] = time.perf_counter() - started

        started = time.perf_counter()
        lexical = self.lexical.search(question, candidates, **filters.lexical())
        timings["lexical"] = time.perf_counter() - started

        started = time.perf_counter()
        hits = self._fuse(dense, lexical, k, recency)
        timings["fuse"] = time.perf_counter() - started
        return Retrieval(hits, timings)

    def _dense(self, vector: "np.ndarray", wanted: int, filters: Filters) -> list[tuple[StoredChunk, float]]:
        """Dense candidates passing `filters`. Chroma's filtered query slows down by a factor of 30-50 at scale,
        so a broad filter (by the lexical index's count of matching chunks) is applied to unfiltered
        candidates instead: exact whenever `wanted` of them pass, since every chunk nearer than the last
        passing one was among them; else, or for a narrow filter, the filtered query."""
        where = filters.chroma_where()
        if where is None:
            return self.store.dense_search(vector, wanted)
        fetch = unfiltered_candidates(self.lexical.count(**filters.lexical()), self.lexical.size, wanted,
                                      MAX_UNFILTERED_CANDIDATES)
        if fetch is not None:
            nearest = self.store.dense_ids(vector, fetch)
            passing = self.lexical.matching([cid for cid, _ in nearest], **filters.lexical())
            kept = [(cid, score) for cid, score in nearest if cid in passing][:wanted]
            if len(kept) >= wanted or len(nearest) < fetch:  # enough, or every chunk was a candidate
                chunks = {c.id: c for c in self.store.get_chunks([cid for cid, _ in kept])}
                return [(chunks[cid], score) for cid, score in kept if cid in chunks]
            logger.debug("%d of %d unfiltered candidates passed the filter: filtered query", len(kept), fetch)
        return self.store.dense_search(vector, wanted, where)

    def _fuse(self, dense: list[tuple[StoredChunk, float]], lexical: list[tuple[str, float]], k: int,
              recency: Recency | None = None) -> list[Hit]:
        s = self.settings
        fused = rrf_fuse([([c.id for c, _ in dense], s.dense_weight), ([i for i, _ in lexical], s.lexical_weight)],
                         s.rrf_k)
        chunks = {c.id: c for c, _ in dense}
        missing = [cid for cid, _ in lexical if cid not in chunks]
        if missing:
            chunks.update({c.id: c for c in self.store.get_chunks(missing)})
        weights: dict[str, float] = {}
        if recency is not None:
            relative = recency.relative_to(c.published for c in chunks.values())
            weights = {cid: relative.weight(chunks[cid].published) for cid in fused if cid in chunks}
            fused = {cid: score * weights[cid] for cid, score in fused.items() if cid in weights}
        dense_rank = {c.id: (r, score) for r, (c, score) in enumerate(dense, start=1)}
        lexical_rank = {cid: (r, score) for r, (cid, score) in enumerate(lexical, start=1)}
        per_article: dict[str, int] = {}
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda i: -fused[i]):
            chunk = chunks.get(cid)
            if chunk is None:  # deleted since the lexical index was built
                continue
            if per_article.get(chunk.article_id, 0) >= s.max_chunks_per_article:
                continue
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
            d, lx = dense_rank.get(cid), lexical_rank.get(cid)
            hits.append(Hit(chunk=chunk, score=fused[cid], dense_rank=d[0] if d else None,
                            dense_score=d[1] if d else None, lexical_rank=lx[0] if lx else None,
                            lexical_score=lx[1] if lx else None, recency=weights.get(cid, 1.0)))
            if len(hits) >= k:
                break
        return hits
