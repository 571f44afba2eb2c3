"""Metrics on small hand-made inputs."""

from __future__ import annotations

import json

import pytest

from evaluation import metrics
from evaluation.metrics import (
    AnswerSentence,
    CitationScore,
    abstention_scores,
    answer_sentences,
    contains_answer,
    fact_coverage,
    is_gold,
    mean,
    percentile,
    recall_at_k,
    reciprocal_rank,
    score_citations,
    supports,
    word_overlap,
)

SEED = "file:///repo/data/articles/cambodia-korea-cyber-fraud-2025-11-04.txt"


def test_gold_matches_equal_id_or_file_name():
    assert is_gold(SEED, ["cambodia-korea-cyber-fraud-2025-11-04.txt"])
    assert is_gold("https://cnn.com/a", ["https://cnn.com/a"])
    assert not is_gold("file:///x/other-cambodia-korea-cyber-fraud-2025-11-04.txt",
                       ["cambodia-korea-cyber-fraud-2025-11-04.txt"])
    assert not is_gold("https://cnn.com/a", [""])


def test_recall_at_k_looks_at_the_first_k_hits():
    hits = ["a", "a", "b", "c", "gold"]
    assert recall_at_k(hits, ["gold"], 4) == 0.0
    assert recall_at_k(hits, ["gold"], 5) == 1.0
    assert recall_at_k(hits, ["x", "b"], 3) == 1.0
    assert recall_at_k([], ["gold"], 4) == 0.0


def test_reciprocal_rank_counts_articles_not_chunks():
    # Three chunks of "a" then the gold article: it is the second article, not the fourth hit.
    assert reciprocal_rank(["a", "a", "a", "gold"], ["gold"]) == pytest.approx(0.5)
    assert reciprocal_rank(["gold", "a"], ["gold"]) == 1.0
    assert reciprocal_rank(["a", "b", "c"], ["gold"]) == 0.0


def test_reciprocal_rank_stops_at_depth_hits():
    hits = [str(i) for i in range(10)] + ["gold"]
    assert reciprocal_rank(hits, ["gold"], depth=10) == 0.0
    assert reciprocal_rank(hits, ["gold"], depth=11) == pytest.approx(1 / 11)


def test_contains_answer_is_normalised_and_anchored_at_a_word_start():
    assert contains_answer("The show: “Squid Game” returns.", "squid game")
    assert contains_answer("Broadway honoured its stars at the Tony Awards.", "The Tony Awards")
    assert contains_answer("under Prime Minister Hun Manet's leadership", "Hun Manet")
    assert not contains_answer("It happened in 2025.", "5")
    assert contains_answer("ruled her detention be extended six months", "6")
    assert not contains_answer("one of the biggest breaches", "1")
    # "&" is "and": the gold "Kampot & Kep" is said by "Kampot and Kep", and not by "Kampot, then Kep".
    assert contains_answer("Only Kampot and Kep banned it.", "Kampot & Kep")
    assert not contains_answer("Kampot, then Kep, banned it.", "Kampot & Kep")
    assert not contains_answer("anything", "")
    assert not contains_answer("", "Europe")


def test_fact_coverage_with_alternatives():
    text = "They agreed to deepen cooperation and set up a working group."
    assert fact_coverage(text, ["deepen cooperation", "task force|working group"]) == 1.0
    assert fact_coverage(text, ["deepen cooperation", "cyber fraud"]) == 0.5
    assert fact_coverage(text, []) is None


def test_answer_sentences_attach_marker_runs_to_the_sentence_before():
    text = "Korea agreed to cooperate. [1] A task force was set up [2][3]. An uncited closing remark."
    assert answer_sentences(text) == [
        AnswerSentence("Korea agreed to cooperate.", (1,)),
        AnswerSentence("A task force was set up", (2, 3)),
        AnswerSentence("An uncited closing remark.", ()),
    ]


def test_answer_sentences_only_the_last_sentence_before_a_marker_is_cited():
    text = "First claim. Second claim. [1]"
    assert answer_sentences(text) == [AnswerSentence("First claim."), AnswerSentence("Second claim.", (1,))]


