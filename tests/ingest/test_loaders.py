"""Loaders against real files on tmp_path and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from core.records import Article
from core.settings import Settings
from ingest import fetch as fetching
from ingest.loaders import Loaded, discover, load_feed, load_file, load_sources, load_url
from tests.ingest.conftest import Site

DATA = Path(__file__).resolve().parents[1] / "data" / "loaders"
SEED = Path(__file__).resolve().parents[2] / "data" / "articles" / "cambodia-korea-cyber-fraud-2025-11-04.txt"
KOREAN = (
    "경찰은 해외 취업을 미끼로 청년들을 유인한 온라인 사기 조직의 국내 모집책 세 명을 구속했다고 밝혔다. "
    "피해자들은 고수익 일자리를 약속받고 출국했지만 현지에서 여권을 빼앗기고 감금된 채 사기 범행에 동원됐다."
)
PRIVATE_REFUSAL = "refusing to fetch a private or loopback address"


def only(items: Iterator[Loaded]) -> Loaded:
    found = list(items)
    assert len(found) == 1, found
    return found[0]


def article_of(loaded: Loaded) -> Article:
    assert loaded.error is None, loaded.error
    assert loaded.article is not None
    return loaded.article


@pytest.fixture
def local() -> Settings:
    return Settings(allow_private_urls=True, fetch_timeout=5)


# --- files ---------------------------------------------------------------------------------------


def test_seed_article_metadata_and_clean_text(local: Settings) -> None:
    article = article_of(only(load_file(SEED, local)))
    title = "Cambodia and South Korea agreed to continue deepening cooperation in combating online fraud."
    assert article.title == title
    assert article.published == date(2025, 11, 4)
    assert article.source == "Southeast Asia Information Port News (www.dnyxxg.com)"
    assert article.text.startswith("Southeast Asia Information Port News (www.dnyxxg.com) – On November 3, 2025,")
    assert article.text.endswith("regional and global peace and stability.")
    for furniture in ("Font Size", "Related News", "Navigation", "2025-11-04"):
        assert furniture not in article.text
    assert article.id == "file://" + SEED.resolve().as_posix()
    assert article.origin == str(SEED.resolve())
    assert article.url == ""


def test_korean_utf8_and_khmer_survive(local: Settings) -> None:
    korean = article_of(only(load_file(DATA / "korean-utf8.txt", local)))
    assert korean.title == "한국과 캄보디아, 온라인 사기 공동 대응 강화"
    assert korean.published == date(2025, 10, 20)
    assert korean.text.startswith("한국 정부는 캄보디아 당국과 함께")
    khmer = article_of(only(load_file(DATA / "khmer-utf8.txt", local)))
    raw = (DATA / "khmer-utf8.txt").read_text(encoding="utf-8").split("\n")
    assert khmer.title == raw[0]
    assert khmer.published == date(2025, 11, 4)
    assert khmer.text == raw[4]


def test_cp949_korean_file_decodes(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "korean-cp949.txt"
    path.write_bytes(f"해외 취업 사기 주의보\n\n{KOREAN}\n".encode("cp949"))
    article = article_of(only(load_file(path, local)))
    assert article.title == "해외 취업 사기 주의보"
    assert article.text == KOREAN


def test_utf16_with_bom(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes(f"Notice\n\n{KOREAN}\n".encode("utf-16"))
    assert article_of(only(load_file(path, local))).text == KOREAN


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_not_called_binary(tmp_path: Path, local: Settings, encoding: str) -> None:
    """As some Windows tools save text: no byte order mark, and a zero byte in every Latin character."""
    path = tmp_path / "utf16.txt"
    path.write_bytes(f"Notice 2025\n\n{KOREAN}\n".encode(encoding))
    article = article_of(only(load_file(path, local)))
    assert (article.title, article.text) == ("Notice 2025", KOREAN)


def test_an_outlet_named_without_its_site_is_the_source_and_not_quoted(tmp_path: Path, local: Settings) -> None:
    from core.sentences import citable_spans

    path = tmp_path / "wire.txt"
    path.write_text("Call centre closed in Mae Sot\n2025-09-30\n\nBangkok Daily Wire \u2013 Thai police closed a call "
                    "centre in Mae Sot on Tuesday. Fourteen people were arrested.\n", encoding="utf-8")
    article = article_of(only(load_file(path, local)))
    assert article.source == "Bangkok Daily Wire"
    [(a, b), _] = citable_spans(article.text, article_start=True)
    assert article.text[a:b] == "Thai police closed a call centre in Mae Sot on Tuesday."
    # Only at an article's start, and only a name of outlet words: a place in a dateline stays quoted.
    assert citable_spans("Phnom Penh \u2013 Police raided a compound.", article_start=True) == [(0, 38)]
    assert citable_spans("Bangkok Daily Wire \u2013 Police raided a compound.") == [(0, 46)]


def test_markdown_header_lines(local: Settings) -> None:
    article = article_of(only(load_file(DATA / "briefing.md", local)))
    assert article.title == "Regional ministers meet on online scam centres"
    assert article.author == "Lina Tran"
    assert article.source == "Gulf of Siam Review"
    assert article.published == date(2025, 11, 2)
    assert article.text.startswith("Ministers from five countries met on Sunday")
    assert article.text.endswith("trapped in the compounds.")
    assert "Share this article" not in article.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\t\r\n  \n", "empty file (only whitespace)"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + b"\x00" * 64, "binary file (not text)"),
        ("title-only.txt", b"Just a headline\n", "no article text found (only a title)"),
    ],
)
def test_bad_text_files(tmp_path: Path, local: Settings, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    loaded = only(load_file(path, local))
    assert loaded.article is None
    assert loaded.error == message
    assert loaded.source == str(path)


def test_unknown_extension_given_explicitly(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04")
    loaded = only(load_sources([str(path)], local))
    assert loaded.error is not None
    assert loaded.error.startswith("unsupported file type '.docx' (supported: .txt, .md, .html")


def test_oversized_file_is_refused_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk space used

    def no_reading(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the file must not be read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    loaded = only(load_file(path, Settings()))
    assert loaded.error == "file too large: 200.0 MB (limit 50.0 MB, NEWSDESK_MAX_SOURCE_BYTES)"


def test_html_file_with_article(local: Settings) -> None:
    article = article_of(only(load_file(DATA / "scam-raid.html", local)))
    assert article.title == "Police raid scam compound near border town"
    assert article.published == date(2025, 10, 12)
    assert article.author == "Dara Sok"
    assert article.source == "Mekong Ledger"
    assert article.id == article.url == "https://news.example.org/2025/10/12/scam-compound-raid"
    assert article.text.startswith("Police in a northern border province raided a compound")
    assert article.text.count("\n\n") == 3
    assert "Home" not in article.text and "Copyright" not in article.text


def test_html_file_without_article(local: Settings) -> None:
    assert only(load_file(DATA / "no-article.html", local)).error == "no article text found in HTML"


def test_html_file_without_canonical_uses_file_id(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "plain.html"
    path.write_text(
        "<html><head><title>Court jails recruiter</title></head><body><article>"
        "<p>A court jailed a recruiter for five years on Tuesday for luring workers to a scam compound abroad.</p>"
        "<p>The judge said the victims had been held against their will for months.</p></article></body></html>",
        encoding="utf-8",
    )
    article = article_of(only(load_file(path, local)))
    assert article.id == "file://" + path.resolve().as_posix()
    assert article.url == ""
    assert article.title == "Court jails recruiter"


def test_jsonl_good_and_bad_lines(local: Settings) -> None:
    path = DATA / "articles.jsonl"
    results = list(load_file(path, local))
    assert [r.source for r in results] == [f"{path}:{n}" for n in (1, 2, 3, 4)]
    first = article_of(results[0])
    assert first.id == "https://news.example.org/2024/03/01/hotline"
    assert first.url == "https://www.news.example.org/2024/03/01/hotline"
    assert first.published == date(2024, 3, 1)
    assert first.source == "news.example.org"
    assert first.origin == str(path.resolve())
    assert first.text == (
        "A new hotline for people trapped in scam compounds opened on Friday.\n\n"
        "Callers can reach trained staff in four languages, the ministry said."
    )
    assert results[1].error is not None and results[1].error.startswith("line 2: invalid JSON: ")
    assert results[2].error == "line 3: missing field 'text'"
    fourth = article_of(results[3])
    assert fourth.id == "https://news.example.org/2024/03/03/url-only"
    assert fourth.published == date(2024, 3, 3)


def test_jsonl_option_and_blank_text(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "extra.ndjson"
    path.write_text('{"id": "a", "text": "Font Size:\\n\\n"}\n\n{"text": "no id here at all."}\n', encoding="utf-8")
    results = list(load_sources([], local, jsonl=[str(path), str(tmp_path / "missing.jsonl")]))
    assert [r.error for r in results] == [
        "line 1: no article text after cleaning",
        "line 3: missing field 'id' (and no 'url' to use instead)",
        "no such JSONL file",
    ]


def _write_pdf(path: Path, lines: list[str], title: str) -> None:
    """A minimal one-page PDF with a Helvetica text stream and correct xref offsets."""
    ops = ["BT /F1 12 Tf 72 720 Td"] + [f"({line}) Tj 0 -16 Td" for line in lines] + ["ET"]
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) /Author (Desk Reporter) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def test_pdf_file(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "bulletin.pdf"
    _write_pdf(path, ["Scam centre bulletin", "Authorities rescued 57 workers from a compound on Friday."],
               "Weekly scam bulletin")
    article = article_of(only(load_file(path, local)))
    assert article.title == "Weekly scam bulletin"
    assert article.author == "Desk Reporter"
    assert "Authorities rescued 57 workers from a compound on Friday." in article.text
    assert article.id == "file://" + path.resolve().as_posix()


def test_broken_pdf(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    loaded = only(load_file(path, local))
    assert loaded.error is not None
    assert loaded.error.startswith(("unreadable PDF", "no text found in PDF"))


def test_folder_discovery_recursive_sorted_skips_hidden(tmp_path: Path, local: Settings) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ("b/z.txt", "a/deep/y.md", "a/x.html", ".git/hidden.txt", "a/.secret.txt", "notes.docx", "c.jsonl"):
        (tmp_path / name).write_text("Title\n\nBody text of the article.\n", encoding="utf-8")
    found = discover(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/deep/y.md", "a/x.html", "b/z.txt", "c.jsonl"]
    assert discover(tmp_path / "b" / "z.txt") == [tmp_path / "b" / "z.txt"]


def test_load_sources_folder(local: Settings) -> None:
    results = list(load_sources([str(DATA)], local))
    names = [Path(r.source).name for r in results]
    assert names == [f"articles.jsonl:{n}" for n in (1, 2, 3, 4)] + [
        "briefing.md", "khmer-utf8.txt", "korean-utf8.txt", "no-article.html", "scam-raid.html"
    ]
    assert [r.error is None for r in results] == [True, False, False, True, True, True, True, False, True]


def test_load_sources_missing_paths_and_schemes(tmp_path: Path, local: Settings) -> None:
    (tmp_path / "empty-folder").mkdir()
    sources = [str(tmp_path / "nope.txt"), "ftp://example.org/a.txt", f"file://{SEED}", str(tmp_path / "empty-folder")]
    errors = [r.error for r in load_sources(sources, local)]
    assert errors[:3] == ["no such file or folder", "only http and https URLs are supported",
                          "only http and https URLs are supported"]
    assert errors[3] is not None and errors[3].startswith("no supported files in folder")


# --- a real HTTP server on 127.0.0.1 -------------------------------------------------------------


def test_url_html_page_uses_canonical_id(site: Site, local: Settings) -> None:
    url = site.add("/news/raid?utm=x", (DATA / "scam-raid.html").read_bytes())
    loaded = load_url(url + "#top", local)
    article = article_of(loaded)
    assert article.id == article.url == "https://news.example.org/2025/10/12/scam-compound-raid"
    assert article.source == "Mekong Ledger"
    assert article.published == date(2025, 10, 12)
    assert article.origin == url + "#top"


def test_url_without_canonical_uses_final_url_after_redirect(site: Site, local: Settings) -> None:
    html = "<html><head><title>Rescue</title></head><body><p>Rescuers freed workers from a compound on Monday.</p>"
    target = site.add("/final", html + "</body></html>")
    first = site.add("/old", b"", status=301, Location="/final#frag")
    article = article_of(load_url(first, local))
    assert article.id == target
    assert article.source == "127.0.0.1"


def test_url_plain_text(site: Site, local: Settings) -> None:
    url = site.add("/story.txt", SEED.read_bytes(), content_type="text/plain; charset=utf-8")
    article = article_of(load_url(url, local))
    assert article.id == url
    assert article.published == date(2025, 11, 4)
    assert "Font Size" not in article.text


def test_url_pdf(site: Site, local: Settings, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    _write_pdf(path, ["Fraud report", "Losses to investment scams doubled last year."], "Annual fraud report")
    url = site.add("/report", path.read_bytes(), content_type="application/octet-stream")
    article = article_of(load_url(url, local))
    assert article.title == "Annual fraud report"
    assert article.source == "127.0.0.1"
    assert "Losses to investment scams doubled last year." in article.text


def test_url_unsupported_content_type(site: Site, local: Settings) -> None:
    url = site.add("/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")
    assert load_url(url, local).error == "unsupported content type 'image/png'"


def test_url_http_404(site: Site, local: Settings) -> None:
    loaded = load_url(site.base + "/missing", local)
    assert loaded.article is None
    assert loaded.error == "HTTP 404 Not Found"


def test_url_unreachable_port_fails_fast(local: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    loaded = load_url(f"http://127.0.0.1:{port}/", local)
    assert loaded.error == "could not fetch: connection refused"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("url", ["ftp://example.org/file.txt", "file:///etc/passwd", "gopher://x", "http:///nohost"])
def test_url_other_schemes_refused(local: Settings, url: str) -> None:
    assert load_url(url, local).error == "only http and https URLs are supported"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a request was sent")

    monkeypatch.setattr(httpx.Client, "send", refuse)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/", "http://0.0.0.0/"]
)
def test_private_addresses_refused_before_connecting(no_network: None, url: str) -> None:
    loaded = load_url(url, Settings())
    assert loaded.error is not None and loaded.error.startswith(PRIVATE_REFUSAL)
    assert "NEWSDESK_ALLOW_PRIVATE_URLS=true" in loaded.error


def test_loopback_server_refused_by_default(site: Site) -> None:
    url = site.add("/page", (DATA / "scam-raid.html").read_bytes())
    loaded = only(load_sources([url], Settings()))
    assert loaded.error is not None and loaded.error.startswith(PRIVATE_REFUSAL)
    assert site.requests == []


def test_redirect_to_private_address_refused(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetching, "_is_public", lambda address: address == "127.0.0.1")
    url = site.add("/jump", b"", status=302, Location="http://10.0.0.1/secret")
    loaded = load_url(url, Settings())
    assert loaded.error is not None and loaded.error.startswith(PRIVATE_REFUSAL)
    assert site.requests == ["/jump"]


def test_redirect_loop_stops(site: Site, local: Settings) -> None:
    url = site.add("/loop", b"", status=302, Location="/loop")
    assert load_url(url, local).error == "too many redirects (more than 5)"
    assert len(site.requests) == 6


@pytest.mark.parametrize("with_length", [True, False])
def test_oversized_url_body(site: Site, with_length: bool) -> None:
    headers = {} if with_length else {"X-No-Length": "1"}
    url = site.add("/big", b"<html><body>" + b"x" * 5000, **headers)
    loaded = load_url(url, Settings(allow_private_urls=True, max_source_bytes=1024))
    assert loaded.error is not None
    assert loaded.error.startswith("response too large: ")
    assert loaded.error.endswith("(limit 1.0 KB, NEWSDESK_MAX_SOURCE_BYTES)")


# --- feeds ---------------------------------------------------------------------------------------

LONG_CONTENT = "<p>" + " ".join(
    ["Investigators in three countries said on Thursday that the network moved victims across borders."] * 8
) + "</p><p>The case is expected to reach court early next year.</p>"


def _rss(base: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Mekong Ledger</title><link>{base}/</link><description>News</description>
<item><title>Network moved victims across borders</title><link>{base}/full#comments</link>
<pubDate>Thu, 09 Oct 2025 08:00:00 GMT</pubDate>
<content:encoded><![CDATA[{LONG_CONTENT}]]></content:encoded></item>
<item><title>Police raid scam compound (feed title)</title><link>{base}/raid.html</link>
<pubDate>Sun, 12 Oct 2025 10:00:00 GMT</pubDate><description>Short teaser.</description></item>
</channel></rss>"""


