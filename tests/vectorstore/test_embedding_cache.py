"""The question-vector cache is shared by Gradio's worker threads: many threads at once never break it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from vectorstore import embedding
from vectorstore.embedding import Embedder


class HashEmbedder(Embedder):
    """The real cache with vectors from a hash instead of the model (the model adds nothing but time)."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).random(8).astype(np.float32) for t in texts]
        return np.stack(rows)


def hammer(call, keys: list[str], threads: int = 8, rounds: int = 3000) -> list[BaseException]:
    """Call `call(key)` from many threads with switches forced as often as the interpreter allows."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(offset: int) -> None:
        start.wait()
        try:
            for i in range(rounds):
                call(keys[(i * 7 + offset) % len(keys)])
        except BaseException as e:  # noqa: BLE001 (the test reports whatever broke)
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_query_cache_survives_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hit on the oldest entry while another thread evicts it raised KeyError (get, then move_to_end)."""
    monkeypatch.setattr(embedding, "QUERY_CACHE_SIZE", 3)  # tiny, so hits and evictions meet constantly
    embedder = HashEmbedder()
    keys = [f"question {i}" for i in range(5)]
    errors = hammer(embedder.embed_query, keys)
    assert errors == []
    assert len(embedder._query_cache) <= 3
    for key in keys[-5:]:
        assert np.array_equal(embedder.embed_query(key), embedder.embed_documents([key])[0])


def test_sentence_vector_cache_survives_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The extractive answerer's cache of sentence vectors (for chunks stored without them) is shared the same way."""
    from app import answering
    from app.answering import Candidate, ExtractiveAnswerer
    from core.records import Hit, StoredChunk

    monkeypatch.setattr(answering, "SENTENCE_CACHE_SIZE", 3)
    answerer = ExtractiveAnswerer(HashEmbedder())
    text = "One sentence about fraud here. Another sentence about police there."
    hit = Hit(StoredChunk(id="c", article_id="a", ordinal=0, text=text, start=0, end=len(text)), 1.0)
    candidates = [Candidate(hit, 1, i, i + 10, text[i:i + 10]) for i in range(5)]
    errors = hammer(lambda c: answerer._sentence_vectors([c]), candidates)
    assert errors == []
    assert len(answerer._vectors) <= 3
