"""The one door for what comes from the web page or an API: http(s) URLs and uploaded files, never a path.

The command line trusts its user: `python -m ingest PATH` reads files and folders of the server. The
web page and the APIs do not: a line typed into the "Article URLs" or "RSS/Atom feeds" box must be an
http(s) URL (fetched through the SSRF-vetted `ingest.fetch`), and a file must arrive as an
upload. An uploaded file keeps its own identity: its article id comes from its content
(`upload:<sha256>`), so two uploads never replace each other because their names look alike
("부산항 기사.txt" and "서울 예산.txt", "Café.txt" and "Cafe.txt", two users' "article.txt"), and it is
shown under the name the user gave it, in titles and in error messages alike. Uploading the same
bytes again changes nothing. Two exceptions keep the identity the file declares: an HTML page that
names its canonical URL is that URL's article, and each line of a JSONL file is the article its `id`
(or `url`) names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from ingest.formats import article_from_bytes
from ingest.formats.meta import title_from_name
from ingest.loaders import SUPPORTED_EXTENSIONS, Loaded, failed, guarded, jsonl_records, load_feed_url, load_web

UPLOAD_PREFIX = "upload:"
"""Article ids of uploaded files start with this, and their `origin` is this plus the user's file name."""

_WEB_ADDRESS = re.compile(r"^https?://[^\s/?#]+", re.IGNORECASE)


@dataclass(frozen=True)
class Upload:
    """A file a user uploaded: where the server holds its bytes, and the name the user knows it by."""

    path: Path
    name: str


def upload_id(data: bytes) -> str:
    """The article id of an uploaded file: its content's hash, so equal bytes are one article."""
    return UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()[:32]


def not_a_web_address(text: str) -> str | None:
    """Why `text` cannot be fetched from the web page, or None for an http(s) URL with a host."""
    if _WEB_ADDRESS.match(text):
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE) and "://" in text:
        return "only http and https URLs are supported"
    return ("not a web address: only http(s) URLs can be entered here; to add a file from your computer, "
            "upload it with Files")


def load_untrusted(settings: Settings, *, uploads: Sequence[Upload] = (), urls: Sequence[str] = (),
                   feeds: Sequence[str] = (), upload_folder: Path | None = None) -> Iterator[Loaded]:
    """Load what a web page or API client sent: uploads, then article URLs (a feed URL there yields its
    entries), then feed URLs. Anything that is not an http(s) URL is refused before it is opened, and
    so is an "upload" outside `upload_folder` (where the web server keeps what users uploaded)."""
    for upload in uploads:
        if upload_folder is not None and not _inside(upload.path, upload_folder):
            yield failed(upload.name, "not an uploaded file: only files uploaded through the page can be ingested")
            continue
        yield from load_upload(upload, settings)
    for location, load in [*((url, load_web) for url in urls), *((feed, load_feed_url) for feed in feeds)]:
        problem = not_a_web_address(location)
        if problem:
            yield failed(location, problem)
        else:
            yield from load(location, settings)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve(strict=True).is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def load_upload(upload: Upload, settings: Settings) -> Iterator[Loaded]:
    """The article(s) of one uploaded file, named by the user's own file name (JSONL: "NAME:LINE")."""
    name = upload.name or upload.path.name
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        yield failed(name, f"unsupported file type {ext or '(none)'} (supported: {', '.join(SUPPORTED_EXTENSIONS)})")
        return
    limit = settings.max_upload_mb * 1024 * 1024
    try:
        size = upload.path.stat().st_size
        if size > limit:
            yield failed(name, f"file too large: {size / (1024 * 1024):.1f} MB (the limit is "
                               f"{settings.max_upload_mb} MB, NEWSDESK_MAX_UPLOAD_MB)")
            return
        if size == 0:
            yield failed(name, "empty file")
            return
        data = upload.path.read_bytes()
    except OSError as e:
        yield failed(name, f"could not read the upload: {e.strerror or e}")
        return
    origin = UPLOAD_PREFIX + name
    if ext == ".jsonl":
        yield from jsonl_records(data.splitlines(keepends=True), label=name, origin=origin)
        return
    yield guarded(name, lambda: article_from_bytes(data, ext, id=upload_id(data), origin=origin,
                                                   fallback_title=title_from_name(Path(name))))
