"""The BM25 index follows the store: persisted, reloaded without a rebuild, refreshed on change."""

from __future__ import annotations

import pytest

from tests.conftest import SEED

pytestmark = pytest.mark.slow


def _ingest(ingestor, settings, *paths):
    from ingest.loaders import load_sources

    return ingestor.run(load_sources([str(p) for p in paths], settings))


def _write(path, title: str, body: str):
    path.write_text(f"{title}\n2025-10-01\n\n{body}\n", encoding="utf-8")
    return path


def test_index_is_persisted_and_reloaded_without_rebuilding(ingestor, settings):
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    _ingest(ingestor, settings, SEED)
    first = LexicalIndex.for_store(ingestor.store)
    assert first.search("Sinharith", 3) and first.builds == 1
    again = LexicalIndex.for_store(ArticleStore(settings))  # a new process would do the same
    assert again.search("Sinharith", 3) == first.search("Sinharith", 3)
    assert again.builds == 0


def test_index_sees_articles_written_by_another_store_instance(ingestor, settings, tmp_path, monkeypatch):
    import vectorstore.lexical as lexical
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    monkeypatch.setattr(lexical, "CHECK_INTERVAL", 0.0)
    _ingest(ingestor, settings, SEED)
    reader = LexicalIndex.for_store(ArticleStore(settings))
    assert reader.search("zanzibar", 3) == []
    story = _write(tmp_path / "z.txt", "Zanzibar ferry scam", "Police in Zanzibar warned of a ferry ticket scam.")
    _ingest(ingestor, settings, story)
    hits = reader.search("zanzibar ferry", 3)
    assert hits and ingestor.store.get_chunks([hits[0][0]])[0].title == "Zanzibar ferry scam"
    ingestor.store.delete_article(ingestor.store.get_chunks([hits[0][0]])[0].article_id)
    assert reader.search("zanzibar ferry", 3) == []
    assert reader.builds == 3


def test_filters_apply_to_the_lexical_side(ingestor, settings, tmp_path):
    from vectorstore.lexical import LexicalIndex

    _ingest(ingestor, settings, SEED)
    index = LexicalIndex.for_store(ingestor.store)
    assert index.search("Sinharith", 3, sources=("dnyxxg.com",))
    assert index.search("Sinharith", 3, sources=("cnn.com",)) == []
    assert index.search("Sinharith", 3, since=20251105) == []
    assert index.search("Sinharith", 3, until=20251104)


@pytest.mark.server
def test_lexical_index_in_chroma_server_mode(chroma_server, embedder, tmp_path):
    from core.settings import Settings
    from ingest.pipeline import Ingestor
    from vectorstore.lexical import LexicalIndex

    settings = Settings(chroma_host="127.0.0.1", chroma_port=chroma_server.port, collection="served",
                        store_dir=tmp_path / "local", _env_file=None)
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    _ingest(ingestor, settings, SEED)
    index = LexicalIndex.for_store(ingestor.store)
    assert index.search("Sinharith", 3)
    assert "lexical-cache" in str(index.directory) and str(chroma_server.port) in index.directory.name
