"""The evaluation runner: ingest an article set, answer every question, score each answer, summarise.

Questions are JSONL lines with `id`, `question`, optional `answer`, `gold_urls` / `gold_article_ids`,
`unanswerable`, `expected_facts` and `follow_up_of` (the id of the turn a follow-up continues; that
turn's question, answer and standalone question become the follow-up's history).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.conversation import Turn
from core.errors import NewsdeskError
from core.records import Answer
from core.settings import Settings
from evaluation import metrics

if TYPE_CHECKING:
    from app.assistant import Assistant
    from ingest.pipeline import IngestReport
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)

STAGES = ("embed", "dense", "lexical", "fuse", "retrieve", "answer", "total")
"""Latency stages reported; `retrieve` is embed + dense + lexical + fuse."""

WARMUP_QUESTION = "What happened this week in the news?"


class QuestionsError(NewsdeskError):
    """The questions file cannot be read or a line is malformed."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str = ""
    gold: tuple[str, ...] = ()
    expected_facts: tuple[str, ...] = ()
    unanswerable: bool = False
    follow_up_of: str | None = None
    asked: date | None = None
    """The day the question was asked ("date", as RealTimeQA gives it, or "as_of")."""


@dataclass(frozen=True)
class RunOptions:
    k: int = 4
    """Cut-off for recall@k."""
    depth: int = 10
    """Hits looked at for MRR (over their deduplicated articles)."""
    min_similarity: float = 0.8
    """Embedding cosine at which a cited quote supports an answer sentence it shares few words with."""
    warmup: bool = True
    as_of: bool = False
    """Ask each question as of the day it was asked (`Question.asked`)."""


@dataclass
class QuestionResult:
    """One question's answer and scores; None where a metric does not apply to it."""

    id: str
    question: str
    standalone: str
    answer: str
    abstained: bool
    unanswerable: bool
    gold: list[str]
    expected_answer: str
    hit_articles: list[str]
    recall: float | None
    reciprocal_rank: float | None
    contains_answer: bool | None
    contains_answer_cited: bool | None
    fact_coverage: float | None
    citations: dict[str, int]
    citations_exact: int
    citations_total: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- inputs ----------------------------------------------------------------------------------------


def _str_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[union-attr]


def parse_question(row: dict[str, Any], number: int) -> Question:
    question = str(row.get("question") or "").strip()
    if not question:
        raise QuestionsError(f"line {number}: missing field 'question'")
    return Question(
        id=str(row.get("id") or number), question=question, answer=str(row.get("answer") or ""),
        gold=_str_list(row.get("gold_article_ids")) + _str_list(row.get("gold_urls")),
        expected_facts=_str_list(row.get("expected_facts")), unanswerable=bool(row.get("unanswerable", False)),
        follow_up_of=str(row["follow_up_of"]) if row.get("follow_up_of") else None,
        asked=_asked(row.get("as_of") or row.get("date"), number),
    )


def _asked(value: object, number: int) -> date | None:
    """A question's date as YYYY-MM-DD or YYYY/MM/DD (RealTimeQA's form)."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).replace("/", "-"))
    except ValueError as e:
        raise QuestionsError(f"line {number}: the date {value!r} is not YYYY-MM-DD") from e


def load_questions(path: Path) -> list[Question]:
    """Read a questions JSONL file; raise QuestionsError naming the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise QuestionsError(f"cannot read {path}: {e.strerror or e}") from e
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise QuestionsError(f"{path}:{number}: invalid JSON: {e}") from e
        if not isinstance(row, dict):
            raise QuestionsError(f"{path}:{number}: expected a JSON object")
        questions.append(parse_question(row, number))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise QuestionsError(f"{path}: question ids are not unique")
    return questions


def split_sources(sources: Sequence[str]) -> tuple[list[str], list[str]]:
    """(files and folders, JSONL files): JSONL files go through the JSONL loader."""
    jsonl = [s for s in sources if s.lower().endswith(".jsonl") and Path(s).is_file()]
    return [s for s in sources if s not in jsonl], jsonl


def collection_for(sources: Sequence[str]) -> str:
    """A collection name per article set, so one --store directory can hold several sets apart."""
    key = "\n".join(sorted(str(Path(s).expanduser().resolve()) for s in sources))
    return "eval-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def eval_settings(store_dir: Path, sources: Sequence[str]) -> Settings:
    """Settings for an evaluation store: the environment's tuning, this store and collection."""
    return Settings(store_dir=store_dir, collection=collection_for(sources), chroma_host=None, _env_file=None)


