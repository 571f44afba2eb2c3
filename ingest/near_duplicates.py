"""Syndicated and near-duplicate articles: wire copies lightly edited by each outlet, grouped as one story.

Each article's cleaned text becomes a set of word shingles (`shingles`: case and punctuation folded, a
dateline's outlet prefix cut as `core.sentences` cuts it), summarised by a MinHash (`datasketch`). An LSH
index over the MinHashes finds an article's candidate copies without looking at the others, so adding one
costs the same at 1k and 10k articles (docs/benchmarks.md, "Near-duplicates"). A candidate counts only when
its estimated Jaccard similarity reaches `Params.threshold` (chosen on data by `bench/near_duplicates.py`);
the new article joins the group of its most similar such article.

A group is named by its earliest-published member (undated ones last, ties by id): the original wire
story is usually the first one out, and the name depends only on what is in the store, so a rebuild
names the groups as the incremental index did. Removing an article takes it out of its group; the others
stay together (they were judged copies of one story).

Persistence: one file per collection in the store folder (`index_path`; on a Chroma server only when that
folder exists, else in memory, see `_kept_at`), a log of JSON lines (a header
with the parameters, then `add`, `remove` and `synced` records). A batch of changes is appended with one
fsync, so saving costs what changed, not the collection; when the log has grown to twice what it
describes it is rewritten whole, atomically (unique temporary file, fsync, `os.replace`). The `synced`
record holds the store's change token (`ArticleStore.generation`) the index matches: when the store
has moved on without the index (a crash between the two writes, a delete by another door, a failed
save) `sync` brings the index level with the store's articles; a missing or corrupt file, or one
written with other parameters, is rebuilt from the store. Writers hold the store's write lock
(`ArticleStore.writing`) around reading, changing and saving the file.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.files import write_atomically
from core.records import Article, Copy, Hit, also_reported
from core.sentences import sentences
from core.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.store import ArticleStore

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
NORMALISE_VERSION = 1
"""Bump when `shingles` changes what it produces: every index built with the old rule is rebuilt."""

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Params:
    """How articles are compared; an index written with other values is rebuilt.

    The defaults were chosen on one half of realtimeqa-dev (synthetic copies vs. distinct articles on the
    same topic) and checked on the other half: `python -m bench near-dups`."""

    shingle: int = 3
    """Words per shingle."""
    num_perm: int = 256
    """MinHash permutations: the estimate's standard error is sqrt(J(1-J)/num_perm), 0.031 at J=0.5."""
    threshold: float = 0.54
    """Estimated Jaccard similarity from which an article is a copy of another. On realtimeqa-dev the
    least similar synthetic copy scored 0.65 and the most similar distinct article 0.43."""
    bands: int = 64
    rows: int = 4
    """LSH bands x rows: a pair at Jaccard J becomes a candidate with probability 1-(1-J^rows)^bands,
    99.7% at the threshold and 99.99% at J=0.6, while a pair at J=0.1 (unrelated news) is one 0.6% of
    the time: the LSH misses almost no copy and brings few candidates to check."""
    min_shingles: int = 20
    """Texts with fewer shingles (a caption, a page whose text failed to load) are never grouped: too
    little text to call two articles one story."""
    seed: int = 1

    def to_json(self) -> dict[str, Any]:
        return dict(asdict(self), normalise=NORMALISE_VERSION)


@dataclass(frozen=True)
class Member:
    """One article of a story."""

    article_id: str
    source: str = ""
    published: date | None = None


def _member_order(m: Member) -> tuple[bool, date, str]:
    return (m.published is None, m.published or date.min, m.article_id)


@dataclass(frozen=True)
class Group:
    """Articles judged copies of one story, earliest-published first; `id` is that first one's id."""

    members: tuple[Member, ...]

    @property
    def id(self) -> str:
        return self.members[0].article_id

    def __len__(self) -> int:
        return len(self.members)

    def others(self, article_id: str) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.article_id != article_id)

    @property
    def outlets(self) -> list[str]:
        """The members' outlets, each once, in the members' order."""
        return list(dict.fromkeys(m.source or "(unknown outlet)" for m in self.members))


