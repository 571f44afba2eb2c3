"""`python -m bench scale`: warm query latency per stage on collections of 10k, 50k and 200k chunks.

Embedding 200k chunks here would take hours, so the collections are built from the store that
`python -m bench ingest` made (realtimeqa-dev: real articles, chunks and vectors) plus generated
variants of its articles: each variant gets a new id, url and title suffix and a shifted date; its
text is the original with a few words swapped for other corpus words of the same length (so every
chunk's offsets still round-trip, `text[start:end] == chunk`), and each chunk's vector is the
original plus small gaussian noise, renormalised. Everything is written through
`ArticleStore.write_articles`, the ingest pipeline's own write path, so registry, chunk metadata and
the lexical index are what a real ingest produces. Built stores are cached under bench/.cache.

Measurement: one process, model loaded once; the collections are measured side by side, one pass
over every question per collection in turn (the order rotates each pass), each pass with a fresh
assistant, as `python -m bench query` does. Then, once per collection, the first questions with a
date filter, an as-of filter and an outlet filter, each alternating between the planned dense search and
Chroma's filtered query; then the next question's added wait after another process adds, then deletes,
100 articles (the store ends as it began).
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
    from vectorstore.store import PreparedArticle, chunk_text

    registry = store.registry.get(include=["metadatas", "documents"])
    rows: dict[str, list[tuple[dict[str, Any], str, Any]]] = {}
    offset, page = 0, 5000
    while True:
        got = store.chunks.get(limit=page, offset=offset, include=["embeddings", "metadatas", "documents"])
        for meta, document, vector in zip(got["metadatas"], got["documents"], got["embeddings"]):
            rows.setdefault(meta["article_id"], []).append((meta, chunk_text(document, meta), vector))
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
    """Write a collection of about `size` chunks into a fresh store at `path`, and its lexical index."""
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
        as_of = dates[len(dates) // 10]
        found.append((f"as of {as_of.isoformat()}", Filters(until=as_of, undated=True)))
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


PLAN_FETCHES = (250, 500, 1000, 2000, 4000)
"""Unfiltered candidate counts whose cost is compared with the filtered query's (calibration)."""


def calibrate_plan(assistant: Any, questions: Sequence[str], filters: Sequence[tuple[str, "Filters"]]
                   ) -> dict[str, Any]:
    """Median seconds of Chroma's filtered query per filter, and of the unfiltered plan (ids and distances
    of `n` candidates, the lexical index's filter check, the kept chunks read) per `n`: where they cross is
    `app.retrieval.MAX_UNFILTERED_CANDIDATES`."""
    retriever = assistant.retriever
    wanted = max(retriever.settings.candidate_k, retriever.settings.top_k * 3)
    vectors = [retriever.embedder.embed_query(q) for q in questions]
    filtered = {label: median([timed(lambda v=v, f=f: retriever.store.dense_search(v, wanted, f.chroma_where()))[0]
                               for v in vectors]) for label, f in filters}

    def planned(vector: Any, n: int, f: "Filters") -> None:
        nearest = retriever.store.dense_ids(vector, n)
        passing = retriever.lexical.matching([cid for cid, _ in nearest], **f.lexical())
        retriever.store.get_chunks([cid for cid, _ in nearest if cid in passing][:wanted])

    chosen = filters[0][1] if filters else None
    unfiltered = {n: median([timed(lambda v=v, n=n: planned(v, n, chosen))[0] for v in vectors])
                  for n in PLAN_FETCHES} if chosen else {}
    share = {label: retriever.lexical.count(**f.lexical()) / max(1, retriever.lexical.size) for label, f in filters}
    return {"questions": len(questions), "wanted": wanted, "filtered": filtered, "unfiltered": unfiltered,
            "share": share}


def filter_plans(store: "ArticleStore", fresh: Any, questions: Sequence[str],
                 filters: Sequence[tuple[str, "Filters"]], passes: int = 2) -> dict[str, Any]:
    """Per filter, the planned dense search against Chroma's filtered query always, alternating pass by pass."""
    import app.retrieval as retrieval
    from bench.query import fresh_assistant

    planned_limit, listed_limit = retrieval.MAX_UNFILTERED_CANDIDATES, retrieval.MAX_LISTED_CHUNKS
    found: dict[str, Any] = {}
    for label, chosen in filters:
        runs: dict[str, list[dict[str, list[float]]]] = {"planned": [], "filtered query": []}
        for r in range(2 * passes):
            mode = ("planned", "filtered query")[r % 2]
            forced = mode != "planned"  # neither unfiltered candidates nor the listed passing chunks
            retrieval.MAX_UNFILTERED_CANDIDATES = 0 if forced else planned_limit
            retrieval.MAX_LISTED_CHUNKS = 0 if forced else listed_limit
            try:
                assistant, _ = fresh_assistant(store, fresh)
                runs[mode].append(one_pass(assistant, questions, chosen))
            finally:
                retrieval.MAX_UNFILTERED_CANDIDATES, retrieval.MAX_LISTED_CHUNKS = planned_limit, listed_limit
        found[label] = {mode: summarise(p) for mode, p in runs.items()}
    return found