def ingest(settings: Settings, embedder: "Embedder", sources: Sequence[str],
           store: "ArticleStore | None" = None) -> "IngestReport":
    """Ingest files, folders and JSONL files into the settings' store (unchanged articles are skipped)."""
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    paths, jsonl = split_sources(sources)
    report = Ingestor.from_settings(settings, store=store, embedder=embedder).run(
        load_sources(paths, settings, jsonl=jsonl))
    logger.info("ingest: %s", report.summary())
    return report


# -- answering and scoring -------------------------------------------------------------------------


def ordered(questions: Sequence[Question]) -> list[Question]:
    """Questions in file order, except that a follow-up always comes after the turn it continues."""
    by_id = {q.id: q for q in questions}
    done: set[str] = set()
    out: list[Question] = []

    def visit(q: Question, path: tuple[str, ...] = ()) -> None:
        if q.id in done or q.id in path:
            return
        parent = by_id.get(q.follow_up_of or "")
        if parent is not None:
            visit(parent, (*path, q.id))
        done.add(q.id)
        out.append(q)

    for q in questions:
        visit(q)
    return out


def history_for(q: Question, answers: dict[str, Answer]) -> list[Turn]:
    """The turn a follow-up continues, as the chat would hold it."""
    if not q.follow_up_of:
        return []
    previous = answers.get(q.follow_up_of)
    if previous is None:
        logger.warning("question %s follows %s, which is not in the set: asked without history", q.id,
                       q.follow_up_of)
        return []
    return [Turn(question=previous.question, answer=previous.text, standalone=previous.standalone_question)]


def answer_all(assistant: "Assistant", questions: Sequence[Question], *, k: int,
               warmup: bool = True, as_of: bool = False) -> dict[str, Answer]:
    """Ask every question (follow-ups with their history; with `as_of`, each as of the day it was asked);
    answers by question id."""
    if warmup:
        assistant.ask(WARMUP_QUESTION, k=k)  # first-call costs (allocations, lazy imports) are not latency
    answers: dict[str, Answer] = {}
    for q in ordered(questions):
        answers[q.id] = assistant.ask(q.question, history=history_for(q, answers), k=k,
                                      as_of=q.asked if as_of else None)
        logger.debug("%s: %s", q.id, answers[q.id].text)
    return answers


class ArticleTexts:
    """Article texts read from the store once each, to check citation spans."""

    def __init__(self, store: "ArticleStore") -> None:
        self.store = store
        self._texts: dict[str, str | None] = {}

    def __call__(self, article_id: str) -> str | None:
        if article_id not in self._texts:
            self._texts[article_id] = self.store.article_text(article_id)
        return self._texts[article_id]


def exact_citations(answer: Answer, article_text: Callable[[str], str | None]) -> int:
    """How many citations satisfy `article.text[start:end] == quote`."""
    exact = 0
    for c in answer.citations:
        text = article_text(c.article_id)
        exact += text is not None and text[c.start:c.end] == c.quote
    return exact


def cited_passages(answer: Answer) -> str:
    """The text of the chunks the answer's citations come from (falling back to the quotes)."""
    chunks = {h.chunk.id: h.chunk.text for h in answer.hits}
    return "\n".join(dict.fromkeys(chunks.get(c.chunk_id, c.quote) for c in answer.citations))


def stage_timings_ms(timings: dict[str, float]) -> dict[str, float]:
    out = {name: round(seconds * 1000, 3) for name, seconds in timings.items()}
    parts = [timings[s] for s in ("embed", "dense", "lexical", "fuse") if s in timings]
    if parts:
        out["retrieve"] = round(sum(parts) * 1000, 3)
    return out


