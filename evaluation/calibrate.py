"""`python -m evaluation.calibrate`: choose the extractive answerer's abstain threshold from data.

For every answerable question the best candidate sentence's `support` is recorded twice: with the
retrieved hits as they are (when a gold article is among them: the articles answer it) and with the
gold articles' hits removed (which simulates "the articles do not say"). The golden set's unanswerable
questions add more "should abstain" cases. The threshold maximising balanced accuracy (the mean of
the share answered among answerable cases and the share abstained among the others) is printed with
the table; put it into `app.answering.DEFAULT_ABSTAIN_THRESHOLD`.

    python -m evaluation.calibrate [--benchmark DIR]... [--store DIR] [--no-golden] [--json FILE]

DIR holds `articles.jsonl` and `questions.jsonl` (such as ../shared/benchmarks/realtimeqa-dev).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation import metrics
from evaluation.runner import Question, answer_all, eval_settings, ingest, load_questions

if TYPE_CHECKING:
    from app.assistant import Assistant
    from core.records import Hit
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_ARTICLES = (ROOT / "data" / "articles", ROOT / "tests" / "data" / "articles")
GOLDEN_QUESTIONS = ROOT / "tests" / "golden" / "sample_questions.jsonl"
GRID = [round(0.20 + 0.02 * i, 2) for i in range(26)]
"""Thresholds shown in the table (the chosen one is searched over every observed support)."""


@dataclass(frozen=True)
class DataSet:
    name: str
    articles: tuple[str, ...]
    questions: Path


@dataclass(frozen=True)
class Sample:
    """One decision the threshold makes: answer (`answerable`) or abstain."""

    dataset: str
    question_id: str
    case: str
    """"gold present", "gold removed" or "unanswerable"."""
    support: float
    answerable: bool


@dataclass(frozen=True)
class Rates:
    threshold: float
    answered: float | None
    """Share of answerable cases answered (support >= threshold)."""
    abstained: float | None
    """Share of the other cases abstained on (support < threshold)."""

    @property
    def balanced(self) -> float | None:
        return metrics.mean([self.answered, self.abstained])


# -- collecting supports ---------------------------------------------------------------------------


def best_support(assistant: "Assistant", question: str, hits: Sequence["Hit"]) -> float:
    """The support of the sentence the extractive answerer would lead with (0 when there is none)."""
    scored = assistant.answerer.score(question, hits)  # type: ignore[attr-defined]
    return scored[0].support if scored else 0.0


def question_samples(assistant: "Assistant", q: Question, standalone: str, dataset: str) -> list[Sample]:
    top_k = assistant.settings.top_k
    if q.unanswerable:
        hits = assistant.retriever.search(standalone, k=top_k).hits
        return [Sample(dataset, q.id, "unanswerable", best_support(assistant, standalone, hits), False)]
    if not q.gold:
        return []
    # Retrieve deeper so that removing the gold articles still leaves top_k hits.
    hits = assistant.retriever.search(standalone, k=top_k * 3).hits
    present, removed = hits[:top_k], [h for h in hits if not metrics.is_gold(h.chunk.article_id, q.gold)][:top_k]
    samples = []
    if any(metrics.is_gold(h.chunk.article_id, q.gold) for h in present):
        samples.append(Sample(dataset, q.id, "gold present", best_support(assistant, standalone, present), True))
    else:
        logger.info("%s/%s: no gold article in the top %d hits; only the gold-removed case counts", dataset, q.id,
                    top_k)
    samples.append(Sample(dataset, q.id, "gold removed", best_support(assistant, standalone, removed), False))
    return samples


def collect(dataset: DataSet, store_dir: Path, embedder: "Embedder") -> list[Sample]:
    """Ingest a data set into its own collection and record the supports of all its questions."""
    from app.assistant import build_assistant
    from vectorstore.store import ArticleStore

    settings = eval_settings(store_dir, dataset.articles)
    store = ArticleStore(settings)
    ingest(settings, embedder, dataset.articles, store=store)
    assistant = build_assistant(settings, store=store, embedder=embedder)
    questions = load_questions(dataset.questions)
    answers = answer_all(assistant, questions, k=settings.top_k, warmup=False)  # standalone forms of follow-ups
    samples: list[Sample] = []
    for q in questions:
        samples.extend(question_samples(assistant, q, answers[q.id].standalone_question, dataset.name))
    return samples


# -- choosing the threshold ------------------------------------------------------------------------


def rates(samples: Sequence[Sample], threshold: float) -> Rates:
    positives = [s.support >= threshold for s in samples if s.answerable]
    negatives = [s.support < threshold for s in samples if not s.answerable]
    return Rates(threshold, metrics.mean(map(float, positives)), metrics.mean(map(float, negatives)))


def candidate_thresholds(samples: Sequence[Sample]) -> list[float]:
    """Midpoints between consecutive observed supports (and just outside both ends)."""
    values = sorted({round(s.support, 6) for s in samples})
    if not values:
        return []
    mids = [(a + b) / 2 for a, b in zip(values, values[1:])]
    return [values[0] - 1e-6, *mids, values[-1] + 1e-6]


def choose_threshold(samples: Sequence[Sample]) -> Rates:
    """The threshold with the best balanced accuracy; among equals, the middle one (the widest margin)."""
    scored = [rates(samples, t) for t in candidate_thresholds(samples)]
    if not scored:
        raise ValueError("no samples to calibrate on")
    best = max(r.balanced or 0.0 for r in scored)
    tied = [r for r in scored if abs((r.balanced or 0.0) - best) < 1e-12]
    middle = tied[len(tied) // 2]
    return Rates(round(middle.threshold, 3), middle.answered, middle.abstained)


# -- output ----------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def threshold_table(samples: Sequence[Sample], chosen: float, current: float) -> str:
    names = sorted({s.dataset for s in samples})
    header = ["threshold", "answered (answerable)", "abstained (not answerable)", "balanced accuracy",
              *[f"balanced: {n}" for n in names]]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---:"] * len(header)) + "|"]
    for t in sorted({*GRID, chosen, current}):
        r = rates(samples, t)
        per_set = [_fmt(rates([s for s in samples if s.dataset == n], t).balanced) for n in names]
        label = f"{t:.3f}" + (" (chosen)" if t == chosen else "") + (" (current default)" if t == current else "")
        lines.append("| " + " | ".join([label, _fmt(r.answered), _fmt(r.abstained), _fmt(r.balanced), *per_set])
                     + " |")
    return "\n".join(lines)


def case_summary(samples: Sequence[Sample]) -> str:
    lines = ["| data set | case | n | support p5 | p50 | p95 |", "|---|---|---:|---:|---:|---:|"]
    for name in sorted({s.dataset for s in samples}):
        for case in ("gold present", "gold removed", "unanswerable"):
            values = [s.support for s in samples if s.dataset == name and s.case == case]
            if values:
                p = [metrics.percentile(values, q) for q in (5, 50, 95)]
                lines.append(f"| {name} | {case} | {len(values)} | " + " | ".join(_fmt(v) for v in p) + " |")
    return "\n".join(lines)


# -- command line ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.calibrate", description="Calibrate the extractive "
                                "answerer's abstain threshold on the golden set and benchmark data.")
    dataset_arguments(p)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the samples and the choice as JSON")
    return p


def dataset_arguments(p: argparse.ArgumentParser) -> None:
    """The options naming what to measure on and where its stores are (read back by `datasets`)."""
    p.add_argument("--benchmark", action="append", default=[], type=Path, metavar="DIR",
                   help="a folder with articles.jsonl and questions.jsonl (repeatable)")
    p.add_argument("--no-golden", action="store_true", help="leave out the golden set of the sample corpus")
    p.add_argument("--store", type=Path, metavar="DIR", help="keep the stores here (shared with python -m evaluation)")
    p.add_argument("-v", "--verbose", action="store_true")


def datasets(args: argparse.Namespace) -> list[DataSet]:
    sets = [] if args.no_golden else [DataSet("golden", tuple(map(str, GOLDEN_ARTICLES)), GOLDEN_QUESTIONS)]
    for folder in args.benchmark:
        sets.append(DataSet(folder.name, (str(folder / "articles.jsonl"),), folder / "questions.jsonl"))
    if not sets:
        raise SystemExit("error: nothing to calibrate on (give --benchmark DIR or drop --no-golden)")
    return sets


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure, run

    args = _parser().parse_args(argv)
    configure(args.verbose)
    return run(lambda: _calibrate(args))


def _calibrate(args: argparse.Namespace) -> int:
    from app.answering import DEFAULT_ABSTAIN_THRESHOLD
    from vectorstore.embedding import Embedder

    embedder = Embedder()
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="newsdesk-calibrate-") as scratch:
        for dataset in datasets(args):
            samples.extend(collect(dataset, args.store or Path(scratch), embedder))
    chosen = choose_threshold(samples)
    current = rates(samples, DEFAULT_ABSTAIN_THRESHOLD)
    print(case_summary(samples) + "\n")
    print(threshold_table(samples, chosen.threshold, DEFAULT_ABSTAIN_THRESHOLD) + "\n")
    print(f"chosen threshold: {chosen.threshold:.3f} (balanced accuracy {_fmt(chosen.balanced)}: answered "
          f"{_fmt(chosen.answered)} of answerable, abstained on {_fmt(chosen.abstained)} of the rest); current "
          f"default {DEFAULT_ABSTAIN_THRESHOLD:.3f}: {_fmt(current.balanced)}")
    if args.json:
        args.json.write_text(json.dumps({"chosen": asdict(chosen), "samples": [asdict(s) for s in samples]},
                                        indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
