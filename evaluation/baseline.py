"""The LangChain RAG tutorial pipeline, run on the same articles and questions as the comparison point.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over each article's text (no title),
Chroma with HuggingFaceEmbeddings of the same model, `similarity_search(question, k=4)`. It has no
answerer: its "answer" is the concatenated text of the 4 retrieved chunks. MRR@10 comes from a
second `similarity_search(question, k=10)`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import Settings
from evaluation import metrics
from evaluation.runner import WARMUP_QUESTION, Question, RunOptions, latency_summary, split_sources

if TYPE_CHECKING:
    from langchain_chroma import Chroma

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
ADD_BATCH = 1000
"""Documents per `add_documents` call: Chroma rejects a single batch above its maximum (about 5,000)."""
COLLECTION = "baseline"
_DONE = "baseline-index.json"


@dataclass(frozen=True)
class SourceDocument:
    article_id: str
    text: str


@dataclass
class BaselineResult:
    id: str
    hit_articles: list[str]
    contains_answer: bool | None
    fact_coverage: float | None
    recall: float | None
    reciprocal_rank: float | None
    timings_ms: dict[str, float]


def jsonl_documents(path: Path) -> Iterator[SourceDocument]:
    """Each line's raw `text`, as the tutorial would read it (no cleaning; empty texts included)."""
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                yield SourceDocument(str(row.get("id") or row.get("url") or ""), str(row.get("text") or ""))


def source_documents(sources: Sequence[str], settings: Settings) -> list[SourceDocument]:
    """Article texts for the baseline: JSONL lines as they are; files and folders through our loaders."""
    from ingest.loaders import load_sources

    paths, jsonl = split_sources(sources)
    docs = [SourceDocument(item.article.id, item.article.text)
            for item in load_sources(paths, settings) if item.article is not None]
    for location in jsonl:
        docs.extend(jsonl_documents(Path(location)))
    return docs


def tutorial_splitter() -> Any:
    """The tutorial's `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)


def fingerprint(docs: Sequence[SourceDocument], model_path: str) -> str:
    digest = hashlib.sha1(f"{CHUNK_SIZE}/{CHUNK_OVERLAP}/{Path(model_path).name}".encode())
    for d in docs:
        digest.update(d.article_id.encode("utf-8") + b"\0" + d.text.encode("utf-8") + b"\0")
    return digest.hexdigest()


class TutorialBaseline:
    """Chroma + HuggingFaceEmbeddings on a directory; indexes once per article set."""

    def __init__(self, directory: Path, model_path: str) -> None:
        self.directory = directory
        self.model_path = model_path
        self._store: Chroma | None = None

    def _open(self) -> "Chroma":
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings

        embeddings = HuggingFaceEmbeddings(model_name=self.model_path, model_kwargs={"device": "cpu"})
        return Chroma(collection_name=COLLECTION, embedding_function=embeddings,
                      persist_directory=str(self.directory),
                      client_settings=ChromaSettings(anonymized_telemetry=False))

    def index(self, docs: Sequence[SourceDocument]) -> int:
        """Split and embed `docs` unless this directory already holds exactly this set; returns chunk count."""
        from langchain_core.documents import Document

        key = fingerprint(docs, self.model_path)
        done = self.directory / _DONE
        if done.is_file() and json.loads(done.read_text()).get("fingerprint") == key:
            self._store = self._open()
            return int(json.loads(done.read_text())["chunks"])
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        splits = tutorial_splitter().split_documents(
            [Document(page_content=d.text, metadata={"article_id": d.article_id}) for d in docs])
        self._store = self._open()
        started = time.perf_counter()
        for i in range(0, len(splits), ADD_BATCH):
            self._store.add_documents(splits[i: i + ADD_BATCH])
        logger.info("baseline: %d documents -> %d chunks embedded in %.1fs", len(docs), len(splits),
                    time.perf_counter() - started)
        done.write_text(json.dumps({"fingerprint": key, "chunks": len(splits)}))
        return len(splits)

    def search(self, question: str, k: int) -> list[tuple[str, str]]:
        """(article id, chunk text) of the k most similar chunks."""
        if self._store is None:
            raise RuntimeError("index() the articles first")
        docs = self._store.similarity_search(question, k=k)
        return [(d.metadata.get("article_id", ""), d.page_content) for d in docs]


def score_baseline_question(q: Question, passages: list[tuple[str, str]], deeper: list[tuple[str, str]],
                            seconds: float, options: RunOptions) -> BaselineResult:
    text = "\n".join(t for _, t in passages)
    hits = [a for a, _ in passages]
    return BaselineResult(
        id=q.id, hit_articles=[a for a, _ in deeper],
        contains_answer=metrics.contains_answer(text, q.answer) if q.answer else None,
        fact_coverage=metrics.fact_coverage(text, q.expected_facts),
        recall=metrics.recall_at_k(hits, q.gold, options.k) if q.gold else None,
        reciprocal_rank=metrics.reciprocal_rank([a for a, _ in deeper], q.gold, options.depth) if q.gold else None,
        timings_ms={"retrieve": seconds * 1000, "total": seconds * 1000},
    )


def summarize_baseline(results: Sequence[BaselineResult], questions: Sequence[Question]) -> dict[str, Any]:
    """The runner's summary keys that apply to a pipeline without answers, citations or abstention."""
    unanswerable = sum(q.unanswerable for q in questions)

    def rate(values: list[Any]) -> float | None:
        return metrics.mean(float(v) for v in values if v is not None)

    contains = rate([r.contains_answer for r in results])
    return {
        "questions": len(results),
        "recall_at_k": rate([r.recall for r in results]),
        "mrr": rate([r.reciprocal_rank for r in results]),
        "contains_answer": contains,
        "contains_answer_cited": contains,
        "fact_coverage": rate([r.fact_coverage for r in results]),
        "abstention_recall": 0.0 if unanswerable else None,
        "abstained_answerable": 0.0,
        "latency_ms": latency_summary([r.timings_ms for r in results], ("retrieve", "total")),
    }


def run_baseline(sources: Sequence[str], questions: Sequence[Question], directory: Path, model_path: str,
                 settings: Settings, options: RunOptions | None = None) -> tuple[list[BaselineResult], dict]:
    """Index the articles (reusing `directory` when it holds the same set) and search every question."""
    options = options or RunOptions()
    baseline = TutorialBaseline(directory, model_path)
    chunks = baseline.index(source_documents(sources, settings))
    baseline.search(WARMUP_QUESTION, options.k)  # load the model before timing
    results = []
    for q in questions:
        started = time.perf_counter()
        passages = baseline.search(q.question, options.k)
        seconds = time.perf_counter() - started
        results.append(score_baseline_question(q, passages, baseline.search(q.question, options.depth), seconds,
                                               options))
    summary = summarize_baseline(results, questions)
    summary["chunks"] = chunks
    return results, summary
