"""Time words in questions, read against the as-of day: the window searched, the current-state cue, and how
the answer says what it searched."""

from __future__ import annotations

from datetime import date

import pytest

from app.assistant import describe_search, search_plan
from app.retrieval import Filters, Recency
from app.timeframe import read_time
from core.settings import Settings

AS_OF = date(2025, 11, 20)  # a Thursday


@pytest.mark.parametrize(("question", "since", "until"), [
    ("What did the police say yesterday?", date(2025, 11, 19), date(2025, 11, 20)),
    ("What happened today in Phnom Penh?", AS_OF, AS_OF),
    ("Which raids were reported this week?", date(2025, 11, 13), AS_OF),
    ("Who was arrested last week?", date(2025, 11, 10), date(2025, 11, 17)),  # Mon-Sun, + a day to report it
    ("What was agreed last month?", date(2025, 10, 1), date(2025, 11, 1)),
    ("What did Korea agree to in October?", date(2025, 10, 1), date(2025, 11, 1)),
    ("What was announced in December?", date(2024, 12, 1), date(2025, 1, 1)),  # the latest December before
    ("What happened in March 2024?", date(2024, 3, 1), date(2024, 4, 1)),
    ("What has changed since 3 November?", date(2025, 11, 3), AS_OF),
    ("What happened between 1 and 15 November?", date(2025, 11, 1), date(2025, 11, 16)),
    ("Who spoke on November 4, 2025?", date(2025, 11, 4), date(2025, 11, 5)),
    ("How many were deported in the past 30 days?", date(2025, 10, 21), AS_OF),
])
def test_a_time_phrase_becomes_a_window(question: str, since: date, until: date) -> None:
    reading = read_time(question, AS_OF)
    assert (reading.since, reading.until) == (since, until), reading
    assert reading.phrase and reading.phrase.lower() in question.lower()


def test_a_question_without_time_words_has_no_window() -> None:
    reading = read_time("What did Korea agree to with Cambodia?", AS_OF)
    assert (reading.since, reading.until, reading.current) == (None, None, False)
    assert read_time("May the task force be extended?", AS_OF).since is None  # "May" the verb


@pytest.mark.parametrize("question", ["What is the latest figure?", "Is the task force still working?",
                                      "How many have been repatriated so far?", "Who leads it now?"])
def test_current_state_questions_rank_newer_articles_higher(question: str) -> None:
    settings = Settings(_env_file=None)
    plan = search_plan(question, None, AS_OF, settings)
    assert plan.recency == Recency(AS_OF, settings.recency_half_life_days, settings.recency_floor)
    assert plan.window.recency and "newer articles first" in plan.note


def test_as_of_keeps_undated_articles_but_a_window_does_not() -> None:
    settings = Settings(_env_file=None)
    plan = search_plan("What did Korea agree to?", Filters(sources=("dnyxxg.com",)), AS_OF, settings)
    assert plan.filters == Filters(until=AS_OF, sources=("dnyxxg.com",), undated=True, as_of=AS_OF)
    # A question asked as of a given day leans to that day's news (as_of_half_life_days, calibrated).
    assert plan.note == ("Searched articles published up to 20 Nov 2025; undated articles included; "
                         "newer articles first.")
    windowed = search_plan("What did Korea agree to last week?", None, AS_OF, settings)
    assert not windowed.filters.undated
    assert windowed.note == ("Searched articles published 10 Nov \u2013 17 Nov 2025 (\u201clast week\u201d), "
                             "as of 20 Nov 2025; undated articles left out; newer articles first.")


def test_the_time_phrase_leaves_the_query_once_it_is_the_window() -> None:
    plan = search_plan("How many were repatriated last week?", None, AS_OF, Settings(_env_file=None))
    assert plan.query == "How many were repatriated?"
    assert search_plan("Who leads it?", None, AS_OF, Settings(_env_file=None)).query == "Who leads it?"


def test_the_users_filters_and_the_question_window_are_both_kept() -> None:
    plan = search_plan("What happened this week?", Filters(since=date(2025, 11, 15), until=date(2025, 12, 31)),
                       AS_OF, Settings(_env_file=None))
    assert (plan.filters.since, plan.filters.until) == (date(2025, 11, 15), AS_OF)


def test_a_window_that_closes_before_the_as_of_day_can_be_widened_to_later_reports() -> None:
    """"On November 4" names the day of the event; a report of it may come weeks later. The plan keeps the
    day's window first, and a wider one (the same start, up to the as-of day) for when the day's articles do
    not answer; a window already reaching the as-of day, or the user's own end date, has none."""
    settings = Settings(_env_file=None)
    plan = search_plan("Who spoke on November 4, 2025?", None, AS_OF, settings)
    assert (plan.filters.since, plan.filters.until) == (date(2025, 11, 4), date(2025, 11, 5))
    wider = plan.wider
    assert wider is not None and wider.wider is None
    assert (wider.filters.since, wider.filters.until, wider.filters.undated) == (date(2025, 11, 4), AS_OF, False)
    assert (wider.window.since, wider.window.until, wider.query) == (date(2025, 11, 4), AS_OF, "Who spoke?")
    assert wider.window.widened_from == date(2025, 11, 5) and plan.window.widened_from is None
    assert wider.note == ("Nothing published 4 Nov \u2013 5 Nov 2025 (\u201con November 4, 2025\u201d) answers "
                          "this, so later reports were searched too: articles published 4 Nov \u2013 20 Nov 2025; "
                          "undated articles left out; newer articles first.")
    assert search_plan("Which raids were reported this week?", None, AS_OF, settings).wider is None
    assert search_plan("What has changed since 3 November?", None, AS_OF, settings).wider is None
    assert search_plan("Who leads it?", None, AS_OF, settings).wider is None
    own_end = search_plan("Who spoke on November 4, 2025?", Filters(until=date(2025, 11, 5)), AS_OF, settings)
    assert own_end.wider is None
    capped = search_plan("Who spoke on November 4, 2025?", Filters(until=date(2025, 11, 10)), AS_OF, settings)
    assert capped.wider is not None and capped.wider.filters.until == date(2025, 11, 10)


def test_without_an_as_of_day_nothing_is_filtered_and_time_words_read_from_today() -> None:
    settings = Settings(_env_file=None)
    plan = search_plan("What did Korea agree to with Cambodia?", None, None, settings)
    assert plan.filters == Filters() and plan.recency is None and plan.note == ""
    today = search_plan("What happened yesterday?", None, None, settings)
    assert today.filters.until == date.today()
    off = search_plan("What happened yesterday?", None, None, settings.model_copy(update={"time_words": False}))
    assert off.filters == Filters()


def test_recency_weighs_by_age_and_gives_undated_articles_the_floor() -> None:
    recency = Recency(AS_OF, half_life_days=7.0, floor=0.25)
    assert recency.weight(AS_OF) == 1.0
    assert recency.weight(date(2025, 11, 13)) == pytest.approx(0.625)
    assert recency.weight(None) == 0.25 and recency.weight(date(2020, 1, 1)) == pytest.approx(0.25)
    assert recency.weight(date(2025, 12, 1)) == 1.0  # a later date (clock skew) is not worth more


def test_the_window_is_described_in_words() -> None:
    from core.records import SearchWindow

    assert describe_search(SearchWindow()) == ""
    assert describe_search(SearchWindow(since=date(2025, 10, 27), until=date(2025, 11, 2), as_of=date(2025, 11, 4),
                                        phrase="last week")) == (
        "Searched articles published 27 Oct \u2013 2 Nov 2025 (\u201clast week\u201d), as of 4 Nov 2025; "
        "undated articles left out.")
