"""Answerers. The default is extractive: grounded by construction, every sentence an exact quote.

The extractive answerer scores each sentence of the retrieved chunks against the question (embedding
similarity, weighted word overlap, retrieval rank, answer type), keeps the best few that are not
near-duplicates, puts them in reading order and cites each with the exact span it came from. When
even the best sentence supports the question too weakly it abstains and shows the closest passages.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, Protocol

from app.abstention import AbstentionModel, Evidence, evidence
from app.places import country_of
from app.question import QuestionFrame, eventful, frame
from app.referents import referent
from app.short_answer import VOTE_RATIO, short_answer, vote
from core.errors import ConfigError
from core.markers import MARKER
from core.records import Answer, Citation, Hit, Referent, ShortAnswer, StoredChunk
from core.sentences import Sentence, sentences
from core.text import content_words, initialisms, names, words
from vectorstore.lexical import IRREGULAR, sentence_tokens

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

ABSTENTION = AbstentionModel(weights=(13.0098, 2.144, 0.1115, 0.0099), bias=-6.8919, bar=0.37)
"""Whether the articles answer: fitted on half A of the golden set and realtimeqa-dev by
`python -m evaluation.answers --calibrate` (see `app.abstention` and docs/benchmarks.md)."""

TYPED_GATE = frozenset({"person", "date", "number", "money", "percent", "duration"})
"""Questions that ask for one of these are not answered when none of the best three sentences that vote on
the short answer (`VOTE_RATIO`) holds such a phrase: "Who commands the task force?" is not answered by a
sentence naming no one."""

DEFAULT_ABSTAIN_THRESHOLD = 0.434
"""Support below which the extractive answerer abstains. Calibrated by `python -m evaluation.calibrate`
(see docs/benchmarks.md): the value that best separates answerable questions from the same questions
asked with their gold articles removed, on the golden set and realtimeqa-dev. Override with
NEWSDESK_ABSTAIN_THRESHOLD."""

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion)\b", re.IGNORECASE
)
_DATE = re.compile(
    r"\b(19|20)\d\d\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|\b(monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|yesterday|today|tomorrow|last week|this week|next week)\b"
    r"|\b(after|within|in|for|by)\s+(\w+\s+){0,2}(days?|weeks?|months?|years?)\b", re.IGNORECASE)


SENTENCE_CACHE_SIZE = 20_000
"""Sentence vectors kept for chunks stored without them (an older store)."""

LEAD_WEIGHT = 0.05
LEAD_CHARS = 600
"""News puts what matters first: a sentence's score gains up to `LEAD_WEIGHT`, decaying with its distance
from the start of its article (e-fold every `LEAD_CHARS` characters, about three sentences). Chosen on
half A by `python -m evaluation.answers`."""

@dataclass(frozen=True)
class ReadingWeights:
    """Score bonuses from reading the question (`app.question`), chosen on half A by
    `python -m evaluation.answers`."""

    type: float = 0.05
    """The sentence holds a phrase of the answer type asked for (a person for "who", a date for "when")."""
    predicate: float = 0.05
    """The sentence has the question's verb (and its particle)."""
    tense: float = 0.03
    """A question about what will happen, a sentence about the future."""
    agent: float = 0.05
    """The question's subject stands just before the sentence's predicate (`_agent_acts`). Half A is flat
    from 0 to 0.5 (18 of 467 sentences of the 22 questions with a subject qualify); the predicate's weight."""
    echo: float = 0.5
    """Taken off: a sentence that only restates the question (`ECHO_SHARE`): "... the most infectious variant yet
    has arrived. What is it called?" is not answered by the article's sentence that the question quotes."""
    untensed: float = 0.15
    """Taken off: a question about what will happen, a sentence that says nothing will ("What will South Korea
    do with the citizens?" is not answered by the thanks for their repatriation). Half A is flat from 0.15 to
    1.0 (two future questions); the smallest value of that plateau."""


@lru_cache(maxsize=1)
def _past_forms() -> dict[str, tuple[str, ...]]:
    """A verb's stem -> its irregular past forms ("meet": "met")."""
    forms: dict[str, tuple[str, ...]] = {}
    for form, base in IRREGULAR.items():
        stem = sentence_tokens(base)[0]
        forms[stem] = (*forms.get(stem, ()), form)
    return forms