def score_question(q: Question, answer: Answer, options: RunOptions, *,
                   article_text: Callable[[str], str | None],
                   similarity: metrics.Similarity | None = None) -> QuestionResult:
    hit_articles = [h.chunk.article_id for h in answer.hits]
    answered = not answer.abstained
    quotes = {c.n: c.quote for c in answer.citations}
    citations = (metrics.score_citations(answer.text, quotes, similarity=similarity,
                                         min_similarity=options.min_similarity)
                 if answered else metrics.CitationScore())
    return QuestionResult(
        id=q.id, question=q.question, standalone=answer.standalone_question, answer=answer.text,
        abstained=answer.abstained, unanswerable=q.unanswerable, gold=list(q.gold), expected_answer=q.answer,
        hit_articles=hit_articles,
        recall=metrics.recall_at_k(hit_articles, q.gold, options.k) if q.gold else None,
        reciprocal_rank=metrics.reciprocal_rank(hit_articles, q.gold, options.depth) if q.gold else None,
        contains_answer=(answered and metrics.contains_answer(answer.text, q.answer)) if q.answer else None,
        contains_answer_cited=(answered and metrics.contains_answer(cited_passages(answer), q.answer)
                               if q.answer else None),
        fact_coverage=(metrics.fact_coverage(answer.text, q.expected_facts) if answered else 0.0)
        if q.expected_facts else None,
        citations=asdict(citations), citations_exact=exact_citations(answer, article_text),
        citations_total=len(answer.citations), timings_ms=stage_timings_ms(answer.timings), notes=list(answer.notes),
    )


# -- summaries -------------------------------------------------------------------------------------


def _rate(values: Iterable[bool | float | None]) -> float | None:
    return metrics.mean(float(v) for v in values if v is not None)


def latency_summary(timings: Sequence[dict[str, float]], stages: Sequence[str] = STAGES) -> dict[str, dict]:
    """p50/p95 in milliseconds for each stage present in the timings."""
    out: dict[str, dict] = {}
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        if values:
            out[stage] = {"p50": metrics.percentile(values, 50), "p95": metrics.percentile(values, 95)}
    return out


def summarize(results: Sequence[QuestionResult], options: RunOptions) -> dict[str, Any]:
    """Aggregate metrics: retrieval over questions with gold articles, contains-answer over questions
    with an answer, facts over questions with expected facts, citations over answers (not abstentions)."""
    answered = [r for r in results if not r.abstained]
    citations = sum((metrics.CitationScore(**r.citations) for r in answered), metrics.CitationScore())
    abstention = metrics.abstention_scores([r.abstained for r in results], [r.unanswerable for r in results])
    answerable = [r for r in results if not r.unanswerable]
    total_citations = sum(r.citations_total for r in results)
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": abstention.unanswerable,
        "with_gold": sum(r.recall is not None for r in results),
        "recall_at_k": _rate(r.recall for r in results),
        "mrr": _rate(r.reciprocal_rank for r in results),
        "contains_answer": _rate(r.contains_answer for r in results),
        "contains_answer_cited": _rate(r.contains_answer_cited for r in results),
        "fact_coverage": _rate(r.fact_coverage for r in results),
        "citation_precision": citations.precision,
        "citation_coverage": citations.coverage,
        "citations_exact": sum(r.citations_exact for r in results) / total_citations if total_citations else None,
        # Without unanswerable questions every abstention is a miss, already counted below.
        "abstention_precision": abstention.precision if abstention.unanswerable else None,
        "abstention_recall": abstention.recall,
        "abstained_answerable": _rate(r.abstained for r in answerable),
        "latency_ms": latency_summary([r.timings_ms for r in results]),
    }


@dataclass
class EvalRun:
    results: list[QuestionResult]
    summary: dict[str, Any]
    answers: dict[str, Answer] = field(default_factory=dict)
    """The answers themselves, by question id (not written to results.json)."""


def evaluate(assistant: "Assistant", questions: Sequence[Question], options: RunOptions = RunOptions(), *,
             similarity: metrics.Similarity | None = None) -> EvalRun:
    """Answer and score every question with the assistant as configured."""
    # Enough hits for MRR@depth. The extractive answerer reads only its first `pool` hits, and the fused
    # ranking is the same prefix whatever k, so the answer is the one the product gives by default.
    ask_k = max(options.k, options.depth, assistant.settings.top_k)
    answers = answer_all(assistant, questions, k=ask_k, warmup=options.warmup, as_of=options.as_of)
    texts = ArticleTexts(assistant.store)
    results = [score_question(q, answers[q.id], options, article_text=texts, similarity=similarity)
               for q in questions]
    return EvalRun(results, summarize(results, options), answers)


def embedding_similarity(embedder: "Embedder") -> metrics.Similarity:
    """Cosine of two texts with the project's embedding model (vectors are normalised)."""

    def similarity(a: str, b: str) -> float:
        vectors = embedder.embed_documents([a, b])
        return float(vectors[0] @ vectors[1])

    return similarity
