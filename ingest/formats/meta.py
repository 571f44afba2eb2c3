"""Article metadata from text: dates in the forms news uses, one-line values, hosts, titles from names."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from core.text import replace_surrogates

logger = logging.getLogger(__name__)

_TIME_SUFFIX = re.compile(
    r"[\sT,]+\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?m\.?)?\s*(?:z|[+-]\d{2}:?\d{2}|[a-z]{2,5})?$", re.IGNORECASE
)


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")


def parse_date(value: str) -> date | None:
    """A date from "2025-11-04", "2025/11/04", "November 4, 2025", "4 Nov 2025", "Nov. 4, 2025" (+ time)."""
    if len(value) > 100:  # no date is this long; _TIME_SUFFIX takes quadratic time on a long "TTT..." line
        return None
    text = _TIME_SUFFIX.sub("", " ".join(value.split()).strip(" .,"))
    text = re.sub(r"\bsept\b", "sep", re.sub(r"[.,]", "", text), flags=re.IGNORECASE)
    for fmt in _DATE_FORMATS:
        try:
            found = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 1900 <= found.year <= 2100:
            return found
    return None


def parse_date_value(value: object) -> date | None:
    """A JSON/feed date: ISO date or datetime, "2022/06/12", English month names; None when blank or unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        pass
    parsed = parse_date(value)
    if parsed is None:
        logger.debug("ignoring unrecognised date %r", value)
    return parsed


def one_line(value: object) -> str:
    """A metadata value on one line, without control characters or lone surrogates."""
    return " ".join(_CONTROLS.sub(" ", replace_surrogates(str(value))).split()) if value else ""


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def host_of(url: str) -> str:
    """A URL's host without "www."."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def word_count(text: str) -> int:
    """Words separated by white space."""
    return len(text.split())


def title_from_name(path: Path) -> str:
    """A title from a file name: "laos-hotline_draft.txt" -> "laos hotline draft"."""
    return re.sub(r"[-_]+", " ", path.stem).strip()