@lru_cache(maxsize=256)
def _verb_forms(verb: str) -> str:
    """A regex alternation of the beginnings of `verb`'s forms in a text: its stem and its irregular past forms
    ("meet|met"); "" when there is no verb."""
    stem = sentence_tokens(verb) if verb else []
    return "|".join(re.escape(f) for f in (stem[0], *_past_forms().get(stem[0], ()))) if stem else ""


_FUTURE = re.compile(r"\b(will|would|shall|plans? to|planned to|is going to|are going to|expects? to|intends? to)\b",
                     re.IGNORECASE)

_ANAPHOR = re.compile(r"\b(?:these|those|such)\s+(?!(?:are|were|have|had|who|which|that)\b)\w+|\bthe same\b",
                      re.IGNORECASE)
"""A noun phrase that points back to the sentence before ("these individuals", "such cases")."""

ECHO_SHARE = 0.2
"""A sentence restates the question when fewer than this share of its word stems are not the question's."""

AGENT_WORDS = 8
"""How far before its predicate a sentence's subject is looked for (`_agent_acts`)."""

KEEP_RATIO = 0.85
"""A sentence after the best is kept only when its score is at least this share of the best one's (and it
adds a word of the question the answer lacks). Chosen on half A by `python -m evaluation.answers`."""
VOTE_POOL = 10
"""The sentences that vote on the short answer: those scoring at least `VOTE_RATIO` of the best one's, and
at most this many; each headline of theirs votes with the weight of its best sentence times
`HEADLINE_VOTE`. Chosen on half A (docs/benchmarks.md, "Answers a journalist would write")."""
HEADLINE_VOTE = 1.0


