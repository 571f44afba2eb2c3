"""Fit the answerer's abstention model (`app.abstention`) on calibration cases (half A).

Positive examples: answerable questions with a gold article among the hits. Negative: the same questions
with the gold articles' hits removed, where the remaining hits do not hold the gold answer (on
realtimeqa-dev most still do: other reports of the same event), and the golden set's unanswerable questions.
Each data set weighs the same (a large one does not drown a small one), and within a set both classes weigh
the same. The features are standardised, a logistic regression with a little L2 is fitted by gradient
descent, and the bar on its probability is the one with the best balanced accuracy on the same cases that
keeps false abstentions on answerable questions at most `MAX_FALSE_ABSTENTIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.abstention import FEATURES, AbstentionModel, Evidence, evidence
from app.question import frame

if TYPE_CHECKING:
    from evaluation.answers import Case

MAX_FALSE_ABSTENTIONS = 0.05
L2 = 0.01


def examples(answerer: Any, cases: Sequence["Case"]) -> list[tuple[str, Evidence, bool]]:
    """(data set, evidence, should answer) for every decision the cases hold."""
    out = []
    for case in cases:
        asked = frame(case.query)
        for hits, positive in ((case.present, True), (case.removed, False)):
            if not hits or (positive and case.answerable and not case.gold_in_top):
                continue
            if not positive and case.removed_still_answers:
                continue  # another outlet's report still answers it: not a case for abstaining
            scored = answerer.score(case.query, hits, asked)
            if scored:
                out.append((case.dataset, evidence(asked, scored), positive and case.answerable))
    return out


def fit(samples: Sequence[tuple[str, Evidence, bool]], steps: int = 4000, rate: float = 0.5) -> AbstentionModel:
    import numpy as np

    x = np.array([e.vector() for _, e, _ in samples], dtype=float)
    y = np.array([float(p) for _, _, p in samples])
    sets = [d for d, _, _ in samples]
    w_sample = np.zeros(len(samples))
    for d in set(sets):
        for label in (0.0, 1.0):
            idx = [i for i, s in enumerate(sets) if s == d and y[i] == label]
            if idx:
                w_sample[idx] = 1.0 / len(idx)
    w_sample /= w_sample.sum()
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        g = p - y
        w -= rate * ((w_sample * g) @ z + L2 * w)
        b -= rate * float(w_sample @ g)
    weights = w / std  # back to raw features
    bias = b - float(np.sum(w * mean / std))
    model = AbstentionModel(tuple(round(float(v), 4) for v in weights), round(float(bias), 4))
    return AbstentionModel(model.weights, model.bias, choose_bar(model, samples))


def balanced(model: AbstentionModel, samples: Sequence[tuple[str, Evidence, bool]]) -> tuple[float, float]:
    """(balanced accuracy averaged over data sets, false-abstention rate over all positives)."""
    scores, misses, positives = [], 0, 0
    for d in sorted({s[0] for s in samples}):
        pos = [model.answers(e) for s, e, p in samples if s == d and p]
        neg = [not model.answers(e) for s, e, p in samples if s == d and not p]
        parts = [sum(v) / len(v) for v in (pos, neg) if v]
        scores.append(sum(parts) / len(parts))
        misses += len(pos) - sum(pos)
        positives += len(pos)
    return sum(scores) / len(scores), misses / positives if positives else 0.0


def choose_bar(model: AbstentionModel, samples: Sequence[tuple[str, Evidence, bool]]) -> float:
    best_bar, best_score = 0.5, -1.0
    for i in range(5, 96):
        bar = i / 100
        candidate = AbstentionModel(model.weights, model.bias, bar)
        score, false = balanced(candidate, samples)
        if false <= MAX_FALSE_ABSTENTIONS and score > best_score + 1e-9:
            best_bar, best_score = bar, score
    return best_bar


def calibrate(answerer: Any, cases: Sequence["Case"]) -> str:
    """Fit on `cases` and say what was chosen, to paste into `app.answering.ABSTENTION`."""
    samples = examples(answerer, cases)
    model = fit(samples)
    score, false = balanced(model, samples)
    weights = ", ".join(f"{n}={w:+.3f}" for n, w in zip(FEATURES, model.weights))
    return (f"abstention model fitted on {len(samples)} decisions: {weights}, bias={model.bias:+.3f}, "
            f"bar={model.bar:.2f}\n  on these cases: balanced accuracy {score:.3f}, false abstentions {false:.3f}\n"
            f"  AbstentionModel(weights={model.weights}, bias={model.bias}, bar={model.bar})")
