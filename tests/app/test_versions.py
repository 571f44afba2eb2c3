"""Versions of an article on the dated story (a copy of tests/data/dated): the 4 Nov report is updated on
20 Nov (812 repatriated becomes 870). The history keeps the 4 Nov text with its dates; default answers cite
the update; as of a day before it, the 4 Nov text; `python -m ingest history` shows both and what changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow

HOW_MANY = "How many Korean citizens have been repatriated so far?"
UPDATED_FILE = "repatriations-812-2025-11-04.txt"


def _update(path) -> None:
    """The outlet's 20 Nov update of its 4 Nov report: a new figure, one sentence added, one removed."""
    text = path.read_text(encoding="utf-8")
    text = text.replace("2025-11-04\n", "2025-11-04\nUpdated: 2025-11-20\n", 1)
    text = text.replace("has repatriated 812 Korean citizens", "has repatriated 870 Korean citizens")
    text = text.replace("The next phase will focus on prosecuting the recruiters in both countries. ", "")
    text = text.rstrip("\n") + " A further 58 citizens returned on a charter flight on November 19.\n"
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def story(tmp_path_factory, embedder):
    """The dated corpus ingested, then ingested again after one article was updated (and once more unchanged)."""
    from app.assistant import build_assistant
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    root = tmp_path_factory.mktemp("versions")
    folder = root / "dated"
    shutil.copytree(DATA / "dated", folder)
    settings = Settings(store_dir=root / "store", collection="versions", _env_file=None)
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    first = ingestor.run(load_sources([str(folder)], settings))
    assert first.added == 7 and first.failed == 0, first.errors
    _update(folder / UPDATED_FILE)
    second = ingestor.run(load_sources([str(folder)], settings))
    third = ingestor.run(load_sources([str(folder)], settings))
    article_id = next(a.id for a in ingestor.store.list_articles() if a.origin.endswith(UPDATED_FILE))
    assistant = build_assistant(settings, store=ingestor.store, embedder=embedder)
    return {"settings": settings, "reports": (first, second, third), "id": article_id, "assistant": assistant,
            "store": ingestor.store}


def test_an_update_embeds_only_the_new_version_and_an_unchanged_rerun_nothing(story) -> None:
    _, second, third = story["reports"]
    current = story["store"].get_article(story["id"])
    assert (second.updated, second.added, second.unchanged) == (1, 0, 6)
    assert second.chunks_embedded == current.chunks  # the old version was copied, not embedded again
    assert (third.updated, third.added, third.chunks_embedded) == (0, 0, 0)


def test_the_history_keeps_the_old_version_with_the_days_it_was_current(story) -> None:
    store = story["store"]
    old, new = store.article_versions(story["id"])
    assert (old.valid_from, old.superseded) == (date(2025, 11, 4), date(2025, 11, 20))
    assert (new.valid_from, new.superseded, new.updated) == (date(2025, 11, 20), None, date(2025, 11, 20))
    assert "812" in store.version_text(story["id"], old.content_hash)
    assert "870" in store.version_text(story["id"], new.content_hash)
    assert store.article_text(story["id"]) == store.version_text(story["id"], new.content_hash)


def test_default_answers_cite_the_update_and_as_of_before_it_the_old_text(story) -> None:
    assistant = story["assistant"]
    now = assistant.ask(HOW_MANY)
    assert now.citations and "870" in now.citations[0].quote, now.text
    assert "812" not in now.text
    before = assistant.ask(HOW_MANY, as_of=date(2025, 11, 10))
    assert before.citations and "812" in before.citations[0].quote, before.text
    assert "870" not in before.text
    assert before.citations[0].article_id == story["id"]
    after = assistant.ask(HOW_MANY, as_of=date(2025, 11, 25))
    assert after.citations and "870" in after.citations[0].quote, after.text


def _history(story, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(story["settings"].store_dir), NEWSDESK_COLLECTION="versions")
    return subprocess.run([sys.executable, "-m", "ingest", "history", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_ingest_history_prints_the_versions_and_the_sentences_that_changed(story) -> None:
    run = _history(story, story["id"])
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"{story['id']}: 2 versions"
    assert "until 2025-11-20, from 2025-11-04" in lines[1] and "current, from 2025-11-20" in lines[2]
    assert "Korea and Cambodia extend the task force" in lines[1]
    assert "1 changed, 1 removed, 1 added" in run.stdout
    assert "  - The next phase will focus on prosecuting the recruiters in both countries." in lines
    assert "  + A further 58 citizens returned on a charter flight on November 19." in lines
    changed = lines.index(next(line for line in lines if line.startswith("  ~ ")))
    assert "812 Korean citizens" in lines[changed] and "870 Korean citizens" in lines[changed + 1]

    data = json.loads(_history(story, story["id"], "--json").stdout)
    assert [v["current"] for v in data["versions"]] == [False, True]
    assert data["versions"][0]["superseded"] == "2025-11-20"
    change = data["changes"][0]
    assert change["removed"] == ["The next phase will focus on prosecuting the recruiters in both countries."]
    assert "870" in change["changed"][0]["new"] and "812" in change["changed"][0]["old"]

    missing = _history(story, "file:///no/such/article.txt")
    assert missing.returncode == 1 and "no article with id" in missing.stderr
