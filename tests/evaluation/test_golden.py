"""The golden set on the sample corpus, with the real model on a tmp store: a change that makes
retrieval, answers, citations or abstention worse fails here.

Thresholds are the values measured when this test was written, minus a small margin for ties and
floating point; they are not loosened to make a failing answerer pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

GOLDEN = ROOT / "tests" / "golden" / "sample_questions.jsonl"
SOURCES = [str(ROOT / "data" / "articles"), str(ROOT / "tests" / "data" / "articles")]
SEED_NAME = "cambodia-korea-cyber-fraud-2025-11-04.txt"
FACT_COVERAGE_MIN = 0.90
"""Measured 0.926 (mean over the 27 answerable questions; misses: role, which abstains, and
pig-butchering). One more single-fact miss drops it to 0.889."""


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    from evaluation.runner import eval_settings, ingest

    store_dir = tmp_path_factory.mktemp("golden") / "store"
    report = ingest(eval_settings(store_dir, SOURCES), embedder, SOURCES)
    assert report.failed == 0 and report.added == 5, report.summary()
    return store_dir


@pytest.fixture(scope="module")
def golden(golden_store: Path, embedder):
    from app.assistant import build_assistant
    from evaluation.runner import RunOptions, embedding_similarity, eval_settings, evaluate, load_questions

    assistant = build_assistant(eval_settings(golden_store, SOURCES), embedder=embedder)
    run = evaluate(assistant, load_questions(GOLDEN), RunOptions(k=4, depth=10),
                   similarity=embedding_similarity(embedder))
    return assistant, run


def test_golden_set_shape():
    from evaluation.runner import load_questions

    questions = load_questions(GOLDEN)
    assert len(questions) >= 30
    assert sum(q.unanswerable for q in questions) >= 6
    assert sum(q.follow_up_of is not None for q in questions) >= 4
    assert all(q.gold and q.expected_facts for q in questions if not q.unanswerable)


def test_retrieval_finds_the_gold_article(golden):
    _, run = golden
    assert run.summary["with_gold"] == 27
    assert run.summary["recall_at_k"] >= 0.96  # measured 1.000 (27/27); one miss fails
    assert run.summary["mrr"] >= 0.96  # measured 1.000


def test_answers_hold_the_expected_facts(golden):
    _, run = golden
    assert run.summary["fact_coverage"] >= FACT_COVERAGE_MIN, _misses(run)


def test_abstention(golden):
    _, run = golden
    assert run.summary["unanswerable"] == 6
    assert run.summary["abstention_recall"] >= 0.83  # measured 5/6
    assert run.summary["abstention_precision"] >= 0.83  # measured 5/6
    assert run.summary["abstained_answerable"] <= 0.04  # measured 1/27


def test_citations_are_exact_spans_and_support_every_sentence(golden):
    assistant, run = golden
    checked = 0
    for qid, answer in run.answers.items():
        for c in answer.citations:
            text = assistant.store.article_text(c.article_id)
            assert text is not None and text[c.start:c.end] == c.quote, (qid, c)
            checked += 1
    assert checked >= 30
    assert run.summary["citations_exact"] == 1.0
    assert run.summary["citation_precision"] >= 0.99  # extractive: every sentence is its quote
    assert run.summary["citation_coverage"] >= 0.99


def test_korea_agreement_answer(golden):
    from evaluation.metrics import fact_present, is_gold

    _, run = golden
    answer = run.answers["korea-agree"]
    assert answer.question == "What did Korea agree to with Cambodia?"
    assert not answer.abstained, answer.text
    assert fact_present(answer.text, "cooperation"), answer.text
    assert fact_present(answer.text, "cyber fraud"), answer.text
    assert fact_present(answer.text, "task force|working group"), answer.text
    assert any(is_gold(c.article_id, [SEED_NAME]) for c in answer.citations), answer.citations


def test_korea_agreement_is_what_was_agreed_without_filler_and_says_who(golden):
    assistant, run = golden
    answer = run.answers["korea-agree"]
    assert "spoke highly" not in answer.text, answer.text  # a sentence that adds nothing to what was agreed
    assert "deepen cooperation" in answer.text and "task force" in answer.text, answer.text
    assert "Both sides [Cambodia and South Korea] agreed" in answer.text, answer.text
    for r in answer.referents:  # the bracket is an addition: the cited quote itself stays the article's words
        c = next(c for c in answer.citations if c.n == r.n)
        assert f"[{r.text}]" not in c.quote
        assert assistant.store.article_text(c.article_id)[c.start:c.end] == c.quote


def _ask(golden, question: str):
    assistant, _ = golden
    answer = assistant.ask(question)
    assert not answer.abstained, (question, answer.text, answer.notes)
    return assistant, answer


def _short_is_exact(assistant, answer) -> str:
    short = answer.short_answer
    assert short is not None, answer.text
    assert assistant.store.article_text(short.article_id)[short.start:short.end] == short.text
    cited = next(c for c in answer.citations if c.n == short.n)
    assert cited.start <= short.start < short.end <= cited.end  # inside the sentence it cites
    assert answer.text.startswith(f"**{short.text}** [{short.n}]")
    return short.text


def test_who_is_answered_with_the_role_in_one_sentence(golden):
    assistant, answer = _ask(golden, "Who is Chhay Sinharith?")
    assert "Minister of State" in _short_is_exact(assistant, answer)
    assert len(answer.citations) == 1 and len(answer.citations[0].quote.split()) < 45, answer.text


def test_the_date_behind_the_outlet_prefix_is_the_short_answer(golden):
    assistant, answer = _ask(golden, "When did Chhay Sinharith meet the South Korean ambassador?")
    assert _short_is_exact(assistant, answer) == "November 3, 2025"


def test_who_met_is_answered_with_the_name(golden):
    assistant, answer = _ask(golden, "Who did Chhay Sinharith meet?")
    assert _short_is_exact(assistant, answer) == "Park Jung-Wook"


def test_what_korea_will_do_cites_the_future_action(golden):
    _, answer = _ask(golden, "What will South Korea do with the citizens Cambodia repatriated?")
    assert any("will continue to conduct in-depth investigations" in c.quote for c in answer.citations), answer.text
    assert "He [Ambassador Park] stated" in answer.text, answer.text


def test_answers_are_short(golden):
    import statistics

    _, run = golden
    lengths = [sum(len(c.quote.split()) for c in a.citations) for a in run.answers.values() if not a.abstained]
    assert statistics.median(lengths) < 45, lengths  # measured 31 words (was 41 with a 40-word minimum)


def test_arrests_question_abstains(golden):
    _, run = golden
    answer = run.answers["arrests"]
    assert answer.question == "How many suspects were arrested?"
    assert answer.abstained, answer.text
    assert answer.text.startswith("The ingested articles do not say")


def test_cli_writes_results_and_chart(golden_store: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    earlier = {"date": "earlier", "ours": {"recall_at_k": 0.5, "mrr": 0.25, "latency_ms": {}}}
    (out / "results.json").write_text(json.dumps(earlier))
    command = [sys.executable, "-m", "evaluation", "--articles", *SOURCES, "--questions", str(GOLDEN), "--k", "4",
               "--baseline", "--store", str(golden_store), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "| recall@4 |" in done.stdout and "| MRR@10 (articles) |" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["ours"]["questions"] == 33 and results["ingest"]["unchanged"] == 5
    assert results["baseline"]["recall_at_k"] is not None
    assert len(results["per_question"]) == 33 and "answer" not in results["per_question"][0]
    assert json.loads((out / "previous.json").read_text())["date"] == "earlier"
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    recall_row = next(line for line in done.stdout.splitlines() if line.startswith("| recall@4 |"))
    assert recall_row.rstrip(" |").endswith("0.500")  # the previous run's column


def _misses(run) -> list[tuple[str, float, str]]:
    return [(r.id, r.fact_coverage, r.answer[:160]) for r in run.results
            if r.fact_coverage is not None and r.fact_coverage < 1]



def test_json_gives_the_short_answer_with_its_span_and_the_referents(golden):
    from app.export import answer_from_json, answer_json

    assistant, answer = _ask(golden, "When did Chhay Sinharith meet the South Korean ambassador?")
    data = json.loads(json.dumps(answer_json(answer)))
    short = data["short_answer"]
    text = assistant.store.article_text(short["article_id"])
    assert text[short["start"]:short["end"]] == short["text"] == "November 3, 2025"
    assert answer_from_json(data).short_answer == answer.short_answer
    agreed = answer_json(assistant.ask("What did Korea agree to with Cambodia?"))
    assert {"citation": 1, "offset": len("Both sides"), "text": "Cambodia and South Korea"} in agreed["referents"]
