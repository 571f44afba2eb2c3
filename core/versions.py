"""Versions of an article: what each one is (text hash, the dates it was current) and what changed between two.

A version is current from the day it was published or stated as updated (`valid_from`) to the day the
next version replaced it (`superseded`, None for the current version). What changed is a diff of
sentences (`core.sentences`, the segmentation answers quote from), not of characters: a reader wants
"this sentence was changed into that one", and a quote in an old answer is one of these sentences.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from core.sentences import sentences


@dataclass(frozen=True)
class ArticleVersion:
    """One text an article has had. The current version has `superseded` None."""

    article_id: str
    content_hash: str
    title: str = ""
    published: date | None = None
    updated: date | None = None
    """The update date the version itself states, if any."""
    valid_from: date | None = None
    """The day this version became current: its stated update date, else the day the version before it
    was superseded, else its published date (None: undated, current since always)."""
    superseded: date | None = None
    """The day the next version replaced it (that version's stated update date, else the day it was ingested)."""
    chunks: int = 0

    @property
    def current(self) -> bool:
        return self.superseded is None

    def to_json(self) -> dict[str, Any]:
        return {"content_hash": self.content_hash, "title": self.title, "current": self.current,
                "published": _iso(self.published), "updated": _iso(self.updated),
                "valid_from": _iso(self.valid_from), "superseded": _iso(self.superseded), "chunks": self.chunks}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def valid_at(version: ArticleVersion, day: date) -> bool:
    """Whether `version` was the article's current text on `day`."""
    started = version.valid_from is None or version.valid_from <= day
    return started and (version.superseded is None or day < version.superseded)


@dataclass(frozen=True)
class SentenceDiff:
    """The sentences one version removed, added and changed (old sentence, new sentence), in text order."""

    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.removed or self.added or self.changed)

    def to_json(self) -> dict[str, Any]:
        return {"removed": self.removed, "added": self.added,
                "changed": [{"old": old, "new": new} for old, new in self.changed]}

    def lines(self) -> list[str]:
        """The diff for a terminal: "- old", "+ new", "~ old" / "  -> new"."""
        out = [f"  ~ {old}\n    -> {new}" for old, new in self.changed]
        out += [f"  - {s}" for s in self.removed]
        out += [f"  + {s}" for s in self.added]
        return out or ["  (no sentence changed: only spacing or line breaks)"]


def _sentence_texts(text: str) -> list[str]:
    return [" ".join(text[s.start:s.end].split()) for s in sentences(text)]


def sentence_diff(old: str, new: str) -> SentenceDiff:
    """What changed from `old` to `new`, sentence by sentence. Where a run of old sentences was replaced by a
    run of new ones, they pair up in order as changed (the n-th replaced by the n-th), and the rest of the
    longer run is removed or added: no similarity threshold decides what counts as "the same sentence"."""
    a, b = _sentence_texts(old), _sentence_texts(new)
    diff = SentenceDiff()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        diff.changed.extend(zip(a[i1:i1 + pairs], b[j1:j1 + pairs]))
        diff.removed.extend(a[i1 + pairs:i2])
        diff.added.extend(b[j1 + pairs:j2])
    return diff


class VersionSource(Protocol):
    """What a history is read from (`vectorstore.store.ArticleStore`)."""

    def article_versions(self, article_id: str) -> list[ArticleVersion]: ...

    def version_text(self, article_id: str, content_hash: str) -> str | None: ...


@dataclass(frozen=True)
class VersionHistory:
    """An article's versions, oldest first, and what changed from each to the next (`diffs[i]`: from
    `versions[i]` to `versions[i + 1]`)."""

    article_id: str
    versions: list[ArticleVersion]
    diffs: list[SentenceDiff]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.article_id, "versions": [v.to_json() for v in self.versions],
                "changes": [dict(d.to_json(), old=a.content_hash, new=b.content_hash)
                            for a, b, d in zip(self.versions, self.versions[1:], self.diffs)]}

    def lines(self) -> list[str]:
        """The history for a terminal: one line per version, then each change as a sentence diff."""
        out = [f"{self.article_id}: {len(self.versions)} version{'' if len(self.versions) == 1 else 's'}"]
        out += [f"  {describe_version(v)}" for v in self.versions]
        for a, b, d in zip(self.versions, self.versions[1:], self.diffs):
            out.append(f"\nchanges from {a.content_hash[:12]} to {b.content_hash[:12]} ({_counts(d)}):")
            out += d.lines()
        return out


def describe_version(version: ArticleVersion) -> str:
    """ "3f2a9c1e0b7d  current from 2025-11-20 (updated 2025-11-20)  Title" """
    until = "current" if version.current else f"until {_iso(version.superseded)}"
    began = f"from {_iso(version.valid_from)}" if version.valid_from else "undated"
    stated = f" (updated {_iso(version.updated)})" if version.updated else ""
    published = f", published {_iso(version.published)}" if version.published else ""
    return f"{version.content_hash[:12]}  {until}, {began}{stated}{published}  {version.title}"


def _counts(diff: SentenceDiff) -> str:
    return f"{len(diff.changed)} changed, {len(diff.removed)} removed, {len(diff.added)} added"


def version_history(store: VersionSource, article_id: str) -> VersionHistory | None:
    """The versions of `article_id` with the sentence diff between each two in a row; None when it is not stored."""
    versions = store.article_versions(article_id)
    if not versions:
        return None
    texts = [store.version_text(article_id, v.content_hash) or "" for v in versions]
    return VersionHistory(article_id, versions, [sentence_diff(a, b) for a, b in zip(texts, texts[1:])])


def compare_versions(store: VersionSource, article_id: str, old_hash: str, new_hash: str) -> SentenceDiff | None:
    """What changed from one stored version of the article to another; None when either is not stored."""
    old, new = store.version_text(article_id, old_hash), store.version_text(article_id, new_hash)
    return None if old is None or new is None else sentence_diff(old, new)
