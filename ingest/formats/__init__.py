"""The formats an article comes in: bytes of a file or a web response to an `Article`.

One module a format (`text` for plain text and Markdown, `html`, `pdf`, `jsonl`), `meta` for what they
share (dates, one-line values). Each raises ValueError with words a user can act on.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag

from core.records import Article
from ingest.decoding import decode_text
from ingest.formats.html import declared_charset, extract_html, html_file_article
from ingest.formats.meta import host_of
from ingest.formats.pdf import pdf_article
from ingest.formats.text import plain_article

FILE_EXTENSIONS = (".txt", ".md", ".html", ".htm", ".pdf")
"""Files holding one article each (a `.jsonl` file holds one a line: `ingest.formats.jsonl`)."""

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml")
_XML_TYPES = ("application/xml", "text/xml")


def article_from_bytes(data: bytes, ext: str, *, id: str, origin: str, fallback_title: str) -> Article:
    """The article in a file's bytes, by its extension (.txt .md .html .htm .pdf). Raises ValueError."""
    if ext in (".html", ".htm"):
        return html_file_article(data, id=id, origin=origin, fallback_title=fallback_title)
    if ext == ".pdf":
        return pdf_article(data, id=id, url="", origin=origin)
    return plain_article(decode_text(data), markdown=ext == ".md", id=id, url="", origin=origin,
                         fallback_title=fallback_title)


def response_kind(body: bytes, content_type: str) -> str:
    """What a web response holds: "feed", "html", "pdf", "text", or "" when unsupported."""
    head = body[:2048].lstrip().lower()
    names_feed = re.search(rb"<(rss|feed|rdf:rdf)\b", head) is not None
    if content_type in _FEED_TYPES or (names_feed and (head.startswith(b"<?xml") or content_type in _XML_TYPES)):
        return "feed"
    if content_type == "application/pdf" or head.startswith(b"%pdf-"):
        return "pdf"
    if content_type in ("text/html", "application/xhtml+xml") or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if content_type in ("text/plain", "text/markdown"):
        return "text"
    return ""


def article_from_response(body: bytes, kind: str, *, url: str, content_type: str, charset: str | None,
                          origin: str) -> Article:
    """The article of a fetched page of `kind` ("html", "pdf" or "text"); its id is its canonical URL when
    the page names one, else the URL it was fetched from (without a fragment)."""
    final = urldefrag(url)[0]
    if kind == "html":
        page = extract_html(decode_text(body, charset or declared_charset(body)), url=final)
        canonical = page.url or final
        return Article(id=canonical, text=page.text, title=page.title, url=canonical,
                       source=page.sitename or host_of(canonical), published=page.published, author=page.author,
                       origin=origin, updated=page.updated)
    if kind == "pdf":
        return pdf_article(body, id=final, url=final, origin=origin, source=host_of(final))
    return plain_article(decode_text(body, charset), markdown=content_type == "text/markdown", id=final, url=final,
                         origin=origin, fallback_title="", source=host_of(final))
