"""The store's write journal: a crash after any Chroma write leaves a store that repair() makes whole."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from core.records import Article, Chunk
from vectorstore.store import ArticleStore, PreparedArticle

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


def _state(store: ArticleStore) -> tuple[dict[str, str], list[str], dict[str, str]]:
    ids = sorted(store.chunks.get(include=[])["ids"])
    texts = {a.id: store.article_text(a.id) for a in store.list_articles()}
    return store.article_hashes(), ids, texts


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


WRITES_OF_V2 = 7
"""Journal steps 1-4 for one updated and one new article, plus the change token: asserted below, so a
new write in `write_articles` must be added to the crash points too."""


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
        got = (after[0].get(article_id), after[2].get(article_id))
        allowed = {(old[0].get(article_id), old[2].get(article_id)), (new[0].get(article_id), new[2].get(article_id))}
        assert got in allowed, f"crash at write {crash_at}: article {article_id} is neither old nor new"
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


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4])  # mark, delete chunks, bump the token, remove the record
def test_delete_interrupted_at_any_write_is_finished_by_repair(settings, crash_at):
    store = ArticleStore(settings)
    _write(store, V1)
    token = store.generation()
    crashing = CrashingStore(settings, crash_at=crash_at)
    with pytest.raises(Crash):
        crashing.delete_article("a")
    expected = {"a", "b"} if crash_at == 1 else {"b"}  # the first write failing changes nothing
    repaired = ArticleStore(settings)
    assert set(repaired.article_hashes()) == expected  # an article being deleted is never listed
    repaired.repair()
    assert set(repaired.article_hashes()) == expected
    assert {m["article_id"] for m in repaired.chunks.get(include=["metadatas"])["metadatas"]} == expected
    if expected != {"a", "b"}:
        assert repaired.generation() != token
