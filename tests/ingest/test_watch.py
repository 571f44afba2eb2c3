"""`python -m ingest watch` against feeds served from 127.0.0.1 that change, answer 304 and go down.

The watcher's clock is a `Clock` the tests move, so every poll happens when a test asks for it; the real
embedding model (the session's) and a real Chroma on tmp_path do the ingesting.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.errors import IngestError
from core.settings import Settings
from ingest.fetch import fetch
from ingest.watch import (
    FeedWatcher,
    PollResult,
    StopFlag,
    describe_duration,
    parse_duration,
    read_opml,
    read_status,
    state_path,
)
from tests.conftest import ROOT, free_port
from tests.ingest.conftest import Site

DATA = Path(__file__).resolve().parents[1] / "data" / "loaders"
LAST_MODIFIED = "Thu, 09 Oct 2025 08:00:00 GMT"
EVERY = 60.0


# --- a feed server that answers conditional requests ---------------------------------------------------


class FeedSite(Site):
    """The ingest tests' `Site`, answering 304 when If-None-Match matches a route's ETag (or, without
    If-None-Match, If-Modified-Since its Last-Modified), and recording each request's conditional headers."""

    def __init__(self) -> None:
        super().__init__()
        self.conditions: list[tuple[str, str | None, str | None]] = []
        self.on_request: Callable[[str], None] = lambda path: None

    def answer(self, path: str, etag: str | None, since: str | None) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(path)
        self.conditions.append((path, etag, since))
        self.on_request(path)
        status, headers, body = self.routes.get(path, (404, {"Content-Type": "text/plain"}, b"not found"))
        validators = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}
        if status == 200 and ((etag is not None and etag == headers.get("ETag"))
                              or (etag is None and since is not None and since == headers.get("Last-Modified"))):
            return 304, validators, b""
        return status, headers, body

    def since(self, mark: int) -> list[str]:
        """The paths requested after the first `mark` requests."""
        return self.requests[mark:]


@contextmanager
def serving(site: FeedSite, port: int = 0) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            status, headers, body = site.answer(self.path, self.headers.get("If-None-Match"),
                                                self.headers.get("If-Modified-Since"))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def feed_site() -> Iterator[FeedSite]:
    site = FeedSite()
    with serving(site) as base:
        site.base = base
        yield site


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    content: str
    """HTML; a short teaser makes the watcher fetch the entry's link."""
    link: str = ""
    updated: str = "Thu, 09 Oct 2025 08:00:00 GMT"


def story(topic: str, extra: str = "") -> str:
    sentences = [f"Investigators said the {topic} case, part {i}, involved workers moved across the border."
                 for i in range(8)]
    return "<p>" + " ".join(sentences) + "</p>" + (f"<p>{extra}</p>" if extra else "")


def rss(base: str, entries: list[Entry], title: str = "Mekong Ledger") -> str:
    items = "".join(
        f"<item><guid isPermaLink=\"false\">{e.key}</guid><title>{escape(e.title)}</title>"
        f"<link>{e.link or f'{base}/{e.key}'}</link><pubDate>{e.updated}</pubDate>"
        f"<description>{escape(e.content)}</description></item>"
        for e in entries
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}/</link><description>News</description>{items}</channel></rss>")


def atom(base: str, entries: list[Entry], title: str = "Border Wire") -> str:
    items = "".join(
        f"<entry><id>urn:{e.key}</id><title>{escape(e.title)}</title><link href=\"{e.link or f'{base}/{e.key}'}\"/>"
        f"<updated>2025-10-09T08:00:00Z</updated><content type=\"html\">{escape(e.content)}</content></entry>"
        for e in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>'
            f"<id>urn:{title}</id><updated>2025-10-09T08:00:00Z</updated>{items}</feed>")


class Clock:
    """The watcher's time, moved by the test."""

    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def local(tmp_path: Path) -> Settings:
    """A store on tmp_path, and loopback allowed the way an intranet would be (NEWSDESK_ALLOW_NETWORKS)."""
    return Settings(store_dir=tmp_path / "store", collection="test-news", allow_networks=["127.0.0.1/32"],
                    fetch_timeout=30, _env_file=None)


@pytest.fixture
def ingestor(local: Settings, embedder):
    from ingest.pipeline import Ingestor

    return Ingestor.from_settings(local, embedder=embedder)


def counts(result: PollResult) -> tuple[int, int, int]:
    assert result.error is None, result.error
    return result.new, result.changed, result.unchanged


