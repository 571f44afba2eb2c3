"""Timelines and "what's new since" on the dated story (tests/data/dated, written for the tests): 120 → 310 →
545 (two copies from other outlets, one saying 547) → 812, an arrest whose sentence states its own day
(October 28, 2025) inside the Nov 4 article, and an undated explainer. Through the assistant, the real CLI
and the export formats; the same-claim threshold checked on the part of the sentence pairs it was not
calibrated on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow

DATED = DATA / "dated"
TOPIC = "the Cambodia-Korea task force"
ARREST = "On October 28, 2025, police in Sihanoukville arrested three recruiters wanted in South Korea."
HARBOUR, RIVER, COAST = "545-2025-10-14", "545-riverpost-2025-10-15", "547-coastwire-2025-10-15"


@pytest.fixture(scope="module")
def store_settings(tmp_path_factory, embedder):
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    settings = Settings(store_dir=tmp_path_factory.mktemp("timeline") / "store", collection="timeline",
                        _env_file=None)
    report = Ingestor.from_settings(settings, embedder=embedder).run(load_sources([str(DATED)], settings))
    assert report.failed == 0 and report.added == 7, report.errors
    return settings


@pytest.fixture(scope="module")
def assistant(store_settings, embedder):
    from app.assistant import build_assistant

    return build_assistant(store_settings, embedder=embedder)


def _cited(answer, event) -> list:
    by_n = {c.n: c for c in answer.citations}
    return [by_n[n] for n in event.citations]


def _exact(assistant, answer) -> None:
    for c in answer.citations:
        assert assistant.store.article_text(c.article_id)[c.start:c.end] == c.quote


def test_a_timeline_question_lists_the_events_oldest_first_each_cited_once(assistant) -> None:
    answer = assistant.ask(f"Timeline of {TOPIC}")
    timeline = answer.timeline
    assert timeline is not None and timeline.kind == "timeline" and not answer.abstained
    days = [e.day for e in timeline.events]
    assert days == sorted(days) and len(days) >= 5
    texts = [e.text for e in timeline.events]
    assert texts[0].startswith("Cambodia and South Korea formed a joint task force on Monday")
    assert timeline.events[0].day == date(2025, 9, 1) and timeline.events[0].date_source == "stated"

    arrest = next(e for e in timeline.events if e.text == ARREST)
    assert arrest.day == date(2025, 10, 28) and arrest.date_source == "stated"
    nov4 = [e for e in timeline.events if any(c.published == date(2025, 11, 4) for c in _cited(answer, e))
            and e.text != ARREST]
    assert nov4 and all(texts.index(ARREST) < texts.index(e.text) for e in nov4)

    report = [e for e in timeline.events if "A total of 545" in e.text]
    assert len(report) == 1, texts
    sources = {c.article_id.rsplit("repatriations-", 1)[-1].removesuffix(".txt") for c in _cited(answer, report[0])}
    assert sources == {HARBOUR, RIVER} and report[0].day == date(2025, 10, 14)
    assert any("A total of 547" in t for t in texts), "the copy giving another figure is a claim of its own"

    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert sorted(n for e in timeline.events for n in e.citations) == [c.n for c in answer.citations]
    _exact(assistant, answer)
    assert answer.text.splitlines()[0].startswith("2025-09-01: Cambodia and South Korea formed")
    assert "undated articles cannot be placed in time" in answer.notes[0]
    assert all(c.published is not None for c in answer.citations)


def test_how_has_it_developed_as_of_a_day_uses_only_articles_up_to_it(assistant) -> None:
    answer = assistant.ask("How have the repatriations developed?", as_of=date(2025, 10, 1))
    assert answer.timeline is not None and answer.timeline.events
    assert all(c.published is not None and c.published <= date(2025, 10, 1) for c in answer.citations)
    assert [e.day for e in answer.timeline.events if "120" in e.text or "310" in e.text] == [
        date(2025, 9, 2), date(2025, 9, 23)]
    assert not any("545" in e.text or "812" in e.text for e in answer.timeline.events)
    assert answer.window.until == date(2025, 10, 1)


def test_whats_new_since_a_day_gives_the_later_news_not_the_earlier(assistant) -> None:
    answer = assistant.ask(f"What's new on {TOPIC} since 1 October 2025?")
    timeline = answer.timeline
    assert timeline is not None and timeline.kind == "since" and timeline.since == date(2025, 10, 1)
    texts = " ".join(e.text for e in timeline.events)
    assert "545" in texts and "812" in texts and ARREST in texts
    assert "120" not in texts and "310" not in texts and "every two weeks" not in texts
    assert all(c.published > date(2025, 10, 1) for c in answer.citations)
    assert sum("A total of 545" in e.text for e in timeline.events) == 1
    _exact(assistant, answer)
    assert any("Undated articles count as earlier coverage" in n for n in answer.notes)


def test_after_the_last_article_there_is_nothing_new_and_the_answer_says_so(assistant) -> None:
    answer = assistant.ask(TOPIC, since_last=date(2025, 11, 4))
    assert answer.timeline is not None and not answer.timeline.events and not answer.citations
    assert answer.text == f"No article on \u201c{TOPIC}\u201d was published after 4 Nov 2025."


def test_the_copies_published_a_day_later_add_nothing_new_but_their_other_figure(assistant) -> None:
    answer = assistant.ask(TOPIC, since_last=date(2025, 10, 14), as_of=date(2025, 10, 20))
    texts = [e.text for e in answer.timeline.events]
    assert texts and all("547" in t for t in texts), texts  # the River Post copy repeats the 545 report


def test_the_json_of_an_answer_carries_the_events_and_reads_back(assistant) -> None:
    from app.export import answer_from_json, answer_json, answer_markdown

    answer = assistant.ask(TOPIC, timeline=True)
    data = json.loads(json.dumps(answer_json(answer)))
    events = data["timeline"]["events"]
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    assert {e["date_source"] for e in events} == {"stated", "article"}
    assert all(e["citations"] for e in events)
    assert answer_from_json(data).timeline == answer.timeline
    markdown = answer_markdown(answer)
    assert f"- 2025-10-28: {ARREST} [" in markdown


def _cli(args: list[str], settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(settings.store_dir), NEWSDESK_COLLECTION=settings.collection)
    return subprocess.run([sys.executable, "-m", "app", "ask", "--standalone", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_cli_timeline_prints_one_dated_line_per_event(store_settings) -> None:
    run = _cli(["--timeline", TOPIC], store_settings)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split("\n\n")[0].strip().splitlines()
    assert [line[:10] for line in lines] == sorted(line[:10] for line in lines)
    assert f"2025-10-28: {ARREST} [" in run.stdout and "Sources:" in run.stdout
    assert "undated articles cannot be placed in time" in run.stdout
    as_json = _cli(["--timeline", "--json", TOPIC], store_settings)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["timeline"]["kind"] == "timeline"


def test_the_cli_since_last_prints_only_later_news(store_settings) -> None:
    run = _cli(["--since-last", "2025-10-01", "--json", TOPIC], store_settings)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["timeline"]["kind"] == "since" and data["timeline"]["since"] == "2025-10-01"
    assert all(c["published"] > "2025-10-01" for c in data["citations"]) and data["citations"]
    assert any("812" in e["text"] for e in data["timeline"]["events"])
    both = _cli(["--since-last", "2025-10-01", "--timeline", TOPIC], store_settings)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_the_same_claim_threshold_holds_on_the_pairs_it_was_not_calibrated_on(embedder) -> None:
    from app.timeline import SAME_CLAIM_COSINE
    from evaluation.calibrate_timeline import choose, load_pairs, scores

    pairs = load_pairs(embedder)
    report = scores([p for p in pairs if p.part == "report"], SAME_CLAIM_COSINE)
    assert report.pairs >= 20 and report.precision >= 0.9 and report.recall >= 0.9
    assert choose([p for p in pairs if p.part == "calibrate"]) == SAME_CLAIM_COSINE


def test_a_later_article_that_only_repeats_the_earlier_one_is_nothing_new(tmp_path, embedder) -> None:
    from app.assistant import build_assistant
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    body = ("Port Test Desk (www.port.test) \u2013 The harbour authority closed the northern pier on Friday after "
            "cracks were found in its pilings. Ferries to the islands will leave from the southern pier until "
            "repairs are finished.")
    copy = ("Bay Test Desk (www.bay.test) \u2013 The harbour authority closed the northern pier on Friday after "
            "cracks were found in its pilings, it said. Until repairs are finished, ferries to the islands will "
            "leave from the southern pier.")
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "pier.txt").write_text(f"Northern pier closed\n\n2025-06-06\n\n{body}\n", encoding="utf-8")
    (folder / "pier-copy.txt").write_text(f"Harbour shuts northern pier\n\n2025-06-09\n\n{copy}\n", encoding="utf-8")
    settings = Settings(store_dir=tmp_path / "store", collection="pier", _env_file=None)
    report = Ingestor.from_settings(settings, embedder=embedder).run(load_sources([str(folder)], settings))
    assert report.added == 2, report.errors
    assistant = build_assistant(settings, embedder=embedder)

    answer = assistant.ask("What's new on the northern pier closure since 7 June 2025?", as_of=date(2025, 6, 30))
    assert answer.timeline is not None and answer.timeline.kind == "since" and not answer.citations
    assert answer.text.startswith("Nothing new on \u201cthe northern pier closure\u201d since 7 Jun 2025")
    timeline = assistant.ask("Timeline of the northern pier closure", as_of=date(2025, 6, 30)).timeline
    closed = next(e for e in timeline.events if "closed the northern pier" in e.text)
    assert closed.day == date(2025, 6, 6) and len(closed.citations) == 2  # one event, both outlets cited
