"""Timelines and "what's new": a story told as dated events, oldest first, each event an exact cited sentence.

"Timeline of X", "how has X developed", "what happened with X" (or `ask --timeline`) list the sentences of
the articles on X, one line per event, in the order the events happened: the day a sentence states ("On
October 28, 2025, ...", "on Tuesday" read against the article's publication day, with `dateparser` as
`app.timeframe` reads questions), else the day its article was published. An event several articles
report (wire copies, follow-ups repeating it) appears once with all their citations: two sentences say
the same when their stored vectors are at least `SAME_CLAIM_COSINE` alike and they give the same numbers
(545 and 547 Koreans brought home are two claims, shown side by side).

"What's new on X since D" (or `ask --since-last D`) lists the sentences of articles published after D that
no article published on or before D already said (the same test against every earlier sentence).

Sentences are picked by the extractive answerer's own scoring of the topic (`ExtractiveAnswerer.score`):
those at least as supported as the answerer's bar for a filler sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from app.answering import DEFAULT_ABSTAIN_THRESHOLD, ExtractiveAnswerer, Scored, abstention_text
from app.timeframe import DAY, describe_window, read_day
from core.records import Answer, Citation, Hit, Timeline, TimelineEvent

if TYPE_CHECKING:
    import numpy as np

    from app.assistant import Assistant, SearchPlan

SAME_CLAIM_COSINE = 0.76
"""Stored sentence vectors at least this alike (with the same numbers) say the same thing. Calibrated by
`python -m evaluation.calibrate_timeline` on the "calibrate" half of tests/data/timeline/sentence_pairs.jsonl
and reported on the other half (docs/benchmarks.md, Timelines)."""

TIMELINE_HITS = 24
"""Passages retrieved for a timeline: a story's articles, more than one answer needs."""

MAX_EVENTS = 15
"""Lines of a timeline at most: the best-supported events, then put in date order."""