class Answerer(Protocol):
    """Turns a question and its retrieved hits into a cited answer."""

    name: str

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer: ...


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, in article coordinates, with the words around it."""

    hit: Hit
    rank: int
    start: int
    end: int
    text: str
    context: str = ""
    """The article title and the previous sentence: what "both sides" or "he" refers to."""
    before: tuple[str, ...] = ()
    """The sentences before it in its chunk, nearest last: where a referent is looked for."""


@dataclass
class Scored:
    candidate: Candidate
    score: float
    support: float
    vector: "np.ndarray"
    echo: bool = False
    """The sentence only restates the question (`ExtractiveAnswerer._echoes`): never added beside the best one."""


def answer_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share)\b", q):
        return "number"
    if re.search(r"^\s*when\b|\bwhat (year|date|day|month)\b|\bwhen (was|did|is|were)\b", q):
        return "date"
    return None


def _type_bonus(kind: str | None, text: str) -> float:
    if kind == "number":
        return 0.05 if _NUMBER.search(text) else -0.1
    if kind == "date":
        return 0.1 if _DATE.search(text) else -0.1
    return 0.0


class ExtractiveAnswerer:
    """Answers with the question's best evidence sentences, each cited with its exact span."""

    name = "extractive"

    def __init__(
        self, embedder: "Embedder", *, threshold: float = DEFAULT_ABSTAIN_THRESHOLD, keep_ratio: float = KEEP_RATIO,
        lead_weight: float = LEAD_WEIGHT, weights: "ReadingWeights | None" = None,
        abstention: AbstentionModel | None | Literal["default"] = "default", max_words: int = 120,
        max_sentences: int = 5, pool: int = 8, embed_limit: int = 24,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.keep_ratio = keep_ratio
        self.lead_weight = lead_weight
        self.weights = weights or ReadingWeights()
        self.abstention = ABSTENTION if abstention == "default" else abstention
        """None: abstain on the best support alone (below `threshold`), as with NEWSDESK_ABSTAIN_THRESHOLD."""
        self.max_words = max_words
        self.max_sentences = max_sentences
        self.pool = pool
        self.embed_limit = embed_limit
        self._vectors: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()  # Gradio's worker threads share one answerer

    def answer(self, question: str, hits: Sequence[Hit]) -> Answer:
        asked = frame(question)
        scored = self.score(question, hits, asked)
        if not scored:
            return self._abstain(question, hits, scored, asked)
        if self.abstention is not None:
            seen = evidence(asked, scored)
            if not self.abstention.answers(seen) or (asked.kind in TYPED_GATE and not seen.typed):
                return self._abstain(question, hits, scored, asked, seen)
        elif scored[0].support < self.threshold:
            return self._abstain(question, hits, scored, asked)
        chosen = self._select(question, scored, asked)
        chosen, short = self._agreed(scored, chosen, asked)
        return self._compose(question, hits, chosen, asked, short)

    def _agreed(self, scored: list[Scored], chosen: list[Scored], asked: QuestionFrame
                ) -> tuple[list[Scored], "tuple[Scored, int, int] | None"]:
        """The short answer the best sentences and their headlines agree on (`vote`), as (sentence, start, end),
        with the chosen sentences made to hold it: quoted from a chosen sentence that says it, or from the
        sentence that says it best, which then takes the place of the last chosen one (or joins a lone one).
        None, and the chosen sentences unchanged, when there is nothing to vote on: the question asks for no
        phrase, or for a reason, purpose or role, which `_compose` reads off the chosen sentences alone."""
        if asked.kind in (None, "action", "reason", "purpose", "role"):
            return chosen, None
        best = scored[0].score
        pool = [s for s in scored[:VOTE_POOL] if s.score >= VOTE_RATIO * best]
        titles: dict[str, tuple[str, float]] = {}
        for s in pool:
            chunk = s.candidate.hit.chunk
            if chunk.title and chunk.article_id not in titles:
                titles[chunk.article_id] = (chunk.title, HEADLINE_VOTE * s.score / best)
        spans = vote(asked, [(s.candidate.text, s.score / best) for s in pool], list(titles.values()))
        if spans is None:
            return chosen, None
        where = {id(p): i for i, p in enumerate(pool)}
        for s in chosen:
            if where.get(id(s)) in spans:
                return chosen, (s, *spans[where[id(s)]])
        i, (a, b) = next(iter(spans.items()))
        chosen = [pool[i], *chosen[:-1]] if len(chosen) > 1 else [pool[i], *chosen]
        return chosen, (pool[i], a, b)

    # -- scoring -------------------------------------------------------------------------------

    def candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        """The sentences of the best `pool` hits (as ingest cut them), each once, in article coordinates."""
        seen: set[tuple[str, int]] = set()
        out: list[Candidate] = []
        for rank, hit in enumerate(hits[: self.pool], start=1):
            chunk = hit.chunk
            previous: list[str] = []
            for a, quoted, b in chunk_sentences(chunk):
                context = f"{chunk.title}\n{previous[-1] if previous else ''}"
                text = chunk.text[quoted - chunk.start:b - chunk.start]
                before = tuple(previous[-5:])
                previous.append(chunk.text[a - chunk.start:b - chunk.start])
                asks = text.rstrip(" \"\u201d\u2019'").endswith("?")  # a question in the article answers nothing
                if (chunk.article_id, b) in seen or len(words(text)) < 4 or asks:
                    continue
                seen.add((chunk.article_id, b))
                out.append(Candidate(hit, rank, quoted, b, text, context, before))
        return out

    def score(self, question: str, hits: Sequence[Hit], asked: QuestionFrame | None = None) -> list[Scored]:
        """The candidate sentences with their ranking score and their support for the question, best first.

        A sentence's vector normally comes from the store: ingest pools it from the token embeddings of
        its chunk (see `Embedder.embed_with_spans`), so scoring costs no model call. For chunks stored
        without sentence vectors (an older store) the sentences are embedded here; word overlap is cheap
        and embedding is not, so only the `embed_limit` with the best overlap (and rank) are.
        """
        import numpy as np

        candidates = self.candidates(hits)
        if not candidates:
            return []
        # A name's initials count as its words: "IRS" in a question is said by "the Internal Revenue Service".
        own = [set(sentence_tokens(f"{c.text} {' '.join(initialisms(c.text))}")) for c in candidates]
        around = [set(sentence_tokens(" ".join(names(c.context) + initialisms(c.context))))
                  | (set(sentence_tokens(c.before[-1])) if c.before and _ANAPHORIC.match(c.text) else set())
                  for c in candidates]
        asked = asked or frame(question)
        type_words = _type_words(asked)
        said = _weighted_tokens(question)
        weighted = {t: w for t, w in said.items() if t not in type_words}
        q_tokens = _idf_weighted(weighted, [o | a for o, a in zip(own, around)])
        kind = answer_type(question)
        stems = set(said)
        echoes = [self._echoes(asked, stems, o, c.text) for c, o in zip(candidates, own)]
        prior = [0.08 / math.sqrt(c.rank) + _type_bonus(kind, c.text)
                 + self.lead_weight * math.exp(-c.start / LEAD_CHARS) + self._reading_bonus(asked, c.text)
                 - self.weights.echo * echo for c, echo in zip(candidates, echoes)]
        overlap = [_overlap(q_tokens, o, a) for o, a in zip(own, around)]
        q_vector = self.embedder.embed_query(question)
        stored = _stored_vectors(candidates, len(q_vector))
        ranked = sorted(range(len(candidates)), key=lambda i: -(0.5 * overlap[i] + prior[i]))
        missing = [i for i in ranked if i not in stored][: self.embed_limit]
        fresh = self._sentence_vectors([candidates[i] for i in missing]) if missing else []
        vectors = dict(zip(missing, fresh)) | stored
        keep = [i for i in ranked if i in vectors]
        cosine = np.stack([vectors[i] for i in keep]) @ q_vector
        scored = []
        for i, cos in zip(keep, cosine):
            support = 0.5 * float(cos) + 0.5 * overlap[i]
            # A question about the current state prefers the newest articles' sentences (`Hit.recency`).
            scored.append(Scored(candidates[i], (support + prior[i]) * candidates[i].hit.recency, support,
                                 vectors[i], echoes[i]))
        scored.sort(key=lambda s: -s.score)
        return scored

    def _reading_bonus(self, asked: QuestionFrame, text: str) -> float:
        """What the question's reading adds to a sentence's score: the answer type it asks for is there (a
        phrase `short_answer` finds), the question's verb is (with its particle: "agree to", not "agreed
        that"), and the tense agrees (a "will" question and a sentence about what will happen; a sentence that
        says nothing will is taken `untensed` off)."""
        bonus = 0.0
        if asked.kind is not None and asked.kind != "action" and short_answer(asked, text) is not None:
            bonus += self.weights.type
        if self._has_predicate(asked, text):
            bonus += self.weights.predicate
        if asked.future and _FUTURE.search(text):
            bonus += self.weights.tense
        elif asked.future:
            bonus -= self.weights.untensed
        if self._agent_acts(asked, text):
            bonus += self.weights.agent
        return bonus

    @staticmethod
    def _echoes(asked: QuestionFrame, said: set[str], stems: set[str], text: str) -> bool:
        """The sentence restates a question that asks for a phrase and holds no phrase of that kind: the
        premise the question quotes, not its answer."""
        return asked.kind not in (None, "action") and _restates(said, stems) and short_answer(asked, text) is None

    @staticmethod
    def _agent_acts(asked: QuestionFrame, text: str) -> bool:
        """The question's subject is named (a demonym will do: "South Korean") among the few words before the
        sentence's predicate: its future for a "will" question, else the question's verb. "What will South
        Korea do ...": "the South Korean authorities will continue ...", not "Cambodia ... will not allow"."""
        if not asked.subject or not (asked.future or asked.verb):
            return False
        if asked.future:
            where = [m.start() for m in _FUTURE.finditer(text)]
        else:
            forms = _verb_forms(asked.verb)
            where = [m.start() for m in re.finditer(rf"\b(?:{forms})\w*", text, re.IGNORECASE)] if forms else []
        for p in where:
            before = words(text[:p])[-AGENT_WORDS:]
            if all(any(w.startswith(s) for w in before) for s in asked.subject):
                return True
        return False

    @staticmethod
    def _has_predicate(asked: QuestionFrame, text: str) -> bool:
        """The sentence has the question's verb in any form, followed by its particle within three words."""
        forms = _verb_forms(asked.verb)
        if not forms:
            return False
        particle = rf"(?:\s+\w+){{0,3}}\s+{asked.particle}\b" if asked.particle else ""
        return re.search(rf"\b(?:{forms})\w*{particle}", text.lower()) is not None

    def _sentence_vectors(self, candidates: list[Candidate]) -> "np.ndarray":
        """Vectors for sentences the store has none for: embedded with their previous sentence, cached."""
        import numpy as np

        keys = [(c.hit.chunk.content_hash or c.hit.chunk.article_id, c.start, c.end) for c in candidates]
        with self._vectors_lock:
            found = {k: self._vectors[k] for k in keys if k in self._vectors}
        todo = [i for i, k in enumerate(keys) if k not in found]
        if todo:  # embedded outside the lock; another thread may embed the same sentence, which is harmless
            fresh = self.embedder.embed_documents([_embed_text(candidates[i]) for i in todo])
            found.update((keys[i], vec) for i, vec in zip(todo, fresh))
        with self._vectors_lock:
            for k in keys:
                self._vectors[k] = found[k]
                self._vectors.move_to_end(k)
            while len(self._vectors) > SENTENCE_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return np.stack([found[k] for k in keys])

    # -- selection and composition -------------------------------------------------------------

    def _select(self, question: str, scored: list[Scored], asked: QuestionFrame) -> list[Scored]:
        """The best sentence, then each next one that is nearly as good (`keep_ratio`) and adds an answer
        element the answer lacks: a word of the question not matched yet (a name may be matched by the
        sentence's context), or, for "what did X agree to" questions, another sentence with that predicate
        (another thing agreed). Stops when the question is covered and no predicate sentence is left."""
        best = scored[0].score
        wanted = set(sentence_tokens(" ".join(content_words(question)))) - _type_words(asked)

        def matched(s: Scored) -> set[str]:
            c = s.candidate
            said = set(sentence_tokens(c.text)) | set(sentence_tokens(" ".join(names(c.context))))
            if c.before and _ANAPHOR.search(c.text):  # "these individuals": what the sentence before said
                said |= set(sentence_tokens(c.before[-1]))
            return wanted & said

        chosen: list[Scored] = [scored[0]]
        covered = matched(scored[0])
        total = len(words(scored[0].candidate.text))
        for s in scored[1:]:
            if len(chosen) >= self.max_sentences:
                break
            n = len(words(s.candidate.text))
            if s.score < self.keep_ratio * best or s.support < self.threshold or total + n > self.max_words:
                continue
            if s.echo:
                continue  # the question's own premise adds nothing to its answer
            adds = matched(s) - covered
            text = s.candidate.text
            element = (asked.kind == "action" and self._has_predicate(asked, text)) or (
                asked.future and _FUTURE.search(text) is not None  # what will happen, when nothing chosen says it
                and not any(_FUTURE.search(c.candidate.text) for c in chosen)) or (
                asked.kind in TYPED_GATE and short_answer(asked, text) is not None  # the number asked for
                and not any(short_answer(asked, c.candidate.text) for c in chosen))
            if not (adds or element) or _near_duplicate(s, chosen):
                continue
            chosen.append(s)
            covered |= adds
            total += n
        return chosen

    def _compose(self, question: str, hits: Sequence[Hit], chosen: list[Scored], asked: QuestionFrame,
                 agreed: "tuple[Scored, int, int] | None" = None) -> Answer:
        """The chosen sentences in reading order (articles by their best sentence, sentences in article order),
        each cited, led by the short answer when the question asks for a name, date, place or number, with
        bracketed referents after quoted pronouns."""
        order: dict[str, float] = {}
        for s in chosen:
            aid = s.candidate.hit.chunk.article_id
            order[aid] = max(order.get(aid, -1e9), s.score)
        reading = sorted(chosen, key=lambda s: (-order[s.candidate.hit.chunk.article_id], s.candidate.start))
        citations = [_citation(n, s.candidate) for n, s in enumerate(reading, start=1)]
        by_candidate = {id(s.candidate): c for s, c in zip(reading, citations)}
        if agreed is None:  # no vote (a reason, a role): the best fit, from a sentence the more relevant the better
            best = 0.0
            for s in chosen:
                span = short_answer(asked, s.candidate.text)
                if span is not None and span[2] * s.score / chosen[0].score > best:
                    agreed, best = (s, span[0], span[1]), span[2] * s.score / chosen[0].score
        short = None
        if agreed is not None:
            c = by_candidate[id(agreed[0].candidate)]
            a, b = agreed[1], agreed[2]
            said = c.quote[a:b]
            reads_as = (country_of(said) or "") if asked.kind == "place" else ""
            short = ShortAnswer(c.n, c.article_id, said, c.start + a, c.start + b, asked.kind or "", reads_as)
        pieces, found = [], []
        for s, c in zip(reading, citations):
            added = referent(c.quote, list(s.candidate.before), s.candidate.hit.chunk.title)
            quote = c.quote
            if added is not None:
                found.append(Referent(c.n, added[0], added[1]))
                quote = f"{quote[:added[0]]} [{added[1]}]{quote[added[0]:]}"
            pieces.append(f"{quote} [{c.n}]")
        text = " ".join(pieces)
        if short is not None:
            gloss = f" [{short.reads_as}]" if short.reads_as else ""
            text = f"**{short.text}**{gloss} [{short.n}]\n\n{text}"
        return Answer(question=question, text=text, citations=citations, hits=list(hits), mode=self.name,
                      short_answer=short, referents=found)

    def _abstain(self, question: str, hits: Sequence[Hit], scored: list[Scored], asked: QuestionFrame,
                 seen: Evidence | None = None) -> Answer:
        closest: list[Scored] = []
        for s in scored:
            if len(closest) >= 3:
                break
            if not _near_duplicate(s, closest):
                closest.append(s)
        citations = [_citation(n, s.candidate) for n, s in enumerate(closest, start=1)]
        text = abstention_text(question, bool(hits))
        if seen is not None and self.abstention is not None:
            p, bar = self.abstention.probability(seen), self.abstention.bar
            untyped = f"none of the best sentences gives a {_KIND_WORDS.get(asked.kind or '', asked.kind)}" \
                if asked.kind in TYPED_GATE and not seen.typed else ""
            model = (f"the articles answer this with probability {p:.2f}, {'below' if p < bar else 'above'} "
                     f"{bar:.2f} (best support {seen.support:.2f}, question names found {seen.names:.0%}, other "
                     f"words {seen.focus:.0%})")
            note = f"{untyped}; {model}" if untyped else model
        else:
            support = f"{scored[0].support:.2f}" if scored else "none"
            note = f"best support {support} below threshold {self.threshold:.2f}"
        return Answer(question=question, text=text, citations=citations, abstained=True, hits=list(hits),
                      mode=self.name, notes=[note])


_KIND_WORDS = {"money": "sum", "percent": "percentage", "duration": "time span"}
"""How an abstention note names the kind of answer that was missing (others by their own name)."""


def answer_pieces(text: str) -> Iterator[str]:
    """An answer's text in sentence-sized pieces, each ending after its citation, every character kept."""
    last = 0
    for match in re.finditer(MARKER.pattern + r"[.!?]?\s*", text):
        yield text[last:match.end()]
        last = match.end()
    if last < len(text):
        yield text[last:]


def abstention_text(question: str, any_hits: bool) -> str:
    q = " ".join(question.split())
    if not any_hits:
        return f"The ingested articles do not say: nothing in them matches \u201c{q}\u201d."
    return (f"The ingested articles do not say. None of their sentences answers \u201c{q}\u201d closely enough; "
            "the closest passages are listed below.")


def _citation(n: int, c: Candidate) -> Citation:
    chunk = c.hit.chunk
    return Citation(n=n, article_id=chunk.article_id, quote=c.text, start=c.start, end=c.end, chunk_id=chunk.id,
                    **chunk.meta())


def _type_words(asked: QuestionFrame) -> set[str]:
    """The stems of the noun that names the answer's type ("country" in "Which country ..."): the answer is a
    country, so a sentence that says "countries" matches nothing of the question by it (not for "what
    thing" questions, whose noun is often what they are about)."""
    if not asked.head or asked.kind in (None, "action", "thing"):
        return set()
    return set(sentence_tokens(asked.head))


def _weighted_tokens(question: str) -> dict[str, float]:
    """Question stems with weights: names and numbers count double (they pin the answer down)."""
    weights: dict[str, float] = {}
    raw = re.findall(r"\w+", eventful(question))
    capitalised = {w.lower() for i, w in enumerate(raw) if i > 0 and w[:1].isupper()}
    for word in raw:
        for stem in sentence_tokens(word):
            weight = 2.0 if word.lower() in capitalised or word.isdigit() else 1.0
            weights[stem] = max(weights.get(stem, 0.0), weight)
    return weights


def _restates(question: set[str], sentence: set[str]) -> bool:
    """The sentence says (nearly) nothing the question does not: under `ECHO_SHARE` of its stems are new."""
    return bool(sentence) and len(sentence - question) < ECHO_SHARE * len(sentence)


def _idf_weighted(question: dict[str, float], pool: list[set[str]]) -> dict[str, float]:
    """Scale question weights by inverse frequency among the candidates: a word every sentence
    shares (the story's own subject) tells them apart less than the one the question turns on."""
    n = len(pool)
    return {t: w * math.log(1.0 + (n + 1) / (1 + sum(t in p for p in pool))) for t, w in question.items()}


_ANAPHORIC = re.compile(r"(?:In|Under|With|For)?\s*(?:these|those|such|this|that)\s+\w+", re.IGNORECASE)
"""A sentence that opens by pointing back ("In these schemes, a scammer builds trust ..."): it is about what the
sentence before it names, so that sentence's words count as its context."""


def _overlap(question: dict[str, float], sentence: set[str], context: set[str] = frozenset()) -> float:
    """Share of the question's weight found in the sentence or, for names, in its context: a sentence
    saying "Both sides agreed" after one naming Korea and Cambodia is about Korea and Cambodia."""
    total = sum(question.values())
    found = sum(w if t in sentence or t in context else 0.0 for t, w in question.items())
    return found / total if total else 0.0


def _near_duplicate(s: Scored, chosen: Sequence[Scored]) -> bool:
    tokens = set(sentence_tokens(s.candidate.text))
    for other in chosen:
        if float(s.vector @ other.vector) > 0.9:
            return True
        other_tokens = set(sentence_tokens(other.candidate.text))
        union = tokens | other_tokens
        if union and len(tokens & other_tokens) / len(union) > 0.7:
            return True
    return False


ANSWERERS: dict[str, Callable[..., Answerer]] = {}
"""Registered answer backends by name; `make_answerer` fails loudly on an unknown one."""


def register_answerer(name: str, factory: Callable[..., Answerer]) -> None:
    ANSWERERS[name] = factory


def make_answerer(name: str, **parts: object) -> Answerer:
    if name == "extractive":
        return ExtractiveAnswerer(**parts)  # type: ignore[arg-type]
    if name not in ANSWERERS:
        available = sorted({"extractive", *ANSWERERS})
        raise ConfigError(f"NEWSDESK_LLM: answerer {name!r} is not supported. Available: {available}")
    return ANSWERERS[name](**parts)


def chunk_sentences(chunk: StoredChunk) -> list[Sentence]:
    """A stored chunk's sentences in article coordinates: as ingest cut them, or, for a chunk stored
    before ingest kept them, cut now from its text."""
    if chunk.sentences:
        return list(chunk.sentences)
    return [Sentence(chunk.start + a, chunk.start + q, chunk.start + b)
            for a, q, b in sentences(chunk.text, article_start=chunk.start == 0)]


def _stored_vectors(candidates: Sequence[Candidate], dimension: int) -> dict[int, "np.ndarray"]:
    """Candidate index -> its sentence vector as stored with its chunk, where the chunk has them: one a
    sentence of `chunk_sentences`, in order."""
    from vectorstore.embedding import unpack_vectors

    by_chunk: dict[str, dict[int, np.ndarray]] = {}
    out: dict[int, np.ndarray] = {}
    for i, c in enumerate(candidates):
        chunk = c.hit.chunk
        if not chunk.sentence_vectors:
            continue
        if chunk.id not in by_chunk:
            matrix = unpack_vectors(chunk.sentence_vectors, dimension)
            cut = chunk_sentences(chunk)
            by_chunk[chunk.id] = {s.end: row for s, row in zip(cut, matrix)} if len(cut) == len(matrix) else {}
        vector = by_chunk[chunk.id].get(c.end)
        if vector is not None:
            out[i] = vector
    return out


def _embed_text(c: Candidate) -> str:
    """The previous sentence and the sentence: "Both sides agreed ..." means little without who met."""
    previous = c.context.split("\n", 1)[-1]
    return f"{previous} {c.text}".strip()
