"""LangChain's door: `NewsdeskRetriever`, a `BaseRetriever` over our hybrid retrieval, one `Document` a chunk.

    from app.langchain_retriever import NewsdeskRetriever

    retriever = NewsdeskRetriever.from_settings(k=4, since="2025-11-01", sources=["dnyxxg.com"])
    docs = retriever.invoke("What did Korea agree to with Cambodia?")   # or .invoke(q, k=2) for this call

Each `Document` is one retrieved chunk: `page_content` is the chunk's text, exactly
`article_text[start:end]`; `metadata` has article_id, chunk_id, title, url, source (the outlet),
published (YYYY-MM-DD or None), start, end, and the scores: `score` (fused), `dense_score` and
`lexical_score` (cosine similarity and BM25) with their 1-based ranks, None for a side that did not
find the chunk.

The class is defined when it is first used (PEP 562 `__getattr__`): importing this module does not import
langchain_core, so nothing that merely imports `app` pays for it (tests/test_architecture.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from app.retrieval import Filters

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from core.records import Hit

logger = logging.getLogger(__name__)

__all__ = ["NewsdeskRetriever", "hit_document", "make_filters"]


def _day(value: Any, name: str) -> date | None:
    """A filter date from a `date`, a `datetime` (its day) or a YYYY-MM-DD string; None or "" for none."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{name}: expected a date or a YYYY-MM-DD string, got {value!r}")


def _sources(value: Any) -> tuple[str, ...]:
    """Outlets from one name or host, or several; a blank or non-string entry is an error, not ignored
    (ignoring it would silently search every outlet)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        raise ValueError(f"sources: expected outlet hosts such as 'dnyxxg.com', got {value!r}")
    sources = tuple(value)
    bad = [s for s in sources if not isinstance(s, str) or not s.strip()]
    if bad:
        raise ValueError(f"sources: expected outlet hosts such as 'dnyxxg.com', got {bad!r}")
    return tuple(s.strip() for s in sources)


def make_filters(since: Any = None, until: Any = None, sources: Any = None) -> Filters:
    """The `Filters` of `python -m app ask --since --until --source`, checked; raises ValueError."""
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise ValueError(f"since ({first.isoformat()}) is after until ({last.isoformat()})")
    return Filters(since=first, until=last, sources=_sources(sources))


def _count(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected a whole number of documents, at least 1, got {k!r}")
    return k


def hit_document(hit: "Hit") -> "Document":
    """One retrieved chunk as a LangChain `Document`."""
    from langchain_core.documents import Document

    c = hit.chunk
    return Document(
        id=c.id,
        page_content=c.text,
        metadata={
            "article_id": c.article_id, "chunk_id": c.id, "title": c.title, "url": c.url, "source": c.source,
            "published": c.published.isoformat() if c.published else None, "start": c.start, "end": c.end,
            "score": hit.score, "dense_score": hit.dense_score, "lexical_score": hit.lexical_score,
            "dense_rank": hit.dense_rank, "lexical_rank": hit.lexical_rank,
        },
    )


def _define() -> type:
    try:
        from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
        from langchain_core.retrievers import BaseRetriever
        from langchain_core.runnables.config import run_in_executor
        from pydantic import Field, InstanceOf, field_validator, model_validator
    except ImportError as e:
        raise ImportError("NewsdeskRetriever needs langchain-core: pip install -r requirements.txt") from e

    from app.assistant import Assistant, build_assistant, check_question
    from core.settings import Settings

    class NewsdeskRetriever(BaseRetriever):
        """Newsdesk's hybrid retrieval (dense + BM25, fused) as a LangChain retriever.

        Fields:
            assistant: the `Assistant` whose store and retrieval to use (`build_assistant(settings)`,
                or `NewsdeskRetriever.from_settings`).
            k: how many chunks to return (default: the assistant's `settings.top_k`); at most
                `max_chunks_per_article` come from one article, so fewer may come back.
            since, until: only articles published on or after / on or before these days
                (`date` or "YYYY-MM-DD"); an undated article is left out when `until` is set.
            sources: only these outlets (hosts such as "dnyxxg.com", or the outlet as articles name it).

        `invoke(query, k=..., since=..., until=..., sources=...)` overrides any of these for one call
        (None keeps the field's value). Bad values raise ValueError; an empty or over-long query raises
        `QuestionError`, as `Assistant.ask` does.
        """

        assistant: InstanceOf[Assistant] = Field(repr=False)
        k: int | None = Field(default=None, ge=1)
        since: date | None = None
        until: date | None = None
        sources: tuple[str, ...] = ()

        @field_validator("since", "until", mode="before")
        @classmethod
        def _check_day(cls, value: Any, info: Any) -> date | None:
            return _day(value, info.field_name)

        @field_validator("sources", mode="before")
        @classmethod
        def _check_sources(cls, value: Any) -> tuple[str, ...]:
            return _sources(value)

        @model_validator(mode="after")
        def _complete(self) -> "NewsdeskRetriever":
            make_filters(self.since, self.until, self.sources)  # the order of since and until
            if self.k is None:
                self.k = self.assistant.settings.top_k
            return self

        @classmethod
        def from_settings(cls, settings: Settings | None = None, **fields: Any) -> "NewsdeskRetriever":
            """A retriever over the store `settings` name (default: `Settings()`, from NEWSDESK_* and .env);
            `fields` are the retriever's (k, since, until, sources, tags, metadata)."""
            return cls(assistant=build_assistant(settings or Settings()), **fields)

        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None,
            since: date | str | None = None, until: date | str | None = None,
            sources: str | Iterable[str] | None = None,
        ) -> list[Document]:
            question = check_question(query)
            filters = make_filters(self.since if since is None else since, self.until if until is None else until,
                                   self.sources if sources is None else sources)
            count = _count(self.k if k is None else k)
            if self.assistant.lexical.size == 0:
                logger.info("the store is empty: no documents for %r", question)
                return []
            retrieval = self.assistant.retriever.search(question, k=count, filters=filters)
            return [hit_document(h) for h in retrieval.hits]

        async def _aget_relevant_documents(
            self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None,
            since: date | str | None = None, until: date | str | None = None,
            sources: str | Iterable[str] | None = None,
        ) -> list[Document]:
            # BaseRetriever's default runs the sync search in an executor too, but drops the per-call keywords.
            return await run_in_executor(
                None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k, since=since,
                until=until, sources=sources,
            )

    NewsdeskRetriever.__qualname__ = "NewsdeskRetriever"
    return NewsdeskRetriever


def __getattr__(name: str) -> Any:
    if name == "NewsdeskRetriever":
        cls = _define()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:  # what type checkers see; at run time the class comes from `_define`
    from langchain_core.retrievers import BaseRetriever

    class NewsdeskRetriever(BaseRetriever):
        assistant: Any
        k: int | None
        since: date | None
        until: date | None
        sources: tuple[str, ...]

        @classmethod
        def from_settings(cls, settings: Any = None, **fields: Any) -> "NewsdeskRetriever": ...
