"""`python -m bench ingest`: load+clean, ingest vs raw `SentenceTransformer.encode` side by side, re-ingest.

Method: the pipeline ingest of a subset of articles into a fresh store and the raw encode of exactly
the texts that pipeline embeds (same Chunker, same `embed_texts`, same batch size) alternate within
one process, repeated; the ratio is taken per repeat and its median reported. Then the full set is
ingested into a cached store (reused by `python -m bench query`) and re-ingested unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import (
    DEFAULT_ARTICLES,
    DEFAULT_CACHE,
    ROOT,
    machine,
    median,
    peak_rss_mb,
    stage_timer,
    table,
    timed,
)

if TYPE_CHECKING:
    from core.records import Article
    from core.settings import Settings
    from ingest.loaders import Loaded
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)

COLLECTION = "bench"


@dataclass
class IngestRun:
    """One pipeline ingest into a store."""

    seconds: float
    cpu_seconds: float
    articles: int
    chunks: int
    stages: dict[str, float] = field(default_factory=dict)

    @classmethod
    def merge(cls, runs: list["IngestRun"]) -> "IngestRun":
        stages = {k: sum(r.stages.get(k, 0.0) for r in runs) for k in runs[0].stages}
        return cls(sum(r.seconds for r in runs), sum(r.cpu_seconds for r in runs), sum(r.articles for r in runs),
                   sum(r.chunks for r in runs), stages)

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.seconds if self.seconds else 0.0


def bench_settings(store_dir: Path) -> "Settings":
    from core.settings import Settings

    return Settings(store_dir=store_dir, collection=COLLECTION, _env_file=None)


def cache_store_dir(articles: Path, cache: Path) -> Path:
    """The cached store for one articles file: keyed on its content, so a copy with a new mtime reuses it."""
    key = hashlib.sha1(articles.read_bytes()).hexdigest()[:10]
    return cache / "stores" / f"{articles.parent.name}-{key}"


def load_articles(path: Path, settings: "Settings") -> list["Loaded"]:
    from ingest.loaders import load_sources

    return list(load_sources([], settings, jsonl=[str(path)]))


def spread(items: list[Any], n: int) -> list[Any]:
    """`n` items evenly spaced over `items` (all of them when n is 0 or too large)."""
    if n <= 0 or n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def embedded_texts(articles: list["Article"], settings: "Settings", embedder: "Embedder") -> list[str]:
    """Exactly the texts the pipeline embeds for `articles`."""
    from ingest.chunking import Chunker

    chunker = Chunker.from_settings(embedder, settings)
    return [t for a in articles for t in chunker.embed_texts(a, chunker.chunk(a))]


def close_store(store: "ArticleStore") -> None:
    """Release Chroma's cached system, so temporary stores do not pile up in memory."""
    store.close()


def ingest_once(loaded: list["Loaded"], store_dir: Path, embedder: "Embedder") -> IngestRun:
    """A pipeline ingest of `loaded` (already loaded) into the store at `store_dir`, with per-stage times."""
    from ingest.pipeline import Ingestor
    from vectorstore.store import ArticleStore

    settings = bench_settings(store_dir)
    store = ArticleStore(settings)
    ingestor = Ingestor.from_settings(settings, store=store, embedder=embedder)
    stages: dict[str, float] = {}
    targets = [(ingestor.chunker, "chunk", "chunk"), (embedder, "embed_with_spans", "embed"),
               (store, "write_articles", "chroma write"), (store, "article_hashes", "chroma read"),
               (store, "index_state", "chroma read"),
               (store, "repair", "chroma read")]
    try:
        with stage_timer(targets, stages):
            cpu = time.process_time()
            report = ingestor.run(loaded)
            cpu = time.process_time() - cpu
    finally:
        close_store(store)
    stages["other"] = max(0.0, report.seconds - sum(stages.values()))
    return IngestRun(report.seconds, cpu, report.added + report.updated, report.chunks_embedded, stages)


def raw_encode(texts: list[str], embedder: "Embedder") -> tuple[float, float]:
    """Wall and CPU seconds for the bare model to embed `texts` with the pipeline's batch size."""
    cpu = time.process_time()
    seconds, _ = timed(lambda: embedder.model.encode(
        texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False))
    return seconds, time.process_time() - cpu


