"""The incremental ingest: load -> clean -> chunk -> embed -> write, skipping what is unchanged."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import StoreUnavailable
from core.records import Article, Chunk
from core.settings import Settings
from core.text import citable_spans
from ingest.chunking import Chunker, embedding_header
from ingest.loaders import Loaded
from vectorstore.embedding import pack_vectors
from vectorstore.store import ArticleStore, PreparedArticle

if TYPE_CHECKING:
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest run did; `to_json()` is the `--json` output."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    pruned: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def fail(self, source: str, error: str) -> None:
        self.failed += 1
        self.errors.append({"source": source, "error": error})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data

    def summary(self) -> str:
        verb = "would add" if self.dry_run else "added"
        return (
            f"{verb} {self.added}, updated {self.updated}, unchanged {self.unchanged}, failed {self.failed}"
            + (f", pruned {self.pruned}" if self.pruned else "")
            + f"; {self.chunks_embedded} chunks embedded in {self.seconds:.1f}s"
        )


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]
    update: bool


class Ingestor:
    """Runs ingests against one store with one embedding model."""

    def __init__(
        self, store: ArticleStore, embedder: "Embedder", chunker: Chunker, *, batch_chunks: int = 512
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_chunks = batch_chunks

    @classmethod
    def from_settings(cls, settings: Settings, *, store: ArticleStore | None = None,
                      embedder: "Embedder | None" = None) -> "Ingestor":
        from vectorstore.embedding import Embedder

        embedder = embedder or Embedder.from_settings(settings)
        chunker = Chunker(embedder, target_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap_tokens)
        return cls(store or ArticleStore(settings), embedder, chunker, batch_chunks=settings.ingest_batch_chunks)

    def run(
        self, loaded: Iterable[Loaded], *, prune_roots: Sequence[Path] = (), dry_run: bool = False,
        progress: bool = False,
    ) -> IngestReport:
        """Ingest everything `loaded` yields; one bad source never stops the others."""
        started = time.perf_counter()
        report = IngestReport(dry_run=dry_run)
        if not dry_run:
            self.store.repair()
        # An article with a write in progress (another ingest, or one a crash left to a Chroma server's
        # repair lease) counts as unknown, so this run rewrites it and leaves it whole.
        # An article indexed under another signature (older version, chunk size, model) is re-embedded.
        known, stale = self.store.index_state()
        seen: set[str] = set()
        pending: list[_Pending] = []
        bar = _progress_bar(progress)
        try:
            for item in loaded:
                bar.update(1)
                if item.article is None:
                    report.fail(item.source, item.error or "could not be loaded")
                    continue
                if item.article.id in seen:
                    logger.info("%s: article %s already ingested in this run", item.source, item.article.id)
                    continue
                seen.add(item.article.id)
                self._consider(item, known, stale, pending, report, dry_run)
                if sum(len(p.chunks) for p in pending) >= self.batch_chunks:
                    self._flush(pending, report)
            self._flush(pending, report)
            if prune_roots:
                report.pruned = self._prune(prune_roots, dry_run)
        finally:
            bar.close()
            report.seconds = time.perf_counter() - started
        return report

    def _consider(
        self, item: Loaded, known: dict[str, str], stale: set[str], pending: list[_Pending], report: IngestReport,
        dry_run: bool,
    ) -> None:
        article = item.article
        assert article is not None
        previous = known.get(article.id)
        if previous == article.content_hash and article.id not in stale:
            report.unchanged += 1
            return
        try:
            chunks = self.chunker.chunk(article)
        except ValueError as e:
            report.fail(item.source, str(e))
            return
        if not chunks:
            report.fail(item.source, "no text to index after cleaning")
            return
        if dry_run:
            report.updated += previous is not None
            report.added += previous is None
            return
        pending.append(_Pending(article, chunks, update=previous is not None))

    def _flush(self, pending: list[_Pending], report: IngestReport) -> None:
        if not pending:
            return
        # Another ingest may have stored some of these since this run started: skip them, embed nothing.
        stored = self.store.article_hashes([p.article.id for p in pending], clean_only=True, current_only=True)
        done = {p.article.id for p in pending if stored.get(p.article.id) == p.article.content_hash}
        if done:
            report.unchanged += len(done)
            pending[:] = [p for p in pending if p.article.id not in done]
            if not pending:
                return
        texts, spans = [], []
        for p in pending:
            header = len(embedding_header(p.article))
            texts.extend(self.chunker.embed_texts(p.article, p.chunks))
            spans.extend([(header + a, header + b) for a, b in citable_spans(c.text)] for c in p.chunks)
        # One forward pass gives each chunk's vector and its sentences' (the answerer's evidence scores).
        vectors, sentences = self.embedder.embed_with_spans(texts, spans)
        packed = [pack_vectors(v) if len(v) == len(s) else "" for v, s in zip(sentences, spans)]
        prepared, offset = [], 0
        for p in pending:
            end = offset + len(p.chunks)
            prepared.append(PreparedArticle(p.article, p.chunks, vectors[offset:end], packed[offset:end]))
            offset = end
        self.store.write_articles(prepared)
        logger.info("wrote %d article(s), %d chunk(s)", len(prepared), len(texts))
        report.chunks_embedded += len(texts)
        report.updated += sum(p.update for p in pending)
        report.added += sum(not p.update for p in pending)
        pending.clear()

    def _prune(self, roots: Sequence[Path], dry_run: bool) -> int:
        """Delete articles loaded from files under `roots` whose file is gone."""
        resolved = [r.resolve() for r in roots]
        pruned = 0
        for info in self.store.list_articles():
            if not info.origin or info.origin.startswith(("http://", "https://")):
                continue
            origin = Path(info.origin)
            if any(origin.is_relative_to(r) for r in resolved) and not origin.exists():
                logger.info("pruning %s (%s is gone)", info.id, origin)
                pruned += 1
                if not dry_run:
                    self.store.delete_article(info.id)
        return pruned


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(desc="ingesting", unit="source", dynamic_ncols=True, leave=False)


__all__ = ["IngestReport", "Ingestor", "StoreUnavailable"]
