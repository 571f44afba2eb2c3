"""An answer in the shapes people take it away in: JSON (the CLI's `--json`, the JSON API), Markdown and CSV.

Every format carries the same citations: title, outlet, date, the exact quote, its character span,
the article's URL, and a text-fragment link (`URL#:~:text=…`) that opens the original page scrolled to
the quoted sentence in browsers that support text fragments (and simply opens the page elsewhere).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from urllib.parse import quote as _percent

from core.records import (
    Answer,
    Citation,
    Copy,
    Disagreement,
    Referent,
    SearchWindow,
    SentenceCheck,
    ShortAnswer,
    Timeline,
    TimelineEvent,
    also_reported,
)

FORMATS = ("text", "markdown", "json", "csv")
"""What `ask --format` and the API's `format` accept (text: the terminal layout of `app.__main__`)."""

CSV_FIELDS = ("n", "title", "outlet", "published", "quote", "url", "link", "article_id", "start", "end")

FRAGMENT_WORDS = 4
"""Quotes longer than twice this many words are linked by their first and last words
(`text=start,end`), which browsers match across the sentence; shorter ones whole."""


def answer_json(answer: Answer) -> dict[str, Any]:
    """The JSON shape of an answer (also one line of `ask --batch` and the body of `POST /api/ask`)."""
    return {
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "mode": answer.mode,
        "citations": [citation_json(c) for c in answer.citations],
        "hits": [{"article_id": h.chunk.article_id, "chunk_id": h.chunk.id, "score": round(h.score, 6)}
                 for h in answer.hits],
        "empty_store": answer.empty_store,
        "fallback_reason": answer.fallback_reason or None,
        "verification": [{"sentence": c.index, "text": c.text, "status": c.status} for c in answer.checks],
        "window": {"since": _iso(answer.window.since), "until": _iso(answer.window.until),
                   "outlets": list(answer.window.outlets), "as_of": _iso(answer.window.as_of),
                   "phrase": answer.window.phrase, "recency": answer.window.recency,
                   "undated": answer.window.undated, "widened_from": _iso(answer.window.widened_from)},
        "disagreements": [{"kind": d.kind, "values": [{"value": v, "citation": n} for v, n in d.values]}
                          for d in answer.disagreements],
        "short_answer": _short_json(answer.short_answer),
        "referents": [{"citation": r.n, "offset": r.offset, "text": r.text} for r in answer.referents],
        "notes": answer.notes,
        "timeline": timeline_json(answer.timeline),
        "changed": answer.changed,
        "timings_ms": {k: round(v * 1000, 1) for k, v in answer.timings.items()},
    }


def _short_json(short: ShortAnswer | None) -> dict[str, Any] | None:
    """The short answer with its span: `article.text[start:end] == text`, inside citation `citation`'s quote."""
    if short is None:
        return None
    return {"text": short.text, "citation": short.n, "article_id": short.article_id, "start": short.start,
            "end": short.end, "kind": short.kind, "reads_as": short.reads_as or None}


def timeline_json(timeline: Timeline | None) -> dict[str, Any] | None:
    """A timeline's events, oldest first: day, "stated" (the sentence says the day) or "article" (its
    publication day), the sentence and the numbers of its citations."""
    if timeline is None:
        return None
    return {"kind": timeline.kind, "topic": timeline.topic, "since": _iso(timeline.since), "note": timeline.note,
            "events": [{"date": _iso(e.day), "date_source": e.date_source, "text": e.text,
                        "citations": list(e.citations)} for e in timeline.events]}


def _timeline(data: dict[str, Any] | None) -> Timeline | None:
    if not data:
        return None
    return Timeline(kind=data["kind"], topic=data.get("topic") or "", since=_day(data.get("since")),
                    note=data.get("note") or "",
                    events=tuple(TimelineEvent(_day(e.get("date")), e["date_source"], e["text"],
                                               tuple(e.get("citations") or ())) for e in data.get("events") or ()))


def citation_json(c: Citation) -> dict[str, Any]:
    return {"n": c.n, "article_id": c.article_id, "title": c.title, "url": c.url, "source": c.source,
            "published": _iso(c.published), "quote": c.quote, "start": c.start, "end": c.end,
            "link": fragment_link(c.url, c.quote) if c.url else None,
            "also_reported_by": [{"article_id": x.article_id, "source": x.source, "published": _iso(x.published)}
                                 for x in c.copies]}


def _copies(rows: list[dict[str, Any]] | None) -> tuple[Copy, ...]:
    return tuple(Copy(article_id=r["article_id"], source=r.get("source") or "", published=_day(r.get("published")))
                 for r in rows or [])


