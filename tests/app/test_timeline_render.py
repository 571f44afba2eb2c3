"""A timeline in the chat: a vertical dated list, each sentence escaped, its markers linking to the sources."""

from __future__ import annotations

from datetime import date

from app.ui_render import source_anchor, timeline_html
from core.records import Citation, Timeline, TimelineEvent


def _citation(n: int, title: str) -> Citation:
    return Citation(n=n, article_id=f"a{n}", quote="q", start=0, end=1, title=title, published=date(2025, 10, 14))


def test_a_timeline_renders_as_a_dated_list_with_escaped_text_and_linked_markers() -> None:
    timeline = Timeline("timeline", "the <task> force", (
        TimelineEvent(date(2025, 9, 1), "stated", "Formed on Monday <script>alert(1)</script> & more.", (1,)),
        TimelineEvent(date(2025, 10, 14), "article", "545 brought home.", (2, 3)),
    ), note="Undated articles <left out>.")
    html = timeline_html(timeline, 4, [_citation(1, 'A "quoted" title'), _citation(2, "B"), _citation(3, "C")])
    assert html.count('<li class="nd-event">') == 2 and "<ol>" in html
    assert html.index("1\u00a0September\u00a02025") < html.index("14\u00a0October\u00a02025")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more." in html
    assert "Timeline: the &lt;task&gt; force" in html and "Undated articles &lt;left out&gt;." in html
    for n in (1, 2, 3):
        assert f'href="#{source_anchor(4, n)}"' in html and f">[{n}]</a>" in html
    assert 'title="Source 1: A &quot;quoted&quot; title"' in html
    assert html.count('class="nd-stated"') == 1  # only the event whose sentence states its day


def test_whats_new_is_headed_with_its_day() -> None:
    html = timeline_html(Timeline("since", "the task force", (
        TimelineEvent(date(2025, 11, 4), "article", "812 brought home.", (1,)),), since=date(2025, 10, 1)), 0)
    assert "What is new since 1\u00a0October\u00a02025: the task force" in html
