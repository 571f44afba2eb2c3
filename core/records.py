"""Plain records passed between pipeline stages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal

from core.sentences import Sentence


def content_hash(text: str) -> str:
    """Stable hash of an article's cleaned text (hex sha256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def date_to_int(value: date | None) -> int:
    """Dates as YYYYMMDD integers so Chroma can filter ranges; 0 when unknown."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0


@dataclass(frozen=True, kw_only=True)
class ArticleMeta:
    """What every record of an article carries about it: `Article`, `ArticleInfo`, `StoredChunk` and
    `Citation` share these fields, so they pass from one record to the next in one step (`meta()`)."""

    title: str = ""
    url: str = ""
    source: str = ""
    """The outlet, as the article names it ("Southeast Asia Information Port News (www.dnyxxg.com)")."""
    published: date | None = None

    def meta(self) -> dict[str, Any]:
        """These fields by name, to build another record of the same article: `Citation(..., **chunk.meta())`."""
        return {f.name: getattr(self, f.name) for f in fields(ArticleMeta)}


@dataclass(frozen=True)
class Article(ArticleMeta):
    """One cleaned article. `id` is the canonical URL when known, else `file://` + normalised path."""

    id: str
    text: str
    author: str = ""
    origin: str = ""
    """Where it was loaded from: a file path (for --prune), a feed or a URL."""
    updated: date | None = None
    """The date the article says it was last updated ("Updated: 2025-11-20", article:modified_time), if any:
    when this text replaced an earlier version of it (`core.versions`). Not part of the content hash."""

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned slice of an article: `article.text[start:end] == text`."""

    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    sentences: tuple[Sentence, ...] = ()
    """Its sentences in article coordinates, as `core.sentences` cut the article (or parts of one too long
    for the embedding model)."""


@dataclass(frozen=True)
class ArticleInfo(ArticleMeta):
    """What the store knows about an ingested article, without its chunks."""

    id: str
    content_hash: str
    chunks: int
    origin: str = ""
    author: str = ""


@dataclass(frozen=True)
class StoredChunk(ArticleMeta):
    """A chunk as read back from the store, with its article's metadata."""

    id: str
    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    content_hash: str = ""
    host: str = ""
    sentence_vectors: str = field(default="", repr=False, compare=False)
    """The vectors of `sentences`, packed (`vectorstore.embedding.pack_vectors`); "" if not stored."""
    sentences: tuple[Sentence, ...] = field(default=(), repr=False, compare=False)
    """The chunk's sentences as ingest cut them, in article coordinates; () for a chunk stored before
    they were (the answerer then cuts `text` itself)."""


@dataclass(frozen=True)
class Copy:
    """Another article of the same story: a syndicated or lightly edited copy (`ingest.near_duplicates`)."""

    article_id: str
    source: str = ""
    published: date | None = None


def also_reported(copies: "tuple[Copy, ...] | list[Copy]") -> str:
    """"also reported by OUTLET, OUTLET (n copies)", or "" when there are none."""
    if not copies:
        return ""
    outlets = ", ".join(dict.fromkeys(c.source or "(unknown outlet)" for c in copies))
    n = len(copies)
    return f"also reported by {outlets} ({n} {'copy' if n == 1 else 'copies'})"


@dataclass
class Hit:
    """A retrieved chunk with its scores (ranks are 1-based; None when the side did not find it)."""

    chunk: StoredChunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float | None = None
    lexical_score: float | None = None
    recency: float = 1.0
    """How current the article is for a question about the current state: the recency decay's weight,
    1.0 for the newest article found (and for every article when there is no decay)."""
    copies: tuple[Copy, ...] = ()
    """The story's other articles, folded into this hit so that copies do not fill the top k."""


@dataclass(frozen=True)
class Citation(ArticleMeta):
    """Citation [n]: the exact sentence `quote == article.text[start:end]`."""

    n: int
    article_id: str
    quote: str
    start: int
    end: int
    chunk_id: str = ""
    copies: tuple[Copy, ...] = field(default=(), compare=False)
    """Other outlets' copies of the cited article ("also reported by ...")."""


