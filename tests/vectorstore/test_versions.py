"""The dates of an article's versions as the store keeps them, and what the history gives back."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from tests.vectorstore.test_store_journal import _prepared
from vectorstore.store import ArticleStore


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
    got = store.history.get(where={"content_hash": first.article.content_hash}, include=["embeddings", "documents"])
    assert sorted(got["documents"]) == sorted(c.text for c in first.chunks)
    by_text = dict(zip(got["documents"], got["embeddings"]))
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
