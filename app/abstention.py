"""Whether the articles answer a question: a decision on more than the best sentence's support.

Look-alike articles (the same event, other facts) give sentences almost as supported as the answer's,
so the support alone separates poorly. The decision also asks whether the best sentences hold what the
question asks for: a phrase of the expected answer type, the question's names (in the sentence or the
article around it), its other words. The features are combined by a logistic model whose weights and
bar were fitted on half A of the golden set and realtimeqa-dev by `python -m evaluation.answers
--calibrate` (docs/benchmarks.md, "Answers a journalist would write"); half B reports them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.question import QuestionFrame
from app.short_answer import VOTE_RATIO, short_answer
from core.text import names
from vectorstore.lexical import sentence_tokens

if TYPE_CHECKING:
    from app.answering import Scored

FEATURES = ("support", "names", "focus", "margin")
"""The features the model reads. `typed` (a phrase of the asked type in the best sentences) is computed and
shown in the calibration but not used: fitted on half A it took a negative weight (nearly every negative
sentence holds some name or number too), a sign no reading supports."""


@dataclass(frozen=True)
class Evidence:
    """What the decision reads off the scored sentences."""

    support: float
    """The best sentence's support."""
    typed: float
    """1 when one of the best three sentences that vote on the short answer (scored at least `VOTE_RATIO` of the
    best) holds a phrase of the type asked for (1 when no type is)."""
    names: float
    """Share of the question's names found in the best sentence, its article's title or the sentences
    before it."""
    focus: float
    """Share of the question's other content words in the best sentence."""
    margin: float
    """The best support minus the best support of another article's sentence (0 with one article)."""

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def evidence(asked: QuestionFrame, scored: Sequence["Scored"]) -> Evidence:
    best = scored[0]
    c = best.candidate
    around = set(sentence_tokens(" ".join([c.text, c.hit.chunk.title, *c.before, *names(c.context)])))
    own = set(sentence_tokens(c.text))
    wanted_names = {t for n in asked.names for t in sentence_tokens(n)}
    wanted_focus = {t for f in asked.focus for t in sentence_tokens(f)}
    typed = 1.0
    if asked.kind is not None and asked.kind != "action":
        typed = float(any(short_answer(asked, s.candidate.text) is not None for s in scored[:3]
                          if s.score >= VOTE_RATIO * best.score))
    other = next((s.support for s in scored[1:] if s.candidate.hit.chunk.article_id != c.hit.chunk.article_id),
                 None)
    return Evidence(
        support=best.support, typed=typed,
        names=len(wanted_names & around) / len(wanted_names) if wanted_names else 1.0,
        focus=len(wanted_focus & own) / len(wanted_focus) if wanted_focus else 1.0,
        margin=best.support - other if other is not None else 0.0,
    )


@dataclass(frozen=True)
class AbstentionModel:
    """A logistic model over `Evidence`: answer when the probability reaches `bar`."""

    weights: tuple[float, ...]
    bias: float
    bar: float = 0.5

    def probability(self, e: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, e.vector()))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, e: Evidence) -> bool:
        return self.probability(e) >= self.bar
