"""Sentence vectors pooled from each chunk's token embeddings at ingest ("late chunking"): stored with
the chunk, they let the extractive answerer score evidence sentences without calling the model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SEED

pytestmark = pytest.mark.slow

TEXT = ("Seoul | 2025-11-04\nCambodia and South Korea agreed to deepen cooperation against cyber fraud. "
        "Both sides will set up a joint task force. The weather in Phnom Penh was hot.")


def _spans(text: str) -> list[tuple[int, int]]:
    from core.sentences import sentence_spans

    head = text.index("\n") + 1
    return [(head + a, head + b) for a, b in sentence_spans(text[head:])]


def test_one_pass_gives_the_chunk_vector_and_a_vector_per_sentence(embedder):
    spans = _spans(TEXT)
    texts = [TEXT, "한국과 캄보디아는 협력하기로 했다. ខ្មែរ"]
    vectors, sentences = embedder.embed_with_spans(texts, [spans, [(0, 17)]])
    # The chunk vector is what embed_documents gives: the dense index does not change. (Not bit for bit: in
    # bfloat16 the sums depend a little on the thread count each batch ran with, cosine 0.99999.)
    assert (vectors * embedder.embed_documents(texts)).sum(axis=1).min() > 0.9999
    assert [len(s) for s in sentences] == [3, 1]
    assert np.allclose(np.linalg.norm(sentences[0], axis=1), 1.0, atol=1e-5)
    # Each pooled vector is about its own sentence: closest to that sentence embedded alone.
    alone = embedder.embed_documents([TEXT[a:b] for a, b in spans])
    similarity = sentences[0] @ alone.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]
    question = embedder.embed_query("What did Korea agree to with Cambodia?")
    assert int(np.argmax(sentences[0] @ question)) == 0


def test_pack_round_trip_and_garbage():
    from vectorstore.embedding import pack_vectors, unpack_vectors

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    packed = pack_vectors(vectors)
    assert len(packed) == 5 * 512
    back = unpack_vectors(packed, 384)
    assert back.shape == (5, 384) and np.all(np.sum(back * vectors, axis=1) > 0.99)
    for bad in ("", "not base64 !", pack_vectors(vectors)[:100]):
        assert unpack_vectors(bad, 384).shape == (0, 384)


def test_ingest_stores_sentence_vectors_and_the_answerer_needs_no_model_call(ingestor, settings):
    from app.assistant import build_assistant
    from core.sentences import sentence_spans
    from ingest.loaders import load_sources
    from vectorstore.embedding import unpack_vectors

    report = ingestor.run(load_sources([str(SEED)], settings))
    assert report.added == 1
    chunks = list(ingestor.store.iter_chunks())
    assert chunks and all(len(unpack_vectors(c.sentence_vectors, 384)) == len(sentence_spans(c.text))
                          for c in chunks)
    # The sentences are stored beside their vectors, as the chunker cut the whole article.
    made = ingestor.chunker.chunk(next(item.article for item in load_sources([str(SEED)], settings)))
    assert [c.sentences for c in sorted(chunks, key=lambda c: c.ordinal)] == [c.sentences for c in made]
    assert all(len(c.sentences) == len(unpack_vectors(c.sentence_vectors, 384)) for c in chunks)

    class Counting(type(ingestor.embedder)):
        """The same loaded model; counts the texts embedded besides questions."""

        def __init__(self, inner):
            self.__dict__.update(inner.__dict__)
            self.documents = 0

        def embed_documents(self, texts):
            self.documents += len(texts)
            return super().embed_documents(texts)

    counting = Counting(ingestor.embedder)
    assistant = build_assistant(settings, store=ingestor.store, embedder=counting)
    counting.embed_query("What did Korea agree to with Cambodia?")
    counting.documents = 0
    answer = assistant.ask("What did Korea agree to with Cambodia?")
    assert not answer.abstained and "task force" in answer.text
    assert counting.documents == 0


def test_reingest_upgrades_articles_stored_without_sentence_vectors(ingestor, settings):
    from ingest.loaders import load_sources

    assert ingestor.run(load_sources([str(SEED)], settings)).added == 1
    store = ingestor.store
    # What an older version of the program left: chunks without sentence vectors, registry version 1.
    got = store.chunks.get(include=["metadatas"])
    store.chunks.update(ids=got["ids"], metadatas=[{k: v for k, v in m.items() if k != "sentence_vectors"}
                                                   | {"sentence_vectors": ""} for m in got["metadatas"]])
    # ... and chunked differently: one chunk more than the current chunker makes.
    extra = dict(got["metadatas"][0], ordinal=len(got["ids"]), sentence_vectors="")
    store.chunks.add(ids=["older-chunking-extra"], documents=["An older window."],
                     metadatas=[extra], embeddings=[store.chunks.get(ids=[got["ids"][0]], include=["embeddings"])
                                                    ["embeddings"][0]])
    record = store.registry.get(include=["metadatas"])
    store.registry.update(ids=record["ids"], metadatas=[dict(m, index="v1") for m in record["metadatas"]])
    before = sorted(i for i in store.chunks.get(include=[])["ids"] if i != "older-chunking-extra")

    upgraded = ingestor.run(load_sources([str(SEED)], settings))
    assert (upgraded.updated, upgraded.unchanged, upgraded.chunks_embedded > 0) == (1, 0, True)
    assert sorted(store.chunks.get(include=[])["ids"]) == before  # same chunks, none left over
    assert all(c.sentence_vectors for c in store.iter_chunks())
    again = ingestor.run(load_sources([str(SEED)], settings))
    assert (again.unchanged, again.chunks_embedded) == (1, 0)


def test_the_answerer_reads_the_stored_sentences_rather_than_cutting_again():
    from app.answering import ExtractiveAnswerer
    from core.records import Hit, StoredChunk
    from core.sentences import Sentence

    text = "Police raided the compound on Monday. They freed 120 workers from it. Nobody was hurt."
    # As stored: the first sentence, then the other two as one (cutting the text again would give three).
    as_stored = (Sentence(100, 100, 137), Sentence(138, 138, 100 + len(text)))
    chunk = StoredChunk(id="c", article_id="a", ordinal=0, text=text, start=100, end=100 + len(text),
                        sentences=as_stored)
    found = ExtractiveAnswerer(embedder=None).candidates([Hit(chunk, 1.0)])  # type: ignore[arg-type]
    assert [(c.start, c.end) for c in found] == [(s.quote_start, s.end) for s in as_stored]
    assert found[1].text == "They freed 120 workers from it. Nobody was hurt."


def test_new_sentence_rules_are_a_new_index_signature_and_re_embed(ingestor, settings, monkeypatch):
    """A change to where sentences are cut changes `SEGMENTATION_VERSION`, which is in every article's index
    signature: the next ingest re-embeds instead of keeping vectors that belong to other cuts."""
    from ingest.loaders import load_sources
    from vectorstore import store as store_module

    assert ingestor.run(load_sources([str(SEED)], settings)).added == 1
    assert f"sentences {store_module.SEGMENTATION_VERSION} " in ingestor.store.index_signature
    monkeypatch.setattr(store_module, "SEGMENTATION_VERSION", store_module.SEGMENTATION_VERSION + 1)
    upgraded = ingestor.run(load_sources([str(SEED)], settings))
    assert (upgraded.updated, upgraded.chunks_embedded > 0) == (1, True)
    again = ingestor.run(load_sources([str(SEED)], settings))
    assert (again.unchanged, again.chunks_embedded) == (1, 0)
