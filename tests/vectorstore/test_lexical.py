"""The lexical index follows the store by small updates: persisted, opened without a rebuild, updated per
changed article (by the writer, or by a reader's catch-up), filtered natively, rebuilt when damaged."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import SEED

pytestmark = pytest.mark.slow


def _ingest(ingestor, settings, *paths):
    from ingest.loaders import load_sources

    return ingestor.run(load_sources([str(p) for p in paths], settings))


def _write(path, title: str, body: str, day: str = "2025-10-01"):
    path.write_text(f"{title}\n{day}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture
def every_check(monkeypatch):
    """Readers look at the store's generation on every call (not once a second)."""
    import vectorstore.lexical as lexical

    monkeypatch.setattr(lexical, "CHECK_INTERVAL", 0.0)


def test_index_is_persisted_and_opened_without_rebuilding(ingestor, settings):
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    legacy = settings.store_dir / "lexical" / settings.collection  # the BM25 cache of earlier versions
    legacy.mkdir(parents=True)
    (legacy / "chunks.json").write_text("{}", encoding="utf-8")
    _ingest(ingestor, settings, SEED)
    writer = LexicalIndex.for_store(ingestor.store)
    assert writer.search("Sinharith", 3) and writer.builds == 1  # the first write built it
    assert not legacy.exists()
    again = LexicalIndex.for_store(ArticleStore(settings))  # a new process would do the same
    assert again.search("Sinharith", 3) == writer.search("Sinharith", 3)
    assert again.builds == 0 and again.documents_written == 0


def test_a_write_updates_only_the_changed_article(ingestor, settings, tmp_path, every_check):
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    _ingest(ingestor, settings, SEED)
    writer = LexicalIndex.for_store(ingestor.store)
    reader = LexicalIndex.for_store(ArticleStore(settings))
    assert reader.search("zanzibar", 3) == []
    before = reader.size

    story = _write(tmp_path / "z.txt", "Zanzibar ferry scam", "Police in Zanzibar warned of a ferry ticket scam.")
    _ingest(ingestor, settings, story)
    new = [a for a in ingestor.store.list_articles() if a.title == "Zanzibar ferry scam"][0]
    assert (writer.builds, writer.articles_touched, writer.documents_written) == (1, 1, new.chunks)
    hits = reader.search("zanzibar ferry", 3)
    assert hits and ingestor.store.get_chunks([hits[0][0]])[0].title == "Zanzibar ferry scam"
    assert reader.size == before + new.chunks
    assert (reader.builds, reader.documents_written) == (0, 0)  # it only reloaded what the writer committed

    _write(story, "Zanzibar ferry scam", "Police in Zanzibar warned of a ferry ticket scam at the port of Stone Town.")
    _ingest(ingestor, settings, story)
    assert writer.articles_touched == 2
    assert [h for h in reader.search("Stone Town", 3)]
    assert reader.size == before + ingestor.store.get_article(new.id).chunks  # the old version's chunks are gone

    ingestor.store.delete_article(new.id)
    assert reader.search("zanzibar ferry", 3) == [] and reader.size == before
    assert writer.articles_touched == 3 and writer.builds == 1 and reader.builds == 0


def test_a_reader_catches_up_with_a_writer_that_did_not_update_the_index(ingestor, settings, tmp_path, every_check):
    from ingest.pipeline import Ingestor
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    _ingest(ingestor, settings, SEED)
    reader = LexicalIndex.for_store(ArticleStore(settings))
    assert reader.search("Sinharith", 3)
    silent = ArticleStore(settings)  # as an older version of the code, or a crash before the index's commit
    other = Ingestor(silent, ingestor.embedder, ingestor.chunker)
    silent.change_listeners.clear()
    _ingest(other, settings, _write(tmp_path / "y.txt", "Yak herders", "Yak herders in Ladakh moved early."))
    hits = reader.search("yak herders Ladakh", 3)
    assert hits and silent.get_chunks([hits[0][0]])[0].title == "Yak herders"
    added = silent.get_article(silent.get_chunks([hits[0][0]])[0].article_id)
    # The registry diff found the one new article: its chunks written, nothing rebuilt.
    assert (reader.builds, reader.articles_touched, reader.documents_written) == (0, 1, added.chunks)
    reader.search("yak", 3)
    assert reader.articles_touched == 1  # caught up: nothing more to do