def side_by_side(slices: list[list["Loaded"]], texts: list[list[str]], embedder: "Embedder", cache: Path,
                 repeats: int) -> list[dict[str, Any]]:
    """Pipeline ingest vs raw encode, alternating slice by slice so that noise hits both; one dict per repeat.

    Each repeat ingests the slices one after the other into one fresh store; the raw encode of each
    slice's texts runs right before or right after (the order alternates).
    """
    results = []
    for r in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix="ingest-", dir=cache))
        runs, raws = [], []
        try:
            for k, (items, slice_texts) in enumerate(zip(slices, texts)):
                if (r + k) % 2 == 0:
                    runs.append(ingest_once(items, tmp, embedder))
                    raws.append(raw_encode(slice_texts, embedder))
                else:
                    raws.append(raw_encode(slice_texts, embedder))
                    runs.append(ingest_once(items, tmp, embedder))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(_pair(IngestRun.merge(runs), sum(w for w, _ in raws), sum(c for _, c in raws)))
        logger.info("repeat %d: ingest %.1f chunks/s, raw encode %.1f chunks/s, ratio %.3f (CPU time %.3f)",
                    r + 1, results[-1]["ingest"].chunks_per_s, results[-1]["raw_chunks_per_s"],
                    results[-1]["ratio"], results[-1]["cpu_ratio"])
    return results


def _pair(run: IngestRun, raw_seconds: float, raw_cpu: float) -> dict[str, Any]:
    return {"ingest": run, "raw_chunks_per_s": run.chunks / raw_seconds, "ratio": raw_seconds / run.seconds,
            "cpu_ratio": raw_cpu / run.cpu_seconds}


def reingest(articles: Path, store_dir: Path, embedder: "Embedder", repeats: int) -> list[dict[str, float]]:
    """Load + ingest the unchanged full set again, in process: pipeline seconds and end-to-end seconds."""
    from ingest.pipeline import Ingestor
    from vectorstore.store import ArticleStore

    settings = bench_settings(store_dir)
    runs = []
    for _ in range(repeats):
        def once() -> Any:
            store = ArticleStore(settings)
            try:
                return Ingestor.from_settings(settings, store=store, embedder=embedder).run(
                    load_articles(articles, settings))
            finally:
                close_store(store)

        total, report = timed(once)
        runs.append({"seconds": report.seconds, "end_to_end": total, "chunks_embedded": report.chunks_embedded,
                     "unchanged": report.unchanged})
    return runs


# `python -m ingest ARGS`, then its own peak RSS (VmHWM: unlike ru_maxrss, not inherited from the forking parent).
_CLI_WITH_PEAK = """
import atexit, re, runpy, sys
def _peak():
    status = open("/proc/self/status").read()
    print("BENCH_PEAK_KB=" + re.search(r"VmHWM:\\s*(\\d+)", status).group(1), file=sys.stderr)
atexit.register(_peak)
sys.argv = ["ingest", *sys.argv[1:]]
runpy.run_module("ingest", run_name="__main__", alter_sys=True)
"""


def reingest_cli(articles: Path, store_dir: Path, repeats: int) -> list[dict[str, float]]:
    """`python -m ingest --jsonl FILE --json` on the unchanged store, as a user runs it: wall seconds, peak RSS."""
    env = dict(os.environ, NEWSDESK_STORE_DIR=str(store_dir), NEWSDESK_COLLECTION=COLLECTION, HF_HUB_OFFLINE="1")
    command = [sys.executable, "-c", _CLI_WITH_PEAK, "--jsonl", str(articles), "--json"]
    runs = []
    for _ in range(repeats):
        seconds, done = timed(lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True))
        peak = re.search(r"BENCH_PEAK_KB=(\d+)", done.stderr)
        if done.returncode not in (0, 1) or not done.stdout.strip() or not peak:
            raise RuntimeError(f"python -m ingest failed ({done.returncode}): {done.stderr[-2000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append({"seconds": seconds, "chunks_embedded": report["chunks_embedded"],
                     "peak_rss_mb": int(peak.group(1)) / 1024})
    return runs


