"""Load articles from files, folders, URLs, RSS/Atom feeds and JSONL; bad input becomes a `Loaded` error."""

from __future__ import annotations

import codecs
import ipaddress
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from core.errors import IngestError
from core.records import Article
from core.settings import Settings
from core.text import outlet_prefix, replace_surrogates, unprintable
from ingest.clean import clean_text, has_prose

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
USER_AGENT = "NewsdeskQA/0.1"
MAX_REDIRECTS = 5
MIN_FEED_CONTENT_WORDS = 80
"""A feed entry whose own content is shorter than this is fetched from its link instead."""

_HEADER_LINES = 6
_MAX_HEADER_WORDS = 15
_SOURCE_LINE = re.compile(r"^(?:source|outlet|publisher)\s*:\s*(?P<value>.{2,100})$", re.IGNORECASE)
_BY_LINE = re.compile(r"^by\s+(?P<value>[^\W\d_][^.!?]{1,80})$", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"^(?:published|dateline|date|posted|updated)\s*(?:on)?\s*:?\s*", re.IGNORECASE)
_TIME_SUFFIX = re.compile(
    r"[\sT,]+\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:[ap]\.?m\.?)?\s*(?:z|[+-]\d{2}:?\d{2}|[a-z]{2,5})?$", re.IGNORECASE
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")


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


def _mb(size: int) -> str:
    """A byte count for people: "200.0 MB", "1.0 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


def _too_large(what: str, size: str, settings: Settings) -> str:
    return f"{what} too large: {size} (limit {_mb(settings.max_source_bytes)}, NEWSDESK_MAX_SOURCE_BYTES)"


# --- dates and small text helpers ---------------------------------------------------------------


def parse_date(value: str) -> date | None:
    """A date from "2025-11-04", "2025/11/04", "November 4, 2025", "4 Nov 2025", "Nov. 4, 2025" (+ time)."""
    if len(value) > 100:  # no date is this long; _TIME_SUFFIX takes quadratic time on a long "TTT..." line
        return None
    text = _TIME_SUFFIX.sub("", " ".join(value.split()).strip(" .,"))
    text = re.sub(r"\bsept\b", "sep", re.sub(r"[.,]", "", text), flags=re.IGNORECASE)
    for fmt in _DATE_FORMATS:
        try:
            found = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 1900 <= found.year <= 2100:
            return found
    return None


def parse_date_value(value: object) -> date | None:
    """A JSON/feed date: ISO date or datetime, "2022/06/12", English month names; None when blank or unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        pass
    parsed = parse_date(value)
    if parsed is None:
        logger.debug("ignoring unrecognised date %r", value)
    return parsed


def _one_line(value: object) -> str:
    """A metadata value on one line, without control characters or lone surrogates."""
    return " ".join(_CONTROLS.sub(" ", replace_surrogates(str(value))).split()) if value else ""


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _word_count(text: str) -> int:
    return len(text.split())


# --- decoding -------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_TEXT_CONTROLS = set(b"\t\n\r\f\b\x1b")


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in _TEXT_CONTROLS)
    return controls > len(sample) * 0.05


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: BOM, UTF-8, a declared charset, then charset detection. Raises ValueError."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as e:
                raise ValueError(f"invalid {encoding} text: {e.reason}") from e
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if _looks_binary(data):
        raise ValueError("binary file (not text)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            logger.debug("declared charset %r does not decode the data", declared)
    return _detect(data)


def _utf16_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 saved without a byte order mark (Windows tools do), else None.

    Its zero bytes (the high byte of every space, digit and Latin letter) fall on odd offsets
    (little-endian) or on even ones (big-endian), but for the few characters such as U+AC00 whose low
    byte is zero; a binary file's fall on both. Korean or Latin text always has enough of them (spaces,
    punctuation). It must then decode to text without control characters."""
    sample = data[:8192]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd >= 0.05 * pairs and even * 4 <= odd:
        encoding = "utf-16-le"
    elif even >= 0.05 * pairs and odd * 4 <= even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data[: len(data) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None
    head = text[:4096]
    controls = sum(1 for ch in head if ord(ch) < 32 and ord(ch) not in _TEXT_CONTROLS)
    return text if controls <= len(head) * 0.05 else None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ValueError("could not detect the text encoding")
    logger.debug("detected encoding %s", best.encoding)
    return str(best)


def _read_checked(path: Path, settings: Settings) -> bytes:
    """The file's bytes, refusing empty and oversized files before reading them."""
    size = path.stat().st_size
    if size > settings.max_source_bytes:
        raise ValueError(_too_large("file", _mb(size), settings))
    if size == 0:
        raise ValueError("empty file")
    return path.read_bytes()


