"""The store's write journal: a crash after any Chroma write leaves a store that repair() makes whole."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from core.records import Article, Chunk
from vectorstore.store import ArticleStore, PreparedArticle, chunk_text

MUTATIONS = ("upsert", "update", "delete", "modify")
"""Every Chroma call that writes: records and chunks, and `modify` for the change token readers follow."""


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


class CrashingStore(ArticleStore):
    """A real store that dies just before its n-th write to Chroma."""

    def __init__(self, settings, crash_at: int) -> None:
        super().__init__(settings)
        self.crash_at, self.writes = crash_at, 0

    def _call(self, what, fn, *args, **kwargs):
        if getattr(fn, "__name__", "") in MUTATIONS:
            self.writes += 1
            if self.writes == self.crash_at:
                raise Crash(what)
        return super()._call(what, fn, *args, **kwargs)


def _prepared(article_id: str, text: str, dim: int = 8) -> PreparedArticle:
    article = Article(id=article_id, text=text, title=article_id, published=date(2025, 1, 2))
    chunks, start = [], 0
    for i, sentence in enumerate(text.split(". ")):
        chunks.append(Chunk(article_id, i, sentence, start, start + len(sentence)))
        start += len(sentence) + 2
    vectors = np.random.default_rng(len(text)).random((len(chunks), dim)).astype(np.float32)
    return PreparedArticle(article, chunks, vectors)


def _state(store: ArticleStore) -> tuple[dict[str, str], list[str], dict[str, str], dict[str, list], list]:
    """Current hashes, chunk ids and texts; each article's versions with their texts; the history's chunks."""
    ids = sorted(store.chunks.get(include=[])["ids"])
    texts = {a.id: store.article_text(a.id) for a in store.list_articles()}
    versions = {a: [(v.content_hash, v.valid_from, v.superseded, store.version_text(a, v.content_hash))
                    for v in store.article_versions(a)] for a in sorted(texts)}
    got = store.history.get(include=["metadatas", "documents", "embeddings"])
    history = sorted((i, m["article_id"], m["content_hash"], m["version_id"], chunk_text(d, m),
                      [round(float(x), 6) for x in e])
                     for i, m, d, e in zip(got["ids"], got["metadatas"], got["documents"], got["embeddings"]))
    return store.article_hashes(), ids, texts, versions, history


V1 = {"a": "One fact. Two facts. Three facts", "b": "Bee one. Bee two"}
V2 = {"a": "One fact. Two corrected facts. Three facts. Four facts", "c": "Sea one. Sea two. Sea three"}


def _write(store: ArticleStore, version: dict[str, str]) -> None:
    store.write_articles([_prepared(k, v) for k, v in version.items()])


def _writes_of_v2(settings) -> int:
    """How many Chroma writes writing V2 over V1 takes (counted on a store that never crashes)."""
    counting = CrashingStore(settings.model_copy(update={"collection": "counting"}), crash_at=0)
    _write(counting, V1)
    counting.writes = 0
    _write(counting, V2)
    return counting.writes


WRITES_OF_V2 = 9
"""Journal steps 1-5 for one updated and one new article (the update's old version copied to the history:
its chunks, then its record), plus the change token: asserted below, so a new write in `write_articles`
must be added to the crash points too."""


def test_every_write_of_an_update_is_a_crash_point(settings):
    assert _writes_of_v2(settings) == WRITES_OF_V2


@pytest.mark.parametrize("crash_at", range(1, WRITES_OF_V2 + 1))
def test_crash_at_every_write_then_repair_gives_old_or_new_version(settings, crash_at):
    store = ArticleStore(settings)
    _write(store, V1)
    old = _state(store)
    token = store.generation()
    crashing = CrashingStore(settings, crash_at)
    with pytest.raises(Crash):
        _write(crashing, V2)
    repaired = ArticleStore(settings)
    repaired.repair()
    after = _state(repaired)
    if after != old:  # readers (the lexical index, the UI's dense view) must learn that the store changed
        assert repaired.generation() != token, f"crash at write {crash_at}: the change token was never bumped"

    reference_settings = settings.model_copy(update={"collection": "reference"})
    expected_new = ArticleStore(reference_settings)
    _write(expected_new, V1)
    _write(expected_new, V2)
    new = _state(expected_new)

    for article_id in ("a", "b", "c"):
        got = (after[0].get(article_id), after[2].get(article_id), str(after[3].get(article_id)))
        allowed = {(state[0].get(article_id), state[2].get(article_id), str(state[3].get(article_id)))
                   for state in (old, new)}
        assert got in allowed, f"crash at write {crash_at}: article {article_id} (or its history) is neither"
    # The history holds an old version's chunks only once its record is there, and never the current text.
    for _, article_id, content_hash, *_ in after[4]:
        assert after[0][article_id] != content_hash, f"crash at write {crash_at}: a history copy of the current text"
    assert {h[2] for h in after[4]} <= {v[0] for vs in after[3].values() for v in vs[:-1]}
    # Every chunk belongs to a committed article version; no duplicates, no orphans.
    chunks = repaired.chunks.get(include=["metadatas"])
    assert len(chunks["ids"]) == len(set(chunks["ids"]))
    for meta in chunks["metadatas"]:
        assert after[0].get(meta["article_id"]) == meta["content_hash"]
    counts = {a.id: a.chunks for a in repaired.list_articles()}
    for article_id, n in counts.items():
        assert sum(m["article_id"] == article_id for m in chunks["metadatas"]) == n
    # Writing V2 again always ends at exactly the clean result.
    _write(repaired, V2)
    assert _state(repaired) == new


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5, 6])
# mark, delete chunks, delete history chunks, delete versions, bump the token, remove the record
def test_delete_interrupted_at_any_write_is_finished_by_repair(settings, crash_at):
    store = ArticleStore(settings)
    _write(store, V1)
    _write(store, V2)  # "a" has an earlier version in the history
    assert len(store.article_versions("a")) == 2
    token = store.generation()
    crashing = CrashingStore(settings, crash_at=crash_at)
    with pytest.raises(Crash):
        crashing.delete_article("a")
    expected = {"a", "b", "c"} if crash_at == 1 else {"b", "c"}  # the first write failing changes nothing
    repaired = ArticleStore(settings)
    assert set(repaired.article_hashes()) == expected  # an article being deleted is never listed
    repaired.repair()
    assert set(repaired.article_hashes()) == expected
    assert {m["article_id"] for m in repaired.chunks.get(include=["metadatas"])["metadatas"]} == expected
    history = {m["article_id"] for m in repaired.history.get(include=["metadatas"])["metadatas"]}
    versions = {m["article_id"] for m in repaired.versions.get(include=["metadatas"])["metadatas"]}
    assert history == versions == ({"a"} if "a" in expected else set())  # its history goes with it
    if expected != {"a", "b", "c"}:
        assert repaired.generation() != token


class InterleavedStore(ArticleStore):
    """A real store whose clean step is overtaken: just after it reads the records it marks clean, another
    writer (a second process on a Chroma server, which has no lock) writes the same article in full."""

    def __init__(self, settings, other: PreparedArticle) -> None:
        super().__init__(settings)
        self.other, self.overtaken = other, False

    def _records(self, where=None, ids=None):
        records = super()._records(where=where, ids=ids)
        if not self.overtaken and any(r.get("dirty") and r.get("content_hash") for r in records):
            self.overtaken = True
            ArticleStore(self.settings).write_articles([self.other])  # commits while this writer is between steps
        return records


def test_a_write_between_the_clean_steps_read_and_write_is_kept(settings):
    """Two writers of one article: the clean step writes only the journal's flags, so it cannot put back
    the hash and text it read before the other writer committed its version."""
    first = ArticleStore(settings)
    _write(first, V1)
    store = InterleavedStore(settings, _prepared("a", V2["a"]))
    store.write_articles([_prepared("a", "One fact. Two facts. Three facts. A late line")])
    assert store.overtaken
    hashes, _, texts, _, _ = _state(ArticleStore(settings))
    assert texts["a"] in (V2["a"], "One fact. Two facts. Three facts. A late line")
    assert hashes["a"] == _prepared("a", texts["a"]).article.content_hash
    assert not ArticleStore(settings).registry.get(where={"dirty": True}, include=[])["ids"]


def test_a_transient_chroma_error_is_tried_again_and_a_lasting_one_is_reported(settings, monkeypatch):
    # A Chroma server under two concurrent ingests can fail a read while the other client's write persists
    # its HNSW index ("Nothing found on disk"); a moment later the same read succeeds.
    import chromadb.errors

    import vectorstore.store as store_module
    from core.errors import StoreUnavailable

    monkeypatch.setattr(store_module, "TRANSIENT_RETRIES", (0.0, 0.0))
    store = ArticleStore(settings)
    store.write_articles([_prepared("a", "First sentence here. Second one there")])
    real = store.chunks.get
    failures = {"left": 2}

    def flaky(*args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise chromadb.errors.InternalError("Error executing plan: Internal error: Error creating hnsw segment "
                                                "reader: Nothing found on disk")
        return real(*args, **kwargs)

    monkeypatch.setattr(store.chunks, "get", flaky)
    assert store.stored_vectors(["no-such-key"]) == {} and failures["left"] == 0  # two failures, then it ran
    failures["left"] = 3  # more failures than tries: a clear error, as for any other failure
    with pytest.raises(StoreUnavailable, match="reading stored vectors failed: .*Nothing found on disk"):
        store.stored_vectors(["no-such-key"])
