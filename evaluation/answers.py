"""`python -m evaluation.answers`: the answer stage measured on its own, calibrated on one half, reported on the other.

Retrieval runs once per question (as of the day it was asked, as `python -m evaluation` does) and its hits
are kept: the top `top_k` as retrieved ("gold present") and the top `top_k` once the gold articles' hits
are removed ("the articles do not say", the hard case: the distractors were retrieved for the same
question). The answerer then answers both, and the figures the answer stage is judged on are computed
for each half of the questions:

- answer contains gold (the normalised gold answer in the answer text, or the golden set's expected facts),
  and the same for the short answer alone;
- median answer length in words (quotes only: the bracketed referents and markers are not counted);
- citations exact (`article.text[start:end] == quote`);
- abstention: the share of answerable questions answered, the share of gold-removed (and the golden set's
  unanswerable) cases abstained on, their mean (balanced accuracy), and false abstentions on answerable
  questions; and the same balanced accuracy counting as "should abstain" only the gold-removed cases whose
  remaining hits do not hold the gold answer ("answer-free negatives": on realtimeqa-dev most distractors
  report the same event, and answering from them is right); and, over the gold-removed and unanswerable
  cases, the share with no wrong answer: abstained, or answered with the gold answer from another report.

The halves are fixed by a hash of each question's id (`halves`): "A" is where thresholds and weights are
chosen (`python -m evaluation.answers --calibrate`), "B" is where they are reported. A follow-up goes with
the question it continues.

    python -m evaluation.answers [--benchmark DIR]... [--no-golden] [--store DIR] [--cache FILE] [--calibrate]
        [--json FILE]

`--cache FILE` keeps the retrieved hits between runs (a pickle; delete it after changing retrieval).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import pickle
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.text import words
from evaluation import metrics
from evaluation.calibrate import DataSet, dataset_arguments, datasets
from evaluation.runner import Question, answer_all, eval_settings, ingest, load_questions

if TYPE_CHECKING:
    from core.records import Answer, Hit
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

HALVES = ("A", "B")
CACHE_VERSION = 2
"""The layout of `--cache` files: 2 keeps the wider search's hits (`Case.wider_present`)."""


def halves(question_ids: Sequence[str]) -> dict[str, str]:
    """"A" (calibration) or "B" (report) for each question id: ids sorted by their sha1 and dealt out in
    turn, so the halves are even and the same on every machine for the same set of questions."""
    ranked = sorted(dict.fromkeys(question_ids), key=lambda i: hashlib.sha1(i.encode("utf-8")).hexdigest())
    return {qid: HALVES[n % 2] for n, qid in enumerate(ranked)}


@dataclass
class Case:
    """One question with what retrieval gave the answerer, kept so the answer stage can be rerun alone."""

    dataset: str
    question: Question
    query: str
    """What the answerer is given: the standalone question without its time phrase (`SearchPlan.query`)."""
    present: list["Hit"]
    removed: list["Hit"]
    gold_in_top: bool
    texts: dict[str, str] = field(default_factory=dict)
    """Article texts of every hit, to check citation spans."""
    part: str = ""
    wider_present: list["Hit"] | None = None
    wider_removed: list["Hit"] | None = None
    """When the question's own words set a past window (`SearchPlan.wider`): the hits of the search with its
    end moved to the as-of day, which the assistant answers from when the window's hits are refused."""

    @property
    def answerable(self) -> bool:
        return not self.question.unanswerable

    @property
    def removed_still_answers(self) -> bool:
        """The hits left after removing the gold articles still hold the gold answer (another outlet's
        report of the same event): answering from them is right, so this case is no "should abstain". The wider
        search's hits count too, since the assistant answers from them when the window's are refused."""
        q = self.question
        text = "\n".join(h.chunk.text for h in [*self.removed, *(self.wider_removed or [])])
        if q.answer:
            return metrics.contains_answer(text, q.answer)
        return bool(q.expected_facts) and all(metrics.fact_present(text, f) for f in q.expected_facts)


def collect(dataset: DataSet, store_dir: Path, embedder: "Embedder") -> list[Case]:
    """Ingest a data set and retrieve for each of its questions as `python -m evaluation` does."""
    from app.assistant import build_assistant, search_plan
    from vectorstore.store import ArticleStore

    settings = eval_settings(store_dir, dataset.articles)
    store = ArticleStore(settings)
    ingest(settings, embedder, dataset.articles, store=store)
    assistant = build_assistant(settings, store=store, embedder=embedder)
    questions = load_questions(dataset.questions)
    standalone = answer_all(assistant, questions, k=settings.top_k, warmup=False, as_of=True)
    roots = halves([q.follow_up_of or q.id for q in questions])
    parts = {q.id: roots[q.follow_up_of or q.id] for q in questions}
    top_k = settings.top_k
    cases = []
    for q in questions:
        plan = search_plan(standalone[q.id].standalone_question, None, q.asked, settings)
        present, removed, hits = _retrieved(assistant, plan, q, top_k)
        wider_present = wider_removed = None
        if plan.wider is not None:
            wider_present, wider_removed, more = _retrieved(assistant, plan.wider, q, top_k)
            hits = [*hits, *more]
        texts = {h.chunk.article_id: assistant.store.article_text(h.chunk.article_id) or "" for h in hits}
        cases.append(Case(dataset.name, q, plan.query, present, removed,
                          any(metrics.is_gold(h.chunk.article_id, q.gold) for h in present), texts, parts[q.id],
                          wider_present, wider_removed))
    return cases


