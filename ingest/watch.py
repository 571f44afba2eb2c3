"""`python -m ingest watch`: RSS/Atom feeds polled on a schedule, ingesting only what is new or changed.

Each poll is a conditional request (If-None-Match and If-Modified-Since with what the feed sent last time),
so a feed that has not changed answers 304 and costs nothing. Each entry is remembered by its id (else its
link) with a digest of its link, title, text and updated date: an unchanged entry is neither fetched again
nor embedded; a new or changed one goes through the normal `Ingestor` (which embeds only content that
changed). A feed that fails waits twice as long after each failure in a row, up to `MAX_BACKOFF` (never
less than the interval), and the other feeds keep their schedule. Every feed's state is one JSON file in
the store folder (`state_path`), replaced atomically after each poll; the UI reads it with `read_status`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ConfigError, IngestError, NewsdeskError
from core.files import write_atomically
from core.settings import Settings
from ingest.feeds import Feed, FeedEntry, parse_feed
from ingest.fetch import fetch
from ingest.loaders import Loaded, load_feed_entry

if TYPE_CHECKING:
    from ingest.pipeline import Ingestor

logger = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0
"""The longest wait after failures in a row, in seconds (unless the interval itself is longer)."""

STATE_VERSION = 1


# --- durations, OPML, stopping -----------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "30s", "15m", "1h", "1h30m" or "90" (seconds); at least 1 s."""
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    elif re.fullmatch(r"(\d+(\.\d+)?[smhd])+", value):
        seconds = sum(float(n) * _UNITS[unit] for n, _, unit in re.findall(r"(\d+(\.\d+)?)([smhd])", value))
    else:
        raise ValueError(f"invalid duration {text!r} (examples: 30s, 15m, 1h, 1h30m)")
    if seconds < 1:
        raise ValueError(f"duration {text!r} is shorter than 1s")
    return seconds


def describe_duration(seconds: float) -> str:
    """"1h", "15m", "1m30s": a whole number of seconds, as `parse_duration` reads it."""
    left, parts = max(0, round(seconds)), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    if left or not parts:
        parts.append(f"{left}s")
    return "".join(parts)


def read_opml(path: Path) -> list[str]:
    """The feed URLs of an OPML file (every outline's xmlUrl, nested ones included, in order, once each).

    Raises IngestError naming the file when it cannot be read, is not OPML or lists no feed."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as e:
        raise IngestError(str(path), f"malformed OPML: {e}") from e
    except OSError as e:
        raise IngestError(str(path), f"could not read: {e.strerror or e}") from e
    tag = root.tag.rsplit("}", 1)[-1]
    if tag.lower() != "opml":
        raise IngestError(str(path), f"not an OPML file (its root element is <{tag}>)")
    urls = [(o.get("xmlUrl") or o.get("xmlurl") or "").strip() for o in root.iter() if _is_outline(o.tag)]
    found = list(dict.fromkeys(u for u in urls if u))
    if not found:
        raise IngestError(str(path), "no feed in the OPML file (no outline with an xmlUrl)")
    return found


def _is_outline(tag: Any) -> bool:
    return isinstance(tag, str) and tag.rsplit("}", 1)[-1].lower() == "outline"


class Stop(Protocol):
    """What the watcher asks about stopping; `threading.Event` is one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class StopFlag:
    """A stop request that a signal handler may set. A plain attribute and no lock: a handler that waited for
    a lock held by the code it interrupted would hang (`threading.Event.set` takes one). `wait` sleeps in
    slices of `tick` seconds, so a request made meanwhile is noticed within one."""

    def __init__(self, tick: float = 0.25) -> None:
        self._requested = False
        self._tick = tick

    def set(self) -> None:
        self._requested = True

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(self._tick, left))
        return self._requested


# --- state -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedStatus:
    """One watched feed as the UI lists it (times in UTC)."""

    url: str
    title: str = ""
    """The feed's title, else its site's host; "" before its first successful poll."""
    etag: str | None = None
    last_modified: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    """Why the last poll failed, or which of its entries could not be ingested (they are tried again at the
    next poll); None when it all went well."""
    consecutive_failures: int = 0
    next_poll: datetime | None = None
    last_ingested: int = 0
    """New and changed entries ingested by the last poll."""
    total_ingested: int = 0


