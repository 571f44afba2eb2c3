"""Answers as of a date on a story told over weeks (tests/data/dated, written for these tests): a figure that
grows from 120 to 812, two copies of the 545 report from other outlets (one of them says 547), an undated
explainer. The latest figure, the figure as it stood on an earlier day,
and a question about "last week", each with the sentence it must cite."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.__main__ import format_answer
from tests.conftest import DATA, assistant_over

pytestmark = pytest.mark.slow

DATED = DATA / "dated"
HOW_MANY = "How many Korean citizens have been repatriated so far?"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    return assistant_over(tmp_path_factory, embedder, "dated", [DATED], added=7)


def _first(answer) -> tuple[str, str]:
    assert not answer.abstained and answer.citations, answer.text
    return answer.citations[0].quote, answer.citations[0].published.isoformat()


def test_the_latest_figure_comes_from_the_newest_article(assistant) -> None:
    answer = assistant.ask(HOW_MANY)
    quote, published = _first(answer)
    assert "812" in quote and published == "2025-11-04"
    assert answer.window.recency and answer.window.as_of is None
    assert "newer articles first" in answer.notes[-1]


def test_as_of_an_earlier_day_the_figure_is_the_one_reported_by_then(assistant) -> None:
    answer = assistant.ask(HOW_MANY, as_of=date(2025, 10, 1))
    quote, published = _first(answer)
    assert "310" in quote and published == "2025-09-23"
    assert all(c.published is None or c.published <= date(2025, 10, 1) for c in answer.citations)
    assert answer.window.until == date(2025, 10, 1) and answer.window.undated
    assert answer.notes[-1] == ("Searched articles published up to 1 Oct 2025; undated articles included; "
                                "newer articles first.")


def test_last_week_is_read_from_the_as_of_day(assistant) -> None:
    """Last week's report was published by three outlets, one of them with another figure: the story
    counts once in the hits, and the answer shows both figures, each cited and dated."""
    answer = assistant.ask("How many Korean citizens were repatriated last week?", as_of=date(2025, 10, 20))
    quote, published = _first(answer)
    assert "Korean citizens have now been repatriated" in quote and published in ("2025-10-14", "2025-10-15")
    assert (answer.window.since, answer.window.until) == (date(2025, 10, 13), date(2025, 10, 20))
    assert answer.window.phrase == "last week"
    story = [h for h in answer.hits if "repatriations-54" in h.chunk.article_id or "repatriations-54" in
             h.chunk.url]
    assert len({h.chunk.article_id for h in story}) == 1, [h.chunk.article_id for h in story]
    [disagreement] = answer.disagreements
    said = {value: n for value, n in disagreement.values}
    assert set(said) == {"545", "547"}
    by_n = {c.n: c for c in answer.citations}
    assert "547" in by_n[said["547"]].quote and by_n[said["547"]].source.startswith("Coast Wire")
    assert "545" in by_n[said["545"]].quote
    assert "Sources differ on this figure: " in answer.text and "15 Oct 2025" in answer.text
    for c in answer.citations:
        assert assistant.store.article_text(c.article_id)[c.start:c.end] == c.quote


def test_the_cited_report_lists_its_copies(assistant) -> None:
    answer = assistant.ask("What does the task force say about the pace of returns?", as_of=date(2025, 10, 20))
    assert not answer.abstained, answer.text
    [card] = [c for c in answer.citations if "pace of returns" in c.quote][:1]
    outlets = {c.source.split(" Test Desk")[0] for c in card.copies}
    assert len(card.copies) == 2 and outlets < {"Harbour Times", "River Post", "Coast Wire"}, card.copies
    assert len({h.chunk.article_id for h in answer.hits if "pace of returns" in h.chunk.text}) == 1


def test_before_the_story_began_only_the_undated_explainer_can_be_cited(assistant) -> None:
    answer = assistant.ask(HOW_MANY, as_of=date(2025, 8, 1))
    assert all(c.published is None for c in answer.citations)
    assert "812" not in answer.text and "310" not in answer.text


def test_batch_lines_carry_their_own_as_of_day(tmp_path: Path) -> None:
    from app.__main__ import _batch_questions

    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in [
        {"id": "a", "question": HOW_MANY, "as_of": "2025-10-01"},
        {"id": "b", "question": HOW_MANY},
        {"id": "c", "question": HOW_MANY, "as_of": "1 October"},
    ]) + "\n", encoding="utf-8")
    rows = list(_batch_questions(str(path)))
    assert rows[0] == ("a", HOW_MANY, date(2025, 10, 1), None) and rows[1] == ("b", HOW_MANY, None, None)
    assert rows[2][1] is None and "line 3" in rows[2][3] and "YYYY-MM-DD" in rows[2][3]


def test_a_day_named_in_the_question_is_answered_from_a_later_report(assistant) -> None:
    """No article was published on 28 October; the report of that day's arrests came on 4 November. The
    answer cites it and says that the search went past the day; before that report, the answer is a refusal
    that says so too."""
    question = "How many recruiters did police arrest in Sihanoukville on October 28, 2025?"
    answer = assistant.ask(question, as_of=date(2025, 11, 20))
    quote, published = _first(answer)
    assert "arrested three recruiters" in quote and published == "2025-11-04"
    assert answer.short_answer is not None and answer.short_answer.text == "three recruiters"
    assert (answer.window.since, answer.window.until) == (date(2025, 10, 28), date(2025, 11, 20))
    assert answer.notes[-1].startswith("Nothing published 28 Oct \u2013 29 Oct 2025 (\u201con October 28, "
                                       "2025\u201d) answers this, so later reports were searched too")
    assert answer.window.widened_from == date(2025, 10, 29)
    assert format_answer(answer).endswith(answer.notes[-1])  # the terminal says it too
    before = assistant.ask(question, as_of=date(2025, 11, 2))
    assert before.abstained and not before.citations
    assert (before.window.since, before.window.until) == (date(2025, 10, 28), date(2025, 11, 2))
    assert before.notes[-1] == ("Nothing published 28 Oct \u2013 29 Oct 2025 (\u201con October 28, 2025\u201d) "
                                "answers this, so later reports were searched too: articles published 28 Oct "
                                "\u2013 2 Nov 2025; undated articles left out; newer articles first.")
