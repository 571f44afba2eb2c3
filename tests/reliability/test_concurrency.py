"""Concurrency: two ingests at once on one store, and questions (UI handler, Assistant, `python -m app ask`)
answered while an ingest replaces and adds articles. No crash, no duplicate or lost article, and every
answer built only from article versions that were committed while the question ran."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.reliability.conftest import ForkServer, child_env, clean_env, in_process_snapshot, write_corpus

pytestmark = pytest.mark.slow

COLLECTION = "concurrent"


def _versions(folder: Path, settings: Any) -> dict[tuple[str, str], str]:
    """(article id, content hash) -> text, for every article the loaders read from `folder` now."""
    from ingest.loaders import load_sources

    return {(i.article.id, i.article.content_hash): i.article.text
            for i in load_sources([str(folder)], settings) if i.article is not None}


def test_two_ingests_at_once_on_one_store(forkserver: ForkServer, embedder, tmp_path):
    """Two `python -m ingest` processes over overlapping sources, started together: both succeed, the
    writes take turns under the store's lock, and the store equals one clean ingest of the union."""
    from core.settings import Settings

    folder = tmp_path / "news"
    paths = write_corpus(folder, 36)
    clean = in_process_snapshot(Settings(store_dir=tmp_path / "clean", collection=COLLECTION, _env_file=None),
                                embedder, folder)
    env = child_env(tmp_path / "store", COLLECTION, NEWSDESK_INGEST_BATCH_CHUNKS="4")
    first = forkserver.start([*map(str, paths[:24]), "--json", "-v"], env)
    second = forkserver.start([*map(str, paths[12:]), "--json", "-v"], env)
    reports, waits = [], 0
    for pid, out, err in (first, second):
        status = forkserver.wait(pid)
        assert status == 0, err.read_text()
        assert "Traceback" not in err.read_text()
        reports.append(json.loads(out.read_text()))
        waits += err.read_text().count("is being written by another process")
    after = forkserver.snapshot(env)
    assert after == clean
    assert after["records"] == 36 and after["dirty"] == 0
    written = sum(r["added"] for r in reports)
    print(f"\ntwo ingests: added {[r['added'] for r in reports]}, unchanged {[r['unchanged'] for r in reports]}, "
          f"{waits} wait(s) for the write lock")
    assert 36 <= written <= 48  # the 12 shared articles are written once or, racing, twice: never lost


@pytest.mark.parametrize("crash_at", [6, 7])  # chunks written but not committed; committed, old kept
def test_readers_see_committed_versions_only(tmp_path, crash_at):
    """A write stopped after any step (a crash, or simply a write still running) is invisible to readers:
    no chunk of an uncommitted version, no old chunk whose article has been committed anew."""
    import numpy as np

    from core.settings import Settings
    from tests.vectorstore.test_store_journal import V1, V2, Crash, CrashingStore, _prepared, _write
    from vectorstore.store import ArticleStore

    settings = Settings(store_dir=tmp_path / "store", collection=COLLECTION, _env_file=None)
    _write(ArticleStore(settings), V1)
    with pytest.raises(Crash):
        _write(CrashingStore(settings, crash_at), V2)
    reader = ArticleStore(settings)
    committed = reader.article_hashes()
    raw = reader.chunks.get(include=["metadatas"])
    stale = [m for m in raw["metadatas"] if committed.get(m["article_id"]) != m["content_hash"]]
    assert stale  # the store really holds chunks of a version that is not the committed one
    for p in (*(_prepared(k, v) for k, v in V1.items()), *(_prepared(k, v) for k, v in V2.items())):
        for vector in p.embeddings:
            for chunk, _ in reader.dense_search(np.asarray(vector), 10):
                assert committed.get(chunk.article_id) == chunk.content_hash
    for chunk in reader.get_chunks(raw["ids"]):
        assert committed.get(chunk.article_id) == chunk.content_hash
    assert {c.id for c in reader.get_chunks(raw["ids"])} == {
        i for i, m in zip(raw["ids"], raw["metadatas"]) if committed.get(m["article_id"]) == m["content_hash"]}


@pytest.mark.server
def test_two_ingests_at_once_on_a_chroma_server(forkserver: ForkServer, embedder, chroma_server, tmp_path):
    """No lock spans hosts: the two writers interleave on the server. The journal keeps the result exact
    (the same article written twice yields the same chunk ids), and nothing is left half-written."""
    from core.settings import Settings

    folder = tmp_path / "news"
    paths = write_corpus(folder, 24)
    clean = in_process_snapshot(Settings(store_dir=tmp_path / "clean", collection=COLLECTION, _env_file=None),
                                embedder, folder)
    env = child_env(tmp_path / "cache", COLLECTION, NEWSDESK_INGEST_BATCH_CHUNKS="4",
                    NEWSDESK_CHROMA_HOST="127.0.0.1", NEWSDESK_CHROMA_PORT=str(chroma_server.port))
    runs = [forkserver.start([*map(str, paths[:16]), "--json"], env, hashed_vectors=True),
            forkserver.start([*map(str, paths[8:]), "--json"], env, hashed_vectors=True)]
    for pid, _, err in runs:
        assert forkserver.wait(pid) == 0, err.read_text()
    after = forkserver.snapshot(env)
    assert after == clean
    assert after["records"] == 24 and after["dirty"] == 0


def _check_answer(answer: Any, versions: dict[tuple[str, str], str], before: dict[str, str],
                  after: dict[str, str]) -> None:
    """Every hit is a version of its article committed at the start or the end of the question, and every
    citation's quote is exactly that version's text at the cited span."""
    for hit in answer.hits:
        allowed = {before.get(hit.chunk.article_id), after.get(hit.chunk.article_id)}
        assert hit.chunk.content_hash in allowed, (hit.chunk.id, allowed)
    chunks = {h.chunk.id: h.chunk for h in answer.hits}
    for c in answer.citations:
        assert c.chunk_id in chunks, (c, answer.text)
        chunk = chunks[c.chunk_id]
        text = versions[(c.article_id, chunk.content_hash)]
        assert text[c.start:c.end] == c.quote, (c.article_id, c.start, c.end)


