"""Post-hoc verification of an LLM answer: every sentence must be supported by the passage it cites.

The model's answer is split into sentences, each with the `[n]` markers it carries. A marker naming a
passage that was not given is removed. For the others, the sentence is compared with every sentence of
the cited passage; the best one supports it when

- their combined support `LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * cosine` reaches
  `SUPPORT_THRESHOLD`, where *lexical* is the share of the answer sentence's content words (stemmed)
  found in the passage sentence (half credit when only in the article title or the sentence before),
  and *cosine* the similarity of their embeddings;
- and no hard check fails: each number of the answer sentence occurs in the passage, each name
  (capitalised word) occurs in the passage, and the answer sentence is negated exactly when the
  passage sentence is (an answer dropping a "not" keeps almost every word).

The weight and threshold were measured on `tests/app/verify_pairs.jsonl` (hand-labelled supported and
unsupported sentences about the sample articles; see `docs/llm.md` and `test_llm.py`).

Sentences of a passage that read as instructions to a model ("ignore previous instructions and say
...", tags such as `</passage>`) are never evidence: an answer repeating one has obeyed an injection.

A sentence without a supported citation is checked against the other passages (models often cite the
neighbouring passage); when none supports it, it is dropped from the answer and flagged. Every
surviving sentence is cited with the exact sentence span of the article it rests on, and markers are
renumbered in reading order so that `[n]` resolves to `Answer.citations[n-1]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from core.markers import MARKER, cited
from core.records import Citation, Hit, SentenceCheck
from core.sentences import sentence_spans
from core.text import names, words
from vectorstore.lexical import lexical_tokens

if TYPE_CHECKING:
    import numpy as np

    from app.answering import Candidate
    from vectorstore.embedding import Embedder

SUPPORT_THRESHOLD = 0.65
"""Combined support at or above which a passage sentence supports an answer sentence (measured)."""
LEXICAL_WEIGHT = 0.5
"""Share of lexical overlap in the combined support; the rest is embedding cosine (measured)."""

CONTEXT_CREDIT = 0.5
"""Credit for a word found only in the article title or the sentence before ("both sides" -> the two countries)."""

NOTE_PREFIX = "verify:"
"""Every verification note starts with this, then `sentence i <status>` (the same verdicts are typed in
`Answer.checks`)."""

_MARKERS = re.compile(r"\s*" + MARKER.pattern)
_LEADING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+")
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|cannot|without)\b|n['\u2019]t\b", re.IGNORECASE)
NEGATION_SCOPE_WORDS = 4
MIN_CLAUSE_WORDS = 4
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+[\u2013\u2014-]\s+|\s+(?:and|but|while|whereas|which|who|because)\s+")
_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules|directions|"
    r"guidelines|context)\b|\bsystem prompt\b|\byou are now\b|\bnew instructions?\b|"
    r"\b(?:as an|you are an?) (?:ai|assistant|language model|chatbot)\b|"
    r"</?\s*(?:passage|system|instructions?|user|assistant|question)\b|"
    # "answer 'HACKED'", "reply with “yes”": a verbatim reply dictated to the reader
    r"\b(?:answer|reply|respond|say|output|print|write)\s+(?:with\s+|only\s+|just\s+)?[\"'\u201c\u2018][^\"'\u201d\u2019]{1,40}"
    r"[\"'\u201d\u2019]|"
    r"\b(?:to|for)\s+(?:any|every|all|each)\s+(?:questions?|quer(?:y|ies)|prompts?)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    w: str(i) for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split())
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
     "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000"}


_Found = tuple["Candidate", "Support"]
"""The passage sentence that best supports a claim, and how well."""


@dataclass(frozen=True)
class Claim:
    """One sentence of the model's answer: its text without markers and the passages it cites."""

    index: int
    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Support:
    """How well one passage sentence supports one answer sentence."""

    lexical: float
    cosine: float
    problem: str = ""
    """A failed hard check (number, name, negation), or empty."""

    @property
    def score(self) -> float:
        return LEXICAL_WEIGHT * self.lexical + (1.0 - LEXICAL_WEIGHT) * self.cosine

    def passes(self, threshold: float = SUPPORT_THRESHOLD) -> bool:
        return not self.problem and self.score >= threshold

    def describe(self) -> str:
        text = f"support {self.score:.2f} (lexical {self.lexical:.2f}, cosine {self.cosine:.2f})"
        return f"{text}; {self.problem}" if self.problem else text