@dataclass(frozen=True)
class ShortAnswer:
    """The answer in a phrase (a name, a date, a place, a number), an exact span of the sentence citation `n`
    quotes: `article.text[start:end] == text`."""

    n: int
    article_id: str
    text: str
    start: int
    end: int
    kind: str
    """What the question asked for: "person", "organisation", "place", "date", "number", "reason", ..."""
    reads_as: str = ""
    """An editor's addition beside the phrase, when the phrase says the answer in another form: the country of
    a people-word ("Ukraine" for "Ukrainian" in "Ukrainian first lady ..."). Shown in brackets, styled as an
    addition; `text` stays the exact span."""


@dataclass(frozen=True)
class Referent:
    """An editor's addition to a quote: what "he" or "both sides" stands for, from the same article. It is
    shown in square brackets after `offset` characters of citation `n`'s quote, which itself stays exact."""

    n: int
    offset: int
    text: str


@dataclass(frozen=True)
class Disagreement:
    """Copies of one story that state different numbers (or names) in the same sentence: each value with
    the citation that says it, so the answer shows both instead of picking one."""

    kind: Literal["number", "name"]
    values: tuple[tuple[str, int], ...]
    """(what one source says, the citation number of its sentence), the cited answer's own first."""


@dataclass(frozen=True)
class SearchWindow:
    """What retrieval was limited to for an answer: published dates (inclusive) and outlets (hosts)."""

    since: date | None = None
    until: date | None = None
    outlets: tuple[str, ...] = ()
    as_of: date | None = None
    """The day the question was asked as of: articles published after it were not used."""
    phrase: str = ""
    """The question's own words the dates were read from ("last week"), "" when they came from filters."""
    recency: bool = False
    """Newer articles ranked higher (the question asked about the current state)."""
    undated: bool = False
    """Undated articles were searched too (they cannot be placed in time, so an as-of date keeps them)."""
    widened_from: date | None = None
    """The end of the window the question's own words set, when nothing published in it answered and the
    search went on to later reports (up to `until`); None when the window was searched as read."""


@dataclass(frozen=True)
class SentenceCheck:
    """The verifier's verdict on one sentence of an LLM's answer (`app.verify`)."""

    index: int
    text: str
    status: Literal["supported", "corrected", "unsupported"]
    """supported as cited; corrected (citations removed or added); unsupported (dropped from the answer)."""
    note: str = ""


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a timeline (`app.timeline`): its day, whether the sentence states that day or it is the
    article's publication day, the sentence, and the numbers of every citation reporting it."""

    day: date | None
    date_source: Literal["stated", "article"]
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True)
class Timeline:
    """An answer told as dated events, oldest first: a timeline of a topic, or what is new on it `since` a day."""

    kind: Literal["timeline", "since"]
    topic: str
    events: tuple[TimelineEvent, ...] = ()
    since: date | None = None
    note: str = ""
    """How the events were dated and what became of undated articles, in words."""


@dataclass
class Answer:
    """An answer whose sentences end with [n] markers resolving to `citations`.

    The typed fields say what happened; `notes` says it again in words, for people."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    standalone_question: str = ""
    hits: list[Hit] = field(default_factory=list)
    mode: str = "extractive"
    """The answerer and its outcome: "extractive", "openai+verified", "openai+corrected",
    "extractive-fallback" (`app.llm`)."""
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    empty_store: bool = False
    """Nothing has been ingested: the text says how to add articles."""
    fallback_reason: str = ""
    """Why an LLM's answer was replaced by the extractive one ("" when it was not)."""
    checks: list[SentenceCheck] = field(default_factory=list)
    """The verifier's verdict on each sentence of an LLM's answer (empty for an extractive one)."""
    window: SearchWindow = field(default_factory=SearchWindow)
    """What retrieval was limited to."""
    disagreements: list[Disagreement] = field(default_factory=list)
    """Where copies of a cited story disagree (their sentences are among `citations`)."""
    timeline: Timeline | None = None
    """The answer as dated events (a timeline or "what's new since"); None for a plain answer."""
    short_answer: ShortAnswer | None = None
    """The answer in a phrase, for who / when / where / how many / which questions (None otherwise)."""
    referents: list[Referent] = field(default_factory=list)
    """Bracketed additions in `text` saying who a quoted pronoun stands for (each also in the text)."""
    changed: list[str] = field(default_factory=list)
    """Cited sentences an update of their article changed or removed, said with both versions
    (`app.version_notes`); also in `notes`."""
