"""`python -m bench scale`: warm query latency per stage on collections of 10k, 50k and 200k chunks.

Embedding 200k chunks here would take hours, so the collections are built from the store that
`python -m bench ingest` made (realtimeqa-dev: real articles, chunks and vectors) plus generated
variants of its articles: each variant gets a new id, url and title suffix and a shifted date; its
text is the original with a few words swapped for other corpus words of the same length (so every
chunk's offsets still round-trip, `text[start:end] == chunk`), and each chunk's vector is the
original plus small gaussian noise, renormalised. Everything is written through
`ArticleStore.write_articles`, the ingest pipeline's own write path, so registry, chunk metadata and
the BM25 index are what a real ingest produces. Built stores are cached under bench/.cache.

Measurement: one process, model loaded once; the collections are measured side by side, one pass
over every question per collection in turn (the order rotates each pass), each pass with a fresh
assistant, as `python -m bench query` does. Then, once per collection, the first questions with a
date filter and with an outlet filter, which exercise the filtered paths of both retrievers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, DEFAULT_QUESTIONS, machine, median, percentile, table, timed

if TYPE_CHECKING:
    import numpy as np

    from app.retrieval import Filters
    from core.settings import Settings
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore, PreparedArticle

logger = logging.getLogger(__name__)

SIZES = (10_000, 50_000, 200_000)
STAGES = ("embed", "dense", "lexical", "fuse", "answer", "total")
METHOD = "v2"
"""Bump when the way variants are generated changes: cached stores of another method are rebuilt
(v2: variants carry their original's sentence vectors, as stores ingested since INDEX_VERSION 2 do)."""
NOISE_SIGMA = 0.015
"""Per-dimension gaussian noise on a variant's vectors: cosine to the original about 0.96 (384 dims)."""
SWAP_RATE = 0.08
"""Share of words (4+ letters) of a variant swapped for another corpus word of the same length."""
WRITE_CHUNKS = 2000
"""Chunks per `write_articles` call while building (one journal round per call)."""
_WORD = re.compile(r"[A-Za-z]{4,}")


@dataclass(frozen=True)
class Built:
    """A cached scale store."""

    path: Path
    chunks: int
    articles: int
    variants: int
    build_seconds: float
    lexical_build_seconds: float


# -- building ------------------------------------------------------------------------------------


def read_source(store: "ArticleStore") -> list["PreparedArticle"]:
    """Every article of `store` with its chunks and their stored vectors, in registry order."""
    import numpy as np

    from core.records import Article, Chunk
    from vectorstore.store import PreparedArticle

    registry = store.registry.get(include=["metadatas", "documents"])
    rows: dict[str, list[tuple[dict[str, Any], str, Any]]] = {}
    offset, page = 0, 5000
    while True:
        got = store.chunks.get(limit=page, offset=offset, include=["embeddings", "metadatas", "documents"])
        for meta, text, vector in zip(got["metadatas"], got["documents"], got["embeddings"]):
            rows.setdefault(meta["article_id"], []).append((meta, text, vector))
        if len(got["ids"]) < page:
            break
        offset += page
    found = []
    for article_id, meta, text in zip(registry["ids"], registry["metadatas"], registry["documents"]):
        chunks = sorted(rows.get(article_id, []), key=lambda r: int(r[0]["ordinal"]))
        if not meta.get("content_hash") or not chunks:
            continue
        published = date.fromisoformat(meta["published"]) if meta.get("published") else None
        article = Article(id=article_id, text=text, title=meta.get("title", ""), url=meta.get("url", ""),
                          source=meta.get("source", ""), published=published, author=meta.get("author", ""),
                          origin=meta.get("origin", ""))
        if article.content_hash != meta["content_hash"]:
            raise RuntimeError(f"{store.location}: article {article_id} does not match its content hash")
        pieces = [Chunk(article_id, int(m["ordinal"]), t, int(m["start"]), int(m["end"])) for m, t, _ in chunks]
        found.append(PreparedArticle(article, pieces, np.asarray([v for _, _, v in chunks], dtype=np.float32),
                                     [m.get("sentence_vectors", "") for m, _, _ in chunks]))
    return found


def vocabulary(articles: Sequence["PreparedArticle"]) -> dict[int, list[str]]:
    """Corpus words (4+ letters, lower case) by length: what a variant's swapped words are drawn from."""
    words: dict[int, set[str]] = {}
    for p in articles:
        for word in _WORD.findall(p.article.text):
            words.setdefault(len(word), set()).add(word.lower())
    return {n: sorted(ws) for n, ws in words.items()}


def perturb(text: str, rng: "np.random.Generator", vocab: dict[int, list[str]], rate: float = SWAP_RATE) -> str:
    """`text` with about `rate` of its words swapped for corpus words of the same length (capitals kept)."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        pool = vocab.get(len(word))
        if not pool or rng.random() >= rate:
            return word
        other = pool[int(rng.integers(len(pool)))]
        return other.capitalize() if word[0].isupper() else other

    changed = _WORD.sub(swap, text)
    assert len(changed) == len(text)  # offsets must round-trip
    return changed


def variant(p: "PreparedArticle", n: int, rng: "np.random.Generator", vocab: dict[int, list[str]]
            ) -> "PreparedArticle":
    """Variant `n` of an article: new id/url/title, shifted date, lightly perturbed text, noisy vectors."""
    import dataclasses

    import numpy as np

    from core.records import Chunk
    from vectorstore.store import PreparedArticle

    a = p.article
    text = perturb(a.text, rng, vocab)
    shift = timedelta(days=int(rng.integers(-720, 721)))
    article = dataclasses.replace(
        a, id=f"{a.id}?variant={n}", url=f"{a.url}?variant={n}" if a.url else "", title=f"{a.title} (variant {n})",
        published=a.published + shift if a.published else None, text=text,
    )
    chunks = [Chunk(article.id, c.ordinal, text[c.start:c.end], c.start, c.end) for c in p.chunks]
    vectors = p.embeddings + rng.normal(0.0, NOISE_SIGMA, p.embeddings.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # Same-length word swaps keep every sentence span, so the original's sentence vectors still line up.
    return PreparedArticle(article, chunks, vectors, p.sentence_vectors)


def collection(source: Sequence["PreparedArticle"], size: int, seed: int = 0) -> Iterator["PreparedArticle"]:
    """Articles adding up to about `size` chunks: originals first (all of them when they fit), then variants."""
    import numpy as np

    total = 0
    for p in source:
        if total >= size:
            return
        total += len(p.chunks)
        yield p
    rng = np.random.default_rng(seed)
    vocab = vocabulary(source)
    n = 0
    while total < size:
        n += 1
        for p in source:
            if total >= size:
                return
            total += len(p.chunks)
            yield variant(p, n, rng, vocab)


def batches(items: Iterator["PreparedArticle"], chunks_per_batch: int) -> Iterator[list["PreparedArticle"]]:
    batch: list[PreparedArticle] = []
    count = 0
    for p in items:
        batch.append(p)
        count += len(p.chunks)
        if count >= chunks_per_batch:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def scale_store_dir(source_dir: Path, size: int, cache: Path) -> Path:
    return cache / "stores" / f"scale-{source_dir.name}-{size}-{METHOD}"


def build(source: Sequence["PreparedArticle"], size: int, path: Path) -> Built:
    """Write a collection of about `size` chunks into a fresh store at `path`, and its BM25 index."""
    from bench.ingest import bench_settings, close_store
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    shutil.rmtree(path, ignore_errors=True)
    store = ArticleStore(bench_settings(path))
    started = time.perf_counter()
    articles = variants = 0
    try:
        for batch in batches(collection(source, size), WRITE_CHUNKS):
            store.write_articles(batch)
            articles += len(batch)
            variants += sum("?variant=" in p.article.id for p in batch)
            logger.info("%s: %d articles written", path.name, articles)
        build_seconds = time.perf_counter() - started
        chunks = store.count_chunks()
        lexical_seconds, _ = timed(lambda: LexicalIndex.for_store(store).refresh(force=True))
    finally:
        close_store(store)
    built = Built(path, chunks, articles, variants, build_seconds, lexical_seconds)
    (path / "scale.json").write_text(json.dumps({**built.__dict__, "path": str(path)}), encoding="utf-8")
    return built


def cached(path: Path) -> Built | None:
    """The store at `path` if a build finished there (a killed build leaves no `scale.json`)."""
    try:
        meta = json.loads((path / "scale.json").read_text(encoding="utf-8"))
        return Built(**{**meta, "path": Path(meta["path"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def source_settings(articles: Path, cache: Path, source_store: Path | None = None) -> "Settings":
    """Where the scale stores' articles come from: `python -m bench ingest`'s store, or an evaluation store
    of the same articles (`python -m evaluation --store DIR`), which holds the same chunks and vectors."""
    from bench.ingest import bench_settings, cache_store_dir
    from evaluation.runner import eval_settings

    if source_store is None:
        return bench_settings(cache_store_dir(articles, cache))
    return eval_settings(source_store, [str(articles)])


def ensure_stores(articles: Path, cache: Path, sizes: Sequence[int], source_store: Path | None = None) -> list[Built]:
    """The scale stores for `sizes`, built from the source store (`source_settings`) when missing."""
    from bench.ingest import close_store
    from vectorstore.store import ArticleStore

    settings = source_settings(articles, cache, source_store)
    source_dir = settings.store_dir
    paths = [scale_store_dir(source_dir, size, cache) for size in sizes]
    found = [cached(p) for p in paths]
    if all(found):
        return [b for b in found if b is not None]
    if not (source_dir / "chroma.sqlite3").is_file():
        raise FileNotFoundError(f"no benchmark store at {source_dir}: run `python -m bench ingest` first "
                                f"(it embeds {articles.name} once; the scale collections reuse its vectors)")
    store = ArticleStore(settings)
    try:
        seconds, source = timed(lambda: read_source(store))
    finally:
        close_store(store)
    logger.info("read %d source articles in %.1f s", len(source), seconds)
    if not source:
        raise RuntimeError(f"the benchmark store at {source_dir} is empty: run `python -m bench ingest`")
    return [b or build(source, size, path) for b, size, path in zip(found, sizes, paths)]


# -- measuring -----------------------------------------------------------------------------------


def filters_for(store: "ArticleStore") -> list[tuple[str, "Filters"]]:
    """A date filter keeping about the newer half of the collection, and the most common outlet."""
    from app.retrieval import Filters

    infos = store.list_articles()
    dates = sorted(a.published for a in infos if a.published)
    hosts: dict[str, int] = {}
    for a in infos:
        hosts[a.source] = hosts.get(a.source, 0) + 1
    found = []
    if dates:
        found.append((f"since {dates[len(dates) // 2].isoformat()}", Filters(since=dates[len(dates) // 2])))
    if hosts:
        top = max(hosts, key=lambda h: hosts[h])
        found.append((f"source {top}", Filters(sources=(top,))))
    return found


def one_pass(assistant: Any, questions: Sequence[str], filters: "Filters | None" = None) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    for question in questions:
        answer = assistant.ask(question, filters=filters)
        for stage in STAGES:
            samples[stage].append(answer.timings.get(stage, 0.0))
    return samples


def summarise(passes: list[dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {
        "p50": {s: median([percentile(p[s], 50) for p in passes]) for s in STAGES},
        "p95": {s: median([percentile(p[s], 95) for p in passes]) for s in STAGES},
    }


def run(articles: Path = DEFAULT_ARTICLES, questions: Path = DEFAULT_QUESTIONS, *, cache: Path = DEFAULT_CACHE,
        sizes: Sequence[int] = SIZES, repeats: int = 3, warmup: int = 5, filtered: int = 12,
        embedder: "Embedder | None" = None) -> dict[str, Any]:
    """The scale benchmark: per size, the medians over passes of each pass's p50 and p95 per stage."""
    from bench.ingest import bench_settings, cache_store_dir
    from bench.query import FreshQuestions, fresh_assistant, load_questions
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore

    asked = load_questions(questions)
    cache.mkdir(parents=True, exist_ok=True)
    built = ensure_stores(articles, cache, sizes)
    load_at_start = os.getloadavg()[0]
    fresh = FreshQuestions(embedder or Embedder.from_settings(bench_settings(cache / "unused")))
    stores = [ArticleStore(bench_settings(b.path)) for b in built]
    lexical_load = []
    for store in stores:  # load every index and HNSW segment before timing anything
        assistant, seconds = fresh_assistant(store, fresh)
        lexical_load.append(seconds)
        one_pass(assistant, asked[:warmup])
    plain: list[list[dict[str, list[float]]]] = [[] for _ in stores]
    for r in range(repeats):
        for i in _rotated(len(stores), r):
            assistant, _ = fresh_assistant(stores[i], fresh)
            plain[i].append(one_pass(assistant, asked))
    with_filters: list[dict[str, dict[str, Any]]] = [{} for _ in stores]
    for i, store in enumerate(stores):
        for label, chosen in filters_for(store):
            assistant, _ = fresh_assistant(store, fresh)
            with_filters[i][label] = summarise([one_pass(assistant, asked[:filtered], chosen)])
    source = ArticleStore(bench_settings(cache_store_dir(articles, cache)))
    return {
        "machine": machine(), "repeats": repeats, "warmup": warmup, "questions": len(asked),
        "filtered_questions": min(filtered, len(asked)), "source_chunks": source.count_chunks(),
        "source_articles": len(source.article_hashes()), "load_average": [load_at_start, os.getloadavg()[0]],
        "sizes": [
            {"target": size, "path": str(b.path), "chunks": b.chunks, "articles": b.articles, "variants": b.variants,
             "build_seconds": b.build_seconds, "lexical_build_seconds": b.lexical_build_seconds,
             "lexical_load_seconds": lexical_load[i], **summarise(plain[i]), "filtered": with_filters[i]}
            for i, (size, b) in enumerate(zip(sizes, built))
        ],
    }


def _rotated(n: int, r: int) -> list[int]:
    return [(r + i) % n for i in range(n)]


# -- report --------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Scale" section body."""
    sizes = r["sizes"]
    method = (
        f"**Method.** `python -m bench scale` on {r['machine']}. Shared machine (other engineers run tests and "
        f"benchmarks at the same time), so absolute times are noisy; the collections are measured side by side "
        f"in one process (one pass over the {r['questions']} realtimeqa-dev questions per collection in turn, "
        f"the order rotating each pass, {r['repeats']} passes, {r['warmup']} warm-up questions per collection "
        f"first), and each figure is the median over passes of that pass's p50 / p95. Warm process, extractive "
        f"answerer, local Chroma stores, a fresh assistant per pass (every question embeds itself once). "
        f"{load_note(r)}\n\n"
        f"**How the collections are made.** Embedding 200k chunks on this machine would take hours, so the "
        f"collections are built from the store of `python -m bench ingest` ({r['source_articles']:,} "
        f"realtimeqa-dev articles, {r['source_chunks']:,} chunks: real text, real vectors). The smallest "
        f"collection is a subset of those articles; the larger "
        f"ones add generated variants: each variant of an article gets a new id, url and title suffix and a "
        f"date shifted by up to two years; its text is the original with {SWAP_RATE:.0%} of its words (4+ "
        f"letters) swapped for other words of the corpus of the same length, so chunk offsets still round-trip; "
        f"each chunk's vector is the original plus gaussian noise (σ = {NOISE_SIGMA} per dimension, cosine to "
        f"the original about 0.96), renormalised. All of it is written through `ArticleStore.write_articles`, "
        f"the pipeline's write path (registry, chunk metadata, generation token), and the BM25 index is built "
        f"from the store as in production. Variants are near-duplicates, so the dense and lexical candidate "
        f"lists fill with copies of the same story: the per-article cap still applies per variant (each is its "
        f"own article). This tests how the search cost grows with the number of chunks, not answer quality."
    )
    header = ["stage"] + [f"{s['chunks']:,} chunks p50 / p95 ms" for s in sizes]
    rows = [[stage] + [f"{_ms(s['p50'][stage])} / {_ms(s['p95'][stage])}" for s in sizes] for stage in STAGES]
    retrieval = [sum(s["p50"][k] for k in ("embed", "dense", "lexical", "fuse")) for s in sizes]
    rows.append(["retrieval (embed+dense+lexical+fuse), sum of p50s"] + [_ms(v) for v in retrieval])
    first, last = sizes[0], sizes[-1]
    growth = (
        f"Growth from {first['chunks']:,} to {last['chunks']:,} chunks (same run): total p50 "
        f"×{_ratio(last['p50']['total'], first['p50']['total'])}, p95 "
        f"×{_ratio(last['p95']['total'], first['p95']['total'])}; "
        f"retrieval p50 ×{_ratio(retrieval[-1], retrieval[0])}; dense p50 "
        f"×{_ratio(last['p50']['dense'], first['p50']['dense'])}, lexical p50 "
        f"×{_ratio(last['p50']['lexical'], first['p50']['lexical'])}, fuse p50 "
        f"×{_ratio(last['p50']['fuse'], first['p50']['fuse'])}. Goal (issue 7): p95 under 250 ms at 200k "
        f"chunks and growth under 2×."
    )
    frows = []
    for s in sizes:
        for label, f in s["filtered"].items():
            frows.append([f"{s['chunks']:,}", label] + [f"{_ms(f['p50'][k])} / {_ms(f['p95'][k])}"
                                                        for k in ("dense", "lexical", "fuse", "total")])
    filtered = (f"With filters (the first {r['filtered_questions']} questions, one pass, so noisier; p50 / p95 ms; "
                f"the date filter keeps the newer half of each collection, the outlet filter its commonest "
                f"outlet):\n\n"
                + table(["chunks", "filter", "dense", "lexical", "fuse", "total"], frows))
    build_rows = [[f"{s['chunks']:,}", f"{s['articles']:,} ({s['variants']:,} variants)", f"{s['build_seconds']:.0f} s",
                   f"{s['lexical_build_seconds']:.1f} s", f"{s['lexical_load_seconds']:.2f} s"] for s in sizes]
    builds = ("Building the collections (cached under bench/.cache, reused by later runs; times from the run that "
              "built them):\n\n" + table(["chunks", "articles", "write through ArticleStore", "BM25 build",
                                          "BM25 load in a new process"], build_rows))
    return "\n\n".join([method, table(header, rows), growth, filtered, builds])


def load_note(r: dict[str, Any]) -> str:
    """The machine's 1-minute load average at the start and end of a run, when recorded."""
    if not r.get("load_average"):
        return ""
    start, end = r["load_average"]
    return (f"1-minute load average at the start / end of the run: {start:.1f} / {end:.1f} on "
            f"{os.cpu_count()} cores.")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"
