"""`python -m bench tutorial`: our ingest against the LangChain RAG tutorial's, same articles, side by side.

Method: the same `subset` articles (evenly spaced over the file) are ingested by each pipeline into a
fresh store of its own, slice by slice; the pipelines' order rotates from slice to slice and repeat to
repeat, so a burst of load from other processes hits each of them. Our pipeline runs once per
configuration in `variants` (chunk overlap, embedding header and encoder precision,
`core.settings.Settings`); the tutorial is `RecursiveCharacterTextSplitter(1000, 200)` over each article's raw
text, then
`langchain_chroma.Chroma.add_documents` with `HuggingFaceEmbeddings` of the same model (as
`evaluation.baseline` runs it), and where our default precision is bfloat16 once more with that model in
bfloat16 (`TUTORIAL_BF16`). Times start from loaded articles and include splitting, embedding and
the store's writes. Embedded tokens: the model's tokens of every text a pipeline embeds, special tokens
included, capped at the model's `max_seq_length` (what the encoder runs on).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, machine, median, table
from bench.ingest import bench_settings, close_store, embedded_texts, load_articles, spread

if TYPE_CHECKING:
    from ingest.loaders import Loaded
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

TUTORIAL = "tutorial"
TUTORIAL_BF16 = "tutorial, bfloat16"
"""The tutorial with its `HuggingFaceEmbeddings` model in bfloat16 too (run where our default precision is
bfloat16): how much of the difference is the encoder's number format, and how much the pipeline."""
VARIANTS = ("40/title_date", "40/title_date/float32")
"""Our configurations, as "overlap tokens/embedding header[/precision]": as shipped (precision "auto"), and
as shipped but in float32."""


@dataclass(frozen=True)
class Variant:
    overlap: int
    header: str
    precision: str = "auto"

    @classmethod
    def parse(cls, text: str) -> "Variant":
        overlap, header, precision = [*text.split("/"), "", ""][:3]
        return cls(int(overlap), header or "title_date", precision or "auto")

    @property
    def resolved(self) -> str:
        from vectorstore.embedding import resolve_precision

        return resolve_precision(self.precision, "cpu")

    @property
    def label(self) -> str:
        return f"ours, overlap {self.overlap}, header {self.header}, {self.resolved}"

    def settings(self, store_dir: Path) -> Any:
        return bench_settings(store_dir).model_copy(
            update={"chunk_overlap_tokens": self.overlap, "embedding_header": self.header,
                    "embedding_precision": self.precision})


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    articles: int
    chunks: int


def ours_once(loaded: list["Loaded"], store_dir: Path, embedder: "Embedder", variant: Variant) -> Run:
    """Our pipeline ingest of `loaded` into the store at `store_dir`."""
    from ingest.pipeline import Ingestor
    from vectorstore.store import ArticleStore

    settings = variant.settings(store_dir)
    store = ArticleStore(settings)
    try:
        cpu = time.process_time()
        report = Ingestor.from_settings(settings, store=store, embedder=embedder).run(loaded)
        cpu = time.process_time() - cpu
    finally:
        close_store(store)
    return Run(report.seconds, cpu, report.added + report.updated, report.chunks_embedded)


def tutorial_once(texts: list[tuple[str, str]], store_dir: Path, embeddings: Any) -> Run:
    """The tutorial's split + `Chroma.add_documents` of (id, raw text) pairs into a fresh store."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    from evaluation.baseline import ADD_BATCH, tutorial_splitter

    client = chromadb.PersistentClient(path=str(store_dir), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        started, cpu = time.perf_counter(), time.process_time()
        documents = [Document(page_content=t, metadata={"article_id": i}) for i, t in texts]
        splits = tutorial_splitter().split_documents(documents)
        store = Chroma(collection_name=TUTORIAL, embedding_function=embeddings, client=client)
        for i in range(0, len(splits), ADD_BATCH):
            store.add_documents(splits[i: i + ADD_BATCH])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        client.close()
    return Run(seconds, cpu, len(texts), len(splits))


def raw_texts(articles: Path, ids: set[str]) -> dict[str, str]:
    """Each chosen article's raw `text` as the tutorial reads it from the JSONL (no cleaning)."""
    from evaluation.baseline import jsonl_documents

    return {d.article_id: d.text for d in jsonl_documents(articles) if d.article_id in ids}


def embedded_tokens(texts: list[str], embedder: "Embedder") -> int:
    """Tokens the encoder runs on for `texts` (special tokens in, truncation at max_seq_length)."""
    limit = embedder.max_seq_length
    return sum(min(limit, n) for n in embedder.count_tokens(texts))


def tutorial_texts(texts: list[str]) -> list[str]:
    from evaluation.baseline import tutorial_splitter

    splitter = tutorial_splitter()
    return [c for t in texts for c in splitter.split_text(t)]


