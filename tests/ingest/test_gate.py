"""The untrusted-input gate (`ingest/gate.py`): what the web page and the APIs send may be an http(s) URL or
an uploaded file, never a server path; an upload keeps its own identity and the user's own name.

A Python audit hook records every file this process opens inside `opened()`, so "the server file was
never read" is observed, not assumed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.settings import Settings
from ingest.gate import UPLOAD_PREFIX, Upload, load_untrusted, load_upload, upload_id
from ingest.loaders import Loaded
from tests.ingest.conftest import Site

ARTICLE = ("Police raid a scam compound\n2025-11-02\n\nPolice raided a scam compound near the border on Sunday and "
           "freed 120 workers. The workers had been forced to run online investment frauds.")

_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it does nothing outside `opened()`


@contextmanager
def opened() -> Iterator[list[str]]:
    """Every path this process opens inside the block."""
    global _opened
    paths: list[str] = []
    _opened = paths
    try:
        yield paths
    finally:
        _opened = None


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file on the server that nobody using the web page may read."""
    path = tmp_path / "server" / "notes.txt"
    path.parent.mkdir()
    path.write_text("Editor's private notes\n\nThe source inside the ministry is named in this file. It must "
                    "never leave the server.", encoding="utf-8")
    return path


def _settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[arg-type]


def _upload(folder: Path, name: str, data: bytes | str) -> Upload:
    """A file as Gradio hands it over: saved in a folder of its own under the user's file name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Upload(path, name)


@pytest.mark.parametrize("typed", [
    "{path}", "{folder}", "file://{path}", "file:///etc/passwd", "~/notes.txt", "../../etc/passwd", "notes.txt",
    "C:\\Users\\editor\\notes.txt", "//server/share/notes.txt", "ftp://127.0.0.1/notes.txt",
])
def test_a_server_path_typed_as_a_url_or_feed_is_refused_unopened(secret: Path, typed: str) -> None:
    location = typed.format(path=secret, folder=secret.parent)
    for field in ("urls", "feeds"):
        with opened() as paths:
            [loaded] = list(load_untrusted(_settings(), **{field: [location]}))
        assert loaded.article is None and loaded.source == location
        assert "http" in (loaded.error or ""), loaded.error
        assert not any("notes.txt" in p or p == str(secret.parent) or p == "/etc/passwd" for p in paths), paths


def test_http_urls_and_feeds_pass_the_gate(site: Site) -> None:
    page = site.add("/story.txt", ARTICLE, content_type="text/plain; charset=utf-8")
    feed = site.add("/feed.xml", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Border Wire</title>
        <item><title>Raid</title><link>{page}</link><description>Police raided a compound.</description></item>
        </channel></rss>""", content_type="application/rss+xml")
    loaded = list(load_untrusted(_settings(allow_private_urls=True), urls=[page], feeds=[feed]))
    assert [item.error for item in loaded] == [None, None]
    assert [item.article.id for item in loaded if item.article] == [page, page]
    assert site.requests == ["/story.txt", "/feed.xml", "/story.txt"]


