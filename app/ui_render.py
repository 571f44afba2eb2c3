"""HTML for the chat UI: answers with clickable [n], the sources panel, the library table.

Pure functions, no Gradio. Everything that comes from an article or a user (text, titles, outlets,
URLs, ids, file names, error messages) is HTML-escaped here; links are emitted only for http(s) URLs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from core.markers import LINK_MARKER
from core.records import ArticleInfo, Citation, Referent, ShortAnswer, Timeline, also_reported
from core.text import source_host
from core.versions import ArticleVersion, SentenceDiff, VersionHistory
from ingest.gate import UPLOAD_PREFIX

MAX_PARAGRAPH_CHARS = 1400
"""A cited paragraph longer than this is cut around the highlighted sentence."""

CONTEXT_CHARS = 500
"""Characters kept on each side of the highlighted sentence when a paragraph is cut."""

CHOICE_CHARS = 60
"""Titles longer than this are shortened in the article picker."""

_SAFE_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f\"'<>`\\]+$", re.IGNORECASE)
_CODE = re.compile(r"`([^`\n]{1,200})`")
_SHORT = re.compile(r"^\*\*([^*\n]{1,200})\*\*")
_DOT = " \u00b7 "


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL with a host, else None (javascript:, data:, relative...)."""
    from urllib.parse import urlsplit

    url = (url or "").strip()
    if not _SAFE_URL.match(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def link(url: str | None, label: str, *, css: str = "") -> str:
    """An external link opening in a new tab, or the escaped label alone when the URL is not http(s)."""
    href = safe_url(url)
    text = escape(label)
    if href is None:
        return text
    cls = f' class="{escape(css)}"' if css else ""
    return f'<a{cls} href="{escape(href, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{text}</a>'


def human_date(value: date | None) -> str:
    return f"{value.day}\u00a0{value:%B}\u00a0{value.year}" if value else "undated"


def source_anchor(turn: int, n: int) -> str:
    """The element id of source `n` of answer `turn` in the sources panel."""
    return f"src-{turn}-{n}"


# -- chat messages -----------------------------------------------------------------------------


def user_message_html(question: str) -> str:
    return escape(question)


def answer_html(
    text: str, turn: int, citations: Sequence[Citation] = (), *, abstained: bool = False, pending: bool = False,
    referents: Sequence[Referent] = (), short: ShortAnswer | None = None,
) -> str:
    """An answer for the chat: escaped text whose [n] markers link to their source in the panel; a leading
    **short answer** in bold, and what the answerer added in their own style, so nobody takes them for the
    article's words: the referents of quotes ("He [Chhay Sinharith]") and what the short answer reads as
    ("Ukrainian [Ukraine]")."""
    titles = {c.n: c.title or c.article_id for c in citations}

    def marker(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if citations and n not in titles:
            return match.group(0)
        return cite_link(turn, n, titles.get(n, ""))

    body = _CODE.sub(r"<code>\1</code>", LINK_MARKER.sub(marker, escape(text, quote=False)))
    body = _SHORT.sub(r'<strong class="nd-short">\1</strong>', body, count=1)
    if short is not None and short.reads_as:
        gloss = escape(short.reads_as, quote=False)
        why = "what the answer names, in the question's terms"
        body = body.replace(f"</strong> [{gloss}]", f"</strong> {_added(gloss, why)}", 1)
    for name in dict.fromkeys(escape(r.text, quote=False) for r in referents):
        body = body.replace(f" [{name}]", f" {_added(name, 'who the quote means, from the same article')}")
    if pending:
        body += '<span class="nd-typing" aria-label="answering">\u2026</span>'
    if abstained:
        return f'<p class="nd-abstain-badge">Not answered by the articles</p><p>{body}</p>'
    return body


def _added(text: str, why: str) -> str:
    """An addition of the answerer's (`text`, escaped), in its own style, saying on hover why it is there."""
    return f'<span class="nd-added" title="added: {why}">[{text}]</span>'


def cite_link(turn: int, n: int, title: str) -> str:
    """Marker [n] of answer `turn`, linking to its source card; `title`, the source's, shows on hover."""
    label = escape(f"Source {n}: {title}".rstrip(": "), quote=True)
    return f'<a class="nd-cite" href="#{source_anchor(turn, n)}" title="{label}">[{n}]</a>'


def timeline_html(timeline: Timeline, turn: int, citations: Sequence[Citation] = ()) -> str:
    """A timeline as a vertical dated list: each event's day (marked when the sentence states it), its
    sentence, and its citation markers linking to the sources panel; its note (how events were dated, what
    became of undated articles) below. With no events, what the answer says instead is shown by `answer_html`."""
    titles = {c.n: c.title or c.article_id for c in citations}
    items = []
    for e in timeline.events:
        day = human_date(e.day)
        stated = ' <span class="nd-stated" title="the sentence states this day">stated</span>' \
            if e.date_source == "stated" else ""
        marks = "".join(cite_link(turn, n, titles.get(n, "")) for n in e.citations)
        items.append(f'<li class="nd-event"><div class="nd-when"><span class="nd-day">{day}</span>{stated}</div>'
                     f'<p class="nd-what">{escape(e.text, quote=False)} {marks}</p></li>')
    head = (f"What is new since {human_date(timeline.since)}" if timeline.kind == "since"
            else "Timeline") + f": {escape(timeline.topic)}"
    foot = f'<p class="nd-muted nd-small">{escape(timeline.note)}</p>' if timeline.note else ""
    return f'<div class="nd-timeline"><p class="nd-timeline-head">{head}</p><ol>{"".join(items)}</ol>{foot}</div>'


def thinking_html() -> str:
    return '<span class="nd-typing">Searching the articles\u2026</span>'


def error_html(message: str) -> str:
    return f'<p class="nd-error-msg">Could not answer: {escape(message)}</p>'


# -- sources panel -----------------------------------------------------------------------------


def highlighted_paragraph(text: str, start: int, end: int, strong: tuple[int, int] | None = None) -> str:
    """The paragraph of `text` (paragraphs are separated by a blank line) holding [start, end),
    escaped, with that span wrapped in <mark> (and `strong`, a span inside it, in <strong>: the short answer)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    cut = text.rfind("\n\n", 0, start)
    para_start = 0 if cut < 0 else cut + 2
    para_end = text.find("\n\n", end)
    if para_end < 0:
        para_end = len(text)
    before = text[para_start:start].lstrip()
    after = text[end:para_end].rstrip()
    if len(before) + len(after) + (end - start) > MAX_PARAGRAPH_CHARS:
        if len(before) > CONTEXT_CHARS:
            before = "\u2026" + before[-CONTEXT_CHARS:].split(" ", 1)[-1]
        if len(after) > CONTEXT_CHARS:
            after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "\u2026"
    inner = escape(text[start:end])
    if strong is not None and start <= strong[0] < strong[1] <= end:
        phrase = escape(text[strong[0]:strong[1]])
        inner = (escape(text[start:strong[0]]) + f'<strong class="nd-short">{phrase}</strong>'
                 + escape(text[strong[1]:end]))
    return f"{escape(before)}<mark>{inner}</mark>{escape(after)}"


def cited_passage(citation: Citation, article_text: str | None, short: ShortAnswer | None = None) -> str:
    """The cited sentence highlighted inside its paragraph (the short answer in it, when it is this
    citation's, in bold); the quote alone when the article changed."""
    if article_text is not None:
        start, end = citation.start, citation.end
        if article_text[start:end] != citation.quote:
            found = article_text.find(citation.quote) if citation.quote else -1
            start, end = (found, found + len(citation.quote)) if found >= 0 else (-1, -1)
        if start >= 0:
            strong = None
            if short is not None and short.n == citation.n and article_text[short.start:short.end] == short.text:
                strong = (short.start + start - citation.start, short.end + start - citation.start)
            return highlighted_paragraph(article_text, start, end, strong)
    note = "the article has been deleted" if article_text is None else "the article has changed since"
    return f'<mark>{escape(citation.quote)}</mark> <span class="nd-muted">({note})</span>'


def source_card(citation: Citation, turn: int, article_text: str | None, *, short: ShortAnswer | None = None,
                closest: bool = False) -> str:
    """One source card; `closest`: a passage shown after a refusal, in a neutral style, not as evidence."""
    c = citation
    label = c.title or c.article_id
    title = link(c.url, label, css="nd-title") if safe_url(c.url) else f'<span class="nd-title">{escape(label)}</span>'
    meta = [escape(c.source) if c.source else "", escape(human_date(c.published))]
    where = link(c.url, _short_url(c.url), css="nd-url") if safe_url(c.url) else ""
    return (
        f'<article class="nd-src{" nd-closest" if closest else ""}" id="{source_anchor(turn, c.n)}">'
        f'<div class="nd-src-head"><span class="nd-n">{c.n}</span>{title}</div>'
        f'<div class="nd-meta">{_DOT.join(m for m in meta if m)}{_DOT + where if where else ""}</div>'
        + (f'<div class="nd-copies">{escape(also_reported(c.copies))}</div>' if c.copies else "")
        + f'<p class="nd-para">{cited_passage(c, article_text, short)}</p>'
        "</article>"
    )


def _short_url(url: str) -> str:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    return host[4:] if host.startswith("www.") else host


@dataclass
class SourcesEntry:
    """What the sources panel shows for one answer; `body` is rendered once, when the answer arrives."""

    turn: int
    question: str
    body: str
    abstained: bool = False
    footer: str = ""


def sources_body(
    citations: Sequence[Citation], turn: int, article_text: Callable[[str], str | None], *, abstained: bool,
    empty_store: bool = False, short: ShortAnswer | None = None,
) -> str:
    """The cards for one answer (article texts are fetched once per article)."""
    if empty_store:
        return ('<p class="nd-muted">No articles are stored yet. Add some in the <b>Library</b> tab '
                "(files, a URL or an RSS/Atom feed), then ask again.</p>")
    if not citations:
        return '<p class="nd-muted">No passage matched this question.</p>'
    texts: dict[str, str | None] = {}
    cards = []
    for c in citations:
        if c.article_id not in texts:
            texts[c.article_id] = article_text(c.article_id)
        cards.append(source_card(c, turn, texts[c.article_id], short=short, closest=abstained))
    lead = ('<p class="nd-abstain-note">The articles do not answer this. The closest passages were:</p>'
            if abstained else "")
    return lead + "".join(cards)


def sources_panel(entries: Sequence[SourcesEntry], *, dropped: int = 0) -> str:
    """Every answer's sources, newest first and open; earlier answers folded. `dropped`: how many
    earlier answers the chat no longer keeps (said at the bottom)."""
    if not entries and not dropped:
        return (
            '<div class="nd-sources-empty"><h3>Sources</h3><p>Ask a question. Every sentence of the answer ends '
            "with a marker such as <b>[1]</b>; click it to see the exact sentence here, highlighted in its "
            "paragraph, with the article's title, outlet, date and link.</p></div>"
        )
    parts = ['<div class="nd-sources">']
    for i, entry in enumerate(reversed(entries)):
        label = "Closest passages" if entry.abstained else "Sources"
        footer = f'<p class="nd-footer">{escape(entry.footer)}</p>' if entry.footer else ""
        parts.append(
            f'<details class="nd-turn"{" open" if i == 0 else ""} id="turn-{entry.turn}">'
            f'<summary><span class="nd-label">{label}</span> <span class="nd-q">{escape(entry.question)}</span>'
            f"</summary>{entry.body}{footer}</details>"
        )
    if dropped:
        plural = "s are" if dropped != 1 else " is"
        parts.append(f'<p class="nd-muted nd-small nd-dropped">{dropped} earlier answer{plural} no longer '
                     "kept: a chat keeps its latest answers only.</p>")
    parts.append("</div>")
    return "".join(parts)


# -- library -----------------------------------------------------------------------------------


def matches(info: ArticleInfo, query: str) -> bool:
    """Every word of `query` appears in the article's title, outlet, URL, id or date."""
    haystack = " ".join([info.title, info.source, info.url, info.id, human_date(info.published),
                         info.published.isoformat() if info.published else ""]).lower()
    return all(word in haystack for word in query.lower().split())


def library_table(articles: Sequence[ArticleInfo], query: str = "") -> str:
    shown = [a for a in articles if matches(a, query)]
    chunks = sum(a.chunks for a in articles)
    if not articles:
        return ('<div class="nd-library-empty"><p><b>The library is empty.</b> Upload article files (txt, md, '
                "html, pdf, jsonl), or add a URL or an RSS/Atom feed, then press <b>Ingest</b>.</p></div>")
    count = (f"{len(articles)} article{'s' if len(articles) != 1 else ''}, {chunks} passage{'s' if chunks != 1 else ''}"
             if not query.strip() else f"{len(shown)} of {len(articles)} articles match \u201c{escape(query)}\u201d")
    rows = []
    for a in shown:
        title = link(a.url, a.title or a.id) if safe_url(a.url) else escape(a.title or a.id)
        rows.append(
            f'<tr><td class="nd-col-title">{title}<div class="nd-id">{escape(shown_id(a.id, a.origin))}</div></td>'
            f"<td>{escape(a.source) or '<span class=nd-muted>unknown</span>'}</td>"
            f'<td class="nd-nowrap">{escape(a.published.isoformat()) if a.published else "undated"}</td>'
            f'<td class="nd-num">{a.chunks}</td></tr>'
        )
    body = "".join(rows) or '<tr><td colspan="4" class="nd-muted">No article matches.</td></tr>'
    return (
        f'<div class="nd-library"><p class="nd-count">{count}</p><table class="nd-table">'
        "<thead><tr><th>Title</th><th>Outlet</th><th>Published</th><th>Passages</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def shown_id(article_id: str, origin: str = "") -> str:
    """An article id as shown to users: a URL as is, a file by its name only (not the server's folders),
    an upload by the name the user gave it."""
    if article_id.startswith(UPLOAD_PREFIX) and origin.startswith(UPLOAD_PREFIX):
        return f"uploaded file {origin.removeprefix(UPLOAD_PREFIX)}"
    if article_id.startswith("file://"):
        return article_id.rstrip("/").rsplit("/", 1)[-1]
    return article_id


def article_choice(info: ArticleInfo) -> str:
    """The label of an article in a dropdown (plain text: Gradio shows it as text)."""
    when = info.published.isoformat() if info.published else "undated"
    title = info.title or shown_id(info.id, info.origin)
    if len(title) > CHOICE_CHARS:
        title = title[:CHOICE_CHARS].rsplit(" ", 1)[0] + "\u2026"
    return f"{title} ({when})"


def article_preview(info: ArticleInfo | None, text: str | None) -> str:
    if info is None:
        return '<p class="nd-muted">Select an article to read it or delete it.</p>'
    meta = [escape(info.source) if info.source else "", escape(human_date(info.published)),
            f"{info.chunks} passage{'s' if info.chunks != 1 else ''}"]
    origin = link(info.url, info.url) if safe_url(info.url) else escape(shown_id(info.id, info.origin))
    paragraphs = [p.strip() for p in (text or "").split("\n\n") if p.strip()]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs) or '<p class="nd-muted">(no text stored)</p>'
    return (
        f'<div class="nd-preview"><h3>{escape(info.title or info.id)}</h3>'
        f'<div class="nd-meta">{_DOT.join(m for m in meta if m)}</div>'
        f'<div class="nd-meta">{origin}</div><div class="nd-preview-text">{body}</div></div>'
    )


@dataclass
class IngestSummary:
    """The outcome of one ingest from the Library tab."""

    summary: str
    errors: list[dict[str, str]] = field(default_factory=list)
    ok: bool = True
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that are not errors (an upload stored beside an earlier one of the same name)."""


def ingest_result(result: IngestSummary) -> str:
    state = "nd-ok" if result.ok and not result.errors else "nd-warn"
    errors = "".join(
        f'<li><span class="nd-err-src">{escape(e.get("source", ""))}</span>: {escape(e.get("error", ""))}</li>'
        for e in result.errors
    )
    listed = f'<ul class="nd-errors">{errors}</ul>' if errors else ""
    notes = "".join(f'<p class="nd-note">{escape(note)}</p>' for note in result.notes)
    return f'<div class="nd-report {state}"><p class="nd-summary">{escape(result.summary)}</p>{listed}{notes}</div>'


def watched_feeds(feeds: Sequence[Any]) -> str:
    """The feeds `python -m ingest watch` keeps current (`ingest.watch.FeedStatus`): last poll, what it
    ingested, and the last error with the next try."""
    head = '<h3 class="nd-h3">Watched feeds</h3>'
    if not feeds:
        return (f'{head}<p class="nd-muted nd-small">No feeds are watched. To keep feeds current, run '
                "<code>python -m ingest watch --feed URL --every 15m</code> on the server.</p>")
    rows = []
    for f in feeds:
        name = f.title or source_host(f.url) or f.url
        feed = link(f.url, name)
        polled = _when(f.last_poll) if f.last_poll else "not yet"
        if f.last_error:
            retry = f"; next try {_when(f.next_poll)}" if f.next_poll else ""
            runs = f" ({f.consecutive_failures} failures in a row)" if f.consecutive_failures > 1 else ""
            state = f'<span class="nd-feed-error">{escape(f.last_error)}{escape(runs)}{escape(retry)}</span>'
        else:
            state = f"ok: {f.last_ingested} new or changed"
        rows.append(f'<tr><td class="nd-col-title">{feed}<div class="nd-id">{escape(f.url)}</div></td>'
                    f"<td>{escape(polled)}</td><td>{state}</td><td>{f.total_ingested}</td></tr>")
    return (f'{head}<table class="nd-table nd-feeds"><thead><tr><th>Feed</th><th>Last poll</th><th>Result</th>'
            f'<th>Ingested</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def story_groups(groups: Sequence[Any], articles: dict[str, ArticleInfo], limit: int = 50) -> str:
    """Stories published by several outlets (`ingest.near_duplicates.Group`, largest first): each member's
    title, outlet and date. Answers count such a story once and name the other outlets."""
    head = '<h3 class="nd-h3">Same story, several outlets</h3>'
    shown = [g for g in groups if sum(m.article_id in articles for m in g.members) > 1][:limit]
    if not shown:
        return f'{head}<p class="nd-muted nd-small">No story has been published by more than one outlet.</p>'
    items = []
    for g in shown:
        rows = []
        for m in g.members:
            info = articles.get(m.article_id)
            if info is None:
                continue
            facts = _DOT.join(escape(x) for x in (m.source or info.source, human_date(m.published)) if x)
            rows.append(f'<li><span class="nd-title">{escape(info.title or info.id)}</span>'
                        f' <span class="nd-muted nd-small">{facts}</span></li>')
        items.append(f'<li class="nd-story">{len(rows)} copies<ul>{"".join(rows)}</ul></li>')
    more = f'<p class="nd-muted nd-small">and {len(groups) - len(shown)} more</p>' if len(groups) > len(shown) else ""
    return f'{head}<ul class="nd-stories">{"".join(items)}</ul>{more}'


def _when(moment: Any) -> str:
    return moment.strftime("%-d %b %Y %H:%M UTC")


def header(articles: int, chunks: int) -> str:
    stats = (f"{articles} article{'s' if articles != 1 else ''} \u00b7 {chunks} passage{'s' if chunks != 1 else ''}"
             if articles
             else "no articles yet \u2014 add some in the Library tab")
    return (
        '<div class="nd-header"><div><h1>Newsdesk QA</h1><p>Answers from your news articles, every sentence '
        f'cited to the exact source sentence.</p></div><div class="nd-stats">{escape(stats)}</div></div>'
    )


def chat_placeholder(articles: int) -> str:
    if not articles:
        return ('<div class="nd-placeholder"><h3>No articles yet</h3><p>Open the <b>Library</b> tab to upload '
                "article files or add a URL or an RSS/Atom feed (or run <code>python -m ingest PATH_OR_URL</code>). "
                "Then ask away.</p></div>")
    return (f'<div class="nd-placeholder"><h3>Ask about {articles} article{"s" if articles != 1 else ""}</h3>'
            "<p>Every sentence of an answer cites the article sentence it comes from. Click a marker such as "
            "<b>[1]</b> to see that sentence in the sources panel.</p></div>")


def version_choice(version: ArticleVersion) -> str:
    """A version's label in the Library's compare pickers: "4 Nov 2025 – 20 Nov 2025 · b47cd43e"."""
    began = human_date(version.valid_from) if version.valid_from else "undated"
    until = "now" if version.current else human_date(version.superseded)
    return f"{began} \u2013 {until}{_DOT}{version.content_hash[:8]}"


def versions_panel(history: VersionHistory | None, diff: SentenceDiff | None = None,
                   compared: tuple[ArticleVersion, ArticleVersion] | None = None) -> str:
    """The selected article's versions (oldest first, with the days each was current) and, when two are
    compared, the sentences that changed from the first to the second; "" for no article."""
    if history is None:
        return ""
    if len(history.versions) == 1:
        return '<p class="nd-muted nd-small">One version: the article has not changed since it was ingested.</p>'
    rows = "".join(
        f"<li><b>{escape(version_choice(v))}</b>{' (current)' if v.current else ''}"
        f"{escape(_DOT + 'stated update ' + human_date(v.updated)) if v.updated else ''}</li>"
        for v in history.versions)
    body = f'<div class="nd-versions"><h4>{len(history.versions)} versions</h4><ul>{rows}</ul>'
    if diff is not None and compared is not None:
        old, new = compared
        body += (f"<h4>What changed from {escape(version_choice(old))} to {escape(version_choice(new))}</h4>"
                 + diff_html(diff))
    return body + "</div>"


def diff_html(diff: SentenceDiff) -> str:
    """A sentence diff as lists: changed (old struck through, then new), removed, added; all text escaped."""
    if diff.empty:
        return '<p class="nd-muted">No sentence changed (only spacing or line breaks).</p>'
    parts = []
    if diff.changed:
        items = "".join(f"<li><del>{escape(old)}</del><br><ins>{escape(new)}</ins></li>" for old, new in diff.changed)
        parts.append(f'<p class="nd-small">Changed</p><ul class="nd-diff-changed">{items}</ul>')
    for label, css, sentences in (("Removed", "nd-diff-removed", diff.removed), ("Added", "nd-diff-added", diff.added)):
        if sentences:
            tag = "del" if css == "nd-diff-removed" else "ins"
            items = "".join(f"<li><{tag}>{escape(s)}</{tag}></li>" for s in sentences)
            parts.append(f'<p class="nd-small">{label}</p><ul class="{css}">{items}</ul>')
    return "".join(parts)
