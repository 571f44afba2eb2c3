"""HTML articles (trafilatura for a page's main text and metadata) and HTML fragments (feed content)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from core.records import Article
from ingest.clean import clean_text, has_prose
from ingest.decoding import decode_text
from ingest.formats.meta import one_line, parse_date_value


@dataclass
class HtmlPage:
    """What `extract_html` finds in a page."""

    text: str
    title: str
    published: date | None
    author: str
    sitename: str
    url: str
    updated: date | None = None
    """The page's stated modification date (article:modified_time and its kin), if any."""


def extract_html(html: str | bytes, url: str | None = None) -> HtmlPage:
    """Main text and metadata of an HTML page (trafilatura). Raises ValueError when there is no text."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      favor_precision=True, include_tables=True, deduplicate=False)
    if doc is None:
        raise ValueError("no article text found in HTML")
    data: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    title = one_line(data.get("title"))
    paragraphs = [line.strip() for line in (data.get("text") or "").split("\n") if line.strip()]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline is the title, not the first paragraph
    text = clean_text("\n\n".join(paragraphs))
    if not has_prose(text):  # trafilatura falls back to menus and links when a page has no article
        raise ValueError("no article text found in HTML")
    return HtmlPage(text=text, title=title, published=parse_date_value(data.get("date")),
                 author=one_line(data.get("author")), sitename=_sitename(data.get("sitename")),
                 url=canonical_url(data.get("url"), url), updated=modified_date(html))


_META_TAG = re.compile(r"<meta\b[^>]{0,1000}>", re.IGNORECASE)
_META_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_MODIFIED_NAMES = frozenset({"article:modified_time", "og:updated_time", "datemodified", "last-modified",
                             "dc.date.modified"})


def modified_date(html: str | bytes) -> date | None:
    """The date a page says it was last updated: `<meta property="article:modified_time" content=...>`
    (or og:updated_time, itemprop dateModified, last-modified, DC.date.modified); None when it names none.
    trafilatura's `date` is the publication date, so this one is read beside it."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    for tag in _META_TAG.findall(text[:200_000]):  # the head; a page's body holds no such tags
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _META_ATTR.finditer(tag)}
        names = {attrs.get(k, "").lower() for k in ("property", "name", "itemprop", "http-equiv")}
        if names & _MODIFIED_NAMES and (found := parse_date_value(attrs.get("content", ""))):
            return found
    return None


def _sitename(value: object) -> str:
    """The site's name; a bare host (trafilatura's fallback) loses its port and "www."."""
    name = one_line(value)
    if re.fullmatch(r"[\w.-]+\.[\w-]+(:\d+)?|[\d.]+:\d+", name):
        return name.split(":")[0].lower().removeprefix("www.")
    return name


def canonical_url(found: object, base: str | None) -> str:
    """An absolute http(s) URL without fragment, or "" when none is known."""
    if not isinstance(found, str) or not found:
        return urldefrag(base)[0] if base else ""
    absolute = urljoin(base or "", found.strip())
    if urlsplit(absolute).scheme not in ("http", "https"):
        return urldefrag(base)[0] if base else ""
    return urldefrag(absolute)[0]


_BLOCK_TAGS = frozenset("p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table section article pre figure".split())


class _TextOnly(HTMLParser):
    """Minimal HTML to text for feed content: blocks become paragraphs, scripts and styles vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """Cleaned text of an HTML fragment (feed content or summary)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return clean_text("".join(parser.parts))


def declared_charset(data: bytes) -> str | None:
    m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", data[:4096], re.IGNORECASE)
    return m.group(1).decode("ascii") if m else None


def html_file_article(data: bytes, *, id: str, origin: str, fallback_title: str) -> Article:
    """An HTML file's article; a page that names its canonical URL is that URL's article."""
    page = extract_html(decode_text(data, declared_charset(data)))
    return Article(id=page.url or id, text=page.text, title=page.title or fallback_title, url=page.url,
                   source=page.sitename, published=page.published, author=page.author, origin=origin,
                   updated=page.updated)