def answer_from_json(data: dict[str, Any]) -> Answer:
    """The `Answer` a JSON answer describes (from a server's `POST /api/ask`), to print it as the local
    CLI does. Retrieval hits stay on the server: `hits` is empty."""
    return Answer(
        question=data["question"], text=data["answer"], abstained=bool(data.get("abstained")),
        standalone_question=data.get("standalone_question") or "", mode=data.get("mode") or "",
        citations=[Citation(n=c["n"], article_id=c["article_id"], title=c.get("title") or "", url=c.get("url") or "",
                            source=c.get("source") or "", published=_day(c.get("published")), quote=c["quote"],
                            start=c["start"], end=c["end"], copies=_copies(c.get("also_reported_by")))
                   for c in data.get("citations", [])],
        disagreements=[Disagreement(kind=d["kind"], values=tuple((v["value"], v["citation"]) for v in d["values"]))
                       for d in data.get("disagreements") or []],
        notes=list(data.get("notes") or []), changed=list(data.get("changed") or []),
        empty_store=bool(data.get("empty_store")),
        fallback_reason=data.get("fallback_reason") or "",
        checks=[SentenceCheck(index=c["sentence"], text=c["text"], status=c["status"])
                for c in data.get("verification") or []],
        window=_window(data.get("window") or {}),
        timeline=_timeline(data.get("timeline")),
        short_answer=ShortAnswer(s["citation"], s["article_id"], s["text"], s["start"], s["end"], s.get("kind") or "",
                                 s.get("reads_as") or "")
        if (s := data.get("short_answer")) else None,
        referents=[Referent(r["citation"], r["offset"], r["text"]) for r in data.get("referents") or []],
        timings={k: v / 1000 for k, v in (data.get("timings_ms") or {}).items()},
    )


def _window(data: dict[str, Any]) -> SearchWindow:
    return SearchWindow(since=_day(data.get("since")), until=_day(data.get("until")),
                        outlets=tuple(data.get("outlets") or ()), as_of=_day(data.get("as_of")),
                        phrase=data.get("phrase") or "", recency=bool(data.get("recency")),
                        undated=bool(data.get("undated")), widened_from=_day(data.get("widened_from")))


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def fragment_link(url: str, quote: str) -> str:
    """`url` with a text fragment for `quote` (https://wicg.github.io/scroll-to-text-fragment/): the words,
    percent-encoded, with "-", "," and "&" encoded too since they are the directive's syntax."""
    words = quote.split()
    if not words:
        return url
    base = url.split("#", 1)[0]
    if len(words) > 2 * FRAGMENT_WORDS:
        directive = f"{_fragment_text(words[:FRAGMENT_WORDS])},{_fragment_text(words[-FRAGMENT_WORDS:])}"
    else:
        directive = _fragment_text(words)
    return f"{base}#:~:text={directive}"


def _fragment_text(words: list[str]) -> str:
    return _percent(" ".join(words), safe="").replace("-", "%2D")


def answer_markdown(answer: Answer) -> str:
    """The answer with its `[n]` markers, then a numbered source list: title (linked), outlet, date, the
    exact quote as a block quote, and a link to the sentence on the page."""
    text = answer.text.strip()
    if answer.timeline is not None and answer.timeline.events:  # one list item per event
        text = "\n".join(f"- {line}" for line in text.splitlines())
    lines = [f"**Q:** {_md_escape(answer.question)}", "", text, ""]
    if answer.citations:
        lines.append("**Closest passages** (not an answer):" if answer.abstained else "**Sources**")
        lines.append("")
    for c in answer.citations:
        title = _md_escape(c.title or c.article_id)
        head = f"[{title}]({c.url})" if c.url else title
        facts = ", ".join(part for part in (_md_escape(c.source), _iso(c.published) or "undated") if part)
        lines.append(f"{c.n}. {head} ({facts})" + (f"; {_md_escape(also_reported(c.copies))}" if c.copies else ""))
        lines.append(f"   > {_md_escape(c.quote)}")
        if c.url:
            lines.append(f"   [open at the quoted sentence]({fragment_link(c.url, c.quote)}) "
                         f"(characters {c.start}\u2013{c.end})")
        else:
            lines.append(f"   article {c.article_id}, characters {c.start}\u2013{c.end}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_escape(text: str) -> str:
    """Text that Markdown shows as written: brackets, emphasis and HTML characters escaped."""
    out = []
    for ch in " ".join(text.split()):
        out.append("\\" + ch if ch in "\\`*_[]<>#|" else ch)
    return "".join(out)


def answer_csv(answer: Answer) -> str:
    """One row per citation (`CSV_FIELDS`), for a spreadsheet; the answer text is not a column because
    one answer has several citations: `answer_markdown` or JSON keep both."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for c in answer.citations:
        writer.writerow({
            "n": c.n, "title": _csv_safe(c.title), "outlet": _csv_safe(c.source), "published": _iso(c.published) or "",
            "quote": _csv_safe(c.quote), "url": c.url, "link": fragment_link(c.url, c.quote) if c.url else "",
            "article_id": c.article_id, "start": c.start, "end": c.end,
        })
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: a leading =, +, - or @ would be read as a formula
    (CSV injection from an article's own words), so it is prefixed with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def render(answer: Answer, fmt: str) -> str:
    """`answer` as `fmt` (one of `FORMATS` but "text", which the CLI lays out itself)."""
    if fmt == "markdown":
        return answer_markdown(answer)
    if fmt == "csv":
        return answer_csv(answer)
    if fmt == "json":
        return json.dumps(answer_json(answer), ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS[1:])})")
