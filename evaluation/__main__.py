"""`python -m evaluation`: answer a question set over an article set; print a table, write JSON and a chart.

    python -m evaluation --articles A.jsonl|FOLDER... --questions Q.jsonl [--k 4] [--baseline] [--asked-today]
                         [--out DIR] [--store DIR | --configured-store] [--details FILE]

Without --store the articles go into a temporary store that is removed afterwards. `results.json` in
--out holds aggregate metrics and per-question scores (no article or question text); the run it
replaces is kept as `previous.json` and drawn beside this one in `chart.png`.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger("evaluation")

QUALITY_ROWS = (
    ("recall_at_k", "recall@{k}"),
    ("mrr", "MRR@{depth} (articles)"),
    ("contains_answer", "answer contains gold (answer text)"),
    ("contains_answer_cited", "answer contains gold (cited passages)"),
    ("fact_coverage", "expected facts present"),
    ("citation_precision", "citation precision"),
    ("citation_coverage", "citation coverage"),
    ("citations_exact", "citations exact (text[start:end] == quote)"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("abstained_answerable", "abstained on answerable"),
)
LATENCY_STAGES = ("embed", "dense", "lexical", "fuse", "retrieve", "answer", "total")
CHART_METRICS = ("recall_at_k", "mrr", "contains_answer", "contains_answer_cited", "fact_coverage",
                 "citation_precision", "citation_coverage", "abstention_recall")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation", description="Measure retrieval, answers, citations, "
                                "abstention and latency on an article set and a question set.")
    p.add_argument("--articles", nargs="+", default=[], metavar="PATH", help="JSONL files and/or folders of articles")
    p.add_argument("--questions", required=True, metavar="Q.jsonl", help="questions (JSONL)")
    p.add_argument("--k", type=int, default=4, help="recall@k cut-off and the baseline's k (default 4)")
    p.add_argument("--depth", type=int, default=10, help="hits looked at for MRR (default 10)")
    p.add_argument("--baseline", action="store_true", help="also run the LangChain RAG tutorial pipeline")
    p.add_argument("--asked-today", action="store_true",
                   help="ask every question as of today; by default a question with a date (RealTimeQA's \"date\", "
                        "or \"as_of\") is asked as of that day, so that \"this week\" means its week")
    p.add_argument("--out", type=Path, default=Path("data/eval"), help="where results.json and chart.png go")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--store", type=Path, metavar="DIR", help="keep the evaluation store here (reused next time)")
    where.add_argument("--configured-store", action="store_true",
                       help="use the store configured by NEWSDESK_* settings (articles are ingested into it)")
    p.add_argument("--details", type=Path, metavar="FILE", help="also write every question's answer (JSONL)")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


# -- formatting -----------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(ours: Any, base: Any) -> str:
    if ours is None or base is None or base == 0:
        return "—"
    return f"{ours / base:.2f}×"


def _latency(summary: dict | None, stage: str, q: str) -> float | None:
    return ((summary or {}).get("latency_ms", {}).get(stage) or {}).get(q)


def table_rows(ours: dict, baseline: dict | None, previous: dict | None, k: int, depth: int) -> list[list[str]]:
    rows = []
    for key, label in QUALITY_ROWS:
        o, b, p = ours.get(key), (baseline or {}).get(key), (previous or {}).get(key)
        rows.append([label.format(k=k, depth=depth), _fmt(o), _fmt(b), _ratio(o, b), _fmt(p)])
    for stage in LATENCY_STAGES:
        for q in ("p50", "p95"):
            o, b, p = _latency(ours, stage, q), _latency(baseline, stage, q), _latency(previous, stage, q)
            if o is not None or b is not None:
                rows.append([f"latency {stage} {q} (ms)", _fmt(o, 1), _fmt(b, 1), _ratio(o, b), _fmt(p, 1)])
    return rows


def markdown_table(ours: dict, baseline: dict | None, previous: dict | None, k: int, depth: int) -> str:
    header = ["metric", "ours", "baseline", "ours / baseline", "previous run"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * 4) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(ours, baseline, previous, k, depth)]
    return "\n".join(lines)


def write_chart(path: Path, ours: dict, baseline: dict | None, previous: dict | None, k: int, depth: int) -> None:
    """Grouped bars: quality metrics (left) and p50/p95 latency (right), this run vs baseline vs previous."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [("this run", ours, "#1f77b4")]
    if baseline:
        runs.append(("LangChain tutorial baseline", baseline, "#ff7f0e"))
    if previous:
        runs.append(("previous run", previous, "#9e9e9e"))
    labels = dict(QUALITY_ROWS)
    metrics = [m for m in CHART_METRICS if any(r.get(m) is not None for _, r, _ in runs)]
    latency = [(s, q) for s in ("retrieve", "answer", "total") for q in ("p50", "p95")
               if any(_latency(r, s, q) is not None for _, r, _ in runs)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [2.2, 1]})
    width = 0.8 / len(runs)
    for i, (name, summary, color) in enumerate(runs):
        offset = (i - (len(runs) - 1) / 2) * width
        _bars(left, [summary.get(m) for m in metrics], offset, width, name, color)
        _bars(right, [_latency(summary, s, q) for s, q in latency], offset, width, name, color)
    left.set_xticks(range(len(metrics)), [labels[m].format(k=k, depth=depth) for m in metrics], rotation=30,
                    ha="right", fontsize=8)
    left.set_ylim(0, 1.05)
    left.set_title("Quality (higher is better)")
    left.legend(fontsize=8)
    right.set_xticks(range(len(latency)), [f"{s} {q}" for s, q in latency], rotation=30, ha="right", fontsize=8)
    right.set_yscale("log")  # answer stages take milliseconds, retrieval tens to hundreds
    right.set_ylabel("ms (log scale)")
    right.set_title("Warm query latency (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(axis: Any, values: Sequence[float | None], offset: float, width: float, name: str, color: str) -> None:
    """Bars for the values a run has; a metric it lacks (a baseline has no citations) gets no bar."""
    shown = [(j + offset, v) for j, v in enumerate(values) if v is not None]
    if shown:
        axis.bar([x for x, _ in shown], [v for _, v in shown], width, label=name, color=color)


# -- the run --------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace, scratch: Path) -> Any:
    from core.settings import get_settings
    from evaluation.runner import eval_settings

    if args.configured_store:
        return get_settings()
    return eval_settings(args.store or scratch, args.articles)


def _run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from app.assistant import build_assistant
    from evaluation.runner import RunOptions, embedding_similarity, evaluate, ingest, load_questions
    from vectorstore.embedding import Embedder, resolve_model
    from vectorstore.store import ArticleStore

    options = RunOptions(k=args.k, depth=args.depth, as_of=not args.asked_today)
    questions = load_questions(Path(args.questions))
    settings = _settings(args, scratch)
    embedder = Embedder.from_settings(settings)
    store = ArticleStore(settings)
    report = ingest(settings, embedder, args.articles, store=store) if args.articles else None
    assistant = build_assistant(settings, store=store, embedder=embedder)
    run = evaluate(assistant, questions, options, similarity=embedding_similarity(embedder))
    results: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "command": "python -m evaluation " + shlex.join(sys.argv[1:]),
        "articles": args.articles, "questions_file": str(args.questions), "k": args.k, "depth": args.depth,
        "as_of": "each question's date" if options.as_of else "today",
        "settings": {name: getattr(settings, name) for name in (
            "top_k", "candidate_k", "chunk_tokens", "chunk_overlap_tokens", "embedding_header", "rrf_k", "dense_weight",
            "lexical_weight", "max_chunks_per_article", "abstain_threshold")},
        "answerer_threshold": getattr(assistant.answerer, "threshold", None),
        "ingest": report.to_json() | {"errors": len(report.errors)} if report else None,
        "ours": run.summary, "baseline": None,
        "per_question": [_scores_only(asdict(r)) for r in run.results],
    }
    if args.details:
        _write_details(args.details, run.results)
    if args.baseline:
        from evaluation.baseline import run_baseline

        directory = (args.store or scratch) / f"baseline-{settings.collection}"
        base_results, results["baseline"] = run_baseline(args.articles, questions, directory,
                                                         resolve_model(settings.embedding_model), settings, options)
        results["baseline_per_question"] = [asdict(r) for r in base_results]
    return results