_CHANGE = """
import json, pickle, sys, time
from pathlib import Path
from bench.ingest import bench_settings
from vectorstore.lexical import LexicalIndex
from vectorstore.store import ArticleStore
path, batch, follow, action = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
store = ArticleStore(bench_settings(path))
if follow:
    LexicalIndex.for_store(store)
prepared = pickle.loads(batch.read_bytes())
started = time.perf_counter()
if action == "add":
    store.write_articles(prepared)
else:
    for p in prepared:
        store.delete_article(p.article.id)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def change_waits(built: Built, store: "ArticleStore", fresh: Any, questions: Sequence[str],
                 source: Sequence["PreparedArticle"], count: int = 100) -> list[dict[str, Any]]:
    """The next question's added wait after another process adds `count` articles, then deletes them: with
    the writer updating the lexical index (the ingest pipeline's way), and with a writer that does not (the
    reader catches up by the registry diff). Added wait: the first question after the change minus the same
    question asked again at once. The store ends as it began."""
    import pickle
    import subprocess
    import sys
    import tempfile

    import numpy as np

    import vectorstore.lexical as lexical
    from bench.query import fresh_assistant

    rng = np.random.default_rng(7)
    vocab = vocabulary(source)
    batch = [variant(p, 100_000 + i, rng, vocab) for i, p in enumerate(source[:count])]
    assistant, _ = fresh_assistant(store, fresh)
    one_pass(assistant, questions[:3])
    found = []
    with tempfile.TemporaryDirectory() as scratch:
        batch_file = Path(scratch) / "batch.pickle"
        batch_file.write_bytes(pickle.dumps(batch))
        root = Path(__file__).resolve().parent.parent
        for n, (follow, action) in enumerate([(True, "add"), (True, "delete"), (False, "add"), (False, "delete")]):
            done = subprocess.run([sys.executable, "-c", _CHANGE, str(built.path), str(batch_file),
                                   "1" if follow else "0", action], cwd=root, capture_output=True, text=True,
                                  check=True, timeout=3600)
            writer_seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
            time.sleep(lexical.CHECK_INTERVAL + 0.1)  # the next question checks the store's generation
            question = questions[(3 + n) % len(questions)]
            touched = assistant.lexical.articles_touched
            first_seconds, first = timed(lambda q=question: assistant.ask(q))
            again_seconds, _ = timed(lambda q=question: assistant.ask(q))
            found.append({"writer_updates_index": follow, "action": action, "articles": len(batch),
                          "chunks": sum(len(p.chunks) for p in batch), "writer_seconds": writer_seconds,
                          "first_seconds": first_seconds, "again_seconds": again_seconds,
                          "added_seconds": first_seconds - again_seconds, "first_timings": first.timings,
                          "reader_articles_touched": assistant.lexical.articles_touched - touched,
                          "reader_builds": assistant.lexical.builds})
    return found


def run(articles: Path = DEFAULT_ARTICLES, questions: Path = DEFAULT_QUESTIONS, *, cache: Path = DEFAULT_CACHE,
        sizes: Sequence[int] = SIZES, repeats: int = 3, warmup: int = 5, filtered: int = 12,
        embedder: "Embedder | None" = None, source_store: Path | None = None) -> dict[str, Any]:
    """The scale benchmark: per size, the medians over passes of each pass's p50 and p95 per stage."""
    from bench.ingest import bench_settings
    from bench.query import FreshQuestions, fresh_assistant, timeless_questions
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore

    asked = timeless_questions(questions)
    cache.mkdir(parents=True, exist_ok=True)
    built = ensure_stores(articles, cache, sizes, source_store)
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
    # Questions [0, filtered) report the filter plans; [filtered, 2 * filtered) calibrated their limit.
    with_filters, calibration = [], []
    for store in stores:
        chosen = filters_for(store)
        assistant, _ = fresh_assistant(store, fresh)
        calibration.append(calibrate_plan(assistant, asked[filtered:2 * filtered], chosen))
        with_filters.append(filter_plans(store, fresh, asked[:filtered], chosen))
    source = ArticleStore(source_settings(articles, cache, source_store))
    prepared = read_source(source)
    changes = [change_waits(b, store, fresh, asked, prepared) for b, store in zip(built, stores)]
    return {
        "machine": machine(), "repeats": repeats, "warmup": warmup, "questions": len(asked),
        "filtered_questions": min(filtered, len(asked)), "source_chunks": source.count_chunks(),
        "source_articles": len(source.article_hashes()), "load_average": [load_at_start, os.getloadavg()[0]],
        "sizes": [
            {"target": size, "path": str(b.path), "chunks": b.chunks, "articles": b.articles, "variants": b.variants,
             "build_seconds": b.build_seconds, "lexical_build_seconds": b.lexical_build_seconds,
             "lexical_load_seconds": lexical_load[i], **summarise(plain[i]), "filtered": with_filters[i],
             "calibration": calibration[i], "changes": changes[i]}
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
        f"in one process (one pass over the {r['questions']} realtimeqa-dev questions, their time phrases removed "
        f"(`bench.query.timeless_questions`), per collection in turn, "
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
        f"the pipeline's write path (registry, chunk metadata, generation token), and the lexical index is built "
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
        for label, modes in s["filtered"].items():
            share = s.get("calibration", {}).get("share", {}).get(label)
            for mode, f in modes.items():
                frows.append([f"{s['chunks']:,}", label, f"{share:.0%}" if share is not None else "", mode]
                             + [f"{_ms(f['p50'][k])} / {_ms(f['p95'][k])}" for k in ("dense", "lexical", "total")])
            planned, forced = modes.get("planned"), modes.get("filtered query")
            if planned and forced:
                frows.append(["", "", "", "planned / filtered query, p50 / p95"]
                             + [f"×{_ratio(planned['p50'][k], forced['p50'][k])} / "
                                f"×{_ratio(planned['p95'][k], forced['p95'][k])}"
                                for k in ("dense", "lexical", "total")])
    filtered = (f"With filters (the first {r['filtered_questions']} questions, passes alternating between the "
                f"planned dense search of `app.retrieval.Retriever._dense` and Chroma's filtered query always, "
                f"2 passes each; p50 / p95 ms; the date filter keeps the newer half of each collection, the as-of "
                f"filter the oldest tenth and the undated, the outlet filter its commonest outlet; 'share' is the "
                f"share of chunks passing):\n\n"
                + table(["chunks", "filter", "share", "dense search", "dense", "lexical", "total"], frows))
    crows = []
    for s in sizes:
        c = s.get("calibration")
        if not c:
            continue
        cost = ", ".join(f"{label} {_ms(v)} ms" for label, v in c["filtered"].items())
        crows.append([f"{s['chunks']:,}", cost] + [_ms(c["unfiltered"].get(n, 0.0)) for n in PLAN_FETCHES])
    calibration = ("Calibration of `MAX_UNFILTERED_CANDIDATES` (questions "
                   f"{r['filtered_questions'] + 1}–{2 * r['filtered_questions']}, not those above; median ms of "
                   "Chroma's filtered query for the wanted candidates, and of the unfiltered plan for n candidates: "
                   "ids and distances, the lexical index's filter check, the kept chunks read):\n\n"
                   + table(["chunks", "filtered query"] + [f"plan, n = {n}" for n in PLAN_FETCHES], crows))
    wrows = []
    for s in sizes:
        for w in s.get("changes", []):
            wrows.append([f"{s['chunks']:,}", f"{w['action']} {w['articles']} articles ({w['chunks']:,} chunks)",
                          "writer" if w["writer_updates_index"] else "reader's catch-up",
                          f"{w['writer_seconds']:.1f} s", f"{1000 * w['first_seconds']:.0f}",
                          f"{1000 * w['again_seconds']:.0f}", f"{1000 * w['added_seconds']:.0f}",
                          f"{w['reader_articles_touched']}", f"{w['reader_builds']}"])
    waits = ("After a change by another process (a subprocess writing through `ArticleStore`; the question "
             "process's next question after the index's check interval; added wait = that question minus the "
             "same question asked again at once):\n\n"
             + table(["chunks", "change", "lexical index updated by", "writer's time", "next question ms",
                      "again ms", "added wait ms", "articles the reader re-indexed", "reader's full builds"], wrows))
    build_rows = [[f"{s['chunks']:,}", f"{s['articles']:,} ({s['variants']:,} variants)", f"{s['build_seconds']:.0f} s",
                   f"{s['lexical_build_seconds']:.1f} s", f"{s['lexical_load_seconds']:.2f} s"] for s in sizes]
    builds = ("Building the collections (cached, reused by later runs; times from the run that built them):\n\n"
              + table(["chunks", "articles", "write through ArticleStore", "lexical index build (tantivy)",
                       "lexical index open in a new process"], build_rows))
    return "\n\n".join([method, table(header, rows), growth, filtered, calibration, waits, builds])


def load_note(r: dict[str, Any]) -> str:
    """The machine's 1-minute load average at the start and end of a run, when recorded."""
    if not r.get("load_average"):
        return ""
    start, end = r["load_average"]
    return (f"1-minute load average at the start / end of the run: {start:.1f} / {end:.1f} on "
            f"{os.cpu_count()} cores.")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"
