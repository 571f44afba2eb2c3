"""JSONL articles: one JSON object a line with `text` and `id` (or `url`), and optional metadata fields.

A wrong type or an unusable id is refused with the line and field named; lone surrogates and control
characters in text and titles are replaced or removed.
"""

from __future__ import annotations

import json
from typing import Any

from core.records import Article
from core.text import unprintable
from ingest.clean import clean_text
from ingest.formats.meta import one_line, parse_date_value

JSONL_TEXT_FIELDS = ("url", "title", "source", "author", "published", "updated")
"""Optional JSONL fields; each must be a string (or null) when present."""


MAX_ID_CHARS = 2000
"""The longest article id accepted (a long URL fits; a whole article pasted as an id does not)."""


def jsonl_article(raw: bytes, number: int, origin: str) -> Article:
    """One JSONL line's article. A wrong type or an unusable id is refused with the line and field named;
    lone surrogates and control characters in text and titles are replaced or removed."""
    try:
        record = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"line {number}: invalid JSON: {e}") from e
    if not isinstance(record, dict):
        raise ValueError(f"line {number}: expected a JSON object, got {_json_type(record)}")
    text = record.get("text")
    if text is None:
        raise ValueError(f"line {number}: missing field 'text'")
    if not isinstance(text, str):
        raise ValueError(f"line {number}: field 'text' must be a string, got {_json_type(text)}")
    for name in JSONL_TEXT_FIELDS:
        if record.get(name) is not None and not isinstance(record[name], str):
            raise ValueError(f"line {number}: field '{name}' must be a string, got {_json_type(record[name])}")
    article_id = _jsonl_id(record, number)
    cleaned = clean_text(text)
    if not cleaned:
        raise ValueError(f"line {number}: no article text after cleaning")
    return Article(id=article_id, text=cleaned, title=one_line(record.get("title")),
                   url=one_line(record.get("url")), source=one_line(record.get("source")),
                   published=parse_date_value(record.get("published")), author=one_line(record.get("author")),
                   origin=origin, updated=parse_date_value(record.get("updated")))


def _jsonl_id(record: dict[str, Any], number: int) -> str:
    """The line's article id: `id` (a string, or an integer), else `url`. Never altered to make it fit: an id
    holding a control character or a lone surrogate is refused, since it could be neither shown nor deleted."""
    value, field = (record.get("id"), "id") if record.get("id") not in (None, "") else (record.get("url"), "url")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"line {number}: field '{field}' must be a string, got {_json_type(value)}")
    article_id = " ".join((value or "").split())  # as ids have always been read: whitespace runs are one space
    if not article_id:
        raise ValueError(f"line {number}: missing field 'id' (and no 'url' to use instead)")
    bad = unprintable(article_id)
    if bad:
        raise ValueError(f"line {number}: field '{field}' contains a control character or a broken character "
                         f"({bad}); ids must be printable text")
    if len(article_id) > MAX_ID_CHARS:
        raise ValueError(f"line {number}: field '{field}' is {len(article_id)} characters long (the limit is "
                         f"{MAX_ID_CHARS})")
    return article_id


def _json_type(value: object) -> str:
    """A JSON value's type in JSON's words: "a list", "an object", "a number"."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)

