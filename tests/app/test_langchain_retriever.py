"""NewsdeskRetriever: LangChain's own standard retriever tests, then what a user of it notices, on real stores
(the real model, real Chroma on tmp_path)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_tests.integration_tests import RetrieversIntegrationTests

from app.assistant import QuestionError
from app.langchain_retriever import NewsdeskRetriever
from tests.conftest import SEED, SEED_TITLE

pytestmark = pytest.mark.slow

QUESTION = "What did Korea agree to with Cambodia?"
SEED_OUTLET = "Southeast Asia Information Port News (www.dnyxxg.com)"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """The suite's one async test runs on asyncio (LangChain runs sync retrievers in its executor)."""
    return "asyncio"


class TestNewsdeskRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's standard suite, run as it is, against the sample corpus."""

    # Its async test has no marker of its own: anyio's pytest plugin runs the async tests of a class marked
    # `anyio` and leaves the others alone (a class-wide `asyncio` mark would warn on each sync test).
    pytestmark = pytest.mark.anyio

    @pytest.fixture(autouse=True)
    def _sample(self, sample_assistant) -> None:
        # The suite builds retrievers from `retriever_constructor_params` alone; the store is a fixture.
        self.assistant = sample_assistant

    @property
    def retriever_constructor(self) -> type[NewsdeskRetriever]:
        return NewsdeskRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"assistant": self.assistant}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


# -- what a user notices ---------------------------------------------------------------------------------

def test_documents_carry_the_chunk_its_article_and_the_scores(sample_assistant, settings):
    from ingest.loaders import load_sources

    docs = NewsdeskRetriever(assistant=sample_assistant, k=5).invoke(QUESTION)
    assert 1 <= len(docs) <= 5
    loaded = next(item.article for item in load_sources([str(SEED)], settings))
    top = docs[0].metadata
    assert (top["article_id"], top["title"], top["source"], top["published"]) == (
        loaded.id, SEED_TITLE, SEED_OUTLET, "2025-11-04")
    # Offsets are characters of the cleaned article text, as loaded and as stored.
    seed_docs = [d for d in docs if d.metadata["article_id"] == loaded.id]
    assert all(loaded.text[d.metadata["start"]:d.metadata["end"]] == d.page_content for d in seed_docs)
    for d in docs:
        m = d.metadata
        stored = sample_assistant.store.article_text(m["article_id"])
        assert stored is not None and stored[m["start"]:m["end"]] == d.page_content
        assert d.id == m["chunk_id"] and m["url"] == ""  # files have no URL; their id is file://
        assert m["dense_score"] is not None or m["lexical_score"] is not None
        assert (m["dense_rank"] is None) == (m["dense_score"] is None)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert set(top) == {"article_id", "chunk_id", "title", "url", "source", "published", "start", "end", "score",
                        "dense_score", "lexical_score", "dense_rank", "lexical_rank"}


def test_k_defaults_to_the_settings_and_a_call_overrides_it(sample_assistant):
    retriever = NewsdeskRetriever(assistant=sample_assistant)
    assert retriever.k == sample_assistant.settings.top_k
    assert len(retriever.invoke(QUESTION)) > 2
    assert len(retriever.invoke(QUESTION, k=2)) == 2
    assert retriever.k == sample_assistant.settings.top_k  # the call changed nothing
    assert len(asyncio.run(retriever.ainvoke(QUESTION, k=1))) == 1


ARTICLES = {
    "laos-raid.txt": """Police in Laos raid a scam compound in the Golden Triangle zone

2025-03-10

Mekong Ledger Test (www.mekongledger.test) – Lao police raided a scam compound in the Golden Triangle \
special economic zone on Monday and rescued 160 workers who said they had been forced to run romance \
scams on social media.

Officers seized phones and laptops used to contact victims abroad.
""",
    "myanmar-deportations.txt": """Myanmar deports hundreds of workers from a border scam compound

2025-07-02

Andaman Wire Test (www.andamanwire.test) – Authorities in Myanmar deported 420 foreign workers found \
in a scam compound near the Thai border, handing them to Thai officials at a bridge crossing.

Many of the workers said recruiters had promised them jobs in customer service.
""",
    "vietnam-apps.txt": """Vietnam shuts fake investment apps run from a scam compound abroad

2025-10-20

Saigon Morning Test (www.saigonmorning.test) – Vietnam's ministry of public security shut down 35 fake \
investment apps that it said were operated by workers in a scam compound abroad.

The ministry told citizens to check an app's licence before depositing money.
""",
}
"""Three short articles written for these tests: one outlet and one month each."""

ABOUT = "workers in a scam compound"


@pytest.fixture(scope="module")
def outlets_assistant(tmp_path_factory, embedder):
    from app.assistant import build_assistant
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    root = tmp_path_factory.mktemp("outlets")
    folder = root / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(store_dir=root / "store", collection="outlets", _env_file=None)
    report = Ingestor.from_settings(settings, embedder=embedder).run(load_sources([str(folder)], settings))
    assert report.failed == 0 and report.added == 3, report.errors
    return build_assistant(settings, embedder=embedder)


