"""Evaluation metrics as pure functions: retrieval, answer content, citations, abstention, latency.

Article ids match a gold id when they are equal or when the article id ends with "/" + the gold id,
so a golden file can name `cambodia-korea-cyber-fraud-2025-11-04.txt` for the article whose id is
`file:///.../data/articles/cambodia-korea-cyber-fraud-2025-11-04.txt`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.markers import MARKER, cited
from core.sentences import sentence_spans
from core.text import content_words, normalize_answer

DEFAULT_MIN_OVERLAP = 0.5
"""Share of an answer sentence's content words that its cited quote must contain to support it."""

Similarity = Callable[[str, str], float]
"""Cosine similarity of two texts (an embedding model behind it)."""

_MARKERS = re.compile(rf"(?:\s*{MARKER.pattern})+[.!?]?")


# -- retrieval -------------------------------------------------------------------------------------


def is_gold(article_id: str, gold: Iterable[str]) -> bool:
    """True when `article_id` is one of `gold` (equal, or ending with "/" + a gold name)."""
    return any(article_id == g or article_id.endswith("/" + g) for g in gold if g)


def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order without repeats (hits -> the articles they come from)."""
    return list(dict.fromkeys(ids))


def recall_at_k(hit_article_ids: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1.0 when a gold article is among the first `k` hits (one article id per hit), else 0.0."""
    return 1.0 if any(is_gold(a, gold) for a in hit_article_ids[:k]) else 0.0


def reciprocal_rank(hit_article_ids: Sequence[str], gold: Sequence[str], depth: int = 10) -> float:
    """1 / rank of the first gold article among the articles of the first `depth` hits (deduplicated)."""
    for rank, article_id in enumerate(dedupe(hit_article_ids[:depth]), start=1):
        if is_gold(article_id, gold):
            return 1.0 / rank
    return 0.0


# -- answer content --------------------------------------------------------------------------------


_NUMBER_WORDS = {w: str(n) for n, w in enumerate("""two three four five six seven eight nine ten eleven twelve
    thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty""".split(), start=2)} | {
    w: str(n) for n, w in zip(range(30, 100, 10), "thirty forty fifty sixty seventy eighty ninety".split())}
"""Number words read as digits: "extended six months" holds the gold answer "6". Not "one", which is as often
a pronoun ("one of the biggest") as a count."""
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")


def _counted(text: str) -> str:
    """`normalize_answer`, with number words as digits and "&" said as "and" ("New Jersey & Oregon")."""
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], normalize_answer(text.replace("&", " and ")))


def contains_answer(text: str, answer: str) -> bool:
    """True when the normalised `answer` appears in the normalised `text`, starting at a word, number words
    read as digits ("six" for "6") and "&" as "and".

    Only the start is anchored: "Hun Manet" is in "Hun Manet's" (normalised "hun manets") and "scam" in
    "scams", while "5" is not in "2025".
    """
    needle = _counted(answer)
    return bool(needle) and f" {needle}" in f" {_counted(text)}"


def fact_present(text: str, fact: str) -> bool:
    """A fact such as "task force|working group" is present when any alternative is."""
    return any(contains_answer(text, alternative) for alternative in fact.split("|"))


def fact_coverage(text: str, facts: Sequence[str]) -> float | None:
    """Share of `facts` present in `text`; None when there are none to check."""
    if not facts:
        return None
    return sum(fact_present(text, f) for f in facts) / len(facts)


# -- citations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence of an answer and the citation numbers it carries (empty when uncited)."""

    text: str
    markers: tuple[int, ...] = ()


def answer_sentences(answer: str) -> list[AnswerSentence]:
    """Split an answer into sentences; a run of markers such as " [1][2]." belongs to the sentence before it."""
    out: list[AnswerSentence] = []
    last = 0
    for run in _MARKERS.finditer(answer):
        numbers = tuple(n for m in MARKER.finditer(run.group()) for n in cited(m.group(1)))
        out.extend(_sentences(answer[last:run.start()], numbers))
        last = run.end()
    out.extend(_sentences(answer[last:], ()))
    return out


def _sentences(body: str, markers: tuple[int, ...]) -> list[AnswerSentence]:
    spans = [(a, b) for a, b in sentence_spans(body) if re.search(r"\w", body[a:b])]
    if not spans:
        return []
    *uncited, (a, b) = spans
    return [AnswerSentence(body[s:e]) for s, e in uncited] + [AnswerSentence(body[a:b], markers)]


def word_overlap(sentence: str, quote: str) -> float:
    """Share of the sentence's distinct content words (normalised) that the quote contains."""
    own = set(content_words(normalize_answer(sentence)))
    if not own:
        return 0.0
    return len(own & set(content_words(normalize_answer(quote)))) / len(own)


def supports(
    sentence: str, quote: str, *, similarity: Similarity | None = None, min_similarity: float = 0.8,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> bool:
    """Whether a cited quote supports the answer sentence: enough shared content words, or (when a
    `similarity` is given) a cosine of at least `min_similarity`. An extractive sentence IS its quote."""
    if word_overlap(sentence, quote) >= min_overlap:
        return True
    return similarity is not None and similarity(sentence, quote) >= min_similarity


@dataclass(frozen=True)
class CitationScore:
    """Counts for one answer (or summed over many): citations checked, supported, sentences, cited."""

    citations: int = 0
    supported: int = 0
    sentences: int = 0
    cited: int = 0

    def __add__(self, other: "CitationScore") -> "CitationScore":
        return CitationScore(self.citations + other.citations, self.supported + other.supported,
                             self.sentences + other.sentences, self.cited + other.cited)

    @property
    def precision(self) -> float | None:
        """Share of citations whose quote supports the sentence citing it."""
        return self.supported / self.citations if self.citations else None

    @property
    def coverage(self) -> float | None:
        """Share of answer sentences carrying at least one citation."""
        return self.cited / self.sentences if self.sentences else None


def score_citations(
    answer: str, quotes: Mapping[int, str], *, similarity: Similarity | None = None, min_similarity: float = 0.8,
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> CitationScore:
    """Check every [n] of `answer` against `quotes[n]`; a number with no quote counts as unsupported."""
    citations = supported = cited = 0
    sentences = answer_sentences(answer)
    for sentence in sentences:
        cited += bool(sentence.markers)
        for n in sentence.markers:
            citations += 1
            quote = quotes.get(n)
            supported += quote is not None and supports(
                sentence.text, quote, similarity=similarity, min_similarity=min_similarity, min_overlap=min_overlap)
    return CitationScore(citations, supported, len(sentences), cited)


# -- abstention ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AbstentionScore:
    """Precision: share of abstentions that were on unanswerable questions. Recall: share of
    unanswerable questions abstained on. None when undefined (no abstentions / none unanswerable)."""

    precision: float | None
    recall: float | None
    abstained: int
    unanswerable: int


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> AbstentionScore:
    if len(abstained) != len(unanswerable):
        raise ValueError("abstained and unanswerable must have the same length")
    both = sum(a and u for a, u in zip(abstained, unanswerable))
    n_abstained, n_unanswerable = sum(abstained), sum(unanswerable)
    return AbstentionScore(precision=both / n_abstained if n_abstained else None,
                           recall=both / n_unanswerable if n_unanswerable else None,
                           abstained=n_abstained, unanswerable=n_unanswerable)


# -- summaries -------------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between order statistics (numpy's default)."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