def _decode_text(data: bytes, declared: str | None = None) -> str:
    text = decode_bytes(data, declared)
    if not text.strip():
        raise ValueError("empty file (only whitespace)")
    return text


# --- plain text -------------------------------------------------------------------------------------


@dataclass
class TextHeader:
    """Metadata taken from the first lines of a plain-text article."""

    title: str = ""
    published: date | None = None
    source: str = ""
    author: str = ""


def _header_line(line: str, header: TextHeader) -> bool:
    """Take a date, "Source: X" or "By Name" line into `header`; True when it was one."""
    value = line.strip().strip("*_").strip()
    if header.published is None and (found := parse_date(_DATE_PREFIX.sub("", value))):
        header.published = found
    elif not header.source and (m := _SOURCE_LINE.match(value)):
        header.source = m.group("value").strip()
    elif not header.author and (m := _BY_LINE.match(value)) and _word_count(m.group("value")) <= 6:
        header.author = m.group("value").strip()
    else:
        return False
    return True


def _split_header(lines: list[str], markdown: bool) -> tuple[TextHeader, list[str]]:
    """Title (first non-empty line) and header lines (date, source, byline) removed from the body."""
    header = TextHeader()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return header, []
    title = lines[first].strip()
    if _word_count(title) > 40:  # the file starts with a paragraph: no title line
        return header, lines
    header.title = clean_text(title.lstrip("#").strip() if markdown else title)
    body = lines[first + 1:]
    seen = 0
    for i, line in enumerate(body):
        if seen >= _HEADER_LINES or _word_count(line) > _MAX_HEADER_WORDS:
            break
        seen += bool(line.strip())
        if line.strip() and _header_line(line, header):
            body[i] = ""
    return header, body


def parse_plain_text(raw: str, *, markdown: bool = False) -> tuple[TextHeader, str]:
    """Split a plain-text article into header metadata and its cleaned body."""
    lines = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", raw).split("\n")  # the line breaks clean_text knows
    header, body_lines = _split_header(lines, markdown)
    body = clean_text("\n".join(body_lines))
    first_line_end = body.find("\n") if "\n" in body else len(body)
    if body and not header.source and (m := outlet_prefix(body, 0, first_line_end, article_start=True)):
        header.source = m.group("outlet").strip()
    return header, body


def _plain_article(raw: str, *, markdown: bool, id: str, url: str, origin: str, fallback_title: str,
                   source: str = "") -> Article:
    header, body = parse_plain_text(raw, markdown=markdown)
    if not body:
        raise ValueError("no article text found" + (" (only a title)" if header.title else ""))
    return Article(id=id, text=body, title=header.title or fallback_title, url=url,
                   source=header.source or source, published=header.published, author=header.author,
                   origin=origin)


# --- HTML --------------------------------------------------------------------------------------------


@dataclass
class _Html:
    text: str
    title: str
    published: date | None
    author: str
    sitename: str
    url: str