def test_rss_feed_entries_load(site: Site, local: Settings) -> None:
    site.add("/raid.html", (DATA / "scam-raid.html").read_bytes())
    feed = site.add("/feed.xml", _rss(site.base), content_type="application/rss+xml")
    results = list(load_feed(feed, local))
    assert [r.error for r in results] == [None, None]
    full, fetched = article_of(results[0]), article_of(results[1])
    assert full.id == site.base + "/full"
    assert full.title == "Network moved victims across borders"
    assert full.published == date(2025, 10, 9)
    assert full.source == "Mekong Ledger"
    assert full.origin == feed
    assert full.text.endswith("The case is expected to reach court early next year.")
    assert fetched.id == "https://news.example.org/2025/10/12/scam-compound-raid"
    assert fetched.title == "Police raid scam compound (feed title)"
    assert fetched.published == date(2025, 10, 12)
    assert fetched.text.startswith("Police in a northern border province")
    assert site.requests == ["/feed.xml", "/raid.html"]


def test_feed_url_as_plain_source_and_local_file(site: Site, local: Settings, tmp_path: Path) -> None:
    site.add("/raid.html", b"gone", status=410)
    feed = site.add("/rss", _rss(site.base), content_type="text/xml")
    results = list(load_sources([feed], local))
    assert results[0].error is None
    assert results[1].source == site.base + "/raid.html"
    assert results[1].error == "HTTP 410 Gone"
    path = tmp_path / "feed.xml"
    path.write_text(_rss(site.base), encoding="utf-8")
    from_file = list(load_sources([], local, feeds=[str(path)]))
    assert from_file[0].article is not None and from_file[0].article.origin == str(path)
    assert load_url(feed, local).error == "expected an article page but got an RSS/Atom feed"


def test_malformed_feed(site: Site, local: Settings) -> None:
    broken = site.add("/bad.xml", '{"items": [1, 2', content_type="application/rss+xml")
    assert only(load_feed(broken, local)).error == "malformed feed: not well-formed (invalid token) (line 2, column 0)"
    page = site.add("/page", "<html><body><p>A web page.</p></body></html>")
    assert only(load_feed(page, local)).error == "malformed feed: not RSS or Atom"
    assert only(load_feed("/no/such/feed.xml", local)).error == "no such file"


def test_feed_entry_without_link_or_text(tmp_path: Path, local: Settings) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Teaser only</title><description>Short.</description></item></channel></rss>",
        encoding="utf-8",
    )
    loaded = only(load_feed(str(path), local))
    assert loaded.error == "entry 1 has no link and too little text (1 words)"