def test_a_reader_catches_up_with_a_metadata_correction(ingestor, settings, tmp_path, every_check):
    """A corrected outlet or date changes no text: the catch-up diff still finds it, so the reader's filters
    follow (as on another replica of a Chroma server, whose writer never updates this replica's index)."""
    import json

    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    record = {"id": "https://wire.example/yak", "title": "Yak herders", "source": "wire.example",
              "published": "2025-10-01", "text": "Yak herders in Ladakh moved their herds early this year."}
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert ingestor.run(load_sources([], settings, jsonl=[str(feed)])).added == 1
    reader = LexicalIndex.for_store(ArticleStore(settings))
    assert reader.search("yak herders", 3, sources=("wire.example",))
    silent = ArticleStore(settings)
    other = Ingestor(silent, ingestor.embedder, ingestor.chunker)
    silent.change_listeners.clear()
    feed.write_text(json.dumps(dict(record, source="daily.example", published="2025-09-30")) + "\n", encoding="utf-8")
    report = other.run(load_sources([], settings, jsonl=[str(feed)]))
    assert (report.updated, report.chunks_embedded) == (1, 1)  # the date is in the embedding header
    assert reader.search("yak herders", 3, sources=("daily.example",))
    assert reader.search("yak herders", 3, sources=("wire.example",)) == []
    assert reader.search("yak herders", 3, since=20251001) == []
    assert (reader.builds, reader.articles_touched) == (0, 1)


def test_filters_apply_natively_to_the_lexical_side(ingestor, settings, tmp_path):
    import json

    from vectorstore.lexical import LexicalIndex

    undated = tmp_path / "undated.jsonl"
    undated.write_text(json.dumps({"id": "undated-note", "url": "https://example.org/note", "source": "example.org",
                                   "title": "Sinharith undated note", "published": "",
                                   "text": "Sinharith was named again in a note that carries no date."}) + "\n",
                       encoding="utf-8")
    _ingest(ingestor, settings, SEED, undated)
    index = LexicalIndex.for_store(ingestor.store)
    assert index.search("Sinharith", 3, sources=("dnyxxg.com",))
    assert index.search("Sinharith", 3, sources=("cnn.com",)) == []
    assert index.search("Sinharith", 3, since=20251105) == []
    dated = index.search("Sinharith", 8, until=20251104)
    with_undated = index.search("Sinharith", 8, until=20251104, undated=True)
    assert dated and len(with_undated) > len(dated)
    titles = {c.title for c in ingestor.store.get_chunks([i for i, _ in with_undated])}
    assert "Sinharith undated note" in titles
    assert "Sinharith undated note" not in {c.title for c in ingestor.store.get_chunks([i for i, _ in dated])}
    # Counts for the dense side's plan: exact per filter.
    note = ingestor.store.get_article("undated-note").chunks
    seed = index.size - note
    assert index.count() == index.size
    assert (index.count(until=20251104), index.count(until=20251104, undated=True)) == (seed, seed + note)
    assert index.count(sources=("example.org",)) == note and index.count(sources=("cnn.com",)) == 0
    ids = [i for i, _ in with_undated]
    assert index.matching(ids, until=20251104) == {i for i, _ in dated}
    assert index.matching(ids, sources=("example.org",)) == set(ids) - {i for i, _ in dated}


