"""Hybrid retrieval: dense search in Chroma + BM25 over the same chunks, fused by reciprocal rank."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from core.records import Copy, Hit, StoredChunk, date_to_int
from core.settings import Settings
from core.text import source_host

if TYPE_CHECKING:
    import numpy as np

    from ingest.near_duplicates import NearDuplicates
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
    as_of: date | None = None
    """Search each article's version current on this day: the current one if it began on or before it,
    else the earlier one from the history (`ArticleStore.history_search`). None: current versions only."""

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(sorted({source_host(s) for s in self.sources if s.strip()}))

    def admits(self, published: date | None) -> bool:
        """Whether an article published then passes the date limits (outlets aside)."""
        if published is None:
            return not (self.since or self.until) or (self.undated and not self.since)
        return not ((self.since and published < self.since) or (self.until and published > self.until))

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


MAX_LISTED_CHUNKS = 50_000
"""Most chunk ids a narrow filter's dense search is given instead of Chroma's metadata filter (see
docs/benchmarks.md, "At 200k chunks, re-run on a quiet machine")."""


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

    def __init__(self, store: "ArticleStore", embedder: "Embedder", lexical: "LexicalIndex", settings: Settings,
                 copies: "NearDuplicates | None" = None):
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.settings = settings
        self.copies = copies
        """The store's near-duplicate index (read only): a story's copies count once in the top k."""

    def search(self, question: str, *, k: int | None = None, filters: Filters | None = None,
               recency: Recency | None = None, fold_copies: bool = True) -> Retrieval:
        """The best `k` chunks. `fold_copies=False` keeps every outlet's copy of a story (a timeline merges
        them into one event with all their citations itself)."""
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

        if filters.as_of is not None:
            started = time.perf_counter()
            dense, lexical = self._versions_at(filters.as_of, vector, candidates, filters, dense, lexical)
            timings["versions"] = time.perf_counter() - started

        started = time.perf_counter()
        hits = self._fuse(dense, lexical, k, recency, filters if fold_copies else None)  # None: keep copies
        timings["fuse"] = time.perf_counter() - started
        return Retrieval(hits, timings)

    def _versions_at(
        self, day: date, vector: Any, candidates: int, filters: Filters, dense: list[tuple[StoredChunk, float]],
        lexical: list[tuple[str, float]],
    ) -> tuple[list[tuple[StoredChunk, float]], list[tuple[str, float]]]:
        """The versions current on `day`: current chunks of articles whose current version began after it
        are left out, and the history's chunks of the versions current then join the dense ranking (the
        lexical index holds current versions only, so earlier ones are found by meaning alone)."""
        article_of = {c.id: c.article_id for c, _ in dense}
        unknown = [cid for cid, _ in lexical if cid not in article_of]
        article_of.update({c.id: c.article_id for c in self.store.get_chunks(unknown)} if unknown else {})
        later = {a for a, began in self.store.current_since(article_of.values()).items() if began > day}
        earlier = self.store.history_search(vector, candidates, day, filters.chroma_where())
        kept = [(c, score) for c, score in dense if c.article_id not in later]
        merged = sorted(kept + earlier, key=lambda pair: -pair[1])[:candidates]
        return merged, [(cid, score) for cid, score in lexical if article_of.get(cid) not in later]

    def _dense(self, vector: "np.ndarray", wanted: int, filters: Filters) -> list[tuple[StoredChunk, float]]:
        """Dense candidates passing `filters`. Chroma's filtered query slows down by a factor of 30-50 at scale,
        so a broad filter (by the lexical index's count of matching chunks) is applied to unfiltered
        candidates instead: exact whenever `wanted` of them pass, since every chunk nearer than the last
        passing one was among them. Else, when at most `MAX_LISTED_CHUNKS` pass, the nearest among exactly
        those chunks (their ids listed by the lexical index); else Chroma's filtered query."""
        where = filters.chroma_where()
        if where is None:
            return self.store.dense_search(vector, wanted)
        fetch = unfiltered_candidates(self.lexical.count(**filters.lexical()), self.lexical.size, wanted,
                                      MAX_UNFILTERED_CANDIDATES)
        # The estimate assumes the passing chunks are spread evenly; near a question they may be rarer (its
        # story told by other outlets or on other days), so one wider try, still far cheaper, comes first.
        tries = [] if fetch is None else sorted({fetch, max(fetch, MAX_UNFILTERED_CANDIDATES)})
        for size in tries:
            nearest = self.store.dense_ids(vector, size)
            passing = self.lexical.matching([cid for cid, _ in nearest], **filters.lexical())
            kept = [(cid, score) for cid, score in nearest if cid in passing][:wanted]
            if len(kept) >= wanted or len(nearest) < size:  # enough, or every chunk was a candidate
                chunks = {c.id: c for c in self.store.get_chunks([cid for cid, _ in kept])}
                return [(chunks[cid], score) for cid, score in kept if cid in chunks]
            logger.debug("%d of %d unfiltered candidates passed the filter", len(kept), size)
        listed = self.lexical.matching_all(**filters.lexical(), limit=MAX_LISTED_CHUNKS)
        if listed:  # a narrow filter: the nearest among exactly the passing chunks, no metadata filter
            return self.store.dense_search(vector, wanted, ids=listed)
        return self.store.dense_search(vector, wanted, where)

    def _fuse(self, dense: list[tuple[StoredChunk, float]], lexical: list[tuple[str, float]], k: int,
              recency: Recency | None = None, filters: Filters | None = None) -> list[Hit]:
        """Fused hits; given `filters`, a story's copies are folded into one (those listed limited to the
        filters' dates); without, every copy stays."""
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
        ranked: list[Hit] = []
        for cid in sorted(fused, key=lambda i: -fused[i]):
            chunk = chunks.get(cid)
            if chunk is None:  # deleted since the lexical index was built
                continue
            d, lx = dense_rank.get(cid), lexical_rank.get(cid)
            ranked.append(Hit(chunk=chunk, score=fused[cid], dense_rank=d[0] if d else None,
                              dense_score=d[1] if d else None, lexical_rank=lx[0] if lx else None,
                              lexical_score=lx[1] if lx else None, recency=weights.get(cid, 1.0)))
        per_article: dict[str, int] = {}
        hits: list[Hit] = []
        for hit in self._fold_copies(ranked, filters) if filters is not None else ranked:
            article_id = hit.chunk.article_id
            if per_article.get(article_id, 0) >= s.max_chunks_per_article:
                continue
            per_article[article_id] = per_article.get(article_id, 0) + 1
            hits.append(hit)
            if len(hits) >= k:
                break
        return hits

    def _fold_copies(self, ranked: list[Hit], filters: Filters) -> list[Hit]:
        """A story's copies count once: the best-ranked article speaks for it and lists the others (those
        inside the date limits) as `copies`; hits from the others are dropped. Grouped articles that tell
        different events in one template (`stories.same_story`) are neither folded nor listed."""
        if self.copies is None:
            return ranked
        from app.stories import same_story

        texts: dict[str, str] = {}

        def text(article_id: str) -> str:
            if article_id not in texts:
                texts[article_id] = self.store.article_text(article_id) or ""
            return texts[article_id]

        try:
            self.copies.refresh()  # another process's ingest may have added copies
            keeper: dict[str, str] = {}  # story -> the article that speaks for it
            listed: dict[str, tuple[Copy, ...]] = {}
            kept: list[Hit] = []
            for hit in ranked:
                article_id = hit.chunk.article_id
                group = self.copies.group_of(article_id)
                if group is None or len(group) < 2:
                    kept.append(hit)
                    continue
                first = keeper.setdefault(group.id, article_id)
                if first == article_id:
                    if article_id not in listed:
                        listed[article_id] = tuple(
                            Copy(m.article_id, m.source, m.published) for m in group.others(article_id)
                            if filters.admits(m.published) and same_story(text(article_id), text(m.article_id)))
                    kept.append(replace(hit, copies=listed[article_id]) if listed[article_id] else hit)
                elif not any(c.article_id == article_id for c in listed.get(first, ())):
                    kept.append(hit)  # grouped, but another event (or outside the dates): it stands on its own
        except Exception as e:  # the index is a refinement: a question never fails for it
            logger.warning("near-duplicate index unreadable (%s: %s); copies are not folded", type(e).__name__, e)
            return ranked
        return kept
