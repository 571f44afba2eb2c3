"""The encoder's number format (`NEWSDESK_EMBEDDING_PRECISION`): bfloat16, 3x faster on a CPU with AMX, gives
the vectors float32 gives, and a store records which one made its vectors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SEED

pytestmark = pytest.mark.slow

TEXTS = [
    "Cambodia and South Korea agreed to deepen cooperation against cyber fraud. Both sides will set up a joint "
    "task force, and the South Korean authorities will share the results of their investigations.",
    "한국과 캄보디아는 온라인 사기 범죄에 공동 대응하기로 합의했다.",
    "កម្ពុជា និង កូរ៉េ បានយល់ព្រមសហការប្រឆាំងការឆបោកតាមអ៊ីនធឺណិត។",
    "The weather in Phnom Penh was hot.",
]


def test_bfloat16_gives_the_vectors_float32_gives():
    from core.sentences import sentence_spans
    from vectorstore.embedding import Embedder

    spans = [sentence_spans(t) for t in TEXTS]
    exact = Embedder(precision="float32")
    fast = Embedder(precision="bfloat16")
    assert (exact.precision, fast.precision) == ("float32", "bfloat16")
    (a, a_sentences), (b, b_sentences) = exact.embed_with_spans(TEXTS, spans), fast.embed_with_spans(TEXTS, spans)
    docs = fast.embed_documents(TEXTS)
    assert docs.dtype == np.float32 and np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-6)
    assert (a * b).sum(axis=1).min() > 0.999  # chunk vectors
    for x, y in zip(a_sentences, b_sentences):
        assert x.shape == y.shape and (x * y).sum(axis=1).min() > 0.995  # pooled sentence vectors
    # the ranking a question gets is the same
    query = "What will South Korea do with the investigations?"
    assert np.argsort(-(a @ exact.embed_query(query))).tolist() == np.argsort(-(b @ fast.embed_query(query))).tolist()


def test_the_precision_is_in_the_index_signature_and_a_change_re_embeds(tmp_path, embedder):
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor
    from vectorstore.embedding import Embedder, resolve_precision
    from vectorstore.store import ArticleStore

    def ingest(precision: str):
        settings = Settings(store_dir=tmp_path / "store", collection="precision", embedding_precision=precision,
                            _env_file=None)
        store = ArticleStore(settings)
        model = embedder if embedder.precision == resolve_precision(precision, "cpu") else Embedder.from_settings(
            settings)
        try:
            report = Ingestor.from_settings(settings, store=store, embedder=model).run(
                load_sources([str(SEED)], settings))
            return store.index_signature, report
        finally:
            store.close()

    signature, first = ingest("float32")
    assert first.added == 1 and "float32" not in signature and "bfloat16" not in signature  # as before: no re-embed
    signature, switched = ingest("bfloat16")
    assert signature.endswith(" bfloat16") and (switched.updated, switched.chunks_embedded > 0) == (1, True)
    _, again = ingest("bfloat16")
    assert (again.unchanged, again.chunks_embedded) == (1, 0)
    with pytest.raises(Exception, match="NEWSDESK_EMBEDDING_PRECISION"):
        resolve_precision("float16", "cpu")