def test_every_chunk_passing_a_narrow_filter_is_listed_and_follows_writes(ingestor, settings, tmp_path, every_check):
    from vectorstore.lexical import LexicalIndex

    _ingest(ingestor, settings, SEED)
    index = LexicalIndex.for_store(ingestor.store)
    seed = set(index.matching_all(until=20251104, limit=1000))
    assert len(seed) == index.count(until=20251104) > 0
    assert len({c.article_id for c in ingestor.store.get_chunks(sorted(seed))}) == 1  # the sample article
    assert index.matching_all(until=20251104, limit=len(seed) - 1) is None  # too many to list
    assert index.matching_all(sources=("cnn.com",), limit=1000) == []
    # Another article that passes: the list held for the old generation is not served again.
    _ingest(ingestor, settings, _write(tmp_path / "raid.txt", "Raid on a compound", "Police raided a compound "
                                       "in Sihanoukville and detained 57 workers.", day="2025-11-02"))
    listed = set(index.matching_all(until=20251104, limit=1000))
    assert seed < listed and len(listed) == index.count(until=20251104)


def test_a_damaged_index_is_rebuilt_from_the_store(ingestor, settings, caplog):
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    _ingest(ingestor, settings, SEED)
    expected = LexicalIndex.for_store(ingestor.store).search("Sinharith", 3)
    directory = LexicalIndex.location(ingestor.store)
    (directory / "meta.json").write_text("{ not json", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="vectorstore.lexical"):
        fresh = LexicalIndex.for_store(ArticleStore(settings))
        assert fresh.search("Sinharith", 3) == expected
    assert fresh.builds == 1
    assert "unreadable" in caplog.text and "built the lexical index" in caplog.text


@pytest.mark.server
def test_lexical_index_in_chroma_server_mode(chroma_server, embedder, tmp_path):
    from core.settings import Settings
    from ingest.pipeline import Ingestor
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    # Each replica keeps its index in its own store folder when it has one (without, in a temporary cache).
    (tmp_path / "local").mkdir()
    (tmp_path / "replica").mkdir()
    settings = Settings(chroma_host="127.0.0.1", chroma_port=chroma_server.port, collection="served",
                        store_dir=tmp_path / "local", _env_file=None)
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    _ingest(ingestor, settings, SEED)
    index = LexicalIndex.for_store(ingestor.store)
    assert index.search("Sinharith", 3)
    assert "lexical-index" in str(index.directory) and str(chroma_server.port) in index.directory.name
    # Another replica (its own store_dir) applies the collection's changes since its last generation.
    replica_settings = settings.model_copy(update={"store_dir": tmp_path / "replica"})
    replica = LexicalIndex.for_store(ArticleStore(replica_settings))
    assert replica.search("Sinharith", 3) and replica.builds == 1
    story = _write(tmp_path / "z.txt", "Zanzibar ferry scam", "Police in Zanzibar warned of a ferry ticket scam.")
    _ingest(ingestor, settings, story)
    replica.refresh(force=True)
    assert replica.search("zanzibar ferry", 3) and replica.builds == 1 and replica.articles_touched == 1


def test_a_follower_that_fails_is_one_warning_line_and_the_write_stands(ingestor, settings, tmp_path, caplog):
    """A full disk when the index commits: the articles are written, the warning says why in one line (the
    CLI prints no traceback), and the index catches up on its next refresh."""
    from ingest.pipeline import Ingestor
    from vectorstore.lexical import LexicalIndex
    from vectorstore.store import ArticleStore

    store = ArticleStore(settings)
    index = LexicalIndex.for_store(store)

    def disk_full(*_args):
        raise OSError(28, "No space left on device")

    store.change_listeners.insert(0, disk_full)
    with caplog.at_level(logging.WARNING, logger="vectorstore.store"):
        report = _ingest(Ingestor(store, ingestor.embedder, ingestor.chunker), settings, SEED)
    assert report.added == 1 and len(store.list_articles()) == 1
    warned = [r for r in caplog.records if "failed to apply a change" in r.getMessage()]
    assert len(warned) == 1 and "No space left on device" in warned[0].getMessage()
    assert warned[0].exc_info is None
    assert index.search("Sinharith", 3)
