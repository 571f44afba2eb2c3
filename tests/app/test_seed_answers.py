"""What a newcomer sees after `make run`: questions about the bundled sample article, with it alone in the store
(no distractor articles to change which of its sentences score best). Real model, real store."""

from __future__ import annotations

import pytest

from tests.conftest import SEED, assistant_over

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seed_assistant(tmp_path_factory, embedder):
    return assistant_over(tmp_path_factory, embedder, "seed", [SEED], added=1)


def _answered(assistant, question: str):
    answer = assistant.ask(question)
    assert not answer.abstained, (answer.text, answer.notes)
    for c in answer.citations:
        assert assistant.store.article_text(c.article_id)[c.start:c.end] == c.quote
    return answer


@pytest.mark.parametrize("question", ["When did the meeting take place?", "When did they meet?"])
def test_when_the_meeting_was_is_the_date_of_the_sentence_saying_they_met(seed_assistant, question):
    # The article says "met", never "meeting", in its first sentence: the irregular form has to match.
    answer = _answered(seed_assistant, question)
    assert answer.short_answer is not None and answer.short_answer.text == "November 3, 2025", answer.text
    assert answer.text.startswith("**November 3, 2025** [1]")
    assert "met with South Korean Ambassador" in answer.citations[0].quote


def test_what_korea_will_do_is_the_future_action_alone(seed_assistant):
    # Not the thanks for the repatriation (past) nor what Cambodia will not allow (another subject): what
    # South Korea will do, in one sentence, which says "these individuals" for the citizens the question names.
    answer = _answered(seed_assistant, "What will South Korea do with the citizens Cambodia repatriated?")
    assert len(answer.citations) == 1, answer.text
    assert "the South Korean authorities will continue to conduct in-depth investigations into these individuals" \
        in answer.citations[0].quote
    assert "He [Ambassador Park] stated" in answer.text


def test_what_korea_will_share_is_the_results(seed_assistant):
    answer = _answered(seed_assistant, "What will the South Korean authorities share with Cambodia?")
    assert "will share the results with Cambodia" in answer.citations[0].quote, answer.text


@pytest.mark.parametrize("question, country", [
    ("Which country did the ambassador represent?", "South Korea"),  # "South Korean Ambassador"
    ("Where is Park Jung-Wook ambassador to?", "Cambodia"),  # "Ambassador to Cambodia"
    ("Which country thanked Cambodia?", "South Korea"),
])
def test_which_country_reads_the_people_word(seed_assistant, question, country):
    answer = _answered(seed_assistant, question)
    assert answer.short_answer is not None and answer.short_answer.text == country, answer.text
    cited = next(c for c in answer.citations if c.n == answer.short_answer.n)
    assert seed_assistant.store.article_text(cited.article_id)[answer.short_answer.start:answer.short_answer.end] \
        == country
