"""What asks for a timeline or for what's new, and the day a sentence states (no model, no store)."""

from __future__ import annotations

from datetime import date

import pytest

from app.timeline import numbers, read_request, stated_day

TODAY = date(2025, 11, 20)


@pytest.mark.parametrize("question, topic", [
    ("Timeline of the Cambodia-Korea task force", "the Cambodia-Korea task force"),
    ("Give me a timeline of the repatriations?", "the repatriations"),
    ("How has the task force developed?", "the task force"),
    ("How have the repatriations evolved since the summer?", "the repatriations"),
    ("What happened with the scam compounds?", "the scam compounds"),
    ("what happened to the recruiters", "the recruiters"),
])
def test_timeline_questions_are_recognised_with_their_topic(question: str, topic: str) -> None:
    request = read_request(question, TODAY)
    assert request is not None and request.kind == "timeline" and request.topic == topic


@pytest.mark.parametrize("question", ["How many Koreans were repatriated?", "What did the task force say on Tuesday?",
                                      "Who happened to be there?"])
def test_other_questions_are_not_timelines(question: str) -> None:
    assert read_request(question, TODAY) is None


def test_whats_new_since_reads_the_day_against_the_as_of_day() -> None:
    request = read_request("What's new on the task force since 1 October?", TODAY)
    assert request is not None and (request.kind, request.topic, request.since) == (
        "since", "the task force", date(2025, 10, 1))
    forced = read_request("the task force", TODAY, since_last=date(2025, 9, 30))
    assert (forced.kind, forced.topic, forced.since) == ("since", "the task force", date(2025, 9, 30))
    assert read_request("the task force", TODAY, timeline=True).kind == "timeline"


def test_a_sentence_states_its_day_against_its_articles_publication_day() -> None:
    wednesday = date(2025, 10, 15)
    assert stated_day("The task force announced on Tuesday that 545 were home.", wednesday) == date(2025, 10, 14)
    assert stated_day("The task force announced on Wednesday.", wednesday) == wednesday
    assert stated_day("On October 28, 2025, police arrested three recruiters.", date(2025, 11, 4)) == date(2025, 10, 28)
    assert stated_day("Police said on 28 October that three were held.", date(2025, 11, 4)) == date(2025, 10, 28)
    assert stated_day("Police arrested three men yesterday.", wednesday) == date(2025, 10, 14)
    assert stated_day("The mandate runs until the end of 2026.", wednesday) is None
    assert stated_day("Talks will resume on December 1, 2025.", wednesday) is None  # a plan, not an event
    assert stated_day("The raid happened on Tuesday.", None) is None
    assert stated_day("On October 28, 2025, police arrested three recruiters.", None) == date(2025, 10, 28)
    assert stated_day("On October 28, police arrested three recruiters.", None) is None


def test_figures_tell_claims_apart() -> None:
    assert numbers("A total of 545 Koreans, three flights") == {"545", "three"}
    assert numbers("A total of 545 Koreans") != numbers("A total of 547 Koreans")
    assert numbers("No figures here.") == frozenset()