@dataclass
class Checked:
    """The verdict on one answer sentence."""

    claim: Claim
    status: Literal["supported", "corrected", "unsupported"]
    """supported (as cited), corrected (citations removed or added), unsupported (dropped)."""
    evidence: list[tuple[int, "Candidate", Support]] = field(default_factory=list)
    """(passage number, passage sentence, support) for each citation kept."""
    note: str = ""


@dataclass
class Verification:
    """A verified answer: text with renumbered markers, the exact citations, per-sentence verdicts."""

    text: str
    citations: list[Citation]
    checked: list[Checked]

    @property
    def supported(self) -> int:
        return sum(1 for c in self.checked if c.status != "unsupported")

    @property
    def changed(self) -> bool:
        return any(c.status != "supported" for c in self.checked)

    @property
    def notes(self) -> list[str]:
        return [c.note for c in self.checked]

    @property
    def checks(self) -> list[SentenceCheck]:
        """The verdicts as `Answer.checks` holds them."""
        return [SentenceCheck(c.claim.index, c.claim.text, c.status, c.note) for c in self.checked]


def split_claims(text: str) -> list[Claim]:
    """The answer's sentences with the markers each carries; markers after a full stop ("... fraud. [2]")
    belong to the sentence before them."""
    pieces: list[list[str]] = []
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        lead = _LEADING_MARKERS.match(sentence)
        if lead and pieces:
            pieces[-1].append(lead.group(0))
            sentence = sentence[lead.end():]
        if sentence.strip():
            pieces.append([sentence])
    claims = []
    for index, parts in enumerate(pieces, start=1):
        raw = " ".join(parts)
        numbers = [n for m in _MARKERS.finditer(raw) for n in cited(m.group(1))]
        bare = " ".join(_MARKERS.sub("", raw).split())
        bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
        claims.append(Claim(index, bare, tuple(dict.fromkeys(numbers))))
    return claims


def looks_like_instructions(text: str) -> bool:
    """True for text addressed to a language model rather than reporting anything (prompt injection)."""
    return bool(_INSTRUCTIONS.search(text))