def _retrieved(assistant: Any, plan: Any, q: Question, top_k: int) -> tuple[list["Hit"], list["Hit"], list["Hit"]]:
    """The top `top_k` hits of `plan`'s search, the top `top_k` once the gold articles' hits are removed, and
    every hit retrieved."""
    hits = assistant.retriever.search(plan.query, k=top_k * 3, filters=plan.filters, recency=plan.recency).hits
    removed = [h for h in hits if not metrics.is_gold(h.chunk.article_id, q.gold)][:top_k] if q.gold else []
    return hits[:top_k], removed, hits


def load_cases(datasets: Sequence[DataSet], store_dir: Path | None, cache: Path | None,
               embedder: "Embedder") -> list[Case]:
    names = [d.name for d in datasets]
    if cache is not None and cache.is_file():
        saved = pickle.loads(cache.read_bytes())
        if saved.get("datasets") == names and saved.get("version") == CACHE_VERSION:
            return saved["cases"]
        logger.info("%s holds other data sets (%s) or an older layout; retrieving again", cache,
                    saved.get("datasets"))
    cases: list[Case] = []
    with tempfile.TemporaryDirectory(prefix="newsdesk-answers-") as scratch:
        for dataset in datasets:
            cases.extend(collect(dataset, store_dir or Path(scratch), embedder))
    if cache is not None:
        cache.write_bytes(pickle.dumps({"datasets": names, "version": CACHE_VERSION, "cases": cases}))
    return cases


# -- scoring an answerer ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the answerer did with one case."""

    case: Case
    answer: "Answer"
    removed: "Answer | None"

    @property
    def contains(self) -> bool | None:
        q = self.case.question
        if not self.case.answerable:
            return None
        held = _holds_gold(q, self.answer.text)
        return None if held is None else not self.answer.abstained and held

    @property
    def removed_right(self) -> bool | None:
        """With the gold articles removed: abstained, or answered with the gold answer all the same (another
        outlet's report says it). None when there is no such case."""
        if self.removed is None:
            return None
        return self.removed.abstained or bool(_holds_gold(self.case.question, self.removed.text))

    @property
    def short_contains(self) -> bool | None:
        q = self.case.question
        short = self.answer.short_answer
        if not self.case.answerable or self.answer.abstained:
            return False if self.case.answerable and (q.answer or q.expected_facts) else None
        text = f"{short.text} [{short.reads_as}]" if short is not None and short.reads_as else \
            short.text if short is not None else ""  # as the user reads it: "Ukrainian [Ukraine]"
        if q.answer:
            return bool(text) and metrics.contains_answer(text, q.answer)
        if q.expected_facts:
            return bool(text) and any(metrics.fact_present(text, f) for f in q.expected_facts)
        return None

    @property
    def length(self) -> int | None:
        if self.answer.abstained:
            return None
        return sum(len(words(c.quote)) for c in self.answer.citations)

    def exact(self) -> tuple[int, int]:
        cites = [] if self.answer.abstained else self.answer.citations
        good = sum(self.case.texts.get(c.article_id, "")[c.start:c.end] == c.quote for c in cites)
        short = self.answer.short_answer
        if short is not None and not self.answer.abstained:
            cites = [*cites, short]
            good += self.case.texts.get(short.article_id, "")[short.start:short.end] == short.text
        return good, len(cites)


def _holds_gold(q: Question, text: str) -> bool | None:
    """`text` holds the gold answer, or every one of the golden set's expected facts; None when the question
    gives neither."""
    if q.answer:
        return metrics.contains_answer(text, q.answer)
    if q.expected_facts:
        return (metrics.fact_coverage(text, q.expected_facts) or 0) >= 1.0
    return None


def run(answerer: Any, cases: Sequence[Case]) -> list[Outcome]:
    """Each case answered as the assistant answers it: from its hits, or from the wider search's when those
    are refused (`app.assistant.answer_widening`)."""
    from app.assistant import answer_widening

    out = []
    for case in cases:
        wider, wider_removed = case.wider_present, case.wider_removed
        answer, _ = answer_widening(answerer, case.query, case.present, _given(wider))
        removed = answer_widening(answerer, case.query, case.removed, _given(wider_removed or None))[0] \
            if case.removed or wider_removed else None
        out.append(Outcome(case, answer, removed))
    return out