def extract_html(html: str | bytes, url: str | None = None) -> _Html:
    """Main text and metadata of an HTML page (trafilatura). Raises ValueError when there is no text."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      favor_precision=True, include_tables=True, deduplicate=False)
    if doc is None:
        raise ValueError("no article text found in HTML")
    data: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    title = _one_line(data.get("title"))
    paragraphs = [line.strip() for line in (data.get("text") or "").split("\n") if line.strip()]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline is the title, not the first paragraph
    text = clean_text("\n\n".join(paragraphs))
    if not has_prose(text):  # trafilatura falls back to menus and links when a page has no article
        raise ValueError("no article text found in HTML")
    return _Html(text=text, title=title, published=parse_date_value(data.get("date")),
                 author=_one_line(data.get("author")), sitename=_sitename(data.get("sitename")),
                 url=_canonical(data.get("url"), url))


def _sitename(value: object) -> str:
    """The site's name; a bare host (trafilatura's fallback) loses its port and "www."."""
    name = _one_line(value)
    if re.fullmatch(r"[\w.-]+\.[\w-]+(:\d+)?|[\d.]+:\d+", name):
        return name.split(":")[0].lower().removeprefix("www.")
    return name


def _canonical(found: object, base: str | None) -> str:
    """An absolute http(s) URL without fragment, or "" when none is known."""
    if not isinstance(found, str) or not found:
        return urldefrag(base)[0] if base else ""
    absolute = urljoin(base or "", found.strip())
    if urlsplit(absolute).scheme not in ("http", "https"):
        return urldefrag(base)[0] if base else ""
    return urldefrag(absolute)[0]


_BLOCK_TAGS = frozenset("p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table section article pre figure".split())


class _TextOnly(HTMLParser):
    """Minimal HTML to text for feed content: blocks become paragraphs, scripts and styles vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    """Cleaned text of an HTML fragment (feed content or summary)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return clean_text("".join(parser.parts))


def _declared_charset(data: bytes) -> str | None:
    m = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", data[:4096], re.IGNORECASE)
    return m.group(1).decode("ascii") if m else None


def _html_file_article(data: bytes, *, id: str, origin: str, fallback_title: str) -> Article:
    """An HTML file's article; a page that names its canonical URL is that URL's article."""
    page = extract_html(_decode_text(data, _declared_charset(data)))
    return Article(id=page.url or id, text=page.text, title=page.title or fallback_title, url=page.url,
                   source=page.sitename, published=page.published, author=page.author, origin=origin)


# --- PDF ---------------------------------------------------------------------------------------------


def extract_pdf(data: bytes) -> tuple[str, str, str]:
    """(text, title, author) of a PDF. Raises ValueError for encrypted, broken or image-only PDFs."""
    from io import BytesIO

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted PDF (a password is needed)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
    except (PdfReadError, PyPdfError) as e:
        raise ValueError(f"unreadable PDF: {e}") from e
    except (KeyError, TypeError, AttributeError, RecursionError) as e:
        raise ValueError(f"unreadable PDF: {type(e).__name__}: {e}") from e
    text = clean_text("\n\n".join(pages))
    if not text:
        raise ValueError("no text found in PDF (a scanned PDF needs OCR first)")
    title = _one_line(meta.title if meta else "") or text.split("\n", 1)[0][:200]
    return text, title, _one_line(meta.author if meta else "")


def _pdf_article(data: bytes, *, id: str, url: str, origin: str, source: str = "") -> Article:
    text, title, author = extract_pdf(data)
    return Article(id=id, text=text, title=title, url=url, source=source, author=author, origin=origin)


# --- files, folders, JSONL ---------------------------------------------------------------------------


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip()


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


def _load_single_file(path: Path, ext: str, settings: Settings) -> Article:
    data = _read_checked(path, settings)
    resolved = path.resolve()
    return article_from_bytes(data, ext, id="file://" + resolved.as_posix(), origin=str(resolved),
                              fallback_title=_title_from_name(path))


def article_from_bytes(data: bytes, ext: str, *, id: str, origin: str, fallback_title: str) -> Article:
    """The article in a file's bytes, by its extension (.txt .md .html .htm .pdf). Raises ValueError."""
    if ext in (".html", ".htm"):
        return _html_file_article(data, id=id, origin=origin, fallback_title=fallback_title)
    if ext == ".pdf":
        return _pdf_article(data, id=id, url="", origin=origin)
    return _plain_article(_decode_text(data), markdown=ext == ".md", id=id, url="", origin=origin,
                          fallback_title=fallback_title)


def load_jsonl(path: Path, settings: Settings) -> Iterator[Loaded]:
    """One `Loaded` per non-blank line of a JSONL file with fields id/url/title/text/published/source."""
    try:
        size = path.stat().st_size
        if size > settings.max_source_bytes:
            yield failed(str(path), _too_large("file", _mb(size), settings))
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
            yield guarded(f"{label}:{number}", lambda raw=raw, number=number: _jsonl_article(raw, number, origin))


JSONL_TEXT_FIELDS = ("url", "title", "source", "author", "published")
"""Optional JSONL fields; each must be a string (or null) when present."""