def run(articles: Path = DEFAULT_ARTICLES, *, cache: Path = DEFAULT_CACHE, repeats: int = 3, subset: int = 200,
        slice_articles: int = 50, cli_repeats: int = 3, embedder: "Embedder | None" = None) -> dict[str, Any]:
    """The whole ingest benchmark; returns a dict of plain numbers (see `to_markdown`)."""
    from vectorstore.embedding import Embedder

    cache.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(cache / "unused")
    result, loaded = measure_load(articles, settings, repeats)
    embedder = embedder or Embedder.from_settings(settings)
    result["model_load_seconds"], _ = timed(lambda: embedder.model)
    result |= measure_side_by_side(loaded, settings, embedder, cache, repeats, subset, slice_articles)
    result |= measure_full(articles, loaded, embedder, cache, repeats, cli_repeats)
    result |= {"machine": machine(), "articles_path": str(articles), "repeats": repeats,
               "batch_size": embedder.batch_size, "ingest_batch_chunks": settings.ingest_batch_chunks,
               "peak_rss_mb": peak_rss_mb()}
    return result


def measure_load(articles: Path, settings: "Settings", repeats: int) -> tuple[dict[str, Any], list["Loaded"]]:
    load_times, loaded = [], []
    for _ in range(repeats):
        seconds, loaded = timed(lambda: load_articles(articles, settings))
        load_times.append(seconds)
    usable = sum(item.article is not None for item in loaded)
    return {"articles_total": len(loaded), "articles_ok": usable, "load_seconds": median(load_times)}, loaded


def measure_side_by_side(loaded: list["Loaded"], settings: "Settings", embedder: "Embedder", cache: Path,
                         repeats: int, subset: int, slice_articles: int) -> dict[str, Any]:
    """Pipeline ingest of a subset vs raw encode of the same texts, alternating."""
    chosen = spread([item for item in loaded if item.article is not None], subset)
    slices = [chosen[i: i + slice_articles] for i in range(0, len(chosen), slice_articles)]
    chunk_seconds, texts = timed(lambda: [embedded_texts([i.article for i in s], settings, embedder) for s in slices])
    raw_encode(texts[0][:64], embedder)  # first-call warm-up, for neither side
    pairs = side_by_side(slices, texts, embedder, cache, repeats)
    ingests = [p["ingest"] for p in pairs]
    return {
        "subset_articles": len(chosen), "subset_chunks": sum(map(len, texts)), "slices": len(slices),
        "subset_chunking_seconds": chunk_seconds,
        "ingest_seconds": median([r.seconds for r in ingests]),
        "ingest_articles_per_s": median([r.articles_per_s for r in ingests]),
        "ingest_chunks_per_s": median([r.chunks_per_s for r in ingests]),
        "raw_chunks_per_s": median([p["raw_chunks_per_s"] for p in pairs]),
        "ratio": median([p["ratio"] for p in pairs]), "ratios": [round(p["ratio"], 3) for p in pairs],
        "cpu_ratio": median([p["cpu_ratio"] for p in pairs]),
        "cpu_ratios": [round(p["cpu_ratio"], 3) for p in pairs],
        "subset_stages": {k: median([r.stages[k] for r in ingests]) for k in ingests[0].stages},
    }