def titles(ingestor) -> list[str]:
    return sorted(a.title for a in ingestor.store.list_articles())


# --- fetch: conditional requests ---------------------------------------------------------------------


def test_fetch_sends_conditional_headers_and_reports_304_and_validators(feed_site: FeedSite, local: Settings) -> None:
    url = feed_site.add("/feed.xml", rss(feed_site.base, [Entry("a", "A", story("a"))]),
                        content_type="application/rss+xml", ETag='"v1"', **{"Last-Modified": LAST_MODIFIED})
    first = fetch(url, local)
    assert (first.status, first.etag, first.last_modified, first.not_modified) == (200, '"v1"', LAST_MODIFIED, False)
    assert first.body.startswith(b"<?xml")
    again = fetch(url, local, headers={"If-None-Match": '"v1"', "If-Modified-Since": LAST_MODIFIED})
    assert (again.status, again.not_modified, again.body, again.etag) == (304, True, b"", '"v1"')
    assert feed_site.conditions == [("/feed.xml", None, None), ("/feed.xml", '"v1"', LAST_MODIFIED)]
    # The SSRF rules apply to a conditional request as to any other: loopback stays refused by default.
    with pytest.raises(ValueError, match="refusing to fetch a private or loopback address"):
        fetch(url, Settings(_env_file=None), headers={"If-None-Match": '"v1"'})
    assert len(feed_site.requests) == 2


# --- polls -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_changing_feed_ingests_only_new_and_changed_entries(feed_site: FeedSite, local: Settings,
                                                               ingestor) -> None:
    feed_site.add("/raid.html", (DATA / "scam-raid.html").read_bytes())
    a = Entry("a", "Network moved workers across the border", story("border network"))
    b = Entry("b", "Crypto fraud ring charged", story("crypto fraud ring"))
    c = Entry("c", "Police raid scam compound (feed title)", "Short teaser.", link=feed_site.base + "/raid.html")
    url = feed_site.add("/feed.xml", rss(feed_site.base, [a, b, c]), content_type="application/rss+xml",
                        ETag='"v1"', **{"Last-Modified": LAST_MODIFIED})
    clock = Clock()
    watcher = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=clock)

    [first] = watcher.poll_due()
    print(first.line())
    assert counts(first) == (3, 0, 0) and first.chunks_embedded >= 3
    assert "/raid.html" in feed_site.requests  # a teaser entry is the page at its link, as in a one-off ingest
    assert titles(ingestor) == sorted([a.title, b.title, c.title])

    assert watcher.poll_due() == []  # not due before the interval
    clock.advance(EVERY)
    mark = len(feed_site.requests)
    chunks_before = sorted(ingestor.store.chunks.get(include=[])["ids"])
    [second] = watcher.poll_due()
    print(second.line())
    assert counts(second) == (0, 0, 3) and second.not_modified and second.chunks_embedded == 0
    assert feed_site.conditions[-1] == ("/feed.xml", '"v1"', LAST_MODIFIED)
    assert feed_site.since(mark) == ["/feed.xml"]
    assert sorted(ingestor.store.chunks.get(include=[])["ids"]) == chunks_before
    assert second.line() == f"feed {url}: 0 new, 0 changed, 3 unchanged (304 not modified)"

    changed_a = Entry("a", a.title, story("border network", "A court in the capital set a trial date on Friday."),
                      updated="Fri, 10 Oct 2025 09:00:00 GMT")
    d = Entry("d", "Money mule network dismantled", story("money mule network"))
    feed_site.add("/feed.xml", rss(feed_site.base, [d, changed_a, c]), content_type="application/rss+xml",
                  ETag='"v2"')
    clock.advance(EVERY)
    mark = len(feed_site.requests)
    [third] = watcher.poll_due()
    print(third.line())
    assert counts(third) == (1, 1, 1) and third.removed == 1 and third.chunks_embedded >= 2
    assert feed_site.since(mark) == ["/feed.xml"]  # the unchanged teaser's page is not fetched again
    assert titles(ingestor) == sorted([a.title, b.title, c.title, d.title])  # a removed entry's article stays
    [a_info] = [i for i in ingestor.store.list_articles() if i.title == a.title]
    assert "set a trial date" in ingestor.store.article_text(a_info.id)

    # The same feed without validators (no 304 possible): every entry is unchanged, nothing fetched or embedded.
    feed_site.add("/feed.xml", rss(feed_site.base, [d, changed_a, c]), content_type="application/rss+xml")
    clock.advance(EVERY)
    mark = len(feed_site.requests)
    chunks_before = sorted(ingestor.store.chunks.get(include=[])["ids"])
    [fourth] = watcher.poll_due()
    print(fourth.line())
    assert counts(fourth) == (0, 0, 3) and not fourth.not_modified and fourth.chunks_embedded == 0
    assert feed_site.conditions[-1] == ("/feed.xml", '"v2"', None) and feed_site.since(mark) == ["/feed.xml"]
    assert sorted(ingestor.store.chunks.get(include=[])["ids"]) == chunks_before
    assert fourth.line() == f"feed {url}: 0 new, 0 changed, 3 unchanged; 0 chunks embedded"

    [status] = read_status(local)
    assert (status.url, status.title, status.last_error, status.consecutive_failures) == (url, "Mekong Ledger", None, 0)
    assert (status.last_ingested, status.total_ingested, status.etag) == (0, 5, None)
    assert status.last_poll is not None and status.last_poll.timestamp() == clock.now
    assert status.next_poll is not None and status.next_poll.timestamp() == clock.now + EVERY


