"""`python -m bench query`: warm latency of the extractive path, total and per stage.

Method: the store built by `python -m bench ingest` (cached under bench/.cache, brought up to date
incrementally if missing or stale); every question of the benchmark asked in turn (as of its own day), after a warm-up,
in `repeats` passes. Each pass uses a fresh assistant, so the answerer's sentence-vector cache
starts empty, and every question pays for its own embedding (no question-vector cache across
questions): the cost of a new question to a warm server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, DEFAULT_QUESTIONS, machine, median, percentile, table, timed
from vectorstore.embedding import Embedder

if TYPE_CHECKING:
    from datetime import date

    import numpy as np
    from sentence_transformers import SentenceTransformer

    from app.assistant import Assistant
    from vectorstore.store import ArticleStore

STAGES = ("embed", "dense", "lexical", "fuse", "answer", "total")


class FreshQuestions(Embedder):
    """The same model, but a question's vector is kept only until the next question is asked.

    The retriever and the answerer both embed the question; in production the second call is a cache
    hit, here too. What is not reused is a vector from an earlier pass over the same questions.
    """

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner.model_name, device=inner.device, batch_size=inner.batch_size)
        self.inner = inner
        self.texts_embedded = 0
        self._last: tuple[str, np.ndarray] | None = None

    @cached_property
    def model(self) -> "SentenceTransformer":
        return self.inner.model

    def embed_documents(self, texts: Sequence[str]) -> "np.ndarray":
        self.texts_embedded += len(texts)
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> "np.ndarray":
        if self._last is None or self._last[0] != text:
            self._last = (text, super().embed_documents([text])[0])  # questions are not counted
        return self._last[1]


def load_questions(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [str(json.loads(line)["question"]) for line in handle if line.strip()]


def timeless_questions(path: Path) -> list[str]:
    """The questions without their time phrases, read as of the day each was asked ("Which show was green lit
    this week?" -> "Which show was green lit?"): asked as of today, "this week" of a question from 2022 is a
    window with no article in it, so the latency benchmarks would time refusals; without it, a question
    searches the whole collection, and a benchmark's own filters are the only ones."""
    from app.assistant import search_plan
    from core.settings import Settings

    settings = Settings()
    return [search_plan(question, None, day, settings).query for question, day in load_asked(path)]


def ensure_store(articles: Path, cache: Path, embedder: Embedder) -> tuple[Path, float]:
    """The cached store for `articles`, ingested incrementally (a no-op when it is complete)."""
    from bench.ingest import bench_settings, cache_store_dir, ingest_once, load_articles

    store_dir = cache_store_dir(articles, cache)
    seconds, _ = timed(lambda: ingest_once(load_articles(articles, bench_settings(store_dir)), store_dir, embedder))
    return store_dir, seconds


def fresh_assistant(store: "ArticleStore", embedder: Embedder) -> tuple["Assistant", float]:
    """A new assistant on `store`, its lexical index loaded; seconds to load (or build) that index."""
    from app.assistant import build_assistant

    assistant = build_assistant(store.settings, store=store, embedder=embedder)
    seconds, _ = timed(lambda: assistant.lexical.size)
    return assistant, seconds


def load_asked(path: Path) -> list[tuple[str, "date | None"]]:
    """Each question with the day it was asked (RealTimeQA's "date"), as `python -m evaluation` reads them."""
    from evaluation.runner import load_questions as load_rows

    return [(q.question, q.asked) for q in load_rows(path)]


def one_pass(assistant: "Assistant", questions: list[tuple[str, "date | None"]]) -> dict[str, list[float]]:
    """Seconds per stage for each question, asked in turn as of the day it was asked: "this week" in a
    question of 2022 asked as of today finds no article and abstains, which times the refusal, not an answer."""
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    samples["abstained"] = []
    for question, day in questions:
        answer = assistant.ask(question, as_of=day)
        for stage in STAGES:
            samples[stage].append(answer.timings.get(stage, 0.0))
        samples["abstained"].append(float(answer.abstained))
    return samples


def run(articles: Path = DEFAULT_ARTICLES, questions: Path = DEFAULT_QUESTIONS, *, cache: Path = DEFAULT_CACHE,
        repeats: int = 3, warmup: int = 5, embedder: Embedder | None = None) -> dict[str, Any]:
    """The query benchmark; returns medians over passes of each pass's p50 and p95, per stage."""
    from bench.ingest import bench_settings
    from vectorstore.store import ArticleStore

    asked = load_asked(questions)
    cache.mkdir(parents=True, exist_ok=True)
    fresh = FreshQuestions(embedder or Embedder.from_settings(bench_settings(cache / "unused")))
    store_dir, store_seconds = ensure_store(articles, cache, fresh.inner)
    store = ArticleStore(bench_settings(store_dir))
    assistant, first_lexical = fresh_assistant(store, fresh)
    one_pass(assistant, asked[:warmup])
    passes, loads, embedded = [], [], []
    for _ in range(repeats):
        assistant, seconds = fresh_assistant(store, fresh)
        loads.append(seconds)
        before = fresh.texts_embedded
        passes.append(one_pass(assistant, asked))
        embedded.append((fresh.texts_embedded - before) / len(asked))
    return {
        "machine": machine(), "repeats": repeats, "warmup": warmup, "questions": len(asked),
        "chunks": store.count_chunks(), "articles": len(store.article_hashes()),
        "store_update_seconds": store_seconds, "lexical_first_seconds": first_lexical,
        "lexical_load_seconds": median(loads),
        "p50": {s: median([percentile(p[s], 50) for p in passes]) for s in STAGES},
        "p95": {s: median([percentile(p[s], 95) for p in passes]) for s in STAGES},
        "abstained": median([sum(p["abstained"]) for p in passes]),
        "sentences_embedded_per_question": median(embedded),
    }


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Query latency" section body."""
    method = (
        f"**Method.** `python -m bench query` on {r['machine']}. Shared machine (other engineers run tests at "
        f"the same time), so times are noisy: each figure is the median over {r['repeats']} passes of that "
        f"pass's p50 / p95. Warm process (model loaded, {r['warmup']} warm-up questions), extractive answerer, "
        f"local Chroma store built by `python -m bench ingest` ({r['articles']} articles, {r['chunks']} "
        f"chunks), the {r['questions']} realtimeqa-dev questions asked in turn, each as of the day it was asked "
        f"(RealTimeQA's date; asked as of today, \"this week\" finds nothing). Each pass starts a fresh "
        f"assistant (empty sentence-vector cache) and every question embeds itself once, as a new question "
        f"does; a repeated question would be faster."
    )
    total = r["p50"]["total"] or 1.0
    rows = [[s, f"{1000 * r['p50'][s]:.1f}", f"{1000 * r['p95'][s]:.1f}",
             f"{100 * r['p50'][s] / total:.0f}%"] for s in STAGES]
    notes = (
        f"Sentences embedded at question time besides the question: {r['sentences_embedded_per_question']:.1f} "
        f"per question (median; 0 when the store holds sentence vectors, as every store ingested since "
        f"INDEX_VERSION 2 does). "
        f"Abstained on {r['abstained']:.0f} of {r['questions']} questions. Lexical (BM25) index: "
        f"{r['lexical_first_seconds']:.2f} s on first use in the process (built if the store changed, else "
        f"read from disk), {r['lexical_load_seconds']:.2f} s to load from disk."
    )
    goal = (f"Goal (issue 3): total p95 of the extractive path under 300 ms: "
            f"{'met' if r['p95']['total'] < 0.3 else 'not met'} ({1000 * r['p95']['total']:.0f} ms).")
    return "\n\n".join([method, table(["stage", "p50 ms", "p95 ms", "share of p50 total"], rows), notes, goal])
