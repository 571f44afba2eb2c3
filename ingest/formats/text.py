"""Plain-text and Markdown articles: title, date, source and byline lines at the top, then the body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.records import Article
from core.sentences import outlet_prefix
from ingest.clean import clean_text
from ingest.formats.meta import parse_date, word_count

_HEADER_LINES = 6


_MAX_HEADER_WORDS = 15


_SOURCE_LINE = re.compile(r"^(?:source|outlet|publisher)\s*:\s*(?P<value>.{2,100})$", re.IGNORECASE)


_BY_LINE = re.compile(r"^by\s+(?P<value>[^\W\d_][^.!?]{1,80})$", re.IGNORECASE)


_DATE_PREFIX = re.compile(r"^(?:published|dateline|date|posted|last updated|updated|modified)\s*(?:on)?\s*:?\s*",
                          re.IGNORECASE)


_UPDATED_PREFIX = re.compile(r"^(?:updated|last updated|modified)\b", re.IGNORECASE)


@dataclass
class TextHeader:
    """Metadata taken from the first lines of a plain-text article."""

    title: str = ""
    published: date | None = None
    source: str = ""
    author: str = ""
    updated: date | None = None
    """From an "Updated: 2025-11-20" line (an article with only that date line is published then too)."""


def _header_line(line: str, header: TextHeader) -> bool:
    """Take a date, "Source: X" or "By Name" line into `header`; True when it was one."""
    value = line.strip().strip("*_").strip()
    if header.updated is None and _UPDATED_PREFIX.match(value) and (found := parse_date(_DATE_PREFIX.sub("", value))):
        header.updated = found
        header.published = header.published or found
    elif header.published is None and (found := parse_date(_DATE_PREFIX.sub("", value))):
        header.published = found
    elif not header.source and (m := _SOURCE_LINE.match(value)):
        header.source = m.group("value").strip()
    elif not header.author and (m := _BY_LINE.match(value)) and word_count(m.group("value")) <= 6:
        header.author = m.group("value").strip()
    else:
        return False
    return True


def _split_header(lines: list[str], markdown: bool) -> tuple[TextHeader, list[str]]:
    """Title (first non-empty line) and header lines (date, source, byline) removed from the body."""
    header = TextHeader()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return header, []
    title = lines[first].strip()
    if word_count(title) > 40:  # the file starts with a paragraph: no title line
        return header, lines
    header.title = clean_text(title.lstrip("#").strip() if markdown else title)
    body = lines[first + 1:]
    seen = 0
    for i, line in enumerate(body):
        if seen >= _HEADER_LINES or word_count(line) > _MAX_HEADER_WORDS:
            break
        seen += bool(line.strip())
        if line.strip() and _header_line(line, header):
            body[i] = ""
    return header, body


def parse_plain_text(raw: str, *, markdown: bool = False) -> tuple[TextHeader, str]:
    """Split a plain-text article into header metadata and its cleaned body."""
    lines = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", raw).split("\n")  # the line breaks clean_text knows
    header, body_lines = _split_header(lines, markdown)
    body = clean_text("\n".join(body_lines))
    first_line_end = body.find("\n") if "\n" in body else len(body)
    if body and not header.source and (m := outlet_prefix(body, 0, first_line_end, article_start=True)):
        header.source = m.group("outlet").strip()
    return header, body


def plain_article(raw: str, *, markdown: bool, id: str, url: str, origin: str, fallback_title: str,
                   source: str = "") -> Article:
    header, body = parse_plain_text(raw, markdown=markdown)
    if not body:
        raise ValueError("no article text found" + (" (only a title)" if header.title else ""))
    return Article(id=id, text=body, title=header.title or fallback_title, url=url,
                   source=header.source or source, published=header.published, author=header.author,
                   origin=origin, updated=header.updated)