@pytest.mark.slow
def test_a_feed_that_is_down_backs_off_while_the_others_keep_going(feed_site: FeedSite, local: Settings, ingestor,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    a1 = Entry("a1", "Scam centre workers freed", story("scam centre"))
    b1 = Entry("b1", "Romance scam suspects extradited", story("romance scam"))
    a_url = feed_site.add("/a.xml", rss(feed_site.base, [a1]), content_type="application/rss+xml", ETag='"a1"')
    b_url = feed_site.add("/b.xml", atom(feed_site.base, [b1]), content_type="application/atom+xml")
    later = FeedSite()
    c_port = free_port()  # nothing listens there yet: connection refused
    c_url = f"http://127.0.0.1:{c_port}/c.xml"
    clock = Clock()
    start = clock.now
    watcher = FeedWatcher(local, [a_url, b_url, c_url], every=EVERY, ingestor=ingestor, clock=clock)
    caplog.set_level(logging.WARNING, logger="ingest.watch")

    ok_a, ok_b, refused = watcher.poll_due()
    assert counts(ok_a) == (1, 0, 0) and counts(ok_b) == (1, 0, 0)
    assert refused.error == "could not fetch: connection refused" and refused.retry_in == 2 * EVERY

    feed_site.add("/a.xml", "down for maintenance", content_type="text/plain", status=503)
    b2 = Entry("b2", "Money laundering network exposed", story("money laundering"))
    feed_site.add("/b.xml", atom(feed_site.base, [b2, b1]), content_type="application/atom+xml")
    clock.advance(EVERY)  # +60: a fails for the first time; b goes on
    down_a, more_b = watcher.poll_due()
    assert down_a.error == "HTTP 503 Service Unavailable" and down_a.retry_in == 2 * EVERY
    assert counts(more_b) == (1, 0, 1) and more_b.chunks_embedded > 0
    by_url = {s.url: s for s in read_status(local)}
    assert by_url[a_url].last_error == "HTTP 503 Service Unavailable" and by_url[a_url].consecutive_failures == 1
    assert by_url[a_url].next_poll is not None and by_url[a_url].next_poll.timestamp() == start + 3 * EVERY
    assert by_url[a_url].last_success is not None and by_url[a_url].last_success.timestamp() == start
    assert by_url[b_url].last_error is None and by_url[b_url].total_ingested == 2

    clock.advance(EVERY)  # +120: a waits (backoff); b and c are due
    mark = len(feed_site.requests)
    polled = watcher.poll_due()
    assert [r.url for r in polled] == [b_url, c_url] and "/a.xml" not in feed_site.since(mark)
    assert polled[1].error == "could not fetch: connection refused" and polled[1].retry_in == 4 * EVERY

    clock.advance(EVERY)  # +180: a fails a second time and waits twice as long
    polled = {r.url: r for r in watcher.poll_due()}
    assert set(polled) == {a_url, b_url}
    assert polled[a_url].error == "HTTP 503 Service Unavailable" and polled[a_url].retry_in == 4 * EVERY
    assert read_status(local)[0].consecutive_failures == 2

    a2 = Entry("a2", "Trafficking victims repatriated", story("trafficking victims"))
    feed_site.add("/a.xml", rss(feed_site.base, [a2, a1]), content_type="application/rss+xml", ETag='"a2"')
    c1 = Entry("c1", "Telecom fraud call centre closed", story("telecom fraud"))
    later.add("/c.xml", rss(f"http://127.0.0.1:{c_port}", [c1], title="Delta Daily"),
              content_type="application/rss+xml")
    with serving(later, port=c_port):
        clock.advance(4 * EVERY)  # +420: both are back
        polled = {r.url: r for r in watcher.poll_due()}
    assert set(polled) == {a_url, b_url, c_url}
    assert counts(polled[a_url]) == (1, 0, 1) and counts(polled[c_url]) == (1, 0, 0)
    statuses = {s.url: s for s in read_status(local)}
    assert [statuses[u].consecutive_failures for u in (a_url, b_url, c_url)] == [0, 0, 0]
    assert [statuses[u].last_error for u in (a_url, b_url, c_url)] == [None, None, None]
    assert statuses[a_url].total_ingested == 2 and statuses[c_url].title == "Delta Daily"
    assert titles(ingestor) == sorted([a1.title, a2.title, b1.title, b2.title, c1.title])

    failures = [r.getMessage() for r in caplog.records if r.name == "ingest.watch" and r.levelno == logging.WARNING]
    for line in failures:
        print(line)
    assert failures == [
        f"feed {c_url}: failed: could not fetch: connection refused; next try in 2m (1 failure in a row)",
        f"feed {a_url}: failed: HTTP 503 Service Unavailable; next try in 2m (1 failure in a row)",
        f"feed {c_url}: failed: could not fetch: connection refused; next try in 4m (2 failures in a row)",
        f"feed {a_url}: failed: HTTP 503 Service Unavailable; next try in 4m (2 failures in a row)",
    ]


@pytest.mark.slow
def test_the_state_survives_a_restart_of_the_watcher(feed_site: FeedSite, local: Settings, ingestor) -> None:
    a = Entry("a", "Scam compound raided", story("scam compound"))
    url = feed_site.add("/feed.xml", rss(feed_site.base, [a]), content_type="application/rss+xml", ETag='"v1"')
    other = feed_site.add("/other.xml", atom(feed_site.base, [Entry("o", "Other", story("other"))]),
                          content_type="application/atom+xml")
    first = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=Clock())
    assert counts(first.poll_all()[0]) == (1, 0, 0)
    saved = json.loads(state_path(local).read_text(encoding="utf-8"))
    assert saved["version"] == 1 and saved["feeds"][url]["etag"] == '"v1"'

    clock = Clock(Clock().now + 10)  # a new process, ten seconds later: the schedule carries over
    again = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=clock)
    assert again.status() == first.status() == read_status(local)
    assert again.poll_due() == []
    clock.advance(EVERY)
    [result] = again.poll_due()
    assert result.not_modified and counts(result) == (0, 0, 1)
    assert feed_site.conditions[-1] == ("/feed.xml", '"v1"', None)

    # Without validators the remembered entries still say "unchanged": nothing fetched, nothing embedded.
    feed_site.add("/feed.xml", rss(feed_site.base, [a]), content_type="application/rss+xml")
    restarted = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=clock)
    [result] = restarted.poll_all()
    assert counts(result) == (0, 0, 1) and result.chunks_embedded == 0

    # A watcher of another feed keeps this one's state in the file.
    FeedWatcher(local, [other], every=EVERY, ingestor=ingestor, clock=clock).poll_all()
    assert [s.url for s in read_status(local)] == [url, other]
    assert read_status(local)[0].total_ingested == 1