@dataclass
class _FeedState:
    url: str
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None
    last_success: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_poll: float = 0.0
    last_ingested: int = 0
    total_ingested: int = 0
    entries: dict[str, str] = field(default_factory=dict)
    """Entry key -> digest of every entry ingested and still in the feed."""

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "etag": self.etag, "last_modified": self.last_modified,
                "last_poll": _iso(self.last_poll), "last_success": _iso(self.last_success),
                "last_error": self.last_error, "consecutive_failures": self.consecutive_failures,
                "next_poll": _iso(self.next_poll), "last_ingested": self.last_ingested,
                "total_ingested": self.total_ingested, "entries": self.entries}

    @classmethod
    def from_json(cls, url: str, data: Any) -> _FeedState:
        """Raises ValueError on anything but what `to_json` writes."""
        if not isinstance(data, dict):
            raise ValueError(f"feed {url}: not an object")
        entries = data.get("entries", {})
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise ValueError(f"feed {url}: entries is not an object of digests")
        return cls(url=url, title=_text(data, "title") or "", etag=_text(data, "etag"),
                   last_modified=_text(data, "last_modified"), last_poll=_time(data, "last_poll"),
                   last_success=_time(data, "last_success"), last_error=_text(data, "last_error"),
                   consecutive_failures=_count(data, "consecutive_failures"),
                   next_poll=_time(data, "next_poll") or 0.0, last_ingested=_count(data, "last_ingested"),
                   total_ingested=_count(data, "total_ingested"), entries=dict(entries))

    def status(self) -> FeedStatus:
        return FeedStatus(url=self.url, title=self.title, etag=self.etag, last_modified=self.last_modified,
                          last_poll=_utc(self.last_poll), last_success=_utc(self.last_success),
                          last_error=self.last_error, consecutive_failures=self.consecutive_failures,
                          next_poll=_utc(self.next_poll) if self.last_poll is not None else None,
                          last_ingested=self.last_ingested, total_ingested=self.total_ingested)


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat()


def _utc(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} is not a count")
    return value


def _time(data: dict[str, Any], key: str) -> float | None:
    value = _text(data, key)
    if value is None:
        return None
    stamp = datetime.fromisoformat(value)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def state_path(settings: Settings) -> Path:
    """The watch state of the store `settings` name: in the store folder, one file a collection (and server)."""
    return settings.store_dir / "watch" / f"{settings.store_key}.json"


def _read_raw(path: Path) -> dict[str, Any]:
    """The state file's feeds (url -> record, unchecked). Raises OSError, ValueError."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(data.get("feeds"), dict):
        raise ValueError(f"not a feed watch state file (version {STATE_VERSION})")
    return data["feeds"]


def _read_states(path: Path) -> dict[str, _FeedState]:
    """Every feed in the state file. Raises FileNotFoundError, OSError, ValueError."""
    try:
        return {url: _FeedState.from_json(url, record) for url, record in _read_raw(path).items()}
    except (TypeError, KeyError, AttributeError, OverflowError) as e:
        raise ValueError(str(e)) from e


def read_status(settings: Settings) -> list[FeedStatus]:
    """The watched feeds of this store, with their last poll and last error, in the order they were given.

    A missing state file (no feed watched yet) gives []; so does an unreadable or corrupt one, with a warning.
    Never raises."""
    path = state_path(settings)
    try:
        states = _read_states(path)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        logger.warning("ignoring the feed watch state %s: %s", path, e)
        return []
    return [state.status() for state in states.values()]


# --- polls -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollResult:
    """What one poll of one feed did. Entry counts are entries of the feed; `chunks_embedded` is the
    Ingestor's."""

    url: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    """Entries no longer in the feed: the watcher forgets them, their articles stay in the store."""
    failed: int = 0
    """Entries that could not be ingested (their page could not be fetched, ...): tried again next poll."""
    not_modified: bool = False
    chunks_embedded: int = 0
    errors: tuple[tuple[str, str], ...] = ()
    """(source, error) of each entry that failed."""
    error: str | None = None
    """Why the poll failed as a whole (the feed is down, not a feed, ...)."""
    failures: int = 0
    """Failures of this feed in a row, this one included."""
    retry_in: float | None = None
    stopped: bool = False
    """A stop was asked for during the poll: the entries not read yet wait for the next one."""

    @property
    def ingested(self) -> int:
        return self.new + self.changed

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def line(self) -> str:
        """One line for people: "feed URL: 3 new, 1 changed, 0 unchanged; 14 chunks embedded"."""
        if self.error is not None:
            retry = f"; next try in {describe_duration(self.retry_in)}" if self.retry_in is not None else ""
            return f"feed {self.url}: failed: {self.error}{retry} ({_plural(self.failures, 'failure')} in a row)"
        text = f"feed {self.url}: {self.new} new, {self.changed} changed, {self.unchanged} unchanged"
        if self.not_modified:
            return text + " (304 not modified)"
        if self.failed:
            text += f", {self.failed} failed (tried again next poll)"
        if self.removed:
            text += f", {self.removed} gone from the feed (kept in the store)"
        text += f"; {_plural(self.chunks_embedded, 'chunk')} embedded"
        return text + ("; stopped before the end (the rest at the next poll)" if self.stopped else "")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def entry_key(entry: FeedEntry) -> str:
    """What identifies an entry across polls: its id, else its link, else its title."""
    return entry.entry_id or entry.link or (f"title:{entry.title}" if entry.title else f"entry-{entry.number}")


