"""Filtered dense search: a broad filter is applied to unfiltered candidates, a narrow one (or a broad one
whose nearest chunks do not pass) goes to Chroma's filtered query; the hits are the same either way."""

from __future__ import annotations

import json
from datetime import date

import pytest

from app.retrieval import unfiltered_candidates


def test_a_broad_filter_fetches_more_unfiltered_candidates():
    # Half the chunks pass: about twice the wanted candidates, with a margin.
    assert 80 < unfiltered_candidates(5_000, 10_000, 40) < 200
    assert unfiltered_candidates(10_000, 10_000, 40) == 40  # everything passes: nothing extra


def test_a_narrow_filter_uses_the_filtered_query():
    assert unfiltered_candidates(50, 200_000, 40) is None
    assert unfiltered_candidates(0, 200_000, 40) is None  # nothing known to match: let Chroma say
    assert unfiltered_candidates(5_000, 10_000, 40, limit=50) is None


FOOTBALL = ["Rovers beat United in the cup final", "The striker scored twice in the derby",
            "The goalkeeper saved a late penalty", "The league title race went to the last day",
            "Fans filled the stadium for the opening match", "The coach praised the young midfielder",
            "A red card changed the semi-final", "The club signed a new defender",
            "Extra time decided the quarter-final", "The captain lifted the trophy",
            "A hat-trick sealed the away win", "The referee added six minutes"]
WEATHER = ["Heavy rain flooded the valley roads", "A heatwave broke the July temperature record",
           "Snow closed the mountain pass", "Strong winds cut power to thousands of homes"]


@pytest.fixture
def retriever(tmp_path, settings, ingestor):
    from app.retrieval import Retriever
    from ingest.loaders import load_sources
    from vectorstore.lexical import LexicalIndex

    rows = [{"id": f"sport-{i}", "title": t, "text": f"{t}. Supporters talked about it all week.",
             "source": "sport.example", "url": f"https://sport.example/{i}", "published": f"2025-10-{i + 1:02d}"}
            for i, t in enumerate(FOOTBALL)]
    rows += [{"id": f"weather-{i}", "title": t, "text": f"{t}. Forecasters expect more of it.",
              "source": "weather.example", "url": f"https://weather.example/{i}", "published": f"2025-11-{i + 1:02d}"}
             for i, t in enumerate(WEATHER)]
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert ingestor.run(load_sources([], settings, jsonl=[str(source)])).added == len(rows)
    tuned = settings.model_copy(update={"candidate_k": 4})
    return Retriever(ingestor.store, ingestor.embedder, LexicalIndex.for_store(ingestor.store), tuned)


def _filtered_queries(retriever, monkeypatch, listed: list[list[str]] | None = None) -> list[dict]:
    """Record the `where` of every dense query that Chroma filters (and in `listed` the ids of every dense
    query among listed chunks)."""
    calls: list[dict] = []
    real = retriever.store.dense_search

    def spy(vector, k, where=None, ids=None):
        if where is not None:
            calls.append(where)
        if ids is not None and listed is not None:
            listed.append(list(ids))
        return real(vector, k, where, ids)

    monkeypatch.setattr(retriever.store, "dense_search", spy)
    return calls


def _hosts(retrieval) -> set[str]:
    return {h.chunk.host for h in retrieval.hits}


@pytest.mark.slow
def test_broad_filter_gives_the_filtered_query_s_hits_without_it(retriever, monkeypatch):
    from app.retrieval import Filters

    question = "Who won the football match?"
    broad = Filters(sources=("sport.example",))
    vector = retriever.embedder.embed_query(question)
    expected = [c.id for c, _ in retriever.store.dense_search(vector, 4, broad.chroma_where())]
    filtered = _filtered_queries(retriever, monkeypatch)
    got = retriever._dense(vector, 4, broad)
    assert [c.id for c, _ in got] == expected and filtered == []
    assert _hosts(retriever.search(question, k=1, filters=broad)) == {"sport.example"} and filtered == []