def measure_full(articles: Path, loaded: list["Loaded"], embedder: "Embedder", cache: Path, repeats: int,
                 cli_repeats: int) -> dict[str, Any]:
    """Full ingest into a fresh cached store (kept for `bench query`), then unchanged re-ingests."""
    store_dir = cache_store_dir(articles, cache)
    shutil.rmtree(store_dir, ignore_errors=True)
    full = ingest_once(loaded, store_dir, embedder)
    logger.info("full ingest: %d chunks in %.1f s", full.chunks, full.seconds)
    again = reingest(articles, store_dir, embedder, repeats)
    cli = reingest_cli(articles, store_dir, cli_repeats) if cli_repeats else []
    return {
        "store_dir": str(store_dir), "full_seconds": full.seconds, "full_articles": full.articles,
        "full_chunks": full.chunks, "full_articles_per_s": full.articles_per_s,
        "full_chunks_per_s": full.chunks_per_s, "full_stages": full.stages,
        "reingest_seconds": median([r["seconds"] for r in again]),
        "reingest_end_to_end_seconds": median([r["end_to_end"] for r in again]),
        "reingest_chunks_embedded": max(r["chunks_embedded"] for r in again),
        "reingest_unchanged": again[0]["unchanged"],
        "cli_reingest_seconds": median([r["seconds"] for r in cli]) if cli else None,
        "cli_reingest_chunks_embedded": max(r["chunks_embedded"] for r in cli) if cli else None,
        "cli_peak_rss_mb": max(r["peak_rss_mb"] for r in cli) if cli else None,
    }


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Ingest" section body."""
    n = r["repeats"]
    method = (
        f"**Method.** `python -m bench ingest` on {r['machine']}. Shared machine (other engineers run tests "
        f"at the same time), so absolute times are noisy: figures are medians of {n} repeats, and the ratio "
        f"is measured side by side in one process: pipeline ingest of {r['subset_articles']} articles "
        f"(evenly spaced over the file; a subset so that the repeats fit in the time) into a fresh local "
        f"store, and a raw `SentenceTransformer.encode(texts, batch_size={r['batch_size']}, "
        f"normalize_embeddings=True)` of exactly the {r['subset_chunks']} texts the pipeline embeds (same "
        f"Chunker, same `embed_texts` header), alternating slice by slice ({r['slices']} slices per repeat, "
        f"which side goes first alternates) so that a burst of load from other processes hits both sides. "
        f"The ratio is taken per repeat, on wall time and on this process's CPU time (less sensitive to "
        f"other processes). Ingest times start from loaded articles (load+clean is its own row) and include "
        f"chunking, embedding, Chroma writes and bookkeeping; the pipeline flushes every "
        f"{r['ingest_batch_chunks']} chunks. Peak RSS of the benchmark process is an upper bound for an "
        f"ingest (it also holds the raw-encode runs and several stores)."
    )
    return "\n\n".join([method, _main_table(r), _stage_table(r)])


def _main_table(r: dict[str, Any]) -> str:
    cli = r["cli_reingest_seconds"]
    rows = [
        ["load + clean, full file", f"{r['articles_total']} articles ({r['articles_ok']} usable)",
         f"{r['load_seconds']:.2f} s"],
        ["embedding model load", "", f"{r['model_load_seconds']:.2f} s"],
        [f"pipeline ingest, subset of {r['subset_articles']}", f"{r['subset_chunks']} chunks",
         f"{r['ingest_seconds']:.1f} s; {r['ingest_articles_per_s']:.2f} articles/s; "
         f"{r['ingest_chunks_per_s']:.1f} chunks/s"],
        ["raw encode, same texts", f"{r['subset_chunks']} chunks", f"{r['raw_chunks_per_s']:.1f} chunks/s"],
        ["**ratio ingest / raw encode**, wall time (goal ≥ 0.85; issue 7: ≥ 0.9)", f"per repeat {r['ratios']}",
         f"**{r['ratio']:.3f}**"],
        ["ratio ingest / raw encode, CPU time", f"per repeat {r['cpu_ratios']}", f"{r['cpu_ratio']:.3f}"],
        ["full ingest, fresh store", f"{r['full_articles']} articles, {r['full_chunks']} chunks",
         f"{r['full_seconds']:.1f} s; {r['full_articles_per_s']:.2f} articles/s; "
         f"{r['full_chunks_per_s']:.1f} chunks/s"],
        ["**re-ingest, unchanged full set** (goal < 5 s, 0 embeddings)",
         f"{r['reingest_unchanged']} unchanged, {r['reingest_chunks_embedded']} chunks embedded",
         f"**{r['reingest_seconds']:.2f} s** pipeline; {r['reingest_end_to_end_seconds']:.2f} s with load+clean"],
    ]
    if cli is not None:
        rows.append(["re-ingest via `python -m ingest --jsonl FILE --json`",
                     f"{r['cli_reingest_chunks_embedded']} chunks embedded; peak RSS {r['cli_peak_rss_mb']:.0f} MB",
                     f"{cli:.2f} s wall, process start included"])
    rows.append(["peak RSS, benchmark process", "", f"{r['peak_rss_mb']:.0f} MB"])
    return table(["what", "size", "result"], rows)


def _stage_table(r: dict[str, Any]) -> str:
    stages = list(r["subset_stages"])
    rows = []
    for label, times in (("subset (median)", r["subset_stages"]), ("full ingest", r["full_stages"])):
        total = sum(times.values()) or 1.0
        rows.append([label] + [f"{times[s]:.1f} s ({100 * times[s] / total:.0f}%)" for s in stages])
    return "Where the pipeline's time goes:\n\n" + table(["run"] + stages, rows)
