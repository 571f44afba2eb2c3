"""Load articles from files, folders, URLs, RSS/Atom feeds and JSONL; bad input becomes a `Loaded` error.

The loader holds what every source ends as (`Loaded`) and the dispatch: which reader a source goes to.
The readers are their own modules: `ingest.decoding` (bytes to text), `ingest.formats` (one a format),
`ingest.fetch` (http(s) with the SSRF rules), `ingest.feeds` (RSS and Atom). What comes from the web
page or an API goes through `ingest.gate` instead, which takes URLs and uploads only.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import IngestError
from core.records import Article
from core.settings import Settings
from ingest.feeds import Feed, FeedEntry, entry_article, parse_feed
from ingest.fetch import fetch
from ingest.formats import FILE_EXTENSIONS, article_from_bytes, article_from_response, response_kind
from ingest.formats.jsonl import jsonl_article
from ingest.formats.meta import title_from_name, word_count
from ingest.limits import megabytes, too_large

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (*FILE_EXTENSIONS, ".jsonl")


@dataclass(frozen=True)
class Loaded:
    """One loaded source: an article, or an error naming what is wrong with `source`."""

    source: str
    """What the user would recognise: a file path, a URL, "file.jsonl:LINE", a feed entry's URL."""
    article: Article | None
    error: str | None = None
    folder_error: bool = False
    """The error is about a folder that could not be listed (wholly): an ingest must not prune from it."""

    @property
    def ok(self) -> bool:
        return self.error is None


def failed(source: str, message: str) -> Loaded:
    """A `Loaded` error for `source`."""
    logger.info("could not load %s: %s", source, message)
    return Loaded(source=source, article=None, error=message)


def _supported_list() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS)


def guarded(source: str, load: Callable[[], Article]) -> Loaded:
    """Run `load()` and turn every failure into a `Loaded` error."""
    try:
        return Loaded(source=source, article=load())
    except (ValueError, IngestError) as e:
        return failed(source, getattr(e, "reason", None) or str(e))
    except OSError as e:
        return failed(source, f"could not read: {e.strerror or e}")
    except Exception as e:  # a parser bug must not stop a whole ingest run
        logger.warning("unexpected error loading %s", source, exc_info=True)
        return failed(source, f"unexpected error: {type(e).__name__}: {e}")


def _read_checked(path: Path, settings: Settings) -> bytes:
    """The file's bytes, refusing empty and oversized files before reading them."""
    size = path.stat().st_size
    if size > settings.max_source_bytes:
        raise ValueError(too_large("file", megabytes(size), settings.max_source_bytes))
    if size == 0:
        raise ValueError("empty file")
    return path.read_bytes()


def discover(path: Path, problems: list[Loaded] | None = None) -> list[Path]:
    """A file -> [file]; a folder -> its supported files, recursively and sorted, skipping hidden ones.

    Symbolic links are followed only to files inside the folder: a link to anything outside it (an
    "article" linking to /etc/passwd) is not read. Links to folders are not descended into (the folder's
    own files are found where they are). Each link refused and each subfolder that cannot be listed is
    added to `problems`, as an error naming it."""
    if not path.is_dir():
        return [path]
    root = path.resolve()
    found: list[Path] = []

    def unlistable(error: OSError) -> None:
        if problems is not None:
            where = error.filename or str(path)
            problems.append(Loaded(str(where), None, f"could not list folder: {error.strerror or error}",
                                   folder_error=True))

    for folder, dirs, files in os.walk(path, onerror=unlistable):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not _outside_link(Path(folder) / d, root, problems)]
        for name in files:
            candidate = Path(folder) / name
            if name.startswith("."):
                logger.debug("skipping hidden file %s", candidate)
            elif candidate.suffix.lower() not in SUPPORTED_EXTENSIONS:
                logger.debug("skipping %s: unsupported file type", candidate)
            elif not _outside_link(candidate, root, problems):
                found.append(candidate)
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())


def _outside_link(candidate: Path, root: Path, problems: list[Loaded] | None) -> bool:
    """True (and a problem noted) for a symbolic link whose target is outside `root`, or is broken."""
    if not candidate.is_symlink():
        return False
    try:
        target = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        target = None
    if target is not None and target.is_relative_to(root):
        return False
    if problems is not None:
        what = f"to {target}, outside the folder" if target is not None else "that is broken or loops"
        problems.append(Loaded(str(candidate), None, f"symbolic link {what}: not followed"))
    return True


def load_file(path: Path, settings: Settings) -> Iterator[Loaded]:
    """Load one file: a JSONL file yields one `Loaded` per line, any other file yields one."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        yield failed(str(path), f"unsupported file type '{ext or path.name}' (supported: {_supported_list()})")
    elif ext == ".jsonl":
        yield from load_jsonl(path, settings)
    else:
        yield guarded(str(path), lambda: _load_single_file(path, ext, settings))


def _load_single_file(path: Path, ext: str, settings: Settings) -> Article:
    data = _read_checked(path, settings)
    resolved = path.resolve()
    return article_from_bytes(data, ext, id="file://" + resolved.as_posix(), origin=str(resolved),
                              fallback_title=title_from_name(path))


def load_jsonl(path: Path, settings: Settings) -> Iterator[Loaded]:
    """One `Loaded` per non-blank line of a JSONL file with fields id/url/title/text/published/source."""
    try:
        size = path.stat().st_size
        if size > settings.max_source_bytes:
            yield failed(str(path), too_large("file", megabytes(size), settings.max_source_bytes))
            return
        handle = path.open("rb")
    except OSError as e:
        yield failed(str(path), f"could not read: {e.strerror or e}")
        return
    with handle:
        yield from jsonl_records(handle, label=str(path), origin=str(path.resolve()))


def jsonl_records(lines: Iterable[bytes], *, label: str, origin: str) -> Iterator[Loaded]:
    """One `Loaded` per non-blank line, each named "LABEL:LINE"."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield guarded(f"{label}:{number}", lambda raw=raw, number=number: jsonl_article(raw, number, origin))


