"""`python -m bench as-of`: RealTimeQA asked as of the day each question was asked, beside as-of off.

RealTimeQA questions are about the news of the week they were asked ("date" in questions.jsonl), and
their gold articles were published in the days before. As of that day, only articles published by then
are searched, the question's time words ("this week", "recently") are read from it, and questions about
the current state rank newer articles higher.

The recency decay (`recency_half_life_days`, `recency_floor`, `as_of_half_life_days`) is chosen on the
questions of the first half of the weeks (calibration) by retrieval alone (recall@k, then MRR), and
reported, with answers, on the questions of the other weeks (report); all questions are shown too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, DEFAULT_QUESTIONS, machine, table

HALF_LIVES = (2.0, 4.0, 7.0, 14.0, 30.0)
FLOORS = (0.0, 0.25, 0.5)
AS_OF_HALF_LIVES = (None, 7.0, 30.0, 90.0)
K, DEPTH = 4, 10


def split_by_week(questions: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(calibration, report): the questions of the earlier half of the question dates, and the rest."""
    days = sorted({q.asked for q in questions})
    cut = days[: len(days) // 2]
    return [q for q in questions if q.asked in cut], [q for q in questions if q.asked not in cut]


def retrieval_scores(assistant: Any, questions: Sequence[Any], settings: Any) -> tuple[float, float]:
    """Mean recall@K and MRR@DEPTH of retrieval as of each question's day under `settings`."""
    from app.assistant import search_plan
    from evaluation import metrics

    recall, rr = [], []
    for q in questions:
        plan = search_plan(q.question, None, q.asked, settings)
        hits = assistant.retriever.search(plan.query, k=max(DEPTH, settings.top_k), filters=plan.filters,
                                          recency=plan.recency).hits
        ids = [h.chunk.article_id for h in hits]
        recall.append(metrics.recall_at_k(ids, q.gold, K))
        rr.append(metrics.reciprocal_rank(ids, q.gold, DEPTH))
    return sum(recall) / len(recall), sum(rr) / len(rr)


def calibrate(assistant: Any, questions: Sequence[Any]) -> tuple[dict[str, Any], list[list[Any]]]:
    """The decay settings with the best recall@K (then MRR) on `questions`, and every setting's scores."""
    rows, best, best_key = [], {}, (-1.0, -1.0)
    base = assistant.settings
    for half_life, floor, as_of_half_life in itertools.product(HALF_LIVES, FLOORS, AS_OF_HALF_LIVES):
        values = {"recency_half_life_days": half_life, "recency_floor": floor,
                  "as_of_half_life_days": as_of_half_life}
        recall, mrr = retrieval_scores(assistant, questions, base.model_copy(update=values))
        rows.append([half_life, floor, as_of_half_life or "off", f"{recall:.3f}", f"{mrr:.3f}"])
        if (recall, mrr) > best_key:
            best, best_key = values, (recall, mrr)
    return best, rows


def run(articles: Path = DEFAULT_ARTICLES, questions_path: Path = DEFAULT_QUESTIONS, *,
        cache: Path = DEFAULT_CACHE, store_dir: Path | None = None) -> dict[str, Any]:
    """`store_dir`: a store of these articles to reuse (e.g. `python -m evaluation --store DIR`'s), else
    the benchmark cache's."""
    from app.assistant import build_assistant
    from bench.ingest import cache_store_dir
    from evaluation.runner import RunOptions, eval_settings, evaluate, ingest, load_questions
    from vectorstore.embedding import Embedder
    from vectorstore.store import ArticleStore

    questions = [q for q in load_questions(questions_path) if q.asked]
    calibration, report = split_by_week(questions)
    store_dir = store_dir or cache_store_dir(articles, cache)
    settings = eval_settings(store_dir, [str(articles)])
    embedder = Embedder.from_settings(settings)
    store = ArticleStore(settings)
    ingest(settings, embedder, [str(articles)], store=store)
    assistant = build_assistant(settings, store=store, embedder=embedder)
    chosen, grid = calibrate(assistant, calibration)

    off = build_assistant(settings.model_copy(update={"time_words": False}), store=store, embedder=embedder)
    on = build_assistant(settings.model_copy(update=chosen), store=store, embedder=embedder)
    results: dict[str, Any] = {}
    for part, subset in (("report", report), ("calibration", calibration), ("all", questions)):
        results[part] = {
            "off": evaluate(off, subset, RunOptions(k=K, depth=DEPTH, as_of=False)).summary,
            "on": evaluate(on, subset, RunOptions(k=K, depth=DEPTH, as_of=True)).summary,
            "questions": len(subset),
        }
    days = sorted({q.asked for q in questions})
    return {"machine": machine(), "chosen": chosen, "grid": grid, "results": results,
            "calibration_days": [d.isoformat() for d in days[: len(days) // 2]],
            "report_days": [d.isoformat() for d in days[len(days) // 2:]]}


def to_markdown(r: dict[str, Any]) -> str:
    """The "## As of (RealTimeQA)" section body."""
    chosen = r["chosen"]
    method = (
        f"**Method.** `python -m bench as-of` on {r['machine']}: realtimeqa-dev, each question asked as of its "
        f"own date (`--as-of`), side by side in one run with as-of off (no dates read from the question: the "
        f"behaviour before). **Calibration**: the questions asked on {', '.join(r['calibration_days'])}; the "
        f"decay was chosen there by retrieval alone (recall@{K}, then MRR@{DEPTH}) over a grid of "
        f"{len(r['grid'])} settings. **Report**: the questions asked on {', '.join(r['report_days'])}, not "
        f"used for any choice. Chosen: `recency_half_life_days={chosen['recency_half_life_days']}`, "
        f"`recency_floor={chosen['recency_floor']}`, `as_of_half_life_days={chosen['as_of_half_life_days']}`.")
    rows = []
    for part in ("report", "calibration", "all"):
        res = r["results"][part]
        for metric, label in (("recall_at_k", f"recall@{K}"), ("mrr", f"MRR@{DEPTH}"),
                              ("contains_answer", "answer contains gold")):
            off, on = res["off"][metric], res["on"][metric]
            rows.append([f"{part} ({res['questions']} q)", label, f"{off:.3f}", f"**{on:.3f}**", f"{on - off:+.3f}"])
    grid = table(["half-life (days)", "floor", "as-of half-life", f"recall@{K}", f"MRR@{DEPTH}"], r["grid"])
    return "\n\n".join([method, table(["questions", "metric", "as-of off", "as of the question's date", "change"],
                                      rows),
                        "<details><summary>Calibration grid (calibration questions only)</summary>\n\n" + grid
                        + "\n\n</details>"])
