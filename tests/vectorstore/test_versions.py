"""The dates of an article's versions as the store keeps them, and what the history gives back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from tests.vectorstore.test_store_journal import _prepared
from vectorstore.store import CHUNK_TEXT, ArticleStore, chunk_text


def _version(article_id: str, text: str, **dates: date | None):
    p = _prepared(article_id, text)
    return replace(p, article=replace(p.article, **dates))


def test_an_update_without_a_stated_date_is_superseded_on_the_day_it_is_ingested(settings) -> None:
    store = ArticleStore(settings)
    store.write_articles([_prepared("a", "One fact. Two facts")])  # published 2 Jan 2025
    store.write_articles([_prepared("a", "One fact. Two facts. Three facts")])
    old, new = store.article_versions("a")
    assert (old.valid_from, old.superseded) == (date(2025, 1, 2), date.today())
    assert (new.valid_from, new.superseded) == (date.today(), None)


def test_stated_update_dates_chain_the_versions_and_the_history_keeps_the_stored_vectors(settings) -> None:
    store = ArticleStore(settings)
    first = _prepared("a", "One fact. Two facts")
    store.write_articles([first])
    store.write_articles([_version("a", "One fact. Two new facts", updated=date(2025, 2, 1))])
    store.write_articles([_version("a", "One fact. Two newer facts", updated=date(2025, 3, 1))])
    versions = store.article_versions("a")
    assert [(v.valid_from, v.superseded) for v in versions] == [
        (date(2025, 1, 2), date(2025, 2, 1)), (date(2025, 2, 1), date(2025, 3, 1)), (date(2025, 3, 1), None)]
    assert store.current_since(["a"]) == {"a": date(2025, 3, 1)}
    # The first version's chunks in the history are the ones stored, vectors and all.
    got = store.history.get(where={"content_hash": first.article.content_hash},
                            include=["embeddings", "documents", "metadatas"])
    texts = [chunk_text(d, m) for d, m in zip(got["documents"], got["metadatas"])]
    assert sorted(texts) == sorted(c.text for c in first.chunks)
    by_text = dict(zip(texts, got["embeddings"]))
    for chunk, vector in zip(first.chunks, first.embeddings):
        assert np.allclose(by_text[chunk.text], vector)
    # As of a day, the history search finds only the version current then.
    for day, text in ((date(2025, 1, 15), "Two facts"), (date(2025, 2, 15), "Two new facts")):
        found = store.history_search(np.asarray(first.embeddings[1]), 10, day)
        assert {c.text for c, _ in found} <= {"One fact", text} and text in {c.text for c, _ in found}
    assert store.history_search(np.asarray(first.embeddings[1]), 10, date(2025, 3, 15)) == []
    assert store.history_search(np.asarray(first.embeddings[1]), 10, date(2024, 12, 1)) == []


def test_an_unchanged_rewrite_keeps_no_history(settings) -> None:
    store = ArticleStore(settings)
    store.write_articles([_prepared("a", "One fact. Two facts")])
    store.write_articles([_prepared("a", "One fact. Two facts")])  # re-indexed: the same text
    assert len(store.article_versions("a")) == 1 and store.versions.count() == 0 and store.history.count() == 0


def _as_written_before_chunk_text(store: ArticleStore) -> None:
    """Rewrite every chunk as stores written before `CHUNK_TEXT` hold them: the text as Chroma's document and
    not in the metadata."""
    got = store.chunks.get(include=["metadatas", "embeddings"])
    metas = [{k: v for k, v in m.items() if k != CHUNK_TEXT} for m in got["metadatas"]]
    texts = [m[CHUNK_TEXT] for m in got["metadatas"]]
    store.chunks.delete(ids=got["ids"])
    store.chunks.add(ids=got["ids"], documents=texts, metadatas=metas, embeddings=got["embeddings"])


def test_a_store_whose_chunks_hold_their_text_as_documents_reads_searches_and_archives_them(settings) -> None:
    store = ArticleStore(settings)
    first = _prepared("a", "One fact. Two facts")
    store.write_articles([first, _prepared("b", "Bee one. Bee two")])
    _as_written_before_chunk_text(store)
    assert store.chunks.get(include=["documents"])["documents"] != [None] * 4  # the old layout, really
    reopened = ArticleStore(settings)
    assert sorted(c.text for c in reopened.iter_chunks()) == ["Bee one", "Bee two", "One fact", "Two facts"]
    two = next(c.id for c in reopened.iter_chunks() if c.text == "Two facts")
    assert [c.text for c in reopened.get_chunks([two])] == ["Two facts"]
    found = reopened.dense_search(first.embeddings[0], 1)
    assert [c.text for c, _ in found] == ["One fact"]
    # An update archives the old chunks (read from their documents) into the history, text and all, and the
    # history search as of the first version's day finds them.
    reopened.write_articles([_version("a", "One fact. Two new facts", updated=date(2025, 2, 1))])
    assert sorted(c.text for c in reopened.iter_chunks()) == ["Bee one", "Bee two", "One fact", "Two new facts"]
    old = reopened.history_search(first.embeddings[1], 5, date(2025, 1, 15))
    assert "Two facts" in [c.text for c, _ in old]
