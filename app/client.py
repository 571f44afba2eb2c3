"""A running server as the CLI's answerer: `python -m app ask` asks it through the JSON API instead of
loading the embedding model in a process of its own (8-30 s) when one serves the same store.

The server writes `server.json` into the store folder once it listens (`ServerRecord.write`) and removes
it when it stops. The CLI reads it, checks that the process is alive and serves the same store (folder,
collection, Chroma server), and then posts the question. `--server URL` names a server explicitly
(another machine, a port forward); `--standalone` never asks one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import NewsdeskError
from core.files import write_atomically
from core.settings import Settings

logger = logging.getLogger(__name__)

RECORD_NAME = "server.json"
ASK_TIMEOUT = 600.0
"""Seconds the CLI waits for a server's answer (an LLM answerer on a busy machine can take minutes)."""


class ServerError(NewsdeskError):
    """The server could not be asked (unreachable, refused the login, or failed)."""


@dataclass(frozen=True)
class ServerRecord:
    """Where a running server listens, and which store it serves."""

    url: str
    pid: int
    store: str
    collection: str
    chroma: str

    @staticmethod
    def identity(settings: Settings) -> dict[str, str]:
        chroma = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else ""
        return {"store": str(Path(settings.store_dir).resolve()), "collection": settings.collection, "chroma": chroma}

    @classmethod
    def for_server(cls, url: str, settings: Settings) -> "ServerRecord":
        return cls(url=url.rstrip("/"), pid=os.getpid(), **cls.identity(settings))

    @staticmethod
    def path(settings: Settings) -> Path:
        return Path(settings.store_dir) / RECORD_NAME

    def write(self, settings: Settings) -> None:
        """Write the record atomically (a reader never sees half of it)."""
        write_atomically(self.path(settings), json.dumps(asdict(self)).encode("utf-8"))

    def remove(self, settings: Settings) -> None:
        """Remove the record if it is still this server's (a newer server may have replaced it)."""
        current = read_record(settings)
        if current is not None and current.pid == self.pid and current.url == self.url:
            self.path(settings).unlink(missing_ok=True)


def read_record(settings: Settings) -> ServerRecord | None:
    try:
        data = json.loads(ServerRecord.path(settings).read_text(encoding="utf-8"))
        return ServerRecord(**{k: data[k] for k in ("url", "pid", "store", "collection", "chroma")})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        logger.warning("ignoring an unreadable %s", ServerRecord.path(settings), exc_info=True)
        return None


def running_server(settings: Settings) -> str | None:
    """The URL of a live server on this machine serving the same store as `settings`, else None."""
    record = read_record(settings)
    if record is None:
        return None
    if {"store": record.store, "collection": record.collection, "chroma": record.chroma} != ServerRecord.identity(
            settings):
        return None
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return None  # a server that was killed left its record behind
    except PermissionError:
        pass  # alive, another user's
    return record.url


def auth_headers(settings: Settings) -> dict[str, str]:
    """The login the server expects (NEWSDESK_AUTH), as HTTP Basic; none when no login is set."""
    if not settings.auth:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(settings.auth.encode("utf-8")).decode("ascii")}


def ask_server(url: str, settings: Settings, question: str, *, since: date | None = None,
               until: date | None = None, sources: tuple[str, ...] = (), k: int | None = None,
               mode: str | None = None, as_of: date | None = None, timeline: bool = False,
               since_last: date | None = None) -> dict[str, Any]:
    """The server's JSON answer (`app.export.answer_json`); raises ServerError when it cannot be had, and
    `QuestionError` when the server refused the question itself. Plain `urllib` (no proxy from the
    environment): importing an HTTP library would cost this quick path a third of a second."""
    import urllib.error
    import urllib.request

    body = {"question": question, "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None, "sources": list(sources), "k": k, "mode": mode,
            "as_of": as_of.isoformat() if as_of else None, "timeline": timeline,
            "since_last": since_last.isoformat() if since_last else None}
    request = urllib.request.Request(f"{url.rstrip('/')}/api/ask", data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json", **auth_headers(settings)})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=ASK_TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        status, detail = e.code, _detail(e.read())
    except (OSError, ValueError) as e:  # refused, unreachable, timed out, not JSON
        raise ServerError(f"cannot reach the server at {url}: {getattr(e, 'reason', None) or e}") from e
    if status in (400, 422):
        from app.assistant import QuestionError

        raise QuestionError(detail)
    if status == 401:
        raise ServerError(f"the server at {url} refused the login (set NEWSDESK_AUTH=user:password as it has)")
    raise ServerError(f"the server at {url} failed ({status}): {detail}")


def _detail(raw: bytes) -> str:
    try:
        detail = json.loads(raw.decode("utf-8")).get("detail")
    except (ValueError, AttributeError):
        return raw.decode("utf-8", "replace")[:300]
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)