def _jsonl_article(raw: bytes, number: int, origin: str) -> Article:
    """One JSONL line's article. A wrong type or an unusable id is refused with the line and field named;
    lone surrogates and control characters in text and titles are replaced or removed."""
    try:
        record = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"line {number}: invalid JSON: {e}") from e
    if not isinstance(record, dict):
        raise ValueError(f"line {number}: expected a JSON object, got {_json_type(record)}")
    text = record.get("text")
    if text is None:
        raise ValueError(f"line {number}: missing field 'text'")
    if not isinstance(text, str):
        raise ValueError(f"line {number}: field 'text' must be a string, got {_json_type(text)}")
    for name in JSONL_TEXT_FIELDS:
        if record.get(name) is not None and not isinstance(record[name], str):
            raise ValueError(f"line {number}: field '{name}' must be a string, got {_json_type(record[name])}")
    article_id = _jsonl_id(record, number)
    cleaned = clean_text(text)
    if not cleaned:
        raise ValueError(f"line {number}: no article text after cleaning")
    return Article(id=article_id, text=cleaned, title=_one_line(record.get("title")),
                   url=_one_line(record.get("url")), source=_one_line(record.get("source")),
                   published=parse_date_value(record.get("published")), author=_one_line(record.get("author")),
                   origin=origin)


def _jsonl_id(record: dict[str, Any], number: int) -> str:
    """The line's article id: `id` (a string, or an integer), else `url`. Never altered to make it fit: an id
    holding a control character or a lone surrogate is refused, since it could be neither shown nor deleted."""
    value, field = (record.get("id"), "id") if record.get("id") not in (None, "") else (record.get("url"), "url")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"line {number}: field '{field}' must be a string, got {_json_type(value)}")
    article_id = " ".join((value or "").split())  # as ids have always been read: whitespace runs are one space
    if not article_id:
        raise ValueError(f"line {number}: missing field 'id' (and no 'url' to use instead)")
    bad = unprintable(article_id)
    if bad:
        raise ValueError(f"line {number}: field '{field}' contains a control character or a broken character "
                         f"({bad}); ids must be printable text")
    if len(article_id) > MAX_ID_CHARS:
        raise ValueError(f"line {number}: field '{field}' is {len(article_id)} characters long (the limit is "
                         f"{MAX_ID_CHARS})")
    return article_id


MAX_ID_CHARS = 2000
"""The longest article id accepted (a long URL fits; a whole article pasted as an id does not)."""


def _json_type(value: object) -> str:
    """A JSON value's type in JSON's words: "a list", "an object", "a number"."""
    if value is None:
        return "null"
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


# --- fetching URLs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """A fetched response body (at most `max_source_bytes`) and where it finally came from."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


def _refusal(host: str, address: str) -> str:
    shown = address if host.strip("[]") == address else f"{host} is {address}"
    return (f"refusing to fetch a private or loopback address: {shown} (set NEWSDESK_ALLOW_PRIVATE_URLS=true, "
            "or add its network to NEWSDESK_ALLOW_NETWORKS, to allow)")


def _check_url(url: str, settings: Settings) -> None:
    """Refuse non-http(s) URLs, and IP-literal hosts that are not allowed, before anything is sent.

    Host names are checked where they are resolved, in `_VettingBackend`, right before connecting,
    so that the address checked is the address connected to.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("only http and https URLs are supported")
    try:
        _ = parts.port
    except ValueError as e:
        raise ValueError(f"invalid URL: {e}") from e
    try:
        ipaddress.ip_address(parts.hostname.split("%", 1)[0])
    except ValueError:
        return  # a name: checked when it is resolved
    if not _address_allowed(parts.hostname, settings):
        raise ValueError(_refusal(parts.hostname, parts.hostname))


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# IANA special-purpose ranges, listed here because `is_global` depends on the Python patch release
# (3.11.7 counts 192.0.0.8, 192.0.0.0/24 outside /29, as global).
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4", "64:ff9b:1::/48", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
    "5f00::/16",
))


def _effective_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address a packet really goes to: IPv6 forms that carry an IPv4 address are judged by it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return ip.ipv4_mapped
        if ip.sixtofour:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for private, loopback, link-local, CGNAT,
    unspecified, multicast, reserved and site-local ones (IPv4-mapped/6to4/NAT64 by their IPv4)."""
    ip = _effective_ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return False  # loopback, unspecified, unique local, link-local, site-local, multicast, reserved
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return False
    return not any(ip in network for network in _NOT_PUBLIC)