def test_a_feed_url_in_the_url_box_yields_its_entries(site: Site) -> None:
    page = site.add("/story.txt", ARTICLE, content_type="text/plain; charset=utf-8")
    feed = site.add("/feed.xml", f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
        <item><title>Raid</title><link>{page}</link></item></channel></rss>""", content_type="application/rss+xml")
    [loaded] = list(load_untrusted(_settings(allow_private_urls=True), urls=[feed]))
    assert loaded.article is not None and loaded.article.source == "Wire"


@pytest.mark.parametrize(("first", "second"), [
    ("부산항 기사.txt", "서울 예산.txt"),  # Korean
    ("ព័ត៌មាន.txt", "របាយការណ៍.txt"),  # Khmer
    ("ข่าว.txt", "รายงาน.txt"),  # Thai
    ("新闻.txt", "报告.txt"),
    ("новости.txt", "отчёт.txt"),
    ("أخبار.txt", "تقرير.txt"),
    ("Café.txt", "Cafe.txt"),
    ("report (final).txt", "report final.txt"),
    ("article.txt", "article.txt"),  # two users, the same name
])
def test_uploads_never_replace_each_other_whatever_their_names(tmp_path: Path, first: str, second: str) -> None:
    one = _upload(tmp_path / "a", first, ARTICLE)
    two = _upload(tmp_path / "b", second, ARTICLE.replace("120 workers", "95 workers"))
    loaded = [item for upload in (one, two) for item in load_upload(upload, _settings())]
    ids = [item.article.id for item in loaded if item.article]
    assert len(ids) == 2 and ids[0] != ids[1]
    assert all(i.startswith(UPLOAD_PREFIX) for i in ids)
    assert [item.source for item in loaded] == [first, second]
    assert [item.article.origin for item in loaded if item.article] == [UPLOAD_PREFIX + first, UPLOAD_PREFIX + second]


def test_an_upload_is_its_content_the_same_bytes_again_are_the_same_article(tmp_path: Path) -> None:
    one = _upload(tmp_path / "a", "raid.txt", ARTICLE)
    again = _upload(tmp_path / "b", "raid copy.txt", ARTICLE)
    [first], [second] = load_upload(one, _settings()), load_upload(again, _settings())
    assert first.article is not None and second.article is not None
    assert first.article.id == second.article.id == upload_id(ARTICLE.encode("utf-8"))


def test_errors_and_titles_use_the_users_file_name_not_the_servers_path(tmp_path: Path) -> None:
    empty = _upload(tmp_path / "gradio-cache-1", "서울 예산.txt", b"")
    binary = _upload(tmp_path / "gradio-cache-2", "부산항 기사.txt", b"\x00\x01\x02binary")
    exe = _upload(tmp_path / "gradio-cache-3", "tool.exe", b"MZ")
    html = _upload(tmp_path / "gradio-cache-4", "ព័ត៌មាន_ថ្មី.html",
                   "<html><body><article><p>Police in Phnom Penh raided a scam compound on Monday and freed 80 "
                   "workers, officials said.</p></article></body></html>")
    results: list[Loaded] = [item for u in (empty, binary, exe, html) for item in load_upload(u, _settings())]
    assert [(r.source, r.error) for r in results[:3]] == [
        ("서울 예산.txt", "empty file"), ("부산항 기사.txt", "binary file (not text)"),
        ("tool.exe", "unsupported file type .exe (supported: .txt, .md, .html, .htm, .pdf, .jsonl)"),
    ]
    assert results[3].article is not None and results[3].article.title == "ព័ត៌មាន ថ្មី"
    assert not any("gradio-cache" in (r.error or "") + r.source for r in results)


def test_an_oversized_upload_is_refused_from_its_size(tmp_path: Path) -> None:
    big = _upload(tmp_path / "a", "big.txt", b"x" * (1024 * 1024 + 1))
    with opened() as paths:
        [loaded] = load_upload(big, _settings(max_upload_mb=1))
    assert loaded.error == "file too large: 1.0 MB (the limit is 1 MB, NEWSDESK_MAX_UPLOAD_MB)"
    assert str(big.path) not in paths


def test_jsonl_upload_lines_are_named_by_the_users_file_name(tmp_path: Path) -> None:
    rows = _upload(tmp_path / "a", "기사 모음.jsonl",
                   '{"id": "a1", "text": "Police raided a compound. Workers were freed."}\n\n{"id": "a2"}\n')
    loaded = list(load_upload(rows, _settings()))
    assert [(item.source, item.error) for item in loaded] == [
        ("기사 모음.jsonl:1", None), ("기사 모음.jsonl:3", "line 3: missing field 'text'")]
    assert loaded[0].article is not None and loaded[0].article.origin == UPLOAD_PREFIX + "기사 모음.jsonl"