def _given(hits: list["Hit"] | None) -> Callable[[], list["Hit"]] | None:
    """The wider search of a case as `answer_widening` takes it: already retrieved."""
    return None if hits is None else (lambda: hits)


def _rate(values: Sequence[bool | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The answer stage's figures over some outcomes (one data set, one half)."""
    answerable = [o for o in outcomes if o.case.answerable]
    # Should answer: answerable with a gold article among the hits. Should abstain: gold removed, unanswerable.
    should_answer = [not o.answer.abstained for o in answerable if o.case.gold_in_top]
    should_abstain = [o.removed.abstained for o in outcomes if o.removed is not None] + \
                     [o.answer.abstained for o in outcomes if not o.case.answerable]
    clean = [o.removed.abstained for o in outcomes if o.removed is not None and not o.case.removed_still_answers] \
        + [o.answer.abstained for o in outcomes if not o.case.answerable]
    right = [o.removed_right for o in outcomes if o.removed is not None] + \
            [o.answer.abstained for o in outcomes if not o.case.answerable]
    answered_rate, abstained_rate, clean_rate = _rate(should_answer), _rate(should_abstain), _rate(clean)
    lengths = [o.length for o in outcomes if o.length is not None]
    good, total = map(sum, zip(*(o.exact() for o in outcomes))) if outcomes else (0, 0)
    return {
        "questions": len(outcomes),
        "contains_gold": _rate([o.contains for o in outcomes]),
        "short_contains_gold": _rate([o.short_contains for o in outcomes]),
        "short_given": _rate([o.answer.short_answer is not None for o in answerable if not o.answer.abstained]),
        "median_words": statistics.median(lengths) if lengths else None,
        "citations_exact": good / total if total else None,
        "answered_answerable": answered_rate,
        "abstained_not_answerable": abstained_rate,
        "balanced_accuracy": metrics.mean([answered_rate, abstained_rate]),
        "abstained_not_answerable_clean": clean_rate,
        "balanced_accuracy_clean": metrics.mean([answered_rate, clean_rate]),
        "not_answerable_clean": len(clean),
        "no_wrong_answer": _rate(right),
        "false_abstentions": _rate([o.answer.abstained for o in answerable]),
    }


def report(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """Figures per data set and half ("golden/A", "realtimeqa-dev/B", ...) and per half over all sets."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        for key in (f"{o.case.dataset}/{o.case.part}", f"all/{o.case.part}", o.case.dataset):
            groups.setdefault(key, []).append(o)
    return {key: summary(group) for key, group in sorted(groups.items())}


COLUMNS = [("contains_gold", "contains gold"), ("short_contains_gold", "short answer contains gold"),
           ("short_given", "short answer given"), ("median_words", "median words"),
           ("citations_exact", "citations exact"), ("balanced_accuracy", "abstention balanced accuracy"),
           ("answered_answerable", "answered (gold present)"),
           ("abstained_not_answerable", "abstained (gold removed / unanswerable)"),
           ("false_abstentions", "false abstentions"),
           ("balanced_accuracy_clean", "abstention balanced accuracy, answer-free negatives"),
           ("abstained_not_answerable_clean", "abstained (the remaining hits lack the answer)"),
           ("not_answerable_clean", "cases whose remaining hits lack the answer"),
           ("no_wrong_answer", "gold removed / unanswerable: abstained, or answered right from another report")]


def table(figures: dict[str, dict[str, Any]]) -> str:
    keys = list(figures)
    lines = ["| figure | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, label in COLUMNS:
        cells = []
        for key in keys:
            value = figures[key][name]
            cells.append("—" if value is None else (f"{value:g}" if name in ("median_words", "not_answerable_clean")
                                                    else f"{value:.3f}"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| questions | " + " | ".join(str(figures[k]["questions"]) for k in keys) + " |")
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.answers", description="Measure the extractive "
                                "answer stage on the golden set and benchmark data, per half (A: calibration, "
                                "B: report).")
    dataset_arguments(p)
    p.add_argument("--cache", type=Path, metavar="FILE", help="keep the retrieved hits here between runs")
    p.add_argument("--calibrate", action="store_true", help="choose the abstention model on half A and print it")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the figures as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure
    from core.entrypoint import run as run_main

    args = _parser().parse_args(argv)
    configure(args.verbose)
    return run_main(lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    from app.answering import ExtractiveAnswerer
    from vectorstore.embedding import Embedder

    embedder = Embedder()
    cases = load_cases(datasets(args), args.store, args.cache, embedder)
    answerer = ExtractiveAnswerer(embedder)
    if args.calibrate:
        from evaluation.abstention import calibrate

        print(calibrate(answerer, [c for c in cases if c.part == "A"]))
    figures = report(run(answerer, cases))
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    from evaluation.answers import main as module_main  # the cache pickles this module's classes, not __main__'s

    sys.exit(module_main())