@pytest.mark.slow
def test_a_stop_during_a_poll_leaves_the_rest_for_the_next(feed_site: FeedSite, local: Settings, ingestor) -> None:
    page = (DATA / "scam-raid.html").read_bytes()
    entries = []
    for n in range(3):
        link = feed_site.add(f"/story-{n}.html", page.replace(b"scam-compound-raid", f"raid-{n}".encode())
                             .replace(b"Police raid scam compound near border town", f"Raid number {n}".encode()))
        entries.append(Entry(f"s{n}", f"Raid number {n}", "Short teaser.", link=link))
    url = feed_site.add("/feed.xml", rss(feed_site.base, entries), content_type="application/rss+xml", ETag='"v1"')
    stop = threading.Event()
    feed_site.on_request = lambda path: stop.set() if path == "/story-0.html" else None
    watcher = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=Clock())

    [result] = watcher.poll_all(stop)
    assert result.stopped and counts(result) == (1, 0, 0)
    assert "/story-1.html" not in feed_site.requests
    assert result.line().endswith("; stopped before the end (the rest at the next poll)")
    [status] = read_status(local)
    assert status.etag is None  # so the next poll reads the whole feed, not a 304
    assert status.next_poll == status.last_poll  # and comes at once

    stop.clear()
    feed_site.on_request = lambda path: None
    [result] = watcher.poll_due(stop)
    assert counts(result) == (2, 0, 1) and not result.stopped
    assert len(ingestor.store.list_articles()) == 3