def test_word_overlap_and_support():
    quote = "Cambodia and South Korea agreed to set up a joint task force against cyber fraud."
    assert word_overlap(quote, quote) == 1.0
    assert supports("South Korea and Cambodia set up a task force.", quote)
    assert not supports("The weather in Paris was sunny all week.", quote)
    assert word_overlap("the and of", quote) == 0.0


def test_support_falls_back_to_embedding_similarity():
    def similar(a: str, b: str) -> float:
        return 0.9

    def unrelated(a: str, b: str) -> float:
        return 0.1

    sentence, quote = "Seoul and Phnom Penh joined forces.", "Cambodia and South Korea agreed to cooperate."
    assert not supports(sentence, quote)
    assert supports(sentence, quote, similarity=similar, min_similarity=0.8)
    assert not supports(sentence, quote, similarity=unrelated, min_similarity=0.8)


def test_score_citations_precision_and_coverage():
    quotes = {1: "Korea agreed to cooperate with Cambodia.", 2: "Thailand cut power to five towns."}
    answer = "Korea agreed to cooperate with Cambodia. [1] Korea agreed to cooperate. [2] Uncited. [9] Tail."
    score = score_citations(answer, quotes)
    # [1] supports its sentence, [2] does not, [9] has no quote; 3 of 4 sentences carry a marker.
    assert score == CitationScore(citations=3, supported=1, sentences=4, cited=3)
    assert score.precision == pytest.approx(1 / 3)
    assert score.coverage == pytest.approx(0.75)


def test_extractive_answers_score_perfectly():
    quotes = {1: "Thailand cut power to five towns.", 2: "Officials will review the measure in three months."}
    answer = " ".join(f"{q} [{n}]" for n, q in quotes.items())
    score = score_citations(answer, quotes)
    assert (score.precision, score.coverage) == (1.0, 1.0)


def test_citation_scores_add_up_and_empty_is_undefined():
    total = CitationScore(2, 1, 3, 2) + CitationScore(1, 1, 1, 1)
    assert total == CitationScore(3, 2, 4, 3)
    assert CitationScore().precision is None and CitationScore().coverage is None


def test_abstention_precision_and_recall():
    abstained = [True, True, False, False, True]
    unanswerable = [True, False, True, False, True]
    score = abstention_scores(abstained, unanswerable)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == pytest.approx(2 / 3)
    none = abstention_scores([False, False], [False, False])
    assert none.precision is None and none.recall is None
    with pytest.raises(ValueError):
        abstention_scores([True], [])


def test_percentile_interpolates_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 40.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_mean_skips_missing_values():
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None
    assert metrics.dedupe(["a", "b", "a"]) == ["a", "b"]


# -- pure helpers of the runner and the calibration (no model, no store) ----------------------------


def test_questions_file_and_follow_up_order(tmp_path):
    from evaluation.runner import QuestionsError, load_questions, ordered

    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "f", "question": "When was that?", "follow_up_of": "a", "gold_article_ids": ["x.txt"]},
        {"id": "a", "question": "What did Korea agree to?", "gold_urls": ["https://e.com/x"], "answer": "cooperate"},
        {"id": "u", "question": "Who won?", "unanswerable": True},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    questions = load_questions(path)
    assert [q.id for q in ordered(questions)] == ["a", "f", "u"]
    assert questions[1].gold == ("https://e.com/x",) and questions[1].answer == "cooperate"
    assert questions[2].unanswerable and questions[0].follow_up_of == "a"
    path.write_text('{"id": "1"}\n')
    with pytest.raises(QuestionsError, match="line 1"):
        load_questions(path)


def test_threshold_maximises_balanced_accuracy():
    from evaluation.calibrate import Sample, choose_threshold, rates

    supports = [(0.6, True), (0.5, True), (0.45, True), (0.3, False), (0.35, False), (0.48, False)]
    samples = [Sample("s", str(i), "case", s, a) for i, (s, a) in enumerate(supports)]
    best = choose_threshold(samples)
    # Any threshold in (0.35, 0.45] answers all three answerable and abstains on two of three others;
    # (0.48, 0.5] also scores 5/6: the middle of the tied candidates is chosen.
    assert best.balanced == pytest.approx((1 + 2 / 3) / 2)
    assert rates(samples, best.threshold).balanced == pytest.approx(best.balanced)
    assert rates(samples, 0.0).answered == 1.0 and rates(samples, 0.0).abstained == 0.0