def load_web(url: str, settings: Settings, *, allow_feed: bool = True) -> Iterator[Loaded]:
    """Load an http(s) URL: an article page yields one `Loaded`, a feed yields one per entry."""
    try:
        fetched = fetch(url, settings)
        kind = response_kind(fetched.body, fetched.content_type)
    except ValueError as e:
        yield failed(url, str(e))
        return
    if kind == "feed" and allow_feed:
        yield from _feed_items(fetched.body, url, base=fetched.url, settings=settings)
    elif kind == "feed":
        yield failed(url, "expected an article page but got an RSS/Atom feed")
    elif not kind:
        yield failed(url, f"unsupported content type '{fetched.content_type or 'unknown'}'")
    else:
        yield guarded(url, lambda: article_from_response(fetched.body, kind, url=fetched.url, origin=url,
                                                         content_type=fetched.content_type,
                                                         charset=fetched.charset))


def load_url(url: str, settings: Settings) -> Loaded:
    """Fetch one article page (HTML, plain text or PDF). A feed URL is an error here: use `load_feed`."""
    return next(load_web(url, settings, allow_feed=False))


# --- feeds -------------------------------------------------------------------------------------------


def load_feed(location: str, settings: Settings) -> Iterator[Loaded]:
    """Articles of an RSS/Atom feed given by URL or local file; entries with short content are fetched."""
    if "://" in location:
        yield from load_feed_url(location, settings)
        return
    path = Path(location).expanduser()
    try:
        data = _read_checked(path, settings)
    except ValueError as e:
        yield failed(location, str(e))
        return
    except OSError as e:
        yield failed(location, "no such file" if not path.exists() else f"could not read: {e.strerror or e}")
        return
    yield from _feed_items(data, location, base=None, settings=settings)


def load_feed_url(url: str, settings: Settings) -> Iterator[Loaded]:
    """Articles of an RSS/Atom feed fetched from an http(s) URL (anything else is refused by `fetch`)."""
    try:
        fetched = fetch(url, settings)
    except ValueError as e:
        yield failed(url, str(e))
        return
    yield from _feed_items(fetched.body, url, base=fetched.url, settings=settings)


def _feed_items(data: bytes, location: str, *, base: str | None, settings: Settings) -> Iterator[Loaded]:
    """One `Loaded` per entry: the entry's own content when it is long enough, else the page at its link,
    with the feed's title, date and outlet."""
    try:
        feed = parse_feed(data, base)
    except ValueError as e:
        yield failed(location, str(e))
        return
    for entry in feed.entries:
        yield load_feed_entry(entry, feed, location, settings)


def load_feed_entry(entry: FeedEntry, feed: Feed, location: str, settings: Settings) -> Loaded:
    """One entry of `feed` (read from `location`, its URL or file): the entry's own content when it is
    long enough, else the page at its link with the entry's title and date and the feed's outlet."""
    label = entry.link or f"{location}#entry-{entry.number}"
    article = None if entry.problem else entry_article(entry, feed, location)
    if entry.problem or article is not None:
        return failed(label, entry.problem) if entry.problem else Loaded(entry.link or location, article)
    if not entry.link:
        return failed(label, f"entry {entry.number} has no link and too little text ({word_count(entry.text)} words)")
    loaded = load_url(entry.link, settings)
    page = loaded.article
    return loaded if page is None else replace(loaded, article=replace(
        page, title=entry.title or page.title, published=entry.published or page.published,
        source=feed.source or page.source, origin=location))


# --- many sources ------------------------------------------------------------------------------------


def load_sources(sources: Sequence[str], settings: Settings, *, jsonl: Sequence[str] = (),
                 feeds: Sequence[str] = ()) -> Iterator[Loaded]:
    """Load URLs, files and folders (`sources`), JSONL files and feeds, in that order."""
    for source in sources:
        yield from _load_source(source, settings)
    for location in jsonl:
        path = Path(location).expanduser()
        if path.is_file():
            yield from load_jsonl(path, settings)
        else:
            yield failed(location, "no such JSONL file" if not path.exists() else "not a file")
    for location in feeds:
        yield from load_feed(location, settings)


def _load_source(source: str, settings: Settings) -> Iterator[Loaded]:
    if re.match(r"^[a-z][a-z0-9+.-]*://", source, re.IGNORECASE):
        if source.split(":", 1)[0].lower() in ("http", "https"):
            yield from load_web(source, settings)
        else:
            yield failed(source, "only http and https URLs are supported")
        return
    path = Path(source).expanduser()
    if not path.exists():
        yield failed(source, "no such file or folder")
        return
    problems: list[Loaded] = []
    files = discover(path, problems)
    yield from problems
    if not files:
        yield failed(source, f"no supported files in folder (supported: {_supported_list()})")
    for file in files:
        yield from load_file(file, settings)

