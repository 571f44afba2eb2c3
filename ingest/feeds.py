"""RSS and Atom feeds read into entries (feedparser); the loader decides which entries need fetching.

Parsing only: no network here. An entry whose own content is long enough is an article as it stands
(`entry_article`); a shorter one (a headline and a teaser) is the article at its link.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.records import Article
from ingest.formats.html import canonical_url, html_to_text
from ingest.formats.meta import host_of, one_line, word_count

logger = logging.getLogger(__name__)

MIN_FEED_CONTENT_WORDS = 80
"""A feed entry whose own content is shorter than this is fetched from its link instead."""


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, as far as the feed tells it."""

    number: int
    link: str
    """The entry's absolute http(s) link without fragment, or ""."""
    title: str = ""
    published: date | None = None
    author: str = ""
    text: str = ""
    """The entry's own content (or summary) as text."""
    entry_id: str = ""
    updated: str = ""
    """The entry's updated (else published) date as the feed gives it: with its title and text, what tells
    a changed entry (`ingest.watch`)."""
    problem: str = ""
    """Why the entry could not be read (then nothing else is set)."""


@dataclass(frozen=True)
class Feed:
    source: str
    """The feed's title, else its site's host: the outlet of its entries."""
    entries: list[FeedEntry] = field(default_factory=list)


def parse_feed(data: bytes, base: str | None = None) -> Feed:
    """The entries of a feed's bytes (`base`: the URL it came from). Raises ValueError when it has none,
    saying why ("malformed feed: not well-formed (invalid token) (line 2, column 0)")."""
    from io import BytesIO

    import feedparser

    headers = {"content-location": base} if base else {}
    # A stream, never bytes or str: feedparser would try those as a file name or URL first.
    parsed = feedparser.parse(BytesIO(data), response_headers=headers)
    if not parsed.entries:
        raise ValueError(_empty_feed_reason(parsed))
    source = one_line(parsed.feed.get("title")) or host_of(base or parsed.feed.get("link", ""))
    return Feed(source, [_entry(raw, number) for number, raw in enumerate(parsed.entries, start=1)])


def _entry(raw: Any, number: int) -> FeedEntry:
    try:
        content = raw["content"][0].get("value", "") if raw.get("content") else raw.get("summary", "")
        return FeedEntry(number=number, link=canonical_url(raw.get("link"), None), title=one_line(raw.get("title")),
                         published=_entry_date(raw), author=one_line(raw.get("author")),
                         text=html_to_text(content or ""), entry_id=one_line(raw.get("id")),
                         updated=one_line(raw.get("updated") or raw.get("published")))
    except Exception as e:  # a strange entry must not cost the feed's other entries
        logger.warning("unexpected error reading feed entry %d", number, exc_info=True)
        return FeedEntry(number=number, link="", problem=f"unexpected error: {type(e).__name__}: {e}")


def entry_article(entry: FeedEntry, feed: Feed, location: str) -> Article | None:
    """The entry's own content as an article when it has `MIN_FEED_CONTENT_WORDS`, else None (the article is
    the page at its link). `location` is the feed's URL or file."""
    if word_count(entry.text) < MIN_FEED_CONTENT_WORDS:
        return None
    article_id = entry.link or entry.entry_id or f"{location}#{entry.title}"
    return Article(id=article_id, text=entry.text, title=entry.title, url=entry.link, source=feed.source,
                   published=entry.published, author=entry.author, origin=location)


def _empty_feed_reason(parsed: Any) -> str:
    """Why a feed gave no entries, e.g. "malformed feed: syntax error (line 2, column 0)"."""
    from xml.sax import SAXException

    error = parsed.get("bozo_exception")
    if isinstance(error, SAXException):
        m = re.match(r"<unknown>:(\d+):(\d+):\s*(.*)", str(error))
        return "malformed feed: " + (f"{m.group(3)} (line {m.group(1)}, column {m.group(2)})" if m else str(error))
    return "feed has no entries" if parsed.version else "malformed feed: not RSS or Atom"


def _entry_date(entry: Any) -> date | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return date(*stamp[:3]) if stamp else None