@dataclass(frozen=True)
class Collapsed:
    """A hit kept by `collapse`, with the other articles of its story."""

    hit: Hit
    copies: tuple[Member, ...] = ()

    def note(self) -> str:
        """"also reported by OUTLET, OUTLET (n copies)", or "" when the story has no other article."""
        return also_reported(self.as_copies())

    def as_copies(self) -> tuple[Copy, ...]:
        """The story's other articles as the records retrieval hands on."""
        return tuple(Copy(m.article_id, m.source, m.published) for m in self.copies)


def collapse(hits: Sequence[Hit], group_of: Callable[[str], Group | None]) -> list[Collapsed]:
    """`hits` (best first) with copies folded: the best-ranked article of each story keeps its hits and
    records the story's other articles; hits from those other articles are dropped. Order is kept.

    Several hits of the one kept article stay: they are different passages, not copies."""
    kept: list[Collapsed] = []
    story_article: dict[str, str] = {}  # group id -> the article that speaks for it
    groups: dict[str, Group | None] = {}
    for hit in hits:
        article_id = hit.chunk.article_id
        if article_id not in groups:
            groups[article_id] = group_of(article_id)
        group = groups[article_id]
        if group is None or len(group) < 2:
            kept.append(Collapsed(hit))
            continue
        chosen = story_article.setdefault(group.id, article_id)
        if chosen == article_id:
            kept.append(Collapsed(hit, group.others(article_id)))
    return kept


def shingles(text: str, size: int) -> set[str]:
    """The article's word shingles: sentences without their dateline's outlet prefix, case and
    punctuation folded, `size` words each (the whole text as one when shorter)."""
    words: list[str] = []
    for s in sentences(text):
        words.extend(_WORD.findall(text[s.quote_start:s.end].casefold()))
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def index_path(settings: Settings) -> Path:
    """The index file of the store `settings` name: in the store folder, one a collection (and server)."""
    return settings.store_dir / "near-duplicates" / f"{settings.store_key}.jsonl"


def _kept_at(settings: Settings) -> Path | None:
    """Where the index is kept: `index_path`, except for a Chroma server when the store folder does not
    exist. An app on a Chroma server keeps no local state of its own; there the index lives in memory,
    built from the server on first use in each process (create the folder to keep it across runs)."""
    if settings.server_mode and not settings.store_dir.is_dir():
        return None
    return index_path(settings)


class IndexCorrupt(ValueError):
    """The index file cannot be read as one written with these parameters."""


@dataclass
class _Entry:
    member: Member
    content_hash: str
    key: int
    digest: "np.ndarray | None" = field(default=None, repr=False)
    """The MinHash values; None for a text too short to be grouped."""