def _address_allowed(address: str, settings: Settings) -> bool:
    if settings.allow_private_urls or _is_public(address):
        return True
    ips = {ipaddress.ip_address(address.split("%", 1)[0]), _effective_ip(address)}
    return any(ip in network for ip in ips for network in settings.allow_networks)


Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal is returned as is, without a lookup)."""
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise ValueError(f"could not fetch: cannot resolve host '{host}'") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _VettingBackend:
    """An httpcore network backend that resolves a host once, refuses it when any of its addresses
    is not allowed, and connects to the vetted address itself: no second lookup, so DNS rebinding
    between the check and the connection is impossible. TLS (SNI, certificate) and the Host header
    still use the name, since httpcore passes the origin's name to `start_tls`."""

    def __init__(self, settings: Settings, resolve: Resolver = resolve_host) -> None:
        import httpcore

        self._settings = settings
        self._resolve = resolve
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> Any:
        import httpcore

        host = host.strip("[]")
        addresses = self._resolve(host, port)
        for address in addresses:
            if not _address_allowed(address, self._settings):
                raise ValueError(_refusal(host, address))
        if not addresses:
            raise ValueError(f"could not fetch: cannot resolve host '{host}'")
        error: Exception | None = None
        for address in addresses:
            try:
                return self._tcp.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise ValueError("only http and https URLs are supported")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def vetting_transport(settings: Settings, resolve: Resolver = resolve_host) -> Any:
    """An `httpx.HTTPTransport` whose every connection goes through `_VettingBackend`."""
    import httpcore
    import httpx

    transport = httpx.HTTPTransport(trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):  # httpx is pinned to 0.28
        raise RuntimeError("httpx.HTTPTransport no longer wraps an httpcore.ConnectionPool: update vetting_transport")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), keepalive_expiry=5.0,
        network_backend=_VettingBackend(settings, resolve),  # type: ignore[arg-type]
    )
    return transport