@pytest.mark.slow
def test_broad_filter_whose_nearest_chunks_fail_falls_back_to_the_filtered_query(retriever, monkeypatch):
    import app.retrieval as retrieval
    from app.retrieval import Filters

    # A quarter of the chunks pass; with no margin 4 wanted need 16 of 16 chunks, so shrink the margin until
    # the plan fetches only the nearest few, all of them football for a football question, and the limit
    # until the wider second try cannot reach the weather either.
    monkeypatch.setattr(retrieval, "OVERSAMPLE", 0.3)
    monkeypatch.setattr(retrieval, "MAX_UNFILTERED_CANDIDATES", 8)
    monkeypatch.setattr(retrieval, "MAX_LISTED_CHUNKS", 0)  # too many to list: Chroma's metadata filter
    question = "Who won the football match?"
    weather = Filters(sources=("weather.example",), since=date(2025, 11, 1))
    assert retrieval.unfiltered_candidates(retriever.lexical.count(**weather.lexical()), retriever.lexical.size, 4) \
        is not None
    filtered = _filtered_queries(retriever, monkeypatch)
    got = retriever.search(question, k=1, filters=weather)
    assert _hosts(got) == {"weather.example"} and len(filtered) == 1


@pytest.mark.slow
def test_a_wider_unfiltered_try_comes_before_the_filtered_query(retriever, monkeypatch):
    import app.retrieval as retrieval
    from app.retrieval import Filters

    # As above, the first unfiltered candidates are all football; the wider try (up to the limit) holds
    # the weather chunks, and gives exactly the filtered query's hits without running it.
    monkeypatch.setattr(retrieval, "OVERSAMPLE", 0.3)
    question = "Who won the football match?"
    weather = Filters(sources=("weather.example",), since=date(2025, 11, 1))
    vector = retriever.embedder.embed_query(question)
    expected = [c.id for c, _ in retriever.store.dense_search(vector, 4, weather.chroma_where())]
    sizes: list[int] = []
    real = retriever.store.dense_ids
    monkeypatch.setattr(retriever.store, "dense_ids", lambda v, k: sizes.append(k) or real(v, k))
    filtered = _filtered_queries(retriever, monkeypatch)
    got = retriever._dense(vector, 4, weather)
    assert [c.id for c, _ in got] == expected and filtered == []
    assert len(sizes) == 2 and sizes[0] < sizes[1] == retrieval.MAX_UNFILTERED_CANDIDATES


@pytest.mark.slow
@pytest.mark.parametrize("listable", [True, False])
def test_narrow_filter_goes_straight_to_the_passing_chunks(retriever, monkeypatch, listable):
    import app.retrieval as retrieval
    from app.retrieval import Filters

    # One article of sixteen passes: 4 wanted would need about 100 unfiltered candidates, over this limit.
    # The passing chunks are few enough to list: the nearest among exactly them, Chroma's metadata filter
    # not run (at 200k chunks 0.1x its time); more than MAX_LISTED_CHUNKS: the filtered query.
    monkeypatch.setattr(retrieval, "MAX_UNFILTERED_CANDIDATES", 20)
    if not listable:
        monkeypatch.setattr(retrieval, "MAX_LISTED_CHUNKS", 0)
    narrow = Filters(since=date(2025, 11, 4))
    question = "Who won the football match?"
    vector = retriever.embedder.embed_query(question)
    expected = [c.id for c, _ in retriever.store.dense_search(vector, 4, narrow.chroma_where())]
    listed: list[list[str]] = []
    filtered = _filtered_queries(retriever, monkeypatch, listed)
    assert [c.id for c, _ in retriever._dense(vector, 4, narrow)] == expected
    got = retriever.search(question, k=1, filters=narrow)
    assert [h.chunk.title for h in got.hits] == ["Strong winds cut power to thousands of homes"]
    if listable:
        passing = retriever.lexical.count(**narrow.lexical())
        assert filtered == [] and len(listed) == 2 and all(len(ids) == passing for ids in listed)
    else:
        assert len(filtered) == 2 and listed == []