def run(articles: Path = DEFAULT_ARTICLES, *, cache: Path = DEFAULT_CACHE, repeats: int = 3, subset: int = 200,
        slice_articles: int = 50, variants: tuple[str, ...] = VARIANTS) -> dict[str, Any]:
    """The whole comparison; returns plain numbers (see `to_markdown`)."""
    from langchain_huggingface import HuggingFaceEmbeddings

    from vectorstore.embedding import Embedder, resolve_model

    cache.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(cache / "unused")
    chosen = spread([item for item in load_articles(articles, settings) if item.article is not None], subset)
    raw = raw_texts(articles, {item.article.id for item in chosen})
    chosen = [item for item in chosen if item.article.id in raw]  # an id the raw file spells another way is left out
    slices = [chosen[i: i + slice_articles] for i in range(0, len(chosen), slice_articles)]
    ours = [Variant.parse(v) for v in variants]
    embedders = {v.resolved: Embedder.from_settings(v.settings(cache / "unused")) for v in ours}
    embedder = next(iter(embedders.values()))
    model = resolve_model(settings.embedding_model)
    tutorials = {TUTORIAL: HuggingFaceEmbeddings(model_name=model, model_kwargs={"device": "cpu"})}
    if Variant(0, "none").resolved == "bfloat16":
        import torch

        tutorials[TUTORIAL_BF16] = HuggingFaceEmbeddings(
            model_name=model, model_kwargs={"device": "cpu", "model_kwargs": {"dtype": torch.bfloat16}})
    sides = [v.label for v in ours] + list(tutorials)
    for e in embedders.values():
        e.embed_documents(["warm-up"] * 8)
    for t in tutorials.values():
        t.embed_documents(["warm-up"] * 8)

    picked = [i.article for i in chosen]
    tokens = {v.label: embedded_tokens(embedded_texts(picked, v.settings(cache / "unused"), embedder), embedder)
              for v in ours}
    tutorial_chunks = tutorial_texts([raw[i.article.id] for i in chosen])
    for side in tutorials:
        tokens[side] = embedded_tokens(tutorial_chunks, embedder)

    per_repeat: list[dict[str, Run]] = []
    for r in range(repeats):
        tmp = Path(tempfile.mkdtemp(prefix="tutorial-", dir=cache))
        runs: dict[str, list[Run]] = {s: [] for s in sides}
        try:
            for k, items in enumerate(slices):
                order = sides[(r + k) % len(sides):] + sides[:(r + k) % len(sides)]
                for side in order:
                    where = tmp / side.replace(" ", "_").replace(",", "").replace("/", "-")
                    if side in tutorials:
                        runs[side].append(tutorial_once([(i.article.id, raw[i.article.id]) for i in items], where,
                                                        tutorials[side]))
                    else:
                        variant = next(v for v in ours if v.label == side)
                        runs[side].append(ours_once(items, where, embedders[variant.resolved], variant))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        per_repeat.append({s: Run(sum(x.seconds for x in rs), sum(x.cpu_seconds for x in rs),
                                  sum(x.articles for x in rs), sum(x.chunks for x in rs)) for s, rs in runs.items()})
        logger.info("repeat %d: %s", r + 1, {s: round(x.articles / x.seconds, 3) for s, x in per_repeat[-1].items()})

    result: dict[str, Any] = {"machine": machine(), "articles": len(chosen), "slices": len(slices),
                              "repeats": repeats, "sides": sides, "per_side": {}}
    for side in sides:
        rs = [p[side] for p in per_repeat]
        result["per_side"][side] = {
            "chunks": rs[0].chunks, "tokens": tokens[side], "tokens_per_article": tokens[side] / len(chosen),
            "seconds": median([x.seconds for x in rs]), "cpu_seconds": median([x.cpu_seconds for x in rs]),
            "articles_per_s": median([x.articles / x.seconds for x in rs]),
            "ratio_wall": median([p[TUTORIAL].seconds / p[side].seconds for p in per_repeat]),
            "ratio_cpu": median([p[TUTORIAL].cpu_seconds / p[side].cpu_seconds for p in per_repeat]),
            "ratios_wall": [round(p[TUTORIAL].seconds / p[side].seconds, 3) for p in per_repeat],
        }
    return result


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Ingest: ours vs the LangChain tutorial" section body."""
    method = (
        f"**Method.** `python -m bench tutorial` on {r['machine']}. The same {r['articles']} realtimeqa-dev "
        f"articles (evenly spaced over the file) ingested by each pipeline into a fresh store of its own, in "
        f"{r['slices']} slices whose pipeline order rotates from slice to slice and repeat to repeat; "
        f"{r['repeats']} repeats, medians. Ratios are taken per repeat against the tutorial's run of the same "
        f"repeat (articles/s on wall time; CPU seconds of this process). Embedded tokens: the model's tokens of "
        f"every text embedded, special tokens included, capped at its max_seq_length of 256. See the module "
        f"docstring of `bench/tutorial.py` for each side's pipeline."
    )
    rows = []
    for side in r["sides"]:
        s = r["per_side"][side]
        rows.append([side, s["chunks"], f"{s['tokens_per_article']:.0f}", f"{s['seconds']:.1f}",
                     f"{s['articles_per_s']:.3f}", f"{s['ratio_wall']:.2f}× {s['ratios_wall']}",
                     f"{s['ratio_cpu']:.2f}×"])
    return method + "\n\n" + table(
        ["pipeline", "chunks", "embedded tokens / article", "seconds", "articles/s",
         "articles/s vs tutorial (per repeat)", "CPU vs tutorial"], rows)