def fetch(url: str, settings: Settings, *, resolve: Resolver = resolve_host) -> Fetched:
    """GET `url` following up to 5 redirects (each one checked), streaming at most `max_source_bytes`.

    No proxy or .netrc from the environment is used: a proxy would resolve and connect on its own,
    out of reach of the address check.
    """
    import httpx

    deadline = time.monotonic() + settings.fetch_timeout
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,application/xml,*/*;q=0.8",
               "Accept-Encoding": accept_encoding()}
    transport = vetting_transport(settings, resolve)
    try:
        with httpx.Client(transport=transport, timeout=settings.fetch_timeout, headers=headers,
                          follow_redirects=False, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                _check_url(url, settings)
                with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(str(response.url), response.headers["location"])
                        continue
                    return _read_response(response, settings, deadline)
    except httpx.TimeoutException as e:
        raise ValueError(f"could not fetch: timed out after {settings.fetch_timeout:g}s") from e
    except httpx.InvalidURL as e:
        raise ValueError(f"invalid URL: {e}") from e
    except (httpx.HTTPError, httpx.StreamError, OSError, UnicodeError) as e:
        raise ValueError(f"could not fetch: {_describe_http_error(e)}") from e
    raise ValueError(f"too many redirects (more than {MAX_REDIRECTS})")


def _describe_http_error(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if "refused" in text.lower():
        return "connection refused"
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def _read_response(response: Any, settings: Settings, deadline: float) -> Fetched:
    if response.status_code >= 400:
        raise ValueError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
    limit = settings.max_source_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValueError(_too_large("response", _mb(int(declared)), settings))
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
    body = bytearray()
    try:
        for piece in decoded(response.iter_raw(), [e for e in encodings if e and e != "identity"]):
            body += piece
            if len(body) > limit:
                raise ValueError(_too_large("response", f"more than {_mb(limit)}", settings)
                                 + (" once decompressed" if encodings != [""] else ""))
            if time.monotonic() > deadline:
                raise ValueError(f"could not fetch: timed out after {settings.fetch_timeout:g}s")
    except DecodeError as e:
        raise ValueError(f"could not fetch: {e}") from e
    content_type = response.headers.get("content-type", "")
    return Fetched(url=str(response.url), content_type=content_type.split(";")[0].strip().lower(),
                   charset=response.charset_encoding, body=bytes(body))


# --- content encodings -------------------------------------------------------------------------------

PIECE_BYTES = 64 * 1024
"""Decompressed bytes produced at a time, so a reader can stop at its limit as soon as it is passed."""

ZSTD_MAX_WINDOW = 8 * 1024 * 1024
"""The largest zstd window accepted (RFC 8878 limits HTTP's to 8 MB): a frame may not make us allocate more."""


class DecodeError(Exception):
    """A response's Content-Encoding is unknown or its compressed data is corrupt."""


def accept_encoding() -> str:
    """The encodings `decoded` can undo here, for the Accept-Encoding header."""
    return ", ".join(name for name in ("gzip", "deflate", "br", "zstd") if _available(name))


def decoded(raw: Iterable[bytes], encodings: Sequence[str]) -> Iterator[bytes]:
    """`raw` with its content encodings (in the order they were applied) undone, in pieces of at most
    `PIECE_BYTES`. Decompressing piece by piece is what caps a compressed response: httpx decodes each
    network read whole, so a 32 kB zstd body became 2 GB in memory before any size check could run."""
    stream: Iterable[bytes] = raw
    for name in reversed(encodings):
        if name not in _DECODERS or not _available(name):
            raise DecodeError(f"unsupported content encoding '{name}'")
        stream = _DECODERS[name](stream)
    return iter(stream)


def _available(name: str) -> bool:
    module = {"br": "brotli", "zstd": "zstandard"}.get(name)
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _inflate(raw: Iterable[bytes], gzip: bool) -> Iterator[bytes]:
    """gzip (members one after another) or deflate (zlib-wrapped, or raw as some servers send it)."""
    import zlib

    d: Any = None
    for data in raw:
        while data:
            if d is None:
                raw_deflate = not gzip and (len(data) < 2 or data[0] & 0x0F != 8 or int.from_bytes(data[:2]) % 31)
                d = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else -zlib.MAX_WBITS if raw_deflate
                                       else zlib.MAX_WBITS)
            try:
                out = d.decompress(data, PIECE_BYTES)
            except zlib.error as e:
                raise DecodeError(f"the {'gzip' if gzip else 'deflate'} data is corrupt ({e})") from e
            if out:
                yield out
            data = d.unconsumed_tail
            if d.eof:
                data, d = d.unused_data, None  # a next gzip member, or trailing bytes
                if not gzip:
                    return
    if d is not None:
        tail = d.flush()
        if tail:
            yield tail


def _unbrotli(raw: Iterable[bytes]) -> Iterator[bytes]:
    import brotli

    d = brotli.Decompressor()
    try:
        for data in raw:
            yield d.process(data, output_buffer_limit=PIECE_BYTES)
            while not d.can_accept_more_data():
                yield d.process(b"", output_buffer_limit=PIECE_BYTES)
    except brotli.error as e:
        raise DecodeError(f"the br data is corrupt ({e})") from e


class _Chunks:
    """A file-like `read(n)` over an iterator of byte strings (what zstandard's stream reader reads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        out, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        return out


def _unzstd(raw: Iterable[bytes]) -> Iterator[bytes]:
    import zstandard

    reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
        _Chunks(raw), read_across_frames=True)
    try:
        while piece := reader.read(PIECE_BYTES):
            yield piece
    except zstandard.ZstdError as e:
        raise DecodeError(f"the zstd data is corrupt or needs too much memory ({e})") from e


_DECODERS: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
    "gzip": lambda raw: _inflate(raw, gzip=True),
    "x-gzip": lambda raw: _inflate(raw, gzip=True),
    "deflate": lambda raw: _inflate(raw, gzip=False),
    "br": _unbrotli,
    "zstd": _unzstd,
}


_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml")
_XML_TYPES = ("application/xml", "text/xml")


def _kind(fetched: Fetched) -> str:
    """What a response holds: "feed", "html", "pdf", "text", or "" when unsupported."""
    head = fetched.body[:2048].lstrip().lower()
    ctype = fetched.content_type
    looks_feed = head.startswith(b"<?xml") and re.search(rb"<(rss|feed|rdf:rdf)\b", head) is not None
    if ctype in _FEED_TYPES or looks_feed or (ctype in _XML_TYPES and re.search(rb"<(rss|feed|rdf:rdf)\b", head)):
        return "feed"
    if ctype == "application/pdf" or head.startswith(b"%pdf-"):
        return "pdf"
    if ctype in ("text/html", "application/xhtml+xml") or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if ctype in ("text/plain", "text/markdown"):
        return "text"
    return ""


def _fetched_article(fetched: Fetched, kind: str, origin: str) -> Article:
    final = urldefrag(fetched.url)[0]
    if kind == "html":
        body = _decode_text(fetched.body, fetched.charset or _declared_charset(fetched.body))
        page = extract_html(body, url=final)
        url = page.url or final
        return Article(id=url, text=page.text, title=page.title, url=url, source=page.sitename or _host(url),
                       published=page.published, author=page.author, origin=origin)
    if kind == "pdf":
        return _pdf_article(fetched.body, id=final, url=final, origin=origin, source=_host(final))
    raw = _decode_text(fetched.body, fetched.charset)
    return _plain_article(raw, markdown=fetched.content_type == "text/markdown", id=final, url=final,
                          origin=origin, fallback_title="", source=_host(final))


def load_web(url: str, settings: Settings, *, allow_feed: bool = True) -> Iterator[Loaded]:
    """Load an http(s) URL: an article page yields one `Loaded`, a feed yields one per entry."""
    try:
        fetched = fetch(url, settings)
        kind = _kind(fetched)
    except ValueError as e:
        yield failed(url, str(e))
        return
    if kind == "feed" and allow_feed:
        yield from _feed_entries(fetched.body, url, base=fetched.url, settings=settings)
    elif kind == "feed":
        yield failed(url, "expected an article page but got an RSS/Atom feed")
    elif not kind:
        yield failed(url, f"unsupported content type '{fetched.content_type or 'unknown'}'")
    else:
        yield guarded(url, lambda: _fetched_article(fetched, kind, origin=url))


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
    yield from _feed_entries(data, location, base=None, settings=settings)


def load_feed_url(url: str, settings: Settings) -> Iterator[Loaded]:
    """Articles of an RSS/Atom feed fetched from an http(s) URL (anything else is refused by `fetch`)."""
    try:
        fetched = fetch(url, settings)
    except ValueError as e:
        yield failed(url, str(e))
        return
    yield from _feed_entries(fetched.body, url, base=fetched.url, settings=settings)


def _feed_entries(data: bytes, location: str, *, base: str | None, settings: Settings) -> Iterator[Loaded]:
    from io import BytesIO

    import feedparser

    headers = {"content-location": base} if base else {}
    # A stream, never bytes or str: feedparser would try those as a file name or URL first.
    parsed = feedparser.parse(BytesIO(data), response_headers=headers)
    if not parsed.entries:
        yield failed(location, _empty_feed_reason(parsed))
        return
    feed_source = _one_line(parsed.feed.get("title")) or _host(base or parsed.feed.get("link", ""))
    for number, entry in enumerate(parsed.entries, start=1):
        label = entry.get("link") or f"{location}#entry-{number}"
        try:
            yield _feed_entry(entry, number, feed_source, location, settings)
        except (ValueError, IngestError) as e:
            yield failed(label, getattr(e, "reason", None) or str(e))
        except Exception as e:
            logger.warning("unexpected error loading feed entry %s", label, exc_info=True)
            yield failed(label, f"unexpected error: {type(e).__name__}: {e}")


def _empty_feed_reason(parsed: Any) -> str:
    """Why a feed gave no entries, e.g. "malformed feed: syntax error (line 2, column 0)"."""
    from xml.sax import SAXException

    error = parsed.get("bozo_exception")
    if isinstance(error, SAXException):
        m = re.match(r"<unknown>:(\d+):(\d+):\s*(.*)", str(error))
        return "malformed feed: " + (f"{m.group(3)} (line {m.group(1)}, column {m.group(2)})" if m else str(error))
    return "feed has no entries" if parsed.version else "malformed feed: not RSS or Atom"


def _entry_date(entry: Any) -> date | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    return date(*stamp[:3]) if stamp else None


def _feed_entry(entry: Any, number: int, feed_source: str, location: str, settings: Settings) -> Loaded:
    link = _canonical(entry.get("link"), None)
    content = entry["content"][0].get("value", "") if entry.get("content") else entry.get("summary", "")
    text = html_to_text(content or "")
    title = _one_line(entry.get("title"))
    published = _entry_date(entry)
    if _word_count(text) >= MIN_FEED_CONTENT_WORDS:
        article_id = link or _one_line(entry.get("id")) or f"{location}#{title}"
        article = Article(id=article_id, text=text, title=title, url=link, source=feed_source,
                          published=published, author=_one_line(entry.get("author")), origin=location)
        return Loaded(source=link or location, article=article)
    if not link:
        raise ValueError(f"entry {number} has no link and too little text ({_word_count(text)} words)")
    loaded = load_url(link, settings)
    if loaded.article is None:
        return loaded
    page = loaded.article
    return replace(loaded, article=replace(page, title=title or page.title, published=published or page.published,
                                           source=feed_source or page.source, origin=location))


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