@pytest.mark.slow
def test_an_entry_that_fails_is_tried_again_and_keeps_the_feed_unvalidated(feed_site: FeedSite, local: Settings,
                                                                            ingestor) -> None:
    teaser = Entry("t", "Raid story", "Short teaser.", link=feed_site.base + "/raid.html")
    full = Entry("f", "Fraud ring charged", story("fraud ring"))
    feed_site.add("/raid.html", "busy", content_type="text/plain", status=503)
    url = feed_site.add("/feed.xml", rss(feed_site.base, [teaser, full]), content_type="application/rss+xml",
                        ETag='"v1"')
    clock = Clock()
    watcher = FeedWatcher(local, [url], every=EVERY, ingestor=ingestor, clock=clock)
    [result] = watcher.poll_due()
    assert (result.new, result.failed, result.ok) == (1, 1, False)
    assert result.errors == ((feed_site.base + "/raid.html", "HTTP 503 Service Unavailable"),)
    [status] = read_status(local)
    assert status.last_error == f"1 entry not ingested: {feed_site.base}/raid.html: HTTP 503 Service Unavailable"
    assert status.consecutive_failures == 0 and status.etag is None

    feed_site.add("/raid.html", (DATA / "scam-raid.html").read_bytes())
    clock.advance(EVERY)
    [result] = watcher.poll_due()
    assert counts(result) == (1, 0, 1) and result.ok and not result.not_modified
    assert read_status(local)[0].last_error is None and read_status(local)[0].etag == '"v1"'


# --- state file, durations, OPML -----------------------------------------------------------------------


def test_read_status_of_a_missing_or_corrupt_state_is_empty(local: Settings,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    assert read_status(local) == []
    path = state_path(local)
    path.parent.mkdir(parents=True)
    for corrupt in ("{not json", '{"version": 1, "feeds": []}', '{"version": 1, "feeds": {"u": {"etag": 3}}}',
                    '{"version": 1, "feeds": {"u": {"last_poll": "yesterday"}}}', "\xff\xfe", "[]"):
        path.write_text(corrupt, encoding="latin-1")
        caplog.clear()
        assert read_status(local) == []
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert str(path) in caplog.records[0].getMessage()
    watcher = FeedWatcher(local, ["https://news.example.org/rss"], every=EVERY)  # starts afresh
    assert [(s.url, s.last_poll) for s in watcher.status()] == [("https://news.example.org/rss", None)]
    assert "starting afresh" in caplog.records[-1].getMessage()


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30s", "15m", "1h", "1h30m", "90", "1.5h", " 2D ")] == [
        30, 900, 3600, 5400, 90, 5400, 172800]
    for bad in ("", "15x", "m15", "0s", "-5m", "1 h 2"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert [describe_duration(s) for s in (30, 900, 3600, 5400, 0, 86400 + 61)] == [
        "30s", "15m", "1h", "1h30m", "0s", "1d1m1s"]


def test_a_stop_flag_ends_a_wait_within_its_tick() -> None:
    flag = StopFlag(tick=0.01)
    assert flag.wait(0.02) is False
    threading.Timer(0.05, flag.set).start()
    started = time.monotonic()
    assert flag.wait(600) is True and time.monotonic() - started < 60  # 60: a busy machine, not the tick
    assert flag.is_set() and flag.wait(600) is True


def test_opml_feeds_and_what_is_not_opml(tmp_path: Path) -> None:
    good = tmp_path / "feeds.opml"
    good.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>'
        '<outline text="News"><outline text="A" type="rss" xmlUrl="https://a.example/rss"/>'
        '<outline text="B" xmlUrl=" https://b.example/atom.xml "/></outline>'
        '<outline text="A again" xmlUrl="https://a.example/rss"/><outline text="no feed"/></body></opml>',
        encoding="utf-8")
    assert read_opml(good) == ["https://a.example/rss", "https://b.example/atom.xml"]
    cases = {"broken.opml": ("<opml><body><outline xmlUrl='x'></body>", "malformed OPML: mismatched tag"),
             "rss.opml": ("<rss version='2.0'><channel/></rss>", "not an OPML file (its root element is <rss>)"),
             "empty.opml": ("<opml><body><outline text='x'/></body></opml>", "no feed in the OPML file")}
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(IngestError) as raised:
            read_opml(tmp_path / name)
        assert str(raised.value).startswith(f"{tmp_path / name}: {message}")
    with pytest.raises(IngestError, match="could not read"):
        read_opml(tmp_path / "missing.opml")