def test_a_short_answer_is_scored_as_the_user_reads_it_with_its_addition():
    # "Thai [Thailand]" answers "which country" with Thailand; the phrase alone does not hold the gold.
    from core.records import Answer, ShortAnswer
    from evaluation.answers import Case, Outcome
    from evaluation.runner import Question

    case = Case("test", Question("q", "Which country sent the envoy?", answer="Thailand"), "", [], [], True)
    said = ShortAnswer(1, "a", "Thai", 4, 8, "place")
    read = ShortAnswer(1, "a", "Thai", 4, 8, "place", "Thailand")
    text = "**Thai** [Thailand] [1]\n\nThe Thai envoy came. [1]"
    assert Outcome(case, Answer(question="q", text=text, short_answer=said), None).short_contains is False
    assert Outcome(case, Answer(question="q", text=text, short_answer=read), None).short_contains is True


class _AnswersWhenToldTheCount:
    """An answerer (the `Answerer` protocol) that answers only from a hit saying how many were arrested."""

    name = "test"

    def answer(self, question, hits):
        from core.records import Answer

        said = [h.chunk.text for h in hits if "arrested three" in h.chunk.text]
        return Answer(question=question, text=said[0] if said else "The articles do not say.", abstained=not said)


def _chunk_hit(article_id: str, text: str):
    from core.records import Hit, StoredChunk

    return Hit(StoredChunk(id=f"{article_id}-0", article_id=article_id, ordinal=0, text=text, start=0, end=len(text),
                           title=article_id), 1.0, dense_rank=1, lexical_rank=1)


def test_a_case_is_answered_as_the_assistant_answers_it_from_the_wider_search_when_the_window_refuses():
    # The day's window holds only an unrelated report; the wider search holds the later report (gold) and
    # another outlet's copy. With the gold removed the copy still answers, so that case is no "should abstain".
    from evaluation.answers import Case, run
    from evaluation.runner import Question

    day = _chunk_hit("day", "Officials met in Phnom Penh on Tuesday.")
    later = _chunk_hit("later", "On October 28, police arrested three recruiters.")
    copy = _chunk_hit("copy", "Police arrested three recruiters on October 28, officials said.")
    q = Question("q", "How many recruiters were arrested on October 28?", answer="three", gold=("later",))
    case = Case("test", q, "How many recruiters were arrested?", [day], [day], False, part="A",
                wider_present=[later, copy], wider_removed=[copy])
    [outcome] = run(_AnswersWhenToldTheCount(), [case])
    assert outcome.contains is True and outcome.removed is not None and not outcome.removed.abstained
    assert case.removed_still_answers
    windowed = Case("test", q, "How many recruiters were arrested?", [day], [day], False, part="A")
    [refused] = run(_AnswersWhenToldTheCount(), [windowed])
    assert refused.answer.abstained and refused.contains is False and not windowed.removed_still_answers


def test_with_the_gold_removed_a_right_answer_from_another_report_is_no_wrong_answer():
    from core.records import Answer
    from evaluation.answers import Case, Outcome, summary
    from evaluation.runner import Question

    q = Question("q", "How many recruiters were arrested?", answer="three", gold=("later",))
    case = Case("test", q, q.question, [], [], True, part="A")
    said = Answer(question=q.question, text="Police arrested three recruiters. [1]")
    wrong = Answer(question=q.question, text="Police arrested five recruiters. [1]")
    refused = Answer(question=q.question, text="The articles do not say.", abstained=True)
    outcomes = [Outcome(case, said, said), Outcome(case, said, wrong), Outcome(case, said, refused)]
    assert [o.removed_right for o in outcomes] == [True, False, True]
    figures = summary(outcomes)
    assert figures["no_wrong_answer"] == pytest.approx(2 / 3) and figures["abstained_not_answerable"] == \
        pytest.approx(1 / 3)