class NearDuplicates:
    """The near-duplicate index of one collection. Thread-safe; across processes, writers hold the
    store's write lock around `sync`/`add`/`remove`/`save` (the ingest pipeline does)."""

    def __init__(self, path: Path | None, params: Params | None = None) -> None:
        self.path = path
        self.params = params or Params()
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._groups: dict[int, set[str]] = {}
        self._next_key = 0
        self._lsh: Any = None
        self._permutations: Any = None
        self._log: list[dict[str, Any]] = []
        """Records not yet written."""
        self._lines = 0
        """Records in the file (header excluded), to know when to rewrite it."""
        self._file_id: tuple[int, int, int] | None = None
        """(inode, size, mtime_ns) after this object last read or wrote the file."""
        self.synced: str | None = None
        """The store change token the index matches (None: unknown, `sync` compares with the store)."""
        self._reset()

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None, params: Params | None = None) -> "NearDuplicates":
        """The index in `path` as it is (empty when missing; empty and unsynced when corrupt or written with
        other parameters). Reads only: for a reader such as the app."""
        index = cls(path, params)
        index.reload()
        return index

    @classmethod
    def for_reading(cls, settings: Settings, params: Params | None = None) -> "NearDuplicates":
        """The index of the store `settings` name as the last write left it, for a reader (the app): it
        follows other processes' writes with `refresh` and never writes itself."""
        return cls.open(_kept_at(settings), params)

    @classmethod
    def for_store(cls, settings: Settings, store: "ArticleStore | None" = None,
                  params: Params | None = None) -> "NearDuplicates":
        """The index of the store `settings` name, brought level with the store's articles."""
        from vectorstore.store import ArticleStore

        store = store or ArticleStore(settings)
        index = cls(_kept_at(settings), params)
        with store.writing():
            index.reload()
            index.sync(store)
        return index

    def reload(self) -> None:
        """Read the file again (missing: empty; unreadable: empty and unsynced, rebuilt by `sync`)."""
        with self._lock:
            self._reset()
            if self.path is None:
                return
            try:
                self._read()
            except FileNotFoundError:
                self.synced = None
            except (OSError, IndexCorrupt) as e:
                logger.warning("near-duplicate index %s is unreadable (%s); it is rebuilt from the store",
                               self.path, e)
                self._reset()
                self._lines = -1  # rewrite the whole file at the next save

    def refresh(self) -> None:
        """Reload when another process changed the file since this object read or wrote it."""
        with self._lock:
            if self.path is not None and self._stat() != self._file_id:
                self.reload()

    def sync(self, store: "ArticleStore") -> int:
        """Bring the index level with the store's committed articles when the store changed without it;
        returns how many articles were added or removed. Call with the store's write lock held."""
        with self._lock:
            self.refresh()
            generation = store.generation()
            if self.synced == generation:
                return 0
            stored = {a.id: a for a in store.list_articles()}
            changed = 0
            for article_id, entry in list(self._entries.items()):
                info = stored.get(article_id)
                if info is None or info.content_hash != entry.content_hash:
                    self.remove(article_id)
                    changed += 1
            missing = sorted((a for a in stored.values() if a.id not in self._entries),
                             key=lambda a: _member_order(Member(a.id, a.source, a.published)))
            for info in missing:
                text = store.article_text(info.id)
                if text is not None:
                    self.add(info.id, text, source=info.source, published=info.published,
                             content_hash=info.content_hash)
                    changed += 1
            if changed:
                logger.info("near-duplicate index: %d article(s) brought level with %s", changed, store.location)
            self.save(generation)
            return changed

    # -- changing ------------------------------------------------------------------------------

    def add(self, article_id: str, text: str, *, source: str = "", published: date | None = None,
            content_hash: str | None = None) -> Group:
        """Index an article (replacing its earlier version) and return its group (itself alone when it
        copies nothing). Costs one MinHash and one LSH query, whatever the number of articles."""
        from core.records import content_hash as hash_of

        digest_hash = content_hash or hash_of(text)
        with self._lock:
            old = self._entries.get(article_id)
            if old is not None and old.content_hash == digest_hash:
                member = Member(article_id, source, published)
                if old.member != member:  # its outlet or date corrected: same text, same group
                    self.remove(article_id)
                    self._insert(_Entry(member, digest_hash, old.key, old.digest))
                    self._log.append(_added(member, digest_hash, old.key, old.digest))
                return self._group(old.key)
            if old is not None:
                self.remove(article_id)
            digest = self._minhash(text)
            key = self._best_key(digest) if digest is not None else None
            if key is None:
                key = self._new_key()
            member = Member(article_id, source, published)
            self._insert(_Entry(member, digest_hash, key, digest))
            self._log.append(_added(member, digest_hash, key, digest))
            return self._group(key)

    def remove(self, article_id: str) -> bool:
        """Take an article out of the index and its group; False when it was not in it."""
        with self._lock:
            entry = self._entries.pop(article_id, None)
            if entry is None:
                return False
            if entry.digest is not None and self._lsh is not None:
                self._lsh.remove(article_id)
            members = self._groups[entry.key]
            members.discard(article_id)
            if not members:
                del self._groups[entry.key]
            self._log.append({"op": "remove", "id": article_id})
            return True

    def save(self, generation: str | None = None) -> None:
        """Write what changed (and, given it, the store change token the index now matches): appended
        with one fsync, or the whole file rewritten atomically when the log has grown too long."""
        with self._lock:
            if generation is not None:
                self.synced = generation
                self._log.append({"op": "synced", "generation": generation})
            if self.path is None or not self._log:
                self._log.clear()
                return
            current = self._stat()
            if current is not None and current != self._file_id:
                # Another process wrote the file since this object read it (the caller did not `refresh`
                # under the lock): this state may lack its changes, so it is saved as not synced.
                self.synced = None
            if current is None or current != self._file_id or self._lines < 0 or \
                    self._lines + len(self._log) > 2 * len(self._entries) + 64:
                self._rewrite()
            else:
                self._append(self._log)
            self._log.clear()

    # -- reading -------------------------------------------------------------------------------

    def group_of(self, article_id: str) -> Group | None:
        """The article's group (itself alone when it copies nothing); None when it is not indexed."""
        with self._lock:
            entry = self._entries.get(article_id)
            return self._group(entry.key) if entry else None

    def groups(self) -> list[Group]:
        """Every story with more than one article, the largest first."""
        with self._lock:
            found = [self._group(k) for k, ids in self._groups.items() if len(ids) > 1]
        return sorted(found, key=lambda g: (-len(g), _member_order(g.members[0])))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    # -- inside --------------------------------------------------------------------------------

    def _reset(self) -> None:
        self._entries, self._groups, self._next_key, self._log, self._lines = {}, {}, 0, [], 0
        self._lsh = None
        self._file_id = None
        self.synced = None

    def _group(self, key: int) -> Group:
        return Group(tuple(sorted((self._entries[i].member for i in self._groups[key]), key=_member_order)))

    def _new_key(self) -> int:
        self._next_key += 1
        return self._next_key - 1

    def _insert(self, entry: _Entry) -> None:
        self._entries[entry.member.article_id] = entry
        self._groups.setdefault(entry.key, set()).add(entry.member.article_id)
        self._next_key = max(self._next_key, entry.key + 1)
        if entry.digest is not None and self._lsh is not None:
            self._lsh.insert(entry.member.article_id, self._lean(entry.digest), check_duplication=False)

    def _candidates(self, digest: "np.ndarray") -> list[str]:
        """The LSH's candidates for `digest`. The LSH is built on the first query, not when the file is read:
        readers (groups, `group_of`) never need it, and it is the slow part of opening (0.5 ms an article)."""
        if self._lsh is None:
            from datasketch import MinHashLSH

            lsh = MinHashLSH(num_perm=self.params.num_perm, params=(self.params.bands, self.params.rows))
            for article_id, entry in self._entries.items():
                if entry.digest is not None:
                    lsh.insert(article_id, self._lean(entry.digest), check_duplication=False)
            self._lsh = lsh
        return list(self._lsh.query(self._lean(digest)))

    def _best_key(self, digest: "np.ndarray") -> int | None:
        """The group of the most similar indexed article at or above the threshold (ties: the earliest)."""
        import numpy as np

        best: tuple[float, tuple[bool, date, str]] | None = None
        key = None
        for candidate in self._candidates(digest):
            other = self._entries[candidate]
            assert other.digest is not None
            similarity = float(np.count_nonzero(other.digest == digest)) / len(digest)
            if similarity < self.params.threshold:
                continue
            rank = (-similarity, _member_order(other.member))
            if best is None or rank < best:
                best, key = rank, other.key
        return key

    def _minhash(self, text: str) -> "np.ndarray | None":
        from datasketch import MinHash

        found = shingles(text, self.params.shingle)
        if len(found) < self.params.min_shingles:
            return None
        p = self.params
        if self._permutations is None:
            self._permutations = MinHash(num_perm=p.num_perm, seed=p.seed).permutations
        m = MinHash(num_perm=p.num_perm, seed=p.seed, permutations=self._permutations, scheme="affine32")
        m.update_batch([s.encode("utf-8") for s in found])
        return m.digest()

    def _lean(self, digest: "np.ndarray") -> Any:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.params.seed, hashvalues=digest, scheme="affine32")

    # -- the file ------------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {"kind": "newsdesk near-duplicates", "version": FORMAT_VERSION, "params": self.params.to_json()}

    def _stat(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _read(self) -> None:
        assert self.path is not None
        with open(self.path, "rb") as handle:
            data = handle.read()
        lines = data.split(b"\n")
        torn = bool(lines and lines[-1])  # an append cut short by a crash: the last line has no newline
        lines = lines[:-1]
        if not lines:
            raise IndexCorrupt("empty file")
        try:
            header = json.loads(lines[0])
        except ValueError as e:
            raise IndexCorrupt(f"unreadable header: {e}") from e
        if header != self._header():
            raise IndexCorrupt("written by another version or with other parameters")
        for number, line in enumerate(lines[1:], start=2):
            try:
                self._replay(json.loads(line))
            except (ValueError, KeyError, TypeError) as e:
                raise IndexCorrupt(f"line {number}: {e}") from e
        self._lines = len(lines) - 1
        if torn:
            self.synced = None
            self._lines = -1
        self._file_id = self._stat()

    def _replay(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "synced":
            self.synced = str(record["generation"])
            return
        self.synced = None  # a change after the last synced record: the store's state is unknown
        article_id = str(record["id"])
        if op == "remove":
            self.remove(article_id)
        elif op == "add":
            self.remove(article_id)
            published = date.fromisoformat(record["published"]) if record["published"] else None
            digest = _decode(record["digest"], self.params.num_perm)
            self._insert(_Entry(Member(article_id, str(record["source"]), published), str(record["hash"]),
                                int(record["group"]), digest))
        else:
            raise ValueError(f"unknown record {op!r}")
        self._log.clear()

    def _records(self) -> Iterator[dict[str, Any]]:
        for entry in self._entries.values():
            yield _added(entry.member, entry.content_hash, entry.key, entry.digest)
        if self.synced is not None:
            yield {"op": "synced", "generation": self.synced}

    def _append(self, records: Iterable[dict[str, Any]]) -> None:
        assert self.path is not None
        lines = [_line(r) for r in records]
        with open(self.path, "ab") as handle:
            handle.write(b"".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
        self._lines += len(lines)
        self._file_id = self._stat()

    def _rewrite(self) -> None:
        assert self.path is not None
        records = list(self._records())
        write_atomically(self.path, b"".join([_line(self._header()), *map(_line, records)]))
        self._lines = len(records)
        self._file_id = self._stat()


class NearDuplicateTracker:
    """Keeps a store's near-duplicate index in step with its writes, never at their expense: a failure of
    the index is logged and leaves it to be brought level (or rebuilt) at the next write."""

    def __init__(self, store: "ArticleStore", params: Params | None = None) -> None:
        self.store = store
        self.params = params
        self._index: NearDuplicates | None = None

    @contextmanager
    def around_write(self, *, added: Sequence[Article] = (), removed: Sequence[str] = ()) -> Iterator[None]:
        """Hold the store's write lock around a write (the body) of these articles: the index is brought
        level with the store before it and records the change after it (when the body did not raise)."""
        with self.store.writing():
            index = self._ready()
            yield
            if index is not None:
                self._record(index, added, removed)

    def index(self) -> NearDuplicates | None:
        """The index, level with the store (None when it cannot be read or written just now)."""
        with self.store.writing():
            return self._ready()

    def _ready(self) -> NearDuplicates | None:
        try:
            if self._index is None:
                self._index = NearDuplicates(_kept_at(self.store.settings), self.params)
                self._index.reload()
            self._index.sync(self.store)
            return self._index
        except Exception as e:  # the index must never cost an article: it is brought level next time
            logger.warning("near-duplicate index unavailable (%s: %s); articles are written without it and it "
                           "is brought level at the next write", type(e).__name__, e)
            logger.debug("near-duplicate index unavailable", exc_info=True)
            self._index = None
            return None

    def _record(self, index: NearDuplicates, added: Sequence[Article], removed: Sequence[str]) -> None:
        try:
            for article in added:
                index.add(article.id, article.text, source=article.source, published=article.published,
                          content_hash=article.content_hash)
            for article_id in removed:
                index.remove(article_id)
            index.save(self.store.generation())
        except Exception as e:
            logger.warning("near-duplicate index not updated (%s: %s); it is brought level at the next write",
                           type(e).__name__, e)
            logger.debug("near-duplicate index not updated", exc_info=True)
            self._index = None


def _added(member: Member, content_hash: str, key: int, digest: "np.ndarray | None") -> dict[str, Any]:
    """The log record of an article added to group `key`."""
    return {"op": "add", "id": member.article_id, "hash": content_hash, "source": member.source,
            "published": member.published.isoformat() if member.published else "", "group": key,
            "digest": _encode(digest)}


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _encode(digest: "np.ndarray | None") -> str:
    return "" if digest is None else base64.b64encode(digest.astype("<u4").tobytes()).decode("ascii")


def _decode(text: str, num_perm: int) -> "np.ndarray | None":
    import numpy as np

    if not text:
        return None
    digest = np.frombuffer(base64.b64decode(text, validate=True), dtype="<u4").astype(np.uint32)
    if len(digest) != num_perm:
        raise ValueError(f"a MinHash of {len(digest)} values, not {num_perm}")
    return digest


__all__ = ["Collapsed", "Group", "Member", "NearDuplicateTracker", "NearDuplicates", "Params", "collapse", "index_path",
           "shingles"]