def entry_digest(entry: FeedEntry) -> str:
    """Changes when the entry's link, title, text, updated date or published date does."""
    parts = [entry.link, entry.title, entry.text, entry.updated, entry.published.isoformat() if entry.published else ""]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Todo:
    key: str
    digest: str
    entry: FeedEntry
    new: bool


class FeedWatcher:
    """Polls feeds into one store. Time comes from `clock` (seconds since the epoch), so a test can move it.

    `poll_due` polls the feeds whose time has come, `poll_all` every feed now, `run` polls on schedule until
    stopped. An `ingestor` is built from `settings` the first time something is to be ingested."""

    def __init__(self, settings: Settings, feeds: Sequence[str], *, every: float, ingestor: Ingestor | None = None,
                 clock: Callable[[], float] = time.time, max_backoff: float = MAX_BACKOFF) -> None:
        if every <= 0:
            raise ValueError("the poll interval must be positive")
        if not feeds:
            raise ValueError("no feed to watch")
        self.settings = settings
        self.every = every
        self.max_backoff = max_backoff
        self.path = state_path(settings)
        self._clock = clock
        self._ingestor = ingestor
        self._feeds = self._load(list(dict.fromkeys(feeds)))

    @property
    def feeds(self) -> list[str]:
        return list(self._feeds)

    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            from ingest.pipeline import Ingestor

            self._ingestor = Ingestor.from_settings(self.settings)
        return self._ingestor

    def status(self) -> list[FeedStatus]:
        return [state.status() for state in self._feeds.values()]

    def delay(self, failures: int) -> float:
        """Seconds from a poll to the next after `failures` failures in a row: the interval, doubled for each
        failure, at most `max_backoff` (or the interval, when that is longer)."""
        if failures <= 0:
            return self.every
        return min(self.every * 2.0 ** min(failures, 32), max(self.max_backoff, self.every))

    def seconds_until_due(self) -> float:
        return max(0.0, min(state.next_poll for state in self._feeds.values()) - self._clock())

    def poll_due(self, stop: Stop | None = None,
                 on_poll: Callable[[PollResult], None] | None = None) -> list[PollResult]:
        """Poll every feed whose next poll time has come (a failing feed's comes later and later)."""
        now = self._clock()
        return self._poll_each([u for u, s in self._feeds.items() if s.next_poll <= now], stop, on_poll)

    def poll_all(self, stop: Stop | None = None,
                 on_poll: Callable[[PollResult], None] | None = None) -> list[PollResult]:
        """Poll every feed once, now, whatever its schedule (`--once`)."""
        return self._poll_each(self.feeds, stop, on_poll)

    def run(self, stop: Stop, on_poll: Callable[[PollResult], None] | None = None) -> None:
        """Poll on schedule until `stop` is set; a poll in progress ends after the entry it is reading."""
        while not stop.is_set():
            self.poll_due(stop, on_poll)
            if not stop.is_set():
                stop.wait(self.seconds_until_due())

    def _poll_each(self, urls: Sequence[str], stop: Stop | None,
                   on_poll: Callable[[PollResult], None] | None) -> list[PollResult]:
        results = []
        for url in urls:
            if stop is not None and stop.is_set():
                break
            results.append(self.poll(url, stop))
            if on_poll is not None:
                on_poll(results[-1])
        return results

    def poll(self, url: str, stop: Stop | None = None) -> PollResult:
        """Poll one watched feed now and save the state. A failure is the result's `error`, never raised
        (except a ConfigError: a setting or model that cannot work fails every feed alike)."""
        state = self._feeds[url]
        now = self._clock()
        state.last_poll = now
        try:
            result = self._poll(state, now, stop)
        except ConfigError:
            raise
        except (ValueError, NewsdeskError) as e:  # the feed is down, not a feed, the store unreachable...
            result = self._failed(state, now, str(e))
        except Exception as e:  # a bug met on one feed must not stop the others
            logger.warning("unexpected error polling %s", url, exc_info=True)
            result = self._failed(state, now, f"unexpected error: {type(e).__name__}: {e}")
        self._save()
        return result

    def _poll(self, state: _FeedState, now: float, stop: Stop | None) -> PollResult:
        headers = {"If-None-Match": state.etag or "", "If-Modified-Since": state.last_modified or ""}
        fetched = fetch(state.url, self.settings, headers={k: v for k, v in headers.items() if v})
        if fetched.not_modified:
            state.etag = fetched.etag or state.etag
            state.last_modified = fetched.last_modified or state.last_modified
            return self._succeeded(state, now, PollResult(state.url, unchanged=len(state.entries), not_modified=True))
        feed = parse_feed(fetched.body, fetched.url)
        state.title = feed.source
        current: dict[str, str] = {}
        todo: list[_Todo] = []
        for entry in feed.entries:
            key = entry_key(entry)
            if key in current:
                continue  # the same entry twice in one feed: the first counts
            current[key] = entry_digest(entry)
            if state.entries.get(key) != current[key]:
                todo.append(_Todo(key, current[key], entry, new=key not in state.entries))
        removed = [key for key in state.entries if key not in current]
        for key in removed:
            del state.entries[key]
        result = self._ingest(state, feed, todo, stop)
        result = replace(result, unchanged=len(current) - len(todo), removed=len(removed))
        # Validators are kept only for a feed wholly ingested: a 304 later must not hide an entry left out.
        complete = not result.failed and not result.stopped
        state.etag = fetched.etag if complete else None
        state.last_modified = fetched.last_modified if complete else None
        return self._succeeded(state, now, result)

    def _ingest(self, state: _FeedState, feed: Feed, todo: list[_Todo], stop: Stop | None) -> PollResult:
        if not todo:
            return PollResult(state.url)
        read: list[tuple[_Todo, Loaded]] = []
        stopped = False

        def items() -> Iterator[Loaded]:
            nonlocal stopped
            for item in todo:
                if stop is not None and stop.is_set():
                    stopped = True
                    return
                read.append((item, load_feed_entry(item.entry, feed, state.url, self.settings)))
                yield read[-1][1]

        report = self.ingestor.run(items())
        refused = {error["source"] for error in report.errors}
        new = changed = 0
        for item, loaded in read:
            if loaded.ok and loaded.source not in refused:
                state.entries[item.key] = item.digest
                new += item.new
                changed += not item.new
        return PollResult(state.url, new=new, changed=changed, failed=len(read) - new - changed,
                          chunks_embedded=report.chunks_embedded, stopped=stopped,
                          errors=tuple((error["source"], error["error"]) for error in report.errors))

    def _succeeded(self, state: _FeedState, now: float, result: PollResult) -> PollResult:
        state.consecutive_failures = 0
        state.last_success = now
        state.last_error = None
        if result.errors:
            source, error = result.errors[0]
            more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
            state.last_error = f"{_plural(len(result.errors), 'entry')} not ingested: {source}: {error}{more}"
        state.last_ingested = result.ingested
        state.total_ingested += result.ingested
        state.next_poll = now if result.stopped else now + self.every
        logger.info("%s", result.line())
        return result

    def _failed(self, state: _FeedState, now: float, reason: str) -> PollResult:
        state.consecutive_failures += 1
        state.last_error = reason
        state.last_ingested = 0
        wait = self.delay(state.consecutive_failures)
        state.next_poll = now + wait
        result = PollResult(state.url, error=reason, failures=state.consecutive_failures, retry_in=wait)
        logger.warning("%s", result.line())
        return result

    def _load(self, feeds: list[str]) -> dict[str, _FeedState]:
        try:
            known = _read_states(self.path)
        except FileNotFoundError:
            known = {}
        except (OSError, ValueError) as e:
            logger.warning("starting afresh: ignoring the feed watch state %s: %s", self.path, e)
            known = {}
        states = {}
        for url in feeds:
            state = known.get(url) or _FeedState(url)
            if state.last_poll is not None:  # a shorter interval than last time's applies at once
                state.next_poll = min(state.next_poll, state.last_poll + self.delay(state.consecutive_failures))
            states[url] = state
        return states

    def _save(self) -> None:
        """Write this watcher's feeds into the state file, keeping the other feeds it lists."""
        try:
            try:
                records = _read_raw(self.path)
            except (OSError, ValueError):
                records = {}
            records.update({url: state.to_json() for url, state in self._feeds.items()})
            write_atomically(self.path, json.dumps({"version": STATE_VERSION, "feeds": records},
                                                   ensure_ascii=False, indent=1).encode("utf-8"))
        except OSError as e:
            logger.warning("could not save the feed watch state to %s: %s", self.path, e)