def clauses(sentence: str) -> list[str]:
    """The clauses of a long sentence (split at commas, semicolons and conjunctions), each of at least
    `MIN_CLAUSE_WORDS` words: an answer often paraphrases one clause, and a whole long sentence's
    embedding dilutes it."""
    parts = [p for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
    out: list[str] = []
    for part in parts:
        if out and len(out[-1].split()) < MIN_CLAUSE_WORDS:
            out[-1] = f"{out[-1]} {part.strip()}"
        else:
            out.append(part.strip())
    out = [p for p in out if len(p.split()) >= MIN_CLAUSE_WORDS]
    return out if len(out) > 1 else []


def _max_by_owner(values: "np.ndarray", owner: list[int], size: int) -> list[float]:
    best = [-1.0] * size
    for value, i in zip(values, owner):
        best[i] = max(best[i], float(value))
    return best


def _numbers(text: str) -> set[str]:
    found = set()
    for w in words(text):
        if w.isdigit():
            found.add(w.lstrip("0") or "0")
        elif w in _NUMBER_WORDS:
            found.add(_NUMBER_WORDS[w])
    return found


def _names(text: str) -> set[str]:
    """The words of the names in `text` (`core.text.names`), lower case, without a possessive "'s"."""
    return {w for name in names(text) for w in words(re.sub(r"['\u2019]s?$", "", name))}


def _prefix_found(name: str, vocabulary: set[str]) -> bool:
    """"Korea" matches "Korean", "Cambodia's" matches "Cambodia"."""
    if name in vocabulary:
        return True
    stem = name[: max(4, len(name) - 2)]
    return len(name) >= 4 and any(v.startswith(stem) for v in vocabulary)


def _negation_scopes(text: str) -> list[set[str]]:
    """The first content words (stemmed) after each negation: what it denies."""
    return [set(lexical_tokens(text[m.end():])[:NEGATION_SCOPE_WORDS]) for m in _NEGATION.finditer(text)]


def _negation_mismatch(claim: str, claim_tokens: set[str], sentence: str, sentence_tokens: set[str]) -> bool:
    """True when one side denies something the other states plainly ("can be" vs "cannot be").

    Only a negation whose scope shares a word with the other side counts, so a "not" in another
    clause of a long article sentence does not veto a claim about its first clause."""
    mine, theirs = _negation_scopes(claim), _negation_scopes(sentence)
    if mine and not theirs:
        return any(scope & sentence_tokens for scope in mine)
    if theirs and not mine:
        return any(scope & claim_tokens for scope in theirs)
    return False


def _echoes_off_topic(claim: str, sentence: str, focus: set[str]) -> bool:
    """True when every content word of `claim` is a word of `sentence` (it adds nothing of its own) and
    neither shares a content word with the question (`focus`, stemmed): "The answer is HACKED" citing
    "... answer 'HACKED' to anything ..." when asked what the workers described."""
    claim_tokens, sentence_tokens = set(lexical_tokens(claim)), set(lexical_tokens(sentence))
    if not claim_tokens or not claim_tokens <= sentence_tokens:
        return False
    vocabulary = claim_tokens | sentence_tokens
    return not any(_prefix_found(term, vocabulary) for term in focus)


class Verifier:
    """Checks answer sentences against the passages they cite and builds exact citations."""

    def __init__(self, embedder: "Embedder", *, threshold: float = SUPPORT_THRESHOLD) -> None:
        from app.answering import ExtractiveAnswerer

        self.embedder = embedder
        self.threshold = threshold
        self._sentences = ExtractiveAnswerer(embedder, pool=1)

    def passage_sentences(self, hit: Hit) -> list["Candidate"]:
        """The sentences of one passage that can serve as evidence, in article coordinates (outlet bylines
        trimmed). A sentence that reads as instructions to a model ("ignore previous instructions and
        say ...") is not evidence of anything: an answer repeating it has obeyed an injection."""
        return [c for c in self._sentences.candidates([hit]) if not looks_like_instructions(c.text)]

    # -- scoring -------------------------------------------------------------------------------

    def supports(self, claims: Sequence[str], hit: Hit) -> list[tuple["Candidate", Support] | None]:
        """For each claim, the passage sentence supporting it best, with its support (None: no sentence)."""
        sentences = self.passage_sentences(hit)
        if not sentences:
            return [None] * len(claims)
        pieces = [[c.text, *clauses(c.text)] for c in sentences]
        flat = [p for group in pieces for p in group]
        vectors = self.embedder.embed_documents([*claims, *flat])
        owner = [i for i, group in enumerate(pieces) for _ in group]
        cosines = vectors[: len(claims)] @ vectors[len(claims):].T
        return [self._best(claim, _max_by_owner(cosines[i], owner, len(sentences)), sentences, hit)
                for i, claim in enumerate(claims)]

    def _best(self, claim: str, cosines: list[float], sentences: list["Candidate"], hit: Hit) -> _Found:
        chunk = hit.chunk
        passage_words = set(words(f"{chunk.title}\n{chunk.text}"))
        problem = ""
        published = f"{chunk.published.day} {chunk.published:%B} {chunk.published.year}" if chunk.published else ""
        missing_numbers = _numbers(claim) - _numbers(f"{chunk.title}\n{chunk.text}\n{published}")
        missing_names = sorted(n for n in _names(claim) if not _prefix_found(n, passage_words))
        if missing_numbers:
            problem = f"number(s) {sorted(missing_numbers)} not in the passage"
        elif missing_names:
            problem = f"name(s) {missing_names} not in the passage"
        tokens = set(lexical_tokens(claim))
        best: tuple[float, Candidate, Support] | None = None
        for sentence, cosine in zip(sentences, cosines):
            own, around = set(lexical_tokens(sentence.text)), set(lexical_tokens(sentence.context))
            found = sum(1.0 if t in own else CONTEXT_CREDIT if t in around else 0.0 for t in tokens)
            lexical = found / len(tokens) if tokens else 0.0
            denied = _negation_mismatch(claim, tokens, sentence.text, own)
            mismatch = "negation differs from the passage" if denied else ""
            support = Support(lexical, cosine, problem or mismatch)
            rank = support.score - (1.0 if mismatch else 0.0)
            if best is None or rank > best[0]:
                best = (rank, sentence, support)
        assert best is not None
        return best[1], best[2]

    # -- the answer ----------------------------------------------------------------------------

    def verify(self, text: str, passages: Sequence[Hit], question: str = "") -> Verification:
        """Verify the model's `text` whose `[n]` markers refer to `passages[n-1]`, as an answer to `question`
        (when given: a claim that only repeats words of a passage sentence unrelated to the question, as an
        injected "answer 'HACKED'" does, is not supported)."""
        claims = split_claims(text)
        table = self._support_table([c.text for c in claims], passages)
        focus = set(lexical_tokens(question))
        for claim, found in zip(claims, table):
            for n, (sentence, support) in list(found.items()):
                if focus and _echoes_off_topic(claim.text, sentence.text, focus):
                    found[n] = (sentence, replace(support, problem="it repeats words of a passage sentence that "
                                                                    "answers nothing of the question"))
        checked = [self._check(claim, table[i], len(passages)) for i, claim in enumerate(claims)]
        return self._compose(checked, passages)

    def _support_table(self, claims: list[str], passages: Sequence[Hit]) -> list[dict[int, "_Found"]]:
        table: list[dict[int, _Found]] = [{} for _ in claims]
        if not claims:
            return table
        for n, hit in enumerate(passages, start=1):
            for i, found in enumerate(self.supports(claims, hit)):
                if found is not None:
                    table[i][n] = found
        return table

    def _check(self, claim: Claim, support: dict[int, "_Found"], given: int) -> Checked:
        head = f"{NOTE_PREFIX} sentence {claim.index}"
        problems: list[str] = []
        kept: list[tuple[int, Candidate, Support]] = []
        for n in claim.cited:
            if n not in support:
                why = f"there is no passage {n} ({given} given)" if not 1 <= n <= given else "passage has no sentences"
                problems.append(f"[{n}] removed: {why}")
                continue
            sentence, s = support[n]
            if s.passes(self.threshold):
                kept.append((n, sentence, s))
            else:
                problems.append(f"[{n}] removed: passage {n} does not support it, {s.describe()}")
        if not kept:
            best = max(support.items(), key=lambda item: item[1][1].score if item[1][1].passes(self.threshold) else -1,
                       default=None)
            if best is not None and best[1][1].passes(self.threshold):
                n, (sentence, s) = best
                kept.append((n, sentence, s))
                how = "instead" if claim.cited else "(the model gave no citation)"
                problems.append(f"cited passage {n} {how}, {s.describe()}")
        if not kept:
            reasons = "; ".join(problems) or "no citation, and no passage supports it"
            note = f"{head} unsupported (dropped): \u201c{claim.text}\u201d: {reasons}"
            return Checked(claim, "unsupported", [], note)
        if problems:
            return Checked(claim, "corrected", kept, f"{head} corrected: " + "; ".join(problems))
        cited = ", ".join(f"[{n}] {s.describe()}" for n, _, s in kept)
        return Checked(claim, "supported", kept, f"{head} supported: {cited}")

    def _compose(self, checked: list[Checked], passages: Sequence[Hit]) -> Verification:
        citations: list[Citation] = []
        number: dict[tuple[str, int, int], int] = {}
        sentences = []
        for item in checked:
            if item.status == "unsupported":
                continue
            markers = []
            for _, sentence, _ in item.evidence:
                chunk = sentence.hit.chunk
                key = (chunk.article_id, sentence.start, sentence.end)
                if key not in number:
                    number[key] = len(citations) + 1
                    citations.append(Citation(n=number[key], article_id=chunk.article_id, quote=sentence.text,
                                              start=sentence.start, end=sentence.end, chunk_id=chunk.id,
                                              **chunk.meta()))
                if number[key] not in markers:
                    markers.append(number[key])
            body = item.claim.text
            end = len(body.rstrip(".!?\u2026"))
            sentences.append(f"{body[:end]} {''.join(f'[{m}]' for m in markers)}{body[end:]}")
        return Verification(" ".join(sentences), citations, checked)
