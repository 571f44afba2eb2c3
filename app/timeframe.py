"""What a question says about time, read against an as-of date: a date window ("last week", "yesterday",
"in October", "since 3 November", "between 1 and 15 November") and whether it asks about the current
state ("latest", "now", "recently", "still", "so far"), for which newer articles rank higher.

Phrases are found by the patterns below; the dates inside them are read by `dateparser` (relative to the
as-of day, preferring the past), so "3 Nov", "November 3, 2025" and "3/11/2025" all work. A window is
inclusive, and a window ending before the as-of day keeps one extra day at its end: an article about
Tuesday is often published on Wednesday.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PUBLICATION_LAG_DAYS = 1
"""Days added at the end of a window that closes before the as-of day (reports trail events)."""

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTH_ABBR = "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS}|{_MONTH_ABBR})\.?(?:\s+\d{{4}})?" \
       rf"|(?:{MONTHS}|{_MONTH_ABBR})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?" \
       rf"|\d{{4}}-\d{{2}}-\d{{2}})"

CURRENT = re.compile(r"\b(latest|now|currently|current|recent|recently|so far|still|to date|up to date|"
                     r"newest|most recent|as of now|anymore|lately)\b", re.IGNORECASE)
"""Words asking about the current state: newer articles rank higher (the recency decay)."""

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(rf"\bbetween\s+(?P<a>{_DAY}|\d{{1,2}}(?:st|nd|rd|th)?)\s+and\s+(?P<b>{_DAY})",
                           re.IGNORECASE)),
    ("since", re.compile(rf"\bsince\s+(?P<a>{_DAY}|(?:{MONTHS})(?:\s+\d{{4}})?)\b", re.IGNORECASE)),
    ("on", re.compile(rf"\b(?:on|dated)\s+(?P<a>{_DAY})", re.IGNORECASE)),
    ("month", re.compile(rf"\b(?:in|during|throughout)\s+(?:early\s+|late\s+|mid-?)?(?P<m>{MONTHS})"
                         rf"(?:\s+(?P<y>\d{{4}}))?\b", re.IGNORECASE)),
    ("today", re.compile(r"\b(today|tonight|this morning)\b", re.IGNORECASE)),
    ("yesterday", re.compile(r"\byesterday\b", re.IGNORECASE)),
    ("this week", re.compile(r"\b(this|the past|the last)\s+week\b", re.IGNORECASE)),
    ("last week", re.compile(r"\blast week\b", re.IGNORECASE)),
    ("this month", re.compile(r"\b(this|the past|the last)\s+month\b", re.IGNORECASE)),
    ("last month", re.compile(r"\blast month\b", re.IGNORECASE)),
    ("days", re.compile(r"\b(?:in\s+)?the\s+(?:past|last)\s+(?P<n>\d{1,3})\s+days\b", re.IGNORECASE)),
    ("this year", re.compile(r"\bthis year\b", re.IGNORECASE)),
]


@dataclass(frozen=True)
class TimeReading:
    """What the question says about time. `since`/`until` None: no window."""

    since: date | None = None
    until: date | None = None
    phrase: str = ""
    """The words the window was read from, as the user wrote them."""
    current: bool = False
    """The question asks about the current state ("latest", "now", "still")."""


def read_time(question: str, as_of: date) -> TimeReading:
    """The date window and current-state cue of `question`, read relative to `as_of`."""
    current = bool(CURRENT.search(question))
    for kind, pattern in _PATTERNS:
        found = pattern.search(question)
        if not found:
            continue
        window = _window(kind, found, as_of)
        if window is not None:
            since, until = window
            if until < as_of:
                until = min(until + timedelta(days=PUBLICATION_LAG_DAYS), as_of)
            return TimeReading(since, min(until, as_of), found.group(0).strip(), current)
    return TimeReading(current=current)


def _window(kind: str, found: re.Match[str], as_of: date) -> tuple[date, date] | None:
    if kind == "today":
        return as_of, as_of
    if kind == "yesterday":
        return as_of - timedelta(days=1), as_of - timedelta(days=1)
    if kind == "this week":
        return as_of - timedelta(days=7), as_of
    if kind == "last week":
        monday = as_of - timedelta(days=as_of.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if kind == "this month":
        return as_of.replace(day=1), as_of
    if kind == "last month":
        end = as_of.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if kind == "days":
        return as_of - timedelta(days=int(found.group("n"))), as_of
    if kind == "this year":
        return as_of.replace(month=1, day=1), as_of
    if kind == "month":
        month = list(calendar.month_name).index(found.group("m").capitalize())
        year = int(found.group("y")) if found.group("y") else (as_of.year if month <= as_of.month else as_of.year - 1)
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if kind == "since":
        start = _day(found.group("a"), as_of)
        return (start, as_of) if start and start <= as_of else None
    if kind == "on":
        day = _day(found.group("a"), as_of)
        return (day, day) if day else None
    if kind == "between":
        end = _day(found.group("b"), as_of)
        first = found.group("a")
        if end is None:
            return None
        start = _day(f"{first} {end:%B %Y}", as_of) if first.strip().rstrip("stndrh").isdigit() else _day(first, as_of)
        return (start, end) if start and start <= end else None
    return None


DAY = _DAY
"""A day written out: "3 Nov", "November 3, 2025", "2025-11-03" (for `read_day`)."""


def read_day(text: str, reference: date) -> date | None:
    """A day as written (`DAY`), the latest such day not after `reference` when the year is left out."""
    return _day(text, reference)


def _day(text: str, as_of: date) -> date | None:
    """A day named in a question ("3 Nov", "November 3, 2025", "2025-11-03"), the latest such day not after
    `as_of` when the year is left out."""
    import dateparser

    settings = {"RELATIVE_BASE": datetime.combine(as_of, datetime.min.time()), "PREFER_DATES_FROM": "past",
                "DATE_ORDER": "DMY"}
    parsed = dateparser.parse(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text), languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def describe_window(since: date | None, until: date | None) -> str:
    """ "27 Oct – 2 Nov 2025", "since 3 Nov 2025", "up to 4 Nov 2025"."""
    def day(d: date, year: bool = True) -> str:
        return f"{d.day} {d:%b}" + (f" {d.year}" if year else "")

    if since and until:
        if since == until:
            return day(since)
        return f"{day(since, since.year != until.year)} \u2013 {day(until)}"
    if since:
        return f"since {day(since)}"
    if until:
        return f"up to {day(until)}"
    return "all dates"
