"""The assistant: one object wiring store, retrieval and an answerer, built in one plain function."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.answering import Answerer, answer_pieces, make_answerer
from app.conversation import Turn, condense, trim_history
from app.retrieval import Filters, Retriever
from core.errors import NewsdeskError
from core.records import Answer, SearchWindow
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
        self, question: str, *, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Answer:
        """Answer `question` (a follow-up is read in the light of `history`)."""
        final = None
        for event in self.stream(question, history=history, filters=filters, k=k):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self, question: str, *, history: Sequence[Turn] = (), filters: Filters | None = None, k: int | None = None
    ) -> Iterator[str | Answer]:
        """Yield pieces of answer text as they are produced, then the complete `Answer` last.

        An answerer with its own `stream(question, hits)` (an LLM) streams tokens; others yield
        their answer a sentence at a time.
        """
        question = check_question(question)
        started = time.perf_counter()
        recent = trim_history(history, self.settings.history_tokens)
        rewrite = getattr(self.answerer, "condense", None)  # an LLM answerer rewrites follow-ups itself
        standalone = rewrite(question, recent) if rewrite is not None else condense(question, recent)
        if self.lexical.size == 0:
            yield EMPTY_STORE
            yield Answer(question=question, text=EMPTY_STORE, abstained=True, standalone_question=standalone,
                         mode=self.answerer.name, notes=["empty store"], empty_store=True, window=window(filters))
            return
        retrieval = self.retriever.search(standalone, k=k, filters=filters)
        answered = time.perf_counter()
        answer = None
        streaming = getattr(self.answerer, "stream", None)
        if streaming is not None:
            for event in streaming(standalone, retrieval.hits):
                if isinstance(event, Answer):
                    answer = event
                else:
                    yield event
        else:
            answer = self.answerer.answer(standalone, retrieval.hits)
            yield from answer_pieces(answer.text)
        assert answer is not None, "an answerer's stream must end with its Answer"
        answer.question, answer.standalone_question, answer.window = question, standalone, window(filters)
        answer.timings = dict(retrieval.timings, answer=time.perf_counter() - answered,
                              total=time.perf_counter() - started)
        yield answer


def window(filters: Filters | None) -> SearchWindow:
    """The search window an answer reports for `filters`."""
    if filters is None:
        return SearchWindow()
    return SearchWindow(since=filters.since, until=filters.until, outlets=filters.hosts)


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
    from vectorstore.embedding import Embedder
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    store = store or ArticleStore(settings)
    embedder = embedder or Embedder.from_settings(settings)
    lexical = LexicalIndex.for_store(store)
    retriever = Retriever(store, embedder, lexical, settings)
    if answerer is None:
        extractive = {"embedder": embedder}
        if settings.abstain_threshold is not None:
            extractive["threshold"] = settings.abstain_threshold
        answerer = make_answerer("extractive", **extractive)
        if settings.llm != "extractive":
            import app.llm  # noqa: F401  (registers the LLM answerers)

            answerer = make_answerer(settings.llm, settings=settings, embedder=embedder, fallback=answerer)
    return Assistant(settings, store, embedder, lexical, retriever, answerer)