QUESTIONS = (
    "Who raided a scam compound in Sihanoukville in province {i}?",
    "When is the trial date for the case in province {i}?",
    "How many crypto wallets were frozen in province {i}?",
    "What did police in province {i} do on Monday?",
)


def test_questions_while_an_ingest_replaces_articles(forkserver: ForkServer, embedder, tmp_path):
    """A running UI process (its Assistant, and its chat handler `NewsdeskUI.respond`, on two threads) and
    `python -m app ask --batch` answer questions while `python -m ingest` rewrites 24 stored articles and adds
    12. No question fails; every hit and citation comes from a committed version; afterwards the store equals
    a clean ingest, and the UI process's dense search sees the new articles without a restart."""
    from app.assistant import build_assistant
    from app.ui_handlers import ChatSession, NewsdeskUI
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    folder = tmp_path / "news"
    settings = Settings(store_dir=tmp_path / "store", collection=COLLECTION, _env_file=None)
    assistant = build_assistant(settings, embedder=embedder)  # the UI process: one store object for all
    write_corpus(folder, 24)
    versions = _versions(folder, settings)
    Ingestor.from_settings(settings, store=assistant.store, embedder=embedder).run(
        load_sources([str(folder)], settings))
    clean_settings = settings.model_copy(update={"store_dir": tmp_path / "clean"})
    in_process_snapshot(clean_settings, embedder, folder)  # the clean store has the same history: v1, then v2
    write_corpus(folder, 24, version=2)
    write_corpus(folder, 12, start=24)
    versions.update(_versions(folder, settings))
    clean = in_process_snapshot(clean_settings, embedder, folder)

    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": n, "question": QUESTIONS[n % 4].format(i=n % 36)}) + "\n"
                                 for n in range(60)))
    cli = subprocess.Popen([sys.executable, "-m", "app", "ask", "--batch", str(questions)], cwd=ROOT,
                           env=clean_env(settings.store_dir, COLLECTION), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    ui = NewsdeskUI(assistant, settings)
    done = threading.Event()
    failures: list[str] = []
    counts = {"assistant": 0, "ui": 0}

    def ask_loop() -> None:
        n = 0
        while not done.is_set():
            n += 1
            before = assistant.store.article_hashes()
            try:
                answer = assistant.ask(QUESTIONS[n % 4].format(i=n % 36))
                _check_answer(answer, versions, before, assistant.store.article_hashes())
            except Exception as e:  # noqa: BLE001 - collected and reported by the test
                failures.append(f"assistant: {type(e).__name__}: {e}\n{traceback.format_exc(limit=-4)}")
            counts["assistant"] += 1

    def ui_loop() -> None:
        n = 0
        while not done.is_set():
            n += 1
            try:
                *_, last = ui.respond(QUESTIONS[(n + 1) % 4].format(i=(n * 7) % 36), ChatSession(), "", "", "",
                                      [], None, None)
                html = last[0][-1]["content"]
                if "nd-error-msg" in html:
                    failures.append(f"ui: {html}")
            except Exception as e:  # noqa: BLE001
                failures.append(f"ui: {type(e).__name__}: {e}\n{traceback.format_exc(limit=-4)}")
            counts["ui"] += 1

    try:
        assert cli.stdout is not None
        first_line = cli.stdout.readline()  # the CLI is up and answering: start the ingest under it
        assert first_line, cli.stderr.read() if cli.stderr else ""
        threads = [threading.Thread(target=ask_loop), threading.Thread(target=ui_loop)]
        for t in threads:
            t.start()
        env = child_env(settings.store_dir, COLLECTION, NEWSDESK_INGEST_BATCH_CHUNKS="2")
        started = time.monotonic()
        status, out, err = forkserver.run([str(folder), "--json"], env)
        ingest_seconds = time.monotonic() - started
        rest, cli_err = cli.communicate(timeout=600)
    finally:
        done.set()
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    for t in threads:
        t.join(timeout=120)
    assert status == 0, err
    assert json.loads(out)["updated"] == 24 and json.loads(out)["added"] == 12
    assert not failures, failures[:5]
    assert cli.returncode == 0 and "Traceback" not in cli_err, cli_err[-3000:]
    cli_answers = [json.loads(line) for line in [first_line, *rest.splitlines()]]
    assert len(cli_answers) == 60
    texts_by_article: dict[str, list[str]] = {}
    for (article_id, _), text in versions.items():
        texts_by_article.setdefault(article_id, []).append(text)
    for row in cli_answers:
        for c in row["citations"]:
            assert c["quote"] in {t[c["start"]:c["end"]] for t in texts_by_article[c["article_id"]]}, c
    print(f"\nduring a {ingest_seconds:.1f}s ingest: {counts['assistant']} Assistant answers, {counts['ui']} UI "
          f"answers, {len(cli_answers)} CLI answers; failures {len(failures)}")
    assert counts["assistant"] and counts["ui"]

    after = forkserver.snapshot(env)
    assert after == clean
    time.sleep(1.1)  # past the lexical index's check interval: the next question sees the new generation
    new_article = "Province 30: scam compound case"  # written by the other process
    answer = assistant.ask("Who raided a scam compound in province 30 and freed 40 workers?")
    dense = [h for h in answer.hits if h.chunk.title == new_article and h.dense_rank is not None]
    assert dense, [(h.chunk.title, h.dense_rank) for h in answer.hits]
