"""`python -m app ask` as a user runs it: a real subprocess on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLE_SOURCES, SEED_TITLE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    store = tmp_path_factory.mktemp("cli") / "store"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(store), NEWSDESK_COLLECTION="cli-test")
    ingest = subprocess.run([sys.executable, "-m", "ingest", *map(str, SAMPLE_SOURCES)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert ingest.returncode == 0, ingest.stderr
    return env


def _app(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_ask_prints_answer_and_numbered_sources(env):
    run = _app(["ask", "What did Korea agree to with Cambodia?"], env)
    assert run.returncode == 0, run.stderr
    assert "[1]" in run.stdout and "Sources:" in run.stdout
    assert f"[1] {SEED_TITLE} — Southeast Asia Information Port News (www.dnyxxg.com), 2025-11-04" in run.stdout
    assert "Traceback" not in run.stderr


def test_ask_json_with_filters(env):
    run = _app(["ask", "What did Korea agree to with Cambodia?", "--json", "--since", "2025-11-01",
                "--source", "dnyxxg.com", "--k", "4"], env)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert not data["abstained"] and data["citations"]
    assert {c["published"] for c in data["citations"]} == {"2025-11-04"}
    assert 1 <= len(data["hits"]) <= 4


def test_ask_batch_writes_one_json_line_per_question(env, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "What did Korea agree to with Cambodia?"}) + "\n"
        + json.dumps({"id": "b", "question": "How many suspects were arrested?"}) + "\n",
        encoding="utf-8",
    )
    run = _app(["ask", "--batch", str(questions)], env)
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    for r in rows:
        assert set(r) >= {"id", "answer", "abstained", "citations", "hits"}
        assert len(r["hits"]) >= 7  # every chunk of the 5-article sample corpus, up to 10
        assert [h["score"] for h in r["hits"]] == sorted((h["score"] for h in r["hits"]), reverse=True)
        for c in r["citations"]:
            assert set(c) >= {"n", "article_id", "title", "url", "published", "quote", "start", "end"}
    assert rows[0]["abstained"] is False and rows[1]["abstained"] is True


def test_bad_arguments_are_explained(env, tmp_path):
    bad_date = _app(["ask", "Q?", "--since", "yesterday"], env)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    missing = _app(["ask", "--batch", str(tmp_path / "nope.jsonl")], env)
    assert missing.returncode != 0 and "nope.jsonl" in missing.stderr
    help_run = _app(["--help"], env)
    assert help_run.returncode == 0 and "ask" in help_run.stdout


def test_batch_writes_an_error_row_for_a_bad_line_and_goes_on(env, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_bytes("\n".join([
        json.dumps({"id": "empty", "question": "   "}),
        json.dumps({"id": "long", "question": "Why? " * 500}),
        "{not json",
        json.dumps({"id": "number", "question": 5}),
        '{"id": "half-emoji", "question": "What did Korea agree to with Cambodia? \\ud83d"}',
        json.dumps({"id": "good", "question": "What did Korea agree to with Cambodia?"}),
    ]).encode("utf-8") + b"\n")
    run = _app(["ask", "--batch", str(questions)], env)
    assert run.returncode == 1, run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["empty", "long", "3", "4", "half-emoji", "good"]
    errors = {r["id"]: r.get("error", "") for r in rows}
    assert errors["empty"] == "the question is empty"
    assert errors["long"].startswith("the question is too long (2499 characters")
    assert errors["3"].startswith("line 3: invalid JSON")
    assert errors["4"] == 'line 4: expected a JSON object with a "question" string'
    for answered in ("half-emoji", "good"):
        row = next(r for r in rows if r["id"] == answered)
        assert "error" not in row and not row["abstained"] and row["citations"]
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 4
    assert "Traceback" not in run.stderr