# --- the command -------------------------------------------------------------------------------------


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(settings.store_dir), NEWSDESK_COLLECTION=settings.collection,
               NEWSDESK_ALLOW_NETWORKS="127.0.0.1/32", NEWSDESK_FETCH_TIMEOUT="30")
    return env


def _watch(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "watch", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_command_refuses_a_malformed_opml_and_a_feed_file(tmp_path: Path, local: Settings) -> None:
    bad = tmp_path / "feeds.opml"
    bad.write_text("<opml><body><outline xmlUrl='https://a.example/rss'></body>", encoding="utf-8")
    run = _watch(["--opml", str(bad), "--once"], _env(local), timeout=300)
    assert run.returncode == 2
    assert run.stderr.startswith(f"error: {bad}: malformed OPML: mismatched tag: line 1")
    run = _watch(["--feed", str(tmp_path / "feed.xml"), "--every", "1h"], _env(local), timeout=300)
    assert run.returncode == 2 and "watch takes http(s) feed URLs" in run.stderr
    run = _watch(["--feed", "https://a.example/rss", "--every", "soon"], _env(local), timeout=300)
    assert run.returncode == 2 and "invalid duration 'soon'" in run.stderr
    run = _watch([], _env(local), timeout=300)
    assert run.returncode == 2 and "give at least one --feed URL or --opml FILE" in run.stderr
    assert not state_path(local).exists()


@pytest.mark.slow
def test_the_command_stops_on_sigterm_and_once_polls_and_exits(feed_site: FeedSite, local: Settings,
                                                                tmp_path: Path) -> None:
    entries = [Entry("a", "Scam compound raided", story("scam compound")),
               Entry("b", "Fraud ring charged", story("fraud ring"))]
    url = feed_site.add("/feed.xml", rss(feed_site.base, entries), content_type="application/rss+xml", ETag='"v1"')
    env = _env(local)
    errors = (tmp_path / "stderr.txt").open("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "ingest", "watch", "--feed", url, "--every", "1h"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()
    try:
        line = lines.get(timeout=600)  # the first poll loads the model: generous on a busy machine
        assert line.startswith(f"feed {url}: 2 new, 0 changed, 0 unchanged; ") and "chunks embedded" in line
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
        stopped_in = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    errors.seek(0)
    stderr = errors.read()
    print(f"stopped {stopped_in:.2f}s after SIGTERM; stderr: {stderr}")
    assert code == 0, stderr
    assert "stopping after the current entry" in stderr and stderr.rstrip().endswith("stopped")
    json.loads(state_path(local).read_text(encoding="utf-8"))
    [status] = read_status(local)
    assert (status.url, status.etag, status.total_ingested, status.last_error) == (url, '"v1"', 2, None)
    assert not list(state_path(local).parent.glob(".*.tmp"))

    # --once, for cron: the watched feed answers 304 (nothing to embed), the OPML's other feed is down: status 1.
    down = feed_site.add("/down.xml", "unavailable", content_type="text/plain", status=503)
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml version="2.0"><body><outline xmlUrl="{url}"/><outline xmlUrl="{down}"/></body></opml>',
                    encoding="utf-8")
    run = _watch(["--opml", str(opml), "--once"], env)
    assert run.returncode == 1, run.stderr
    assert run.stdout == f"feed {url}: 0 new, 0 changed, 2 unchanged (304 not modified)\n"
    assert f"feed {down}: failed: HTTP 503 Service Unavailable; next try in 30m (1 failure in a row)" in run.stderr
    assert [s.url for s in read_status(local)] == [url, down]
