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


def test_the_library_shows_the_versions_and_what_changed_between_two(story) -> None:
    from app.ui_handlers import NewsdeskUI

    ui = NewsdeskUI(story["assistant"], story["settings"])
    html, old_pick, new_pick, row = ui.versions(story["id"])
    assert row["visible"] is True
    old, new = story["store"].article_versions(story["id"])
    assert [value for _, value in old_pick["choices"]] == [old.content_hash, new.content_hash]
    assert (old_pick["value"], new_pick["value"]) == (old.content_hash, new.content_hash)
    assert "2 versions" in html and "(current)" in html
    assert "4\xa0November\xa02025 \u2013 20\xa0November\xa02025" in html
    assert "<del>" in html and "812 Korean citizens" in html and "870 Korean citizens" in html
    assert "<ins>A further 58 citizens returned on a charter flight on November 19.</ins>" in html
    # Compared the other way round, the added sentence is the one removed.
    back = ui.compare(story["id"], new.content_hash, old.content_hash)
    assert "<del>A further 58 citizens returned on a charter flight on November 19.</del>" in back
    # An article that never changed says so, and hides the compare pickers.
    other = next(a.id for a in story["store"].list_articles() if a.id != story["id"])
    html, _, _, row = ui.versions(other)
    assert row["visible"] is False and "One version" in html


def test_the_versions_panel_escapes_article_text() -> None:
    from app import ui_render as render
    from core.versions import ArticleVersion, VersionHistory, sentence_diff

    versions = [ArticleVersion("a", "1" * 64, title="<b>t</b>", valid_from=date(2025, 11, 4),
                               superseded=date(2025, 11, 20)),
                ArticleVersion("a", "2" * 64, title="<b>t</b>", valid_from=date(2025, 11, 20))]
    diff = sentence_diff("Police said <script>x</script> nothing. Calm day.", "Police said <img src=x> more. Calm day.")
    html = render.versions_panel(VersionHistory("a", versions, [diff]), diff, (versions[0], versions[1]))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;img src=x&gt;" in html


def test_the_api_article_includes_its_versions(tmp_path, embedder) -> None:
    """GET /api/articles/{id} on a real server over a store where one article was updated."""
    import httpx

    from bench.load import COLLECTION, AppProcess
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    folder = tmp_path / "dated"
    shutil.copytree(DATA / "dated", folder)
    settings = Settings(store_dir=tmp_path / "store", collection=COLLECTION, _env_file=None)
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    ingestor.run(load_sources([str(folder)], settings))
    _update(folder / UPDATED_FILE)
    assert ingestor.run(load_sources([str(folder)], settings)).updated == 1
    article_id = next(a.id for a in ingestor.store.list_articles() if a.origin.endswith(UPDATED_FILE))
    ingestor.store.close()
    app = AppProcess(tmp_path, sources=[folder])  # the store is not empty: nothing is seeded again
    app.start()
    try:
        with httpx.Client(base_url=app.url, timeout=120, trust_env=False) as client:
            got = client.get(f"/api/articles/{article_id}")
            assert got.status_code == 200, got.text
            data = got.json()
    finally:
        app.stop()
    assert "870" in data["text"]
    assert [(v["valid_from"], v["superseded"], v["current"]) for v in data["versions"]] == [
        ("2025-11-04", "2025-11-20", False), ("2025-11-20", None, True)]
    assert data["changes"][0]["added"] == ["A further 58 citizens returned on a charter flight on November 19."]


def test_an_answer_citing_a_changed_sentence_says_what_each_version_said(story) -> None:
    assistant = story["assistant"]
    now = assistant.ask(HOW_MANY)
    n = now.citations[0].n
    changed = [note for note in now.notes if note.startswith("The 4 Nov 2025 version")]
    assert len(changed) == 1, now.notes
    assert now.changed == changed  # the typed field the CLI, the UI footer and JSON `changed` show
    assert "said \u201cThe joint task force has repatriated 812 Korean citizens" in changed[0]
    assert "its 20 Nov 2025 update says \u201cThe joint task force has repatriated 870" in changed[0]
    assert changed[0].endswith(f"[{n}].")
    before = assistant.ask(HOW_MANY, as_of=date(2025, 11, 10))
    said_then = f"[{before.citations[0].n}]; its 20 Nov 2025 update says \u201cThe joint task force has repatriated 870"
    assert any("812 Korean citizens since it was formed" in note and said_then in note for note in before.notes), \
        before.notes
    # An article that never changed gets no such note.
    old = assistant.ask("How many Korean citizens had been repatriated by mid-October?", as_of=date(2025, 10, 20))
    assert not any("version" in note for note in old.notes), old.notes
