"""When an answer cites a sentence that an update of its article changed or removed, say so.

An answer's sentences are exact spans of the articles (the product's rule), so what changed between
versions is not written into the answer text: it is a note beside it, quoting both versions with their
days ("The 4 Nov 2025 version of “TITLE” said “… 812 …” [1]; its 20 Nov 2025 update says “… 870 …”.").
Only cited sentences that the next version (or, for a citation of the current version, the previous one)
changed or removed are mentioned; an article with one version costs one registry read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.timeframe import describe_window
from core.records import Answer, Citation
from core.versions import ArticleVersion, sentence_diff

if TYPE_CHECKING:
    from vectorstore.store import ArticleStore


def _day(version: ArticleVersion) -> str:
    return describe_window(version.valid_from, version.valid_from) if version.valid_from else "undated"


def _without_prefix(sentence: str, quoted: str, other: str) -> str:
    """`other` without the part before `quoted` in `sentence` (a dateline's outlet, which is not quoted)."""
    at = sentence.find(quoted)
    prefix = sentence[:at] if at > 0 else ""
    return other[len(prefix):] if prefix and other.startswith(prefix) else other


def _note(citation: Citation, older: ArticleVersion, newer: ArticleVersion, old_text: str, new_text: str,
          cited_older: bool) -> str | None:
    diff = sentence_diff(old_text, new_text)
    title = f" of \u201c{citation.title}\u201d" if citation.title else ""
    for old, new in diff.changed:
        mine, theirs = (old, new) if cited_older else (new, old)
        if citation.quote in mine:
            other = _without_prefix(mine, citation.quote, theirs)
            if cited_older:
                return (f"The {_day(older)} version{title} said \u201c{citation.quote}\u201d [{citation.n}]; "
                        f"its {_day(newer)} update says \u201c{other}\u201d.")
            return (f"The {_day(older)} version{title} said \u201c{other}\u201d; its {_day(newer)} update says "
                    f"\u201c{citation.quote}\u201d [{citation.n}].")
    gone = diff.removed if cited_older else diff.added
    if any(citation.quote in s for s in gone):
        return (f"The {_day(newer)} update{title} removed the sentence cited as [{citation.n}]." if cited_older
                else f"The sentence cited as [{citation.n}] was added by the {_day(newer)} update{title}.")
    return None


def version_notes(store: "ArticleStore", answer: Answer) -> list[str]:
    """One note for each cited sentence an adjacent version of its article says differently."""
    if not answer.citations or not store.has_versions():
        return []
    hashes = {h.chunk.id: h.chunk.content_hash for h in answer.hits}
    notes: list[str] = []
    histories: dict[str, list[ArticleVersion]] = {}
    for citation in answer.citations:
        versions = histories.setdefault(citation.article_id, store.article_versions(citation.article_id))
        cited = hashes.get(citation.chunk_id)
        at = next((i for i, v in enumerate(versions) if v.content_hash == cited), None)
        if len(versions) < 2 or at is None:
            continue
        cited_older = at + 1 < len(versions)  # the next version is compared, else the one before
        older, newer = (versions[at], versions[at + 1]) if cited_older else (versions[at - 1], versions[at])
        old_text = store.version_text(citation.article_id, older.content_hash)
        new_text = store.version_text(citation.article_id, newer.content_hash)
        if old_text is None or new_text is None:
            continue
        note = _note(citation, older, newer, old_text, new_text, cited_older)
        if note and note not in notes:
            notes.append(note)
    return notes
