"""A chunk whose exact embedded text is already stored (a syndicated copy, a re-posted article) is written
with the stored vectors instead of being embedded again; a copy that differs where it is embedded is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

WIRE = {
    "title": "Cambodia and South Korea set up a joint task force on online scams",
    "published": "2025-11-04",
    "text": (
        "Cambodia and South Korea agreed to set up a joint task force against online scam centres. "
        "The agreement was reached at a meeting in Phnom Penh on November 3, 2025. "
        "South Korean police will station officers in Cambodia to help investigations. "
        "Both governments said the task force would also help repatriate trafficked workers."
    ),
}


def _ingest(ingestor, settings, path: Path, records: list[dict]):
    from ingest.loaders import load_sources

    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return ingestor.run(load_sources([], settings, jsonl=[str(path)]))


def _vectors(store, article_id: str) -> tuple[np.ndarray, list[str]]:
    got = store.chunks.get(where={"article_id": article_id}, include=["metadatas", "embeddings"])
    order = np.argsort([m["ordinal"] for m in got["metadatas"]])
    return np.asarray(got["embeddings"])[order], [got["metadatas"][i]["sentence_vectors"] for i in order]


def test_a_wire_copy_reuses_the_stored_vectors(ingestor, settings, tmp_path):
    first = _ingest(ingestor, settings, tmp_path / "a.jsonl",
                    [dict(WIRE, url="https://wire.example/task-force", source="Wire (wire.example)")])
    assert first.added == 1 and first.chunks_embedded > 0 and first.chunks_reused == 0

    copy = dict(WIRE, url="https://daily.example/2025/11/task-force", source="Daily (daily.example)")
    second = _ingest(ingestor, settings, tmp_path / "b.jsonl", [copy])
    assert (second.added, second.chunks_embedded, second.chunks_reused) == (1, 0, first.chunks_embedded)
    assert "reused from identical text" in second.summary()

    store = ingestor.store
    original, original_sentences = _vectors(store, "https://wire.example/task-force")
    reused, reused_sentences = _vectors(store, copy["url"])
    assert np.array_equal(original, reused) and original_sentences == reused_sentences
    # The copy is searchable and answers with its own citation, as if it had been embedded.
    vector = ingestor.embedder.embed_query("What did Cambodia and South Korea agree to set up?")
    hits = {c.article_id for c, _ in store.dense_search(vector, 4)}
    assert copy["url"] in hits


@pytest.mark.parametrize("header", ["title_date", "none"])
def test_a_retitled_copy_is_embedded_only_when_the_title_is(embedder, settings, tmp_path, header):
    """With the title in the embedding header a retitled copy embeds differently, so it is embedded; without
    it, the copy's passages embed exactly as the original's and reuse them."""
    from ingest.pipeline import Ingestor

    settings = settings.model_copy(update={"embedding_header": header})
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    _ingest(ingestor, settings, tmp_path / "a.jsonl", [dict(WIRE, url="https://wire.example/task-force")])
    retitled = dict(WIRE, url="https://daily.example/scams", title="Seoul sends police to Phnom Penh")
    report = _ingest(ingestor, settings, tmp_path / "b.jsonl", [retitled])
    copy, original = (_vectors(ingestor.store, retitled["url"])[0],
                      _vectors(ingestor.store, "https://wire.example/task-force")[0])
    if header == "title_date":
        assert report.chunks_reused == 0 and report.chunks_embedded > 0
        assert not np.array_equal(copy, original)
    else:
        assert report.chunks_embedded == 0 and report.chunks_reused > 0
        assert np.array_equal(copy, original)


def test_copies_in_one_run_are_embedded_once(ingestor, settings, tmp_path):
    records = [dict(WIRE, url=f"https://outlet{i}.example/task-force") for i in range(3)]
    report = _ingest(ingestor, settings, tmp_path / "all.jsonl", records)
    assert report.added == 3
    assert report.chunks_reused == 2 * report.chunks_embedded > 0