_TOPIC_END = r"\s*[?.!]*\s*$"
TIMELINE_QUESTIONS = (
    re.compile(r"^\s*(?:(?:give|show|make)\s+(?:me\s+)?)?(?:an?\s+|the\s+)?time\s?line\s+(?:of|for|on|about)\s+"
               rf"(?P<topic>.+?){_TOPIC_END}", re.IGNORECASE),
    re.compile(r"^\s*how\s+(?:has|have|did)\s+(?P<topic>.+?)\s+(?:developed|develop|evolved|evolve|unfolded|unfold|"
               rf"progressed|progress)\b.*?{_TOPIC_END}", re.IGNORECASE),
    re.compile(rf"^\s*what\s+(?:has\s+)?happened\s+(?:with|to)\s+(?P<topic>.+?){_TOPIC_END}", re.IGNORECASE),
)
SINCE_QUESTION = re.compile(r"^\s*what(?:'s|\u2019s|\s+is|\s+has\s+been)\s+new\s+(?:on|about|with|in|for)\s+"
                            rf"(?P<topic>.+?)\s+since\s+(?P<day>.+?){_TOPIC_END}", re.IGNORECASE)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STATED_DAY = re.compile(rf"\b(?:on|dated)\s+(?:(?P<weekday>{'|'.join(_WEEKDAYS)})\b|(?P<day>{DAY}))"
                         r"|\b(?P<near>yesterday|today|this morning)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                     r"thirty|forty|fifty|hundred|hundreds|thousand|thousands|million|millions|dozen|dozens)\b",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """A question asking for a story over time: a timeline of `topic`, or what is new on it `since` a day."""

    kind: Literal["timeline", "since"]
    topic: str
    since: date | None = None


EVENT_SUPPORT = 0.9
"""A sentence becomes an event when its support reaches this share of the answerer's abstain threshold:
a timeline lists what the articles report on the topic, a little below the bar for answering with it."""

def read_request(question: str, as_of: date, *, timeline: bool = False, since_last: date | None = None
                 ) -> Request | None:
    """The timeline or "what's new" the question asks for (or `timeline`/`since_last` force), read against
    `as_of`; None for any other question."""
    found = SINCE_QUESTION.match(question)
    if since_last is not None:
        return Request("since", found.group("topic") if found else question, since_last)
    if found:
        day = read_day(found.group("day"), as_of)
        if day is not None:
            return Request("since", found.group("topic"), day)
    for pattern in TIMELINE_QUESTIONS:
        found = pattern.match(question)
        if found:
            return Request("timeline", found.group("topic"))
    return Request("timeline", question) if timeline else None


def stated_day(sentence: str, published: date | None) -> date | None:
    """The day `sentence` says its event happened ("On October 28, 2025", "on Tuesday", "yesterday"), read
    against its article's publication day; None when it states none, or one after publication (a plan,
    not an event). Without a publication day only a day with its year can be read."""
    for found in _STATED_DAY.finditer(sentence):
        if found.group("weekday"):
            if published is None:
                continue
            back = (published.weekday() - _WEEKDAYS.index(found.group("weekday").lower())) % 7
            return published - timedelta(days=back)
        if found.group("near"):
            if published is None:
                continue
            return published - timedelta(days=found.group("near").lower() == "yesterday")
        text = found.group("day")
        if published is None and not re.search(r"\b\d{4}\b", text):
            continue
        day = read_day(text, published or date.max)
        if day is not None and (published is None or day <= published):
            return day
    return None


def numbers(text: str) -> frozenset[str]:
    """The figures a sentence gives ("545", "2025", "three"), commas and points kept as written."""
    return frozenset(n.lower() for n in _NUMBER.findall(text))


def says_same(text_a: str, vector_a: "np.ndarray", text_b: str, vector_b: "np.ndarray",
              threshold: float = SAME_CLAIM_COSINE) -> bool:
    """Two sentences say the same: their (normalised) vectors alike and the same figures."""
    return float(vector_a @ vector_b) >= threshold and numbers(text_a) == numbers(text_b)


def same_claim(a: Scored, b: Scored) -> bool:
    return says_same(a.candidate.text, a.vector, b.candidate.text, b.vector)


@dataclass
class _Event:
    day: date
    source: Literal["stated", "article"]
    members: list[Scored]


def tell(assistant: "Assistant", request: Request, plan: "SearchPlan", k: int | None = None
         ) -> tuple[Answer, dict[str, float]]:
    """The timeline (or what's new) `request` asks for, searched as `plan` says; with retrieval timings."""
    threshold = assistant.settings.abstain_threshold or DEFAULT_ABSTAIN_THRESHOLD
    k = max(k or 0, TIMELINE_HITS)
    scorer = ExtractiveAnswerer(assistant.embedder, threshold=threshold, pool=k, embed_limit=10 * k)
    topic = plan.query or request.topic
    if request.kind == "since":
        assert request.since is not None
        later = replace(plan.filters, since=max(filter(None, (plan.filters.since, request.since + timedelta(days=1)))),
                        undated=False)
        found = assistant.retriever.search(topic, k=k, fold_copies=False, filters=later)
        earlier = assistant.retriever.search(topic, k=k, fold_copies=False, filters=replace(
            plan.filters, until=min(filter(None, (plan.filters.until, request.since))), undated=True))
        known = scorer.score(topic, earlier.hits)
        timings = {key: found.timings.get(key, 0.0) + earlier.timings.get(key, 0.0) for key in found.timings}
    else:
        found, known = assistant.retriever.search(topic, k=k, fold_copies=False, filters=plan.filters), []
        timings = found.timings
    scored = scorer.score(topic, found.hits)
    if known:
        scored = [s for s in scored if not any(same_claim(s, old) for old in known)]
    bar = EVENT_SUPPORT * threshold
    events, undated = _events([s for s in scored if s.support >= bar])
    _add_copies(events, [s for s in scored if s.support < bar])
    answer = _answer(request, topic, events, found.hits, scorer, undated, len(known))
    return answer, timings


def _events(relevant: Sequence[Scored]) -> tuple[list[_Event], int]:
    """The best-supported sentences as events, copies merged, oldest first; and how many undated articles
    had relevant sentences that could not be placed in time."""
    events: list[_Event] = []
    undated: set[str] = set()
    for s in relevant:  # best supported first: each event is led by its best sentence
        chunk = s.candidate.hit.chunk
        stated = stated_day(s.candidate.text, chunk.published)
        day = stated or chunk.published
        if day is None:
            undated.add(chunk.article_id)
            continue
        same = _join(events, s)
        if same is not None:
            same.members.append(s)
            if stated is not None and same.source == "article":
                same.day, same.source = stated, "stated"
            continue
        if len(events) < MAX_EVENTS:
            events.append(_Event(day, "stated" if stated else "article", [s]))
    _order(events)
    return events, len(undated)


def _join(events: Sequence[_Event], s: Scored) -> _Event | None:
    """The event `s` reports too, from another article; None when it is news of its own."""
    article = s.candidate.hit.chunk.article_id
    return next((e for e in events if all(m.candidate.hit.chunk.article_id != article for m in e.members)
                 and any(same_claim(s, m) for m in e.members)), None)


def _add_copies(events: list[_Event], others: Sequence[Scored]) -> None:
    """Add what scored below the bar on its own but belongs to an event: a copy (an outlet's edit dropped
    the topic's words) is cited with it, so an event several articles report carries all their citations;
    an update (the same statement with another figure: "has risen to 310" beside "a total of 545") is an
    event of its own, since the figure that changes is what a timeline follows."""
    for s in others:
        same = _join(events, s)
        if same is not None:
            same.members.append(s)
            continue
        chunk = s.candidate.hit.chunk
        stated = stated_day(s.candidate.text, chunk.published)
        update = any(float(s.vector @ m.vector) >= SAME_CLAIM_COSINE
                     and chunk.article_id != m.candidate.hit.chunk.article_id for e in events for m in e.members)
        if update and (stated or chunk.published) and len(events) < MAX_EVENTS:
            events.append(_Event(stated or chunk.published, "stated" if stated else "article", [s]))
    _order(events)


def _order(events: list[_Event]) -> None:
    """Each event's reports oldest first (the first one leads), dated by the first report when no sentence
    states the day; the events by day."""
    for e in events:
        e.members.sort(key=lambda m: (m.candidate.hit.chunk.published or date.max, m.candidate.hit.chunk.article_id))
        if e.source == "article":
            e.day = min(m.candidate.hit.chunk.published or e.day for m in e.members)
    events.sort(key=lambda e: (e.day, e.members[0].candidate.hit.chunk.published or date.max,
                               e.members[0].candidate.start))


def _answer(request: Request, topic: str, events: list[_Event], hits: list[Hit], scorer: ExtractiveAnswerer,
            undated: int, earlier: int) -> Answer:
    citations: list[Citation] = []
    told: list[TimelineEvent] = []
    lines: list[str] = []
    for e in events:
        numbers_ = []
        for m in e.members:
            chunk = m.candidate.hit.chunk
            citations.append(Citation(n=len(citations) + 1, article_id=chunk.article_id, quote=m.candidate.text,
                                      start=m.candidate.start, end=m.candidate.end, chunk_id=chunk.id,
                                      **chunk.meta()))
            numbers_.append(len(citations))
        text = e.members[0].candidate.text
        told.append(TimelineEvent(e.day, e.source, text, tuple(numbers_)))
        marks = "".join(f"[{n}]" for n in numbers_)
        lines.append(f"{e.day.isoformat()}: {text} {marks}")
    note = _undated_note(request.kind, undated)
    notes = [note]
    if request.kind == "since":
        assert request.since is not None
        day = describe_window(request.since, request.since)
        if not hits:
            text = f"No article on \u201c{topic}\u201d was published after {day}."
        elif not lines:
            text = (f"Nothing new on \u201c{topic}\u201d since {day}: the articles published after it repeat what "
                    "earlier coverage already said.")
        else:
            text = "\n".join(lines)
        notes.append(f"New since {day}: sentences of articles published after it that none of the {earlier} "
                     "earlier sentences on the topic already said.")
        abstained = False
    else:
        abstained = not lines
        text = "\n".join(lines) if lines else abstention_text(topic, bool(hits))
    return Answer(question=topic, text=text, citations=citations, abstained=abstained, hits=hits, mode=scorer.name,
                  notes=notes, timeline=Timeline(request.kind, topic, tuple(told), request.since, note))


def _undated_note(kind: str, undated: int) -> str:
    if kind == "since":
        return ("Undated articles count as earlier coverage: they cannot be shown as new, and what they say is "
                "not news.")
    left = f" ({undated} undated article{'s' if undated != 1 else ''} left out)" if undated else ""
    return (f"Events are dated by the day a sentence states, else by its article's publication day; undated "
            f"articles cannot be placed in time, so their sentences appear only when they state a day with its "
            f"year{left}.")