def _files(docs: list[Document]) -> set[str]:
    return {Path(d.metadata["article_id"]).name for d in docs}


def test_every_article_is_found_without_filters(outlets_assistant):
    docs = NewsdeskRetriever(assistant=outlets_assistant).invoke(ABOUT)
    assert _files(docs) == set(ARTICLES)
    assert {d.metadata["published"] for d in docs} == {"2025-03-10", "2025-07-02", "2025-10-20"}


@pytest.mark.parametrize(("filters", "expected"), [
    ({"sources": ["mekongledger.test"]}, {"laos-raid.txt"}),
    ({"sources": "www.andamanwire.test"}, {"myanmar-deportations.txt"}),
    ({"sources": ["Saigon Morning Test (www.saigonmorning.test)", "mekongledger.test"]},
     {"vietnam-apps.txt", "laos-raid.txt"}),
    ({"since": "2025-07-02"}, {"myanmar-deportations.txt", "vietnam-apps.txt"}),
    ({"until": "2025-07-01"}, {"laos-raid.txt"}),
    ({"since": "2025-04-01", "until": "2025-08-31"}, {"myanmar-deportations.txt"}),
    ({"since": "2025-11-01"}, set()),
    ({"sources": ["dnyxxg.com"]}, set()),
])
def test_filters_leave_out_the_other_articles(outlets_assistant, filters, expected):
    assert _files(NewsdeskRetriever(assistant=outlets_assistant, **filters).invoke(ABOUT)) == expected
    # The same filters given for one call, to a retriever without any.
    assert _files(NewsdeskRetriever(assistant=outlets_assistant).invoke(ABOUT, **filters)) == expected


def test_a_call_overrides_the_retrievers_own_filters(outlets_assistant):
    retriever = NewsdeskRetriever(assistant=outlets_assistant, sources=["mekongledger.test"])
    assert _files(retriever.invoke(ABOUT, sources=["andamanwire.test"])) == {"myanmar-deportations.txt"}
    assert _files(retriever.invoke(ABOUT, since="2025-06-01")) == set()  # the outlet filter still holds


@pytest.mark.parametrize(("fields", "message"), [
    ({"since": "last week"}, "since: expected a date"),
    ({"until": "2025-13-01"}, "until: expected a date"),
    ({"since": "2025-10-01", "until": "2025-09-01"}, "since .2025-10-01. is after until .2025-09-01."),
    ({"sources": ["dnyxxg.com", " "]}, "sources: expected outlet hosts"),
    ({"k": 0}, "greater than or equal to 1"),
])
def test_bad_filters_are_a_clear_value_error(outlets_assistant, fields, message):
    with pytest.raises(ValueError, match=message):
        NewsdeskRetriever(assistant=outlets_assistant, **fields)


def test_bad_filters_for_one_call_are_a_clear_value_error(outlets_assistant):
    retriever = NewsdeskRetriever(assistant=outlets_assistant, since="2025-05-01")
    with pytest.raises(ValueError, match="after until"):
        retriever.invoke(ABOUT, until="2025-04-01")
    with pytest.raises(ValueError, match="k: expected a whole number"):
        retriever.invoke(ABOUT, k=0)
    with pytest.raises(ValueError, match="until: expected a date"):
        retriever.invoke(ABOUT, until="soon")
    with pytest.raises(QuestionError, match="empty"):
        retriever.invoke("  ")


def _format_docs(docs: list[Document]) -> str:
    return "\n\n".join(f"[{n}] {d.metadata['title']} ({d.metadata['source']}, {d.metadata['published']})\n"
                       f"{d.page_content}" for n, d in enumerate(docs, start=1))


def test_the_retriever_works_inside_an_lcel_chain(sample_assistant):
    prompt = PromptTemplate.from_template("Answer from these passages.\n\n{context}\n\nQuestion: {question}")
    retriever = NewsdeskRetriever(assistant=sample_assistant, k=2, sources=["dnyxxg.com"])
    chain = {"context": retriever | RunnableLambda(_format_docs), "question": RunnablePassthrough()} | prompt
    text = chain.invoke(QUESTION).to_string()
    assert text.startswith("Answer from these passages.\n\n[1] " + SEED_TITLE + f" ({SEED_OUTLET}, 2025-11-04)")
    assert "[2] " in text and "[3] " not in text and text.endswith(f"Question: {QUESTION}")
    assert "joint special task force" in text or "working group" in text
    # Batched, and with k bound in the chain rather than on the retriever.
    many = (retriever.bind(k=1) | RunnableLambda(_format_docs)).batch([QUESTION, "Who met in Phnom Penh?"])
    assert len(many) == 2 and all(t.startswith("[1] ") and "[2] " not in t for t in many)


def test_an_empty_store_gives_no_documents(settings):
    retriever = NewsdeskRetriever.from_settings(settings, k=3)
    assert retriever.k == 3
    assert retriever.invoke(QUESTION) == []
    assert asyncio.run(retriever.ainvoke(QUESTION, since="2025-01-01")) == []
