"""The incremental ingest: load -> clean -> chunk -> embed -> write, skipping what is unchanged."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import StoreUnavailable
from core.records import Article, ArticleMeta, Chunk
from core.settings import Settings
from ingest.chunking import Chunker
from ingest.loaders import Loaded
from ingest.near_duplicates import NearDuplicateTracker
from vectorstore.embedding import pack_vectors
from vectorstore.lexical import LexicalIndex
from vectorstore.store import ArticleStore, IndexState, PreparedArticle

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest run did; `to_json()` is the `--json` output."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    """Sources read but not ingested because an earlier one in the same run had the same article id."""
    pruned: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    """Chunks whose exact embedded text (and sentence cuts) the store already held, or this run had just
    embedded (a syndicated copy, a re-posted article): written with those vectors, not embedded again."""
    seconds: float = 0.0
    errors: list[dict[str, str]] = field(default_factory=list)
    skips: list[dict[str, str]] = field(default_factory=list)
    not_pruned: list[dict[str, str]] = field(default_factory=list)
    """Folders given for pruning that were left alone, and why (nothing loaded from them, or unlistable)."""
    dry_run: bool = False

    def fail(self, source: str, error: str) -> None:
        self.failed += 1
        self.errors.append({"source": source, "error": error})

    def skip(self, source: str, reason: str) -> None:
        self.skipped += 1
        self.skips.append({"source": source, "reason": reason})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data

    def summary(self) -> str:
        """One line saying what happened to every source read: added + updated + unchanged + failed +
        skipped is the number of articles (JSONL lines, files, feed entries) read."""
        would = "would " if self.dry_run else ""
        counts = (f"{would}add {self.added}, {would}update {self.updated}" if self.dry_run
                  else f"added {self.added}, updated {self.updated}")
        counts += f", unchanged {self.unchanged}, failed {self.failed}"
        if self.skipped:
            counts += f", skipped {self.skipped} (same id as an earlier one)"
        if self.pruned:
            counts += f", {would}prune {self.pruned}" if self.dry_run else f", pruned {self.pruned}"
        if self.not_pruned:
            counts += "; not pruned: " + ", ".join(f"{n['source']} ({n['reason']})" for n in self.not_pruned)
        if self.dry_run:
            return counts + "; nothing written"
        reused = f" ({self.chunks_reused} more reused from identical text)" if self.chunks_reused else ""
        return counts + f"; {_plural(self.chunks_embedded, 'chunk')} embedded{reused} in {self.seconds:.1f}s"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass
class _Pending:
    article: Article
    chunks: list[Chunk]
    update: bool
    metadata_only: bool = False
    """Its text is stored and embedded as it would be now: only its metadata is written (no embedding)."""


class Ingestor:
    """Runs ingests against one store with one embedding model."""

    def __init__(
        self, store: ArticleStore, embedder: "Embedder", chunker: Chunker, *, batch_chunks: int = 512
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.batch_chunks = batch_chunks
        self.copies = NearDuplicateTracker(store)
        """Syndicated copies: every committed write is recorded in the store's near-duplicate index."""
        LexicalIndex.for_store(store)  # follows the store's writes: each one updates the index in place

    @classmethod
    def from_settings(cls, settings: Settings, *, store: ArticleStore | None = None,
                      embedder: "Embedder | None" = None) -> "Ingestor":
        from vectorstore.embedding import Embedder

        embedder = embedder or Embedder.from_settings(settings)
        chunker = Chunker.from_settings(embedder, settings)
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
        known = self.store.index_state()
        seen: dict[str, str] = {}
        origins: list[str] = []
        unlisted: list[str] = []
        pending: list[_Pending] = []
        bar = _progress_bar(progress)
        try:
            for item in loaded:
                bar.update(1)
                if item.article is None:
                    report.fail(item.source, item.error or "could not be loaded")
                    if item.folder_error:
                        unlisted.append(item.source)
                    continue
                first = seen.get(item.article.id)
                if first is not None:
                    report.skip(item.source, f"article id {item.article.id!r} was already read in this run, "
                                             f"from {first}")
                    continue
                seen[item.article.id] = item.source
                origins.append(item.article.origin)
                try:
                    self._consider(item, known, pending, report, dry_run)
                except Exception as e:  # one article the chunker cannot handle must not stop the others
                    logger.warning("could not index %s", item.source, exc_info=True)
                    report.fail(item.source, f"could not be indexed: {type(e).__name__}: {e}")
                if sum(len(p.chunks) for p in pending) >= self.batch_chunks:
                    self._flush(pending, report)
            self._flush(pending, report)
            if prune_roots:
                report.pruned = self._prune(self._prunable(prune_roots, origins, unlisted, report), dry_run)
        finally:
            bar.close()
            report.seconds = time.perf_counter() - started
        return report

    @staticmethod
    def _prunable(roots: Sequence[Path], origins: Sequence[str], unlisted: Sequence[str],
                  report: IngestReport) -> list[Path]:
        """The roots it is safe to prune from: some article was loaded from the folder and every part of it
        could be listed. An empty or unmounted folder (a network share not there) prunes nothing."""
        loaded = [Path(o).resolve() for o in origins if o and not o.startswith(("http://", "https://", "upload:"))]
        safe = []
        for root in roots:
            resolved = root.resolve()
            if any(_under(Path(u), resolved) for u in unlisted):
                report.not_pruned.append({"source": str(root), "reason": "it could not be listed"})
            elif not any(o.is_relative_to(resolved) for o in loaded):
                report.not_pruned.append({"source": str(root), "reason": "nothing was loaded from it"})
            else:
                safe.append(root)
        return safe

    def _consider(
        self, item: Loaded, known: IndexState, pending: list[_Pending], report: IngestReport, dry_run: bool,
    ) -> None:
        article = item.article
        assert article is not None
        previous = known.hashes.get(article.id)
        if known.unchanged(article):
            report.unchanged += 1
            return
        stored = known.stored_meta(article.id)
        if known.same_text(article) and stored is not None and self._embeds_same(article, stored):
            # A corrected date, outlet or URL: the vectors stay, only the metadata is rewritten.
            if dry_run:
                report.updated += 1
            else:
                pending.append(_Pending(article, [], update=True, metadata_only=True))
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

    def _embeds_same(self, article: Article, stored: ArticleMeta) -> bool:
        """Whether the article's chunks embed as they did under its stored metadata (the embedding header
        holds the title and date, so correcting those re-embeds; an outlet or URL does not)."""
        return self.chunker.header(article) == self.chunker.header(replace(article, **stored.meta()))

    def _flush(self, pending: list[_Pending], report: IngestReport) -> None:
        if not pending:
            return
        # Another ingest may have stored some of these since this run started: skip them, embed nothing.
        state = self.store.index_state([p.article.id for p in pending])
        done = {p.article.id for p in pending if state.unchanged(p.article)}
        if done:
            report.unchanged += len(done)
            pending[:] = [p for p in pending if p.article.id not in done]
        corrected = [p.article for p in pending if p.metadata_only]
        if corrected:
            with self.copies.around_write(added=corrected):
                self.store.update_metadata(corrected)
            logger.info("corrected the metadata of %d article(s)", len(corrected))
            report.updated += len(corrected)
            pending[:] = [p for p in pending if not p.metadata_only]
        if not pending:
            return
        texts, spans = [], []
        for p in pending:
            header = len(self.chunker.header(p.article))
            texts.extend(self.chunker.embed_texts(p.article, p.chunks))
            spans.extend([(header + q - c.start, header + b - c.start) for _, q, b in c.sentences] for c in p.chunks)
        keys = [self.store.embedding_key(t, s) for t, s in zip(texts, spans)]
        vectors, packed, embedded = self._vectors(texts, spans, keys)
        prepared, offset = [], 0
        for p in pending:
            end = offset + len(p.chunks)
            prepared.append(PreparedArticle(p.article, p.chunks, vectors[offset:end], packed[offset:end],
                                            keys[offset:end]))
            offset = end
        with self.copies.around_write(added=[p.article for p in pending]):
            self.store.write_articles(prepared)
        logger.info("wrote %d article(s), %d chunk(s), %d embedded", len(prepared), len(texts), embedded)
        report.chunks_embedded += embedded
        report.chunks_reused += len(texts) - embedded
        report.updated += sum(p.update for p in pending)
        report.added += sum(not p.update for p in pending)
        pending.clear()

    def _vectors(self, texts: list[str], spans: list[list[tuple[int, int]]],
                 keys: list[str]) -> tuple["np.ndarray", list[str], int]:
        """Each text's vector and packed sentence vectors, and how many texts were embedded for them: a text
        embedded as the store already holds it, or as an earlier one in `texts`, is not embedded again."""
        import numpy as np

        stored = self.store.stored_vectors(sorted(set(keys)))
        todo: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key not in stored and key not in todo:
                todo[key] = i
        # One forward pass gives each chunk's vector and its sentences' (the answerer's evidence scores),
        # one for each of the chunk's sentences as ingest cut them, stored beside them.
        rows = list(todo.values())
        fresh, sentences = self.embedder.embed_with_spans([texts[i] for i in rows], [spans[i] for i in rows])
        for n, i in enumerate(rows):
            packed = pack_vectors(sentences[n]) if len(sentences[n]) == len(spans[i]) else ""
            stored[keys[i]] = (fresh[n], packed)
        vectors = np.asarray([stored[k][0] for k in keys], dtype=np.float32).reshape(len(keys), -1)
        return vectors, [stored[k][1] for k in keys], len(rows)

    def _prune(self, roots: Sequence[Path], dry_run: bool) -> int:
        """Delete articles loaded from files under `roots` whose file is gone."""
        resolved = [r.resolve() for r in roots]
        pruned = 0
        for info in self.store.list_articles():
            if not info.origin or info.origin.startswith(("http://", "https://")):
                continue
            origin = Path(info.origin)
            if any(origin.is_relative_to(r) for r in resolved) and _gone(origin):
                logger.info("pruning %s (%s is gone)", info.id, origin)
                pruned += 1
                if not dry_run:
                    delete_articles(self.store, [info.id], self.copies)
        return pruned


def delete_articles(store: ArticleStore, ids: Sequence[str], copies: NearDuplicateTracker | None = None) -> list[str]:
    """Delete articles and their chunks, and take them out of their near-duplicate groups; returns the
    ids that were not stored."""
    copies = copies or NearDuplicateTracker(store)
    missing = []
    for article_id in ids:
        with copies.around_write(removed=[article_id]):
            if not store.delete_article(article_id):
                missing.append(article_id)
    return missing


def _under(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):
        return False


def _gone(path: Path) -> bool:
    """True only when the file is known not to exist; a file that cannot be checked is kept."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


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


__all__ = ["IngestReport", "Ingestor", "StoreUnavailable", "delete_articles"]
