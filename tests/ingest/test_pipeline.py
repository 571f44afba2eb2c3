"""The incremental ingest against a real Chroma store and the real embedding model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED, SEED_TITLE

pytestmark = pytest.mark.slow


def _ingest(ingestor, settings, *paths: Path, prune: bool = False):
    from ingest.loaders import load_sources

    loaded = load_sources([str(p) for p in paths], settings)
    return ingestor.run(loaded, prune_roots=[p for p in paths if p.is_dir()] if prune else [])


def _write_articles(folder: Path, n: int, *, start: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    topics = ["scam compound raid", "crypto investment fraud", "romance scam ring", "money mule network"]
    paths = []
    for i in range(start, start + n):
        topic = topics[i % len(topics)]
        body = " ".join(
            f"Police in district {i} described the {topic} case number {i}, part {j}, to reporters on Monday."
            for j in range(6)
        )
        p = folder / f"story-{i:04d}.txt"
        p.write_text(f"Story {i}: {topic}\n2025-10-{1 + i % 28:02d}\n\n{body}\n\nA second paragraph about case {i}.\n")
        paths.append(p)
    return paths


def _snapshot(store) -> tuple[dict[str, str], list[str]]:
    """Article ids -> hash, and every chunk id (sorted, duplicates kept)."""
    got = store.chunks.get(include=[])
    return store.article_hashes(), sorted(got["ids"])


def test_seed_ingests_with_metadata_and_no_furniture(ingestor, settings):
    report = _ingest(ingestor, settings, SEED)
    assert (report.added, report.failed) == (1, 0)
    [info] = ingestor.store.list_articles()
    assert info.title == SEED_TITLE
    assert info.published == date(2025, 11, 4)
    assert info.source == "Southeast Asia Information Port News (www.dnyxxg.com)"
    text = ingestor.store.article_text(info.id)
    for furniture in ("Font Size:", "Related News", "Navigation"):
        assert furniture not in text
    assert "joint special task force" in text


def test_chunks_round_trip_offsets_and_fit_the_model(ingestor, settings, embedder):
    _ingest(ingestor, settings, SEED, ROOT / "tests" / "data" / "articles")
    store = ingestor.store
    chunks = list(store.iter_chunks())
    assert chunks
    texts = {a.id: store.article_text(a.id) for a in store.list_articles()}
    for c in chunks:
        assert texts[c.article_id][c.start:c.end] == c.text
    by_article = {}
    for c in chunks:
        by_article.setdefault(c.article_id, []).append(c)
    from ingest.chunking import embedding_header

    for info in store.list_articles():
        from core.records import Article

        article = Article(id=info.id, text=texts[info.id], title=info.title, published=info.published)
        counts = embedder.count_tokens([embedding_header(article) + c.text for c in by_article[info.id]])
        assert max(counts) <= embedder.max_seq_length


def test_reingest_unchanged_embeds_nothing_and_edit_replaces_chunks(ingestor, settings, tmp_path):
    folder = tmp_path / "news"
    paths = _write_articles(folder, 5)
    first = _ingest(ingestor, settings, folder)
    assert (first.added, first.chunks_embedded > 0) == (5, True)
    again = _ingest(ingestor, settings, folder)
    assert (again.added, again.updated, again.unchanged, again.chunks_embedded) == (0, 0, 5, 0)

    before_hashes, before_chunks = _snapshot(ingestor.store)
    paths[2].write_text(paths[2].read_text().replace("second paragraph", "corrected paragraph"))
    edited = _ingest(ingestor, settings, folder)
    assert (edited.updated, edited.unchanged) == (1, 4)
    hashes, chunks = _snapshot(ingestor.store)
    assert len(chunks) == len(set(chunks)) == len(before_chunks)
    changed = [a for a in hashes if hashes[a] != before_hashes[a]]
    assert len(changed) == 1
    text = ingestor.store.article_text(changed[0])
    assert "corrected paragraph" in text
    stored = [c for c in ingestor.store.iter_chunks() if c.article_id == changed[0]]
    assert stored and all(c.content_hash == hashes[changed[0]] for c in stored)


def test_prune_removes_articles_whose_file_is_gone(ingestor, settings, tmp_path):
    folder = tmp_path / "news"
    paths = _write_articles(folder, 3)
    _ingest(ingestor, settings, folder)
    paths[0].unlink()
    kept = _ingest(ingestor, settings, folder)
    assert kept.pruned == 0 and len(ingestor.store.list_articles()) == 3
    pruned = _ingest(ingestor, settings, folder, prune=True)
    assert pruned.pruned == 1
    ids = {a.id for a in ingestor.store.list_articles()}
    assert len(ids) == 2 and not any(i.endswith(paths[0].name) for i in ids)
    assert all(c.article_id in ids for c in ingestor.store.iter_chunks())


def test_bad_sources_are_reported_and_stored_articles_untouched(ingestor, settings, tmp_path):
    _ingest(ingestor, settings, SEED)
    before = _snapshot(ingestor.store)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    unknown = tmp_path / "notes.docx"
    unknown.write_bytes(b"PK\x03\x04")
    report = _ingest(ingestor, settings, empty, binary, unknown, tmp_path / "missing.txt", SEED)
    assert report.failed == 4 and report.unchanged == 1
    named = " ".join(e["source"] for e in report.errors)
    for p in ("empty.txt", "photo.txt", "notes.docx", "missing.txt"):
        assert p in named
    assert _snapshot(ingestor.store) == before


def _cli(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, **kw)


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(settings.store_dir), NEWSDESK_COLLECTION=settings.collection)
    return env


def test_cli_json_report_list_stats_delete(settings, tmp_path):
    env = _env(settings)
    bad = tmp_path / "empty.md"
    bad.write_text("   \n")
    run = _cli([str(SEED), str(bad), "--json"], env)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert set(report) >= {"added", "updated", "unchanged", "failed", "chunks_embedded", "seconds", "errors"}
    assert (report["added"], report["failed"]) == (1, 1)
    assert report["errors"][0]["source"].endswith("empty.md")

    listed = _cli(["list", "--json"], env)
    [article] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert article["title"] == SEED_TITLE and article["published"] == "2025-11-04"
    stats = json.loads(_cli(["stats", "--json"], env).stdout)
    assert stats["articles"] == 1 and stats["chunks"] == article["chunks"]
    assert _cli(["delete", article["id"]], env).returncode == 0
    assert json.loads(_cli(["stats", "--json"], env).stdout)["articles"] == 0
    missing = _cli(["delete", "file:///nope"], env)
    assert missing.returncode == 1 and "no article" in missing.stderr


def test_bad_setting_names_the_variable(settings):
    env = _env(settings)
    env["NEWSDESK_CHUNK_TOKENS"] = "lots"
    run = _cli(["stats"], env)
    assert run.returncode == 2 and "NEWSDESK_CHUNK_TOKENS" in run.stderr


def test_sigkill_midway_then_rerun_equals_clean_ingest(settings, tmp_path):
    """Crash safety: kill -9 an ingest midway; the next run leaves exactly what a clean ingest leaves."""
    folder = tmp_path / "many"
    _write_articles(folder, 300)
    env = _env(settings)
    env["NEWSDESK_INGEST_BATCH_CHUNKS"] = "24"
    proc = subprocess.Popen([sys.executable, "-m", "ingest", str(folder), "-v"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    from core.settings import Settings
    from vectorstore.store import ArticleStore

    batches = 0
    for line in proc.stderr:  # kill during the third batch: some articles written, most not
        batches += "wrote" in line and "article(s)" in line
        if batches == 2:
            time.sleep(0.3)
            break
    assert proc.poll() is None, "ingest finished before it could be killed; give it more articles"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = _cli([str(folder), "--json"], env)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["added"] > 0
    crashed = _snapshot(ArticleStore(settings))

    clean_settings = Settings(store_dir=tmp_path / "clean", collection=settings.collection, _env_file=None)
    clean_env = dict(env, NEWSDESK_STORE_DIR=str(clean_settings.store_dir))
    assert _cli([str(folder), "--json"], clean_env).returncode == 0
    clean = _snapshot(ArticleStore(clean_settings))
    assert len(crashed[0]) == 300
    assert crashed == clean


@pytest.mark.server
def test_same_ingest_against_a_chroma_server(chroma_server, embedder, tmp_path):
    from core.settings import Settings
    from ingest.pipeline import Ingestor

    settings = Settings(chroma_host="127.0.0.1", chroma_port=chroma_server.port, collection="served",
                        store_dir=tmp_path / "unused", _env_file=None)
    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    folder = tmp_path / "news"
    _write_articles(folder, 4)
    first = _ingest(ingestor, settings, folder, SEED)
    assert (first.added, first.failed) == (5, 0)
    again = _ingest(ingestor, settings, folder, SEED)
    assert (again.unchanged, again.chunks_embedded) == (5, 0)
    titles = {a.title for a in ingestor.store.list_articles()}
    assert SEED_TITLE in titles
    assert not (tmp_path / "unused").exists()


@pytest.mark.server
def test_chroma_server_down_is_a_clear_error_and_nothing_lost(chroma_server, tmp_path):
    from core.settings import Settings

    settings = Settings(chroma_host="127.0.0.1", chroma_port=chroma_server.port, collection="served",
                        _env_file=None)
    env = _env(settings)
    env.update(NEWSDESK_CHROMA_HOST="127.0.0.1", NEWSDESK_CHROMA_PORT=str(chroma_server.port))
    assert _cli([str(SEED)], env).returncode == 0
    chroma_server.stop()
    down = _cli([str(SEED)], env)
    assert down.returncode == 2
    assert f"Chroma server at 127.0.0.1:{chroma_server.port}" in down.stderr
    assert "Traceback" not in down.stderr
    chroma_server.start()
    back = json.loads(_cli(["stats", "--json"], env).stdout)
    assert back["articles"] == 1


def test_korean_and_khmer_survive_ingest_and_retrieval(ingestor, settings, tmp_path):
    from tests.conftest import DATA

    korean = (DATA / "loaders" / "korean-utf8.txt").read_text(encoding="utf-8")
    cp949 = tmp_path / "korean-cp949.txt"
    cp949.write_bytes(korean.encode("cp949"))
    khmer = DATA / "loaders" / "khmer-utf8.txt"
    report = _ingest(ingestor, settings, cp949, khmer)
    assert (report.added, report.failed) == (2, 0), report.errors
    texts = {a.title: ingestor.store.article_text(a.id) for a in ingestor.store.list_articles()}
    assert texts["한국과 캄보디아, 온라인 사기 공동 대응 강화"].startswith("한국 정부는 캄보디아 당국과 함께")
    khmer_title = khmer.read_text(encoding="utf-8").splitlines()[0]
    assert khmer_title in texts and "រដ្ឋាភិបាលកម្ពុជា" in texts[khmer_title]
    for chunk in ingestor.store.iter_chunks():
        assert ingestor.store.article_text(chunk.article_id)[chunk.start:chunk.end] == chunk.text


def test_dry_run_reports_without_writing(ingestor, settings, tmp_path):
    from ingest.loaders import load_sources

    folder = tmp_path / "news"
    _write_articles(folder, 3)
    report = ingestor.run(load_sources([str(folder)], settings), dry_run=True)
    assert (report.added, report.chunks_embedded) == (3, 0)
    assert report.summary() == "would add 3, would update 0, unchanged 0, failed 0; nothing written"
    assert ingestor.store.list_articles() == [] and ingestor.store.count_chunks() == 0


# -- bad input never costs what is stored ------------------------------------------------------------


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _line(article_id: str, extra: str = "") -> str:
    return (f'{{"id": "{article_id}", "title": "Raid {article_id}", "text": "Police raided compound {article_id} '
            f'and freed workers. The workers were taken to a shelter on Monday."{extra}}}')


def test_one_bad_jsonl_line_never_loses_the_others(ingestor, settings, tmp_path):
    """Lone surrogates (half an emoji) in text, title or id, wrong types, NUL in an id, a duplicate id: each
    line is stored or refused with its line number, and the summary accounts for every line."""
    rows = _jsonl(tmp_path / "rows.jsonl", [
        _line("a1"),
        '{"id": "a2", "text": "Half an emoji \\ud83d in the text. Police raided a compound on Monday."}',
        '{"id": "a3", "title": "Title \\ud83d", "text": "Police raided a compound. Workers were freed."}',
        '{"id": "a4\\ud83d", "text": "Police raided a compound. Workers were freed."}',
        '{"id": ["a", "b"], "text": "Police raided a compound. Workers were freed."}',
        '{"id": "a6", "source": {"x": 1}, "text": "Police raided a compound. Workers were freed."}',
        '{"id": "a7\\u0000x", "text": "Police raided a compound. Workers were freed."}',
        _line("a1").replace("freed workers", "freed 40 workers"),
        _line("a9"),
    ])
    from ingest.loaders import load_sources

    report = ingestor.run(load_sources([], settings, jsonl=[str(rows)]))
    assert (report.added, report.failed, report.skipped) == (4, 4, 1)
    assert report.added + report.updated + report.unchanged + report.failed + report.skipped == 9
    errors = {e["source"].rsplit(":", 1)[1]: e["error"] for e in report.errors}
    unprintable = "contains a control character or a broken character ({}); ids must be printable text"
    assert errors == {
        "4": "line 4: field 'id' " + unprintable.format("U+D83D"),
        "5": "line 5: field 'id' must be a string, got a list",
        "6": "line 6: field 'source' must be a string, got an object",
        "7": "line 7: field 'id' " + unprintable.format("U+0000"),
    }
    assert [s["source"].rsplit(":", 1)[1] for s in report.skips] == ["8"]
    assert report.skips[0]["reason"] == f"article id 'a1' was already read in this run, from {rows}:1"
    assert "failed 4, skipped 1 (same id as an earlier one)" in report.summary()
    stored = {a.id: a for a in ingestor.store.list_articles()}
    assert set(stored) == {"a1", "a2", "a3", "a9"}
    assert "Half an emoji \ufffd in the text." in (ingestor.store.article_text("a2") or "")
    assert stored["a3"].title == "Title \ufffd"
    assert "40 workers" not in (ingestor.store.article_text("a1") or "")  # the first of two lines with one id wins


def test_cli_ingest_of_a_bad_jsonl_line_exits_1_and_stores_the_rest(settings, tmp_path):
    rows = _jsonl(tmp_path / "rows.jsonl", [_line("b1"), '{"id": "b2", "text": "Broken \\ud83d. Police raided it."}',
                                            '{"id": "b3\\ud83d", "text": "Police raided it. Workers were freed."}'])
    run = _cli(["--jsonl", str(rows), str(SEED)], _env(settings))  # a SOURCE after --jsonl FILE is a source
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.startswith("added 3, updated 0, unchanged 0, failed 1;"), run.stdout
    assert [line.split(": ", 2)[1] for line in run.stderr.splitlines() if line.startswith("error:")] == [f"{rows}:3"]


def test_prune_never_empties_a_folder_that_failed_or_yielded_nothing(ingestor, settings, tmp_path):
    """A network share that is not mounted looks like an empty folder: pruning from it would delete every
    article that came from it."""
    folder = tmp_path / "share"
    paths = _write_articles(folder, 3)
    _ingest(ingestor, settings, folder)
    for path in paths:
        path.unlink()
    report = _ingest(ingestor, settings, folder, prune=True)
    assert report.pruned == 0 and len(ingestor.store.list_articles()) == 3
    assert report.not_pruned == [{"source": str(folder), "reason": "nothing was loaded from it"}]
    assert f"not pruned: {folder} (nothing was loaded from it)" in report.summary()
    assert report.errors[0]["error"].startswith("no supported files in folder")

    _write_articles(folder, 1)  # the share is back with one article: now the other two may go
    again = _ingest(ingestor, settings, folder, prune=True)
    assert (again.pruned, again.not_pruned) == (2, [])
    assert len(ingestor.store.list_articles()) == 1


def test_prune_leaves_a_folder_alone_when_part_of_it_cannot_be_listed(ingestor, settings, tmp_path, monkeypatch):
    from ingest.loaders import load_sources

    folder = tmp_path / "news"
    _write_articles(folder, 2)
    locked = folder / "locked"
    _write_articles(locked, 2, start=10)
    _ingest(ingestor, settings, folder)
    assert len(ingestor.store.list_articles()) == 4
    locked.rename(tmp_path / "elsewhere")  # its files are out of reach now, and listing it fails:
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path=".", *args, **kwargs):  # as when a subfolder's permissions or its mount go away
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)  # what os.walk lists folders with
    loaded = list(load_sources([str(folder)], settings))
    monkeypatch.undo()
    report = ingestor.run(iter(loaded), prune_roots=[folder])
    assert report.pruned == 0 and len(ingestor.store.list_articles()) == 4
    assert report.not_pruned == [{"source": str(folder), "reason": "it could not be listed"}]
    assert {"source": str(locked), "error": "could not list folder: Permission denied"} in report.errors


def test_symbolic_links_are_followed_only_inside_the_folder(ingestor, settings, tmp_path):
    folder = tmp_path / "news"
    paths = _write_articles(folder, 1)
    secret = tmp_path / "outside" / "passwd.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n\nThis is not an article. It must stay on the server.\n")
    (folder / "passwd.txt").symlink_to(secret)
    (folder / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    (folder / "copy.txt").symlink_to(paths[0])  # inside: the same article, read once
    (folder / "broken.txt").symlink_to(tmp_path / "nothing-here.txt")
    report = _ingest(ingestor, settings, folder)
    assert report.added == 1 and report.skipped == 1
    errors = {Path(e["source"]).name: e["error"] for e in report.errors}
    assert errors == {"passwd.txt": f"symbolic link to {secret}, outside the folder: not followed",
                      "elsewhere": f"symbolic link to {secret.parent}, outside the folder: not followed",
                      "broken.txt": "symbolic link that is broken or loops: not followed"}
    assert all("root:x" not in (ingestor.store.article_text(a.id) or "") for a in ingestor.store.list_articles())
