"""The assistant: one object wiring store, retrieval and an answerer, built in one plain function."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from app.answering import Answerer, answer_pieces, make_answerer
from app.conversation import Turn, condense, trim_history
from app.retrieval import Filters, Recency, Retriever
from app.stories import disagreements, with_copies
from app.timeframe import TimeReading, describe_window, read_time
from app.timeline import read_request, tell
from app.version_notes import version_notes
from core.errors import NewsdeskError
from core.records import Answer, Hit, SearchWindow
from core.settings import Settings
from core.text import strip_unprintable

if TYPE_CHECKING:
    from vectorstore.embedding import Embedder
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000

EMPTY_STORE = (
    "No articles have been ingested yet, so there is nothing to answer from. Add some with "
    "`python -m ingest PATH_OR_URL` (files, folders, URLs, --feed, --jsonl) or in the Library tab."
)


class QuestionError(NewsdeskError):
    """The question itself cannot be answered as given (empty, too long)."""


@dataclass
class Assistant:
    """Answers questions about the stored articles."""

    settings: Settings
    store: "ArticleStore"
    embedder: "Embedder"
    lexical: "LexicalIndex"
    retriever: Retriever
    answerer: Answerer

    def ask(
        self, question: str, *, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None,
        as_of: date | None = None, timeline: bool = False, since_last: date | None = None,
    ) -> Answer:
        """Answer `question` (a follow-up is read in the light of `history`), as of `as_of` (default today);
        `timeline`/`since_last`: as a timeline, or what is new since that day (`app.timeline`)."""
        final = None
        for event in self.stream(question, history=history, filters=filters, k=k, as_of=as_of, timeline=timeline,
                                 since_last=since_last):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self, question: str, *, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None,
        as_of: date | None = None, timeline: bool = False, since_last: date | None = None,
    ) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the complete `Answer` last.

        An answerer with its own `stream(question, hits)` (an LLM) streams tokens; others yield
        their answer a sentence at a time. `as_of`: only articles published on or before that day are
        used, and the question's time words ("last week", "latest") are read relative to it (default:
        today, without limiting the articles).
        """
        question = check_question(question)
        started = time.perf_counter()
        recent = trim_history(history, self.settings.history_tokens)
        rewrite = getattr(self.answerer, "condense", None)  # an LLM answerer rewrites follow-ups itself
        standalone = rewrite(question, recent) if rewrite is not None else condense(question, recent)
        story = read_request(standalone, as_of or date.today(), timeline=timeline, since_last=since_last)
        plan = search_plan(story.topic if story else standalone, filters, as_of, self.settings)
        if self.lexical.size == 0:
            yield EMPTY_STORE
            yield Answer(question=question, text=EMPTY_STORE, abstained=True, standalone_question=standalone,
                         mode=self.answerer.name, notes=["empty store"], empty_store=True, window=plan.window)
            return
        if story is not None:  # a story over time: dated events, told extractively whatever the answerer
            answer, searched = tell(self, story, plan, k)
            yield from answer_pieces(answer.text)
            yield _finished(answer, question, standalone, plan, searched, started, started)
            return
        retrieval = self.retriever.search(plan.query, k=k, filters=plan.filters, recency=plan.recency)
        answered = time.perf_counter()
        answer = None
        streaming = getattr(self.answerer, "stream", None)
        if plan.wider is not None:  # the question's past window may hold no report: answer it whole first
            wider = plan.wider

            def later() -> Sequence[Hit]:
                nonlocal retrieval
                retrieval = self.retriever.search(wider.query, k=k, filters=wider.filters, recency=wider.recency)
                return retrieval.hits

            answer, widened = answer_widening(self.answerer, standalone if streaming else plan.query,
                                              retrieval.hits, later)
            plan = wider if widened else plan
            yield from answer_pieces(answer.text)
        elif streaming is not None:
            for event in streaming(standalone, retrieval.hits):
                if isinstance(event, Answer):
                    answer = event
                else:
                    yield event
        else:
            answer = self.answerer.answer(plan.query, retrieval.hits)  # an LLM reads the time words itself
            yield from answer_pieces(answer.text)
        assert answer is not None, "an answerer's stream must end with its Answer"
        with_copies(answer, retrieval.hits)
        extra = disagreements(answer, self.store)
        if extra:
            yield extra
        answer.changed = version_notes(self.store, answer)  # cited sentences an update changed
        answer.notes.extend(answer.changed)
        yield _finished(answer, question, standalone, plan, retrieval.timings, answered, started)


def answer_widening(answerer: Answerer, question: str, hits: Sequence[Hit],
                    later: Callable[[], Sequence[Hit]] | None) -> tuple[Answer, bool]:
    """The answer from `hits`, or, when the answerer refuses them and `later` is given, from the hits `later`
    retrieves (the question's past window with its end moved to the as-of day: "on January 6, 2021" reads as
    the day's articles, but a report of that day's events may come months later); True when it came from
    those. When the wider search cannot answer either, its refusal is the answer: it is the search that was
    made last, and its closest passages include the window's."""
    answer = answerer.answer(question, hits)
    if not answer.abstained or later is None:
        return answer, False
    return answerer.answer(question, later()), True


def _finished(answer: Answer, question: str, standalone: str, plan: "SearchPlan", searched: dict[str, float],
              answered: float, started: float) -> Answer:
    """`answer` with the question as asked, what was searched, and how long each stage took."""
    answer.question, answer.standalone_question, answer.window = question, standalone, plan.window
    if plan.note:
        answer.notes.append(plan.note)
    answer.timings = dict(searched, answer=time.perf_counter() - answered, total=time.perf_counter() - started)
    return answer