def _scores_only(record: dict[str, Any]) -> dict[str, Any]:
    """A per-question record without text, so results.json can be committed for any article set."""
    return {k: v for k, v in record.items() if k not in ("question", "standalone", "answer", "expected_answer",
                                                         "notes")}


def _write_details(path: Path, results: Sequence[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")


def _save(out: Path, results: dict[str, Any]) -> dict | None:
    """Write results.json (keeping the run it replaces as previous.json); return the previous summary."""
    out.mkdir(parents=True, exist_ok=True)
    current, previous_path = out / "results.json", out / "previous.json"
    previous = None
    if current.is_file():
        previous_path.write_text(current.read_text(encoding="utf-8"), encoding="utf-8")
    if previous_path.is_file():
        previous = json.loads(previous_path.read_text(encoding="utf-8"))
    current.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure, run

    args = _parser().parse_args(argv)
    configure(args.verbose)
    if not args.articles and not args.configured_store:
        raise SystemExit("error: give --articles (or --configured-store to use the configured store as it is)")
    return run(lambda: _evaluate(args))


def _evaluate(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="newsdesk-eval-") as scratch:
        results = _run(args, Path(scratch))
    previous = _save(args.out, results)
    previous_summary = previous.get("ours") if previous else None
    write_chart(args.out / "chart.png", results["ours"], results["baseline"], previous_summary, args.k, args.depth)
    print(markdown_table(results["ours"], results["baseline"], previous_summary, args.k, args.depth))
    print(f"\n{results['ours']['questions']} questions; wrote {args.out / 'results.json'} and {args.out / 'chart.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
