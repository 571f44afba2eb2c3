"""Re-ingesting an article whose text is unchanged but whose date, outlet or title was corrected: the
correction is stored everywhere the article is read from (registry, chunks, lexical filters, copies),
embedding only when the embedded text depends on it, and no new version is made."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

RAID = {
    "id": "https://news.example/2025/11/raid",
    "title": "Police raid a scam compound in Sihanoukville",
    "source": "Mekong Wire (mekongwire.example)",
    "published": "2025-11-05",
    "text": (
        "Cambodian police raided a scam compound in Sihanoukville and detained 412 workers. "
        "Officers said the compound ran investment frauds aimed at victims in South Korea and Japan. "
        "The workers, many of whom said they had been trafficked, were taken to a shelter. "
        "Investigators seized hundreds of phones and laptops used in the schemes."
    ),
}


def _ingest(ingestor, settings, folder: Path, record: dict) -> object:
    from ingest.loaders import load_sources

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "feed.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return ingestor.run(load_sources([], settings, jsonl=[str(path)]))


def _chunks(store) -> tuple[list[dict], np.ndarray]:
    got = store.chunks.get(where={"article_id": RAID["id"]}, include=["metadatas", "embeddings"])
    order = np.argsort([m["ordinal"] for m in got["metadatas"]])
    return [got["metadatas"][i] for i in order], np.asarray(got["embeddings"])[order]


def test_a_corrected_date_is_stored_searched_and_read_as_of(ingestor, settings, tmp_path):
    from app.assistant import build_assistant

    first = _ingest(ingestor, settings, tmp_path / "in", RAID)
    assert first.added == 1
    before, _ = _chunks(ingestor.store)

    report = _ingest(ingestor, settings, tmp_path / "in", dict(RAID, published="2025-11-03"))
    assert (report.added, report.updated, report.unchanged, report.failed) == (0, 1, 0, 0)
    assert report.chunks_embedded == len(before)  # the date is part of each chunk's embedded header
    store = ingestor.store
    assert store.get_article(RAID["id"]).published == date(2025, 11, 3)
    after, _ = _chunks(store)
    assert len(after) == len(before)
    assert {m["published"] for m in after} == {"2025-11-03"}
    [version] = store.article_versions(RAID["id"])  # a correction is not a new version of the text
    assert version.valid_from == date(2025, 11, 3)

    # As of 4 November the article exists now (it was filed under the 5th before the correction).
    assistant = build_assistant(settings, store=store, embedder=ingestor.embedder)
    answer = assistant.ask("How many workers were detained in the Sihanoukville raid?", as_of=date(2025, 11, 4))
    assert not answer.abstained
    assert "412" in answer.text
    assert all(c.article_id == RAID["id"] and c.published == date(2025, 11, 3) for c in answer.citations)

    again = _ingest(ingestor, settings, tmp_path / "in", dict(RAID, published="2025-11-03"))
    assert (again.unchanged, again.updated, again.chunks_embedded) == (1, 0, 0)


def test_a_corrected_outlet_is_rewritten_without_embedding(ingestor, settings, tmp_path):
    from ingest.near_duplicates import NearDuplicateTracker
    from vectorstore.lexical import LexicalIndex

    _ingest(ingestor, settings, tmp_path / "in", RAID)
    before, vectors = _chunks(ingestor.store)
    corrected = dict(RAID, source="Khmer Daily (khmerdaily.example)", author="S. Dara")

    report = _ingest(ingestor, settings, tmp_path / "in", corrected)
    assert (report.updated, report.unchanged, report.chunks_embedded) == (1, 0, 0)
    store = ingestor.store
    info = store.get_article(RAID["id"])
    assert (info.source, info.author) == (corrected["source"], "S. Dara")
    after, same_vectors = _chunks(store)
    assert np.array_equal(vectors, same_vectors)
    assert [m["sentence_vectors"] for m in after] == [m["sentence_vectors"] for m in before]
    assert {m["host"] for m in after} == {"khmerdaily.example"}
    assert {m["source"] for m in after} == {corrected["source"]}

    # The outlet filter of the lexical index follows the correction.
    lexical = LexicalIndex.for_store(store)
    question = "scam compound raid Sihanoukville workers"
    assert lexical.search(question, 5, sources=("khmerdaily.example",))
    assert not lexical.search(question, 5, sources=("mekongwire.example",))
    # So do the copies' groups, which name each copy's outlet on the citation card.
    group = NearDuplicateTracker(store).index().group_of(RAID["id"])
    assert [m.source for m in group.members] == [corrected["source"]]


def test_a_correction_interrupted_at_any_write_is_consistent_after_repair(settings):
    from core.records import Article, ArticleMeta
    from tests.vectorstore.test_store_journal import Crash, CrashingStore, _prepared
    from vectorstore.store import ArticleStore

    base = _prepared("a", "One fact. Two facts. Three facts")
    corrected = Article(id="a", text=base.article.text, title="a", published=base.article.published,
                        source="Corrected Outlet")
    counting = CrashingStore(settings.model_copy(update={"collection": "counting"}), crash_at=0)
    counting.write_articles([base])
    counting.writes = 0
    counting.update_metadata([corrected])
    writes = counting.writes
    assert writes == 5  # journal, the chunks, commit, change token, clean

    for crash_at in range(1, writes + 1):
        name = f"crash{crash_at}"
        ArticleStore(settings.model_copy(update={"collection": name})).write_articles([base])
        with pytest.raises(Crash):
            CrashingStore(settings.model_copy(update={"collection": name}), crash_at).update_metadata([corrected])
        repaired = ArticleStore(settings.model_copy(update={"collection": name}))
        repaired.repair()
        info = repaired.get_article("a")
        assert info.source in ("", "Corrected Outlet"), crash_at
        chunks = repaired.chunks.get(include=["metadatas"])["metadatas"]
        # Registry and chunks agree: the correction is either done everywhere or nowhere.
        assert {m["source"] for m in chunks} == {info.source}, f"crash at write {crash_at}"
        assert not repaired.registry.get(ids=["a"])["metadatas"][0]["dirty"]
        repaired.update_metadata([corrected])
        assert {m["source"] for m in repaired.chunks.get(include=["metadatas"])["metadatas"]} == {"Corrected Outlet"}
        assert ArticleMeta(**{k: getattr(repaired.get_article("a"), k) for k in ("title", "source", "published")}) \
            == ArticleMeta(title="a", source="Corrected Outlet", published=base.article.published)
