"""Retrieval and the extractive answerer on the sample corpus, with the real model and a real store."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_TITLE

pytestmark = pytest.mark.slow


def _article_text(assistant, article_id: str) -> str:
    text = assistant.store.article_text(article_id)
    assert text is not None
    return text


def _assert_citations_exact(assistant, answer) -> None:
    for c in answer.citations:
        assert _article_text(assistant, c.article_id)[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.text or answer.abstained


def test_the_sample_question_gets_the_agreement_with_citations(sample_assistant):
    answer = sample_assistant.ask("What did Korea agree to with Cambodia?")
    assert not answer.abstained
    text = answer.text.lower()
    assert "deepen cooperation" in text and "cyber fraud" in text
    assert "task force" in text or "working group" in text
    assert 40 <= len(answer.text.split()) <= 140
    assert answer.citations and all(c.title == SEED_TITLE for c in answer.citations)
    assert all(c.published and c.published.isoformat() == "2025-11-04" for c in answer.citations)
    # Every sentence ends with its citation marker, numbered in order of appearance.
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    # Each quote as the article has it, with an editor's bracket after a pronoun ("Both sides [...]").
    added = {r.n: r for r in answer.referents}
    for c in answer.citations:
        r = added.get(c.n)
        shown = f"{c.quote[:r.offset]} [{r.text}]{c.quote[r.offset:]}" if r else c.quote
        assert f"{shown} [{c.n}]" in answer.text
    assert "Both sides [Cambodia and South Korea] agreed" in answer.text
    _assert_citations_exact(sample_assistant, answer)


def test_unanswerable_question_abstains_with_closest_passages(sample_assistant):
    answer = sample_assistant.ask("How many suspects were arrested?")
    assert answer.abstained
    assert answer.text.startswith("The ingested articles do not say")
    assert answer.citations, "an abstention still shows the closest passages"
    _assert_citations_exact(sample_assistant, answer)


def test_answers_come_from_the_right_article_among_distractors(sample_assistant):
    answer = sample_assistant.ask("What did Japan and Cambodia agree to set up?")
    assert "hotline" in answer.text
    assert answer.citations[0].title.startswith("Japan and Cambodia")
    _assert_citations_exact(sample_assistant, answer)


def test_date_and_source_filters_restrict_the_evidence(sample_assistant):
    from datetime import date

    from app.retrieval import Filters

    late = sample_assistant.ask("What did the governments agree?", filters=Filters(since=date(2025, 10, 1)))
    assert all(h.chunk.published >= date(2025, 10, 1) for h in late.hits)
    only = sample_assistant.ask("What did the governments agree?", filters=Filters(sources=("www.dnyxxg.com",)))
    assert only.hits and {h.chunk.host for h in only.hits} == {"dnyxxg.com"}
    none = sample_assistant.ask("What did the governments agree?", filters=Filters(until=date(2020, 1, 1)))
    assert none.abstained and not none.hits


def test_one_article_cannot_fill_every_slot(sample_assistant):
    hits = sample_assistant.retriever.search("Cambodia South Korea cooperation cyber fraud", k=8).hits
    per_article: dict[str, int] = {}
    for h in hits:
        per_article[h.chunk.article_id] = per_article.get(h.chunk.article_id, 0) + 1
    assert max(per_article.values()) <= sample_assistant.settings.max_chunks_per_article
    assert len(per_article) > 1


def test_hybrid_search_finds_rare_words_and_paraphrases(sample_assistant):
    rare = sample_assistant.retriever.search("Moei River cell towers", k=3).hits
    assert rare[0].chunk.title.startswith("Thailand cuts electricity")
    assert rare[0].lexical_rank == 1
    paraphrase = sample_assistant.retriever.search("romance-style crypto investment cons", k=3).hits
    assert paraphrase[0].chunk.title.startswith("Interpol warns")


def test_follow_up_questions_carry_the_subject(sample_assistant):
    from app.conversation import Turn

    first = sample_assistant.ask("What did Korea agree to with Cambodia?")
    history = [Turn(first.question, first.text, first.standalone_question)]
    when = sample_assistant.ask("When was that?", history=history)
    assert "November 3, 2025" in when.text
    task_force = sample_assistant.ask("What about the task force?", history=history)
    assert "Korea" in task_force.standalone_question
    assert "task force" in task_force.text
    _assert_citations_exact(sample_assistant, task_force)


def test_streaming_yields_text_then_the_answer(sample_assistant):
    from core.records import Answer

    events = list(sample_assistant.stream("Why did Thailand cut power to the border towns?"))
    assert isinstance(events[-1], Answer)
    assert "".join(e for e in events[:-1]) == events[-1].text


def test_question_checks(sample_assistant):
    from app.assistant import QuestionError

    with pytest.raises(QuestionError, match="empty"):
        sample_assistant.ask("   ")
    with pytest.raises(QuestionError, match="too long"):
        sample_assistant.ask("why " * 1000)


def test_an_empty_store_says_how_to_add_articles(settings, embedder):
    from app.assistant import EMPTY_STORE, build_assistant

    answer = build_assistant(settings, embedder=embedder).ask("What did Korea agree to with Cambodia?")
    assert answer.empty_store and answer.abstained and answer.text == EMPTY_STORE
    assert "python -m ingest" in answer.text and "Library" in answer.text