@dataclass(frozen=True)
class SearchPlan:
    """What one question is searched in: the filters, the recency decay, and how the answer reports it."""

    filters: Filters
    recency: Recency | None
    window: SearchWindow
    note: str = ""
    """The window in words for the answer's notes ("" when nothing limited the search)."""
    query: str = ""
    """The question without its time phrase, once that has become the window: what is searched and
    matched ("last week" would otherwise favour sentences that say "last week")."""
    wider: "SearchPlan | None" = None
    """When the question's own words set a window that closes before the as-of day: the same search with
    its end moved to the as-of day (or the user's own end date), used when nothing in the window answers."""


def search_plan(question: str, filters: Filters | None, as_of: date | None, settings: Settings) -> SearchPlan:
    """The user's filters, narrowed by the dates the question names ("last week", "in October", read against
    `as_of`, default today) and by `as_of` itself (articles published after it are left out; undated ones
    are kept, since they cannot be placed in time, unless a window of dates was asked for); a recency decay
    when the question asks about the current state, or for every question asked as of a date when
    `settings.as_of_half_life_days` is set."""
    filters = filters or Filters()
    reference = as_of or date.today()
    reading = read_time(question, reference) if settings.time_words else TimeReading()
    since = max(filter(None, (filters.since, reading.since)), default=None)
    until = min(filter(None, (filters.until, reading.until, as_of)), default=None)
    dated_only = filters.until is not None or reading.until is not None or reading.since is not None
    narrowed = replace(filters, since=since, until=until, undated=until is not None and not dated_only,
                       as_of=as_of)
    half_life = settings.recency_half_life_days if reading.current else (
        settings.as_of_half_life_days if as_of else None)
    recency = Recency(reference, half_life, settings.recency_floor) if half_life else None
    window = SearchWindow(since=since, until=until, outlets=filters.hosts, as_of=as_of, phrase=reading.phrase,
                          recency=recency is not None, undated=narrowed.undated)
    query = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(question.replace(reading.phrase, " ").split())) \
        if reading.phrase else question
    plan = SearchPlan(narrowed, recency, window, describe_search(window), query or question)
    end = min(filter(None, (filters.until, as_of)), default=None)
    if reading.until is None or reading.until >= reference or (end is not None and until is not None and end <= until):
        return plan
    wider_window = replace(window, until=end, widened_from=until)
    return replace(plan, wider=replace(plan, filters=replace(narrowed, until=end), window=wider_window,
                                       note=describe_search(wider_window)))


def describe_search(window: SearchWindow) -> str:
    """The search window in words: "Searched articles published 27 Oct – 2 Nov 2025 (“last week”), as of
    4 Nov 2025; newer articles first." ("" when nothing limited or reordered the search). A window widened to
    later reports says so first: "Nothing published 4 Nov – 5 Nov 2025 (“on November 4, 2025”) answers this,
    so later reports were searched too: articles published 4 Nov – 20 Nov 2025; …"."""
    if not (window.since or window.until or window.recency or window.as_of):
        return ""
    if window.widened_from:
        said = f" (\u201c{window.phrase}\u201d)" if window.phrase else ""
        return (f"Nothing published {describe_window(window.since, window.widened_from)}{said} answers this, so "
                f"later reports were searched too: "
                + describe_search(replace(window, phrase="", widened_from=None)).removeprefix("Searched "))
    if window.since or window.until:
        words = f"Searched articles published {describe_window(window.since, window.until)}"
        if window.phrase:
            words += f" (\u201c{window.phrase}\u201d)"
    else:
        words = "Searched all articles"
    if window.as_of and window.as_of != window.until:
        words += f", as of {describe_window(window.as_of, window.as_of)}"
    if window.undated:
        words += "; undated articles included"
    elif window.since or window.until:
        words += "; undated articles left out"
    if window.recency:
        words += "; newer articles first"
    return words + "."


def check_question(question: str) -> str:
    """The question on one line, without control characters or lone surrogates (half an emoji pasted from
    scraped text, which no tokenizer accepts); raises QuestionError when empty or too long."""
    question = " ".join(strip_unprintable(question or "").split())
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is too long ({len(question)} characters; the limit is "
                            f"{MAX_QUESTION_CHARS})")
    return question


def build_assistant(
    settings: Settings, *, store: "ArticleStore | None" = None, embedder: "Embedder | None" = None,
    answerer: Answerer | None = None,
) -> Assistant:
    """Wire the parts; tests pass real or fake parts through the same door."""
    from ingest.near_duplicates import NearDuplicates
    from vectorstore.embedding import Embedder
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    store = store or ArticleStore(settings)
    embedder = embedder or Embedder.from_settings(settings)
    lexical = LexicalIndex.for_store(store)
    retriever = Retriever(store, embedder, lexical, settings, copies=NearDuplicates.for_reading(settings))
    if answerer is None:
        extractive = {"embedder": embedder}
        if settings.abstain_threshold is not None:  # a threshold of one's own: abstain on the support alone
            extractive["threshold"] = settings.abstain_threshold
            extractive["abstention"] = None
        answerer = make_answerer("extractive", **extractive)
        if settings.llm != "extractive":
            import app.llm  # noqa: F401  (registers the LLM answerers)

            answerer = make_answerer(settings.llm, settings=settings, embedder=embedder, fallback=answerer)
    return Assistant(settings, store, embedder, lexical, retriever, answerer)
