"""The JSON API on the running server: ask, list, read, ingest and delete (`/api/...`; OpenAPI at `/docs`).

Everything here is untrusted input, as on the web page: ingest takes uploaded files and http(s) URLs
only (`app.library` -> `ingest.gate`), request bodies are size-capped while they are read, and the
login is the page's (`app.login`). `POST /api/ask` returns what `python -m app ask --json` prints.
"""

import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from app.assistant import MAX_QUESTION_CHARS, QuestionError
from app.conversation import Turn
from app.export import answer_json, render
from app.retrieval import Filters
from core.errors import NewsdeskError
from core.records import ArticleInfo
from core.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from app.assistant import Assistant
    from app.library import Library

logger = logging.getLogger(__name__)

MAX_UPLOAD_FILES = 100
MAX_FORM_FIELDS = 200
MEDIA_TYPES = {"markdown": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}

AssistantFor = Callable[[str | None], "Assistant"]
"""The assistant answering in a mode ("extractive", "openai", ...; None: the server's default)."""


class HistoryTurn(BaseModel):
    question: str = Field(max_length=4 * MAX_QUESTION_CHARS)
    answer: str = Field(default="", max_length=100_000)


class AskRequest(BaseModel):
    question: str = Field(description="the question", max_length=4 * MAX_QUESTION_CHARS)
    since: date | None = Field(default=None, description="only articles published on or after this day")
    until: date | None = Field(default=None, description="only articles published on or before this day")
    sources: list[str] = Field(default_factory=list, max_length=100, description="only these outlets (hosts)")
    as_of: date | None = Field(default=None, description="answer as of this day: only articles published by then, "
                               "and the question's 'last week' or 'latest' read from it (default: today)")
    timeline: bool = Field(default=False, description="answer as dated events, oldest first, each a cited sentence")
    since_last: date | None = Field(default=None, description="what is new since this day: sentences of later "
                                    "articles that the earlier ones did not already say")
    k: int | None = Field(default=None, ge=1, le=100, description="passages to retrieve")
    mode: str | None = Field(default=None, description="answerer: extractive, or the configured LLM")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=50,
                                       description="earlier exchanges, oldest first, to read a follow-up in")
    format: Literal["json", "markdown", "csv"] = Field(default="json", description="the response's format")


def filters_of(since: date | None, until: date | None, sources: list[str] | tuple[str, ...]) -> Filters:
    from fastapi import HTTPException

    if since and until and since > until:
        raise HTTPException(400, f"since ({since}) is after until ({until})")
    return Filters(since=since, until=until, sources=tuple(s for s in sources if s.strip()))


def article_json(info: ArticleInfo) -> dict[str, Any]:
    return {"id": info.id, "title": info.title, "url": info.url, "source": info.source,
            "published": info.published.isoformat() if info.published else None, "author": info.author,
            "origin": info.origin, "chunks": info.chunks}


def store_failure(e: NewsdeskError) -> Exception:
    from fastapi import HTTPException

    logger.warning("the store failed for an API request: %s", e)
    return HTTPException(503, str(e))


def api_router(library: "Library", settings: Settings, assistant_for: AssistantFor, *, login: Any) -> "APIRouter":
    """The `/api` routes; `login` is the dependency that checks NEWSDESK_AUTH. (This module has no
    `from __future__ import annotations`: FastAPI reads the handlers' annotations, which name the
    classes imported here.)"""
    from fastapi import APIRouter, Depends, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, PlainTextResponse

    router = APIRouter(prefix="/api", tags=["newsdesk"], dependencies=[Depends(login)])

    @router.post("/ask", summary="Answer a question with a citation for every sentence")
    def ask(body: AskRequest) -> Any:
        filters = filters_of(body.since, body.until, body.sources)
        try:
            assistant = assistant_for(body.mode)
            history = [Turn(t.question, t.answer) for t in body.history]
            answer = assistant.ask(body.question, history=history, filters=filters, k=body.k, as_of=body.as_of,
                                   timeline=body.timeline, since_last=body.since_last)
        except QuestionError as e:
            raise HTTPException(400, str(e)) from e
        except NewsdeskError as e:
            raise store_failure(e) from e
        if body.format == "json":
            return JSONResponse(answer_json(answer))
        return PlainTextResponse(render(answer, body.format), media_type=MEDIA_TYPES[body.format])

    @router.get("/articles", summary="The stored articles (newest first)")
    def articles(q: str = "", source: str = "") -> dict[str, Any]:
        from app.ui_render import matches
        from core.text import source_host

        try:
            found = library.articles()
        except NewsdeskError as e:
            raise store_failure(e) from e
        host = source_host(source) if source.strip() else ""
        shown = [a for a in found if matches(a, q) and (not host or source_host(a.url or a.source) == host)]
        return {"count": len(shown), "articles": [article_json(a) for a in shown]}

    @router.get("/articles/{article_id:path}", summary="One article with its text and its versions")
    def article(article_id: str) -> dict[str, Any]:
        try:
            info = library.article(article_id)
            text = library.text(article_id) if info else None
            history = library.history(article_id) if info else None
        except NewsdeskError as e:
            raise store_failure(e) from e
        if info is None:
            raise HTTPException(404, f"no article {article_id!r}")
        # The versions oldest first (the current one last), and what changed from each to the next.
        changes = history.to_json() if history else {"versions": [], "changes": []}
        return {**article_json(info), "text": text, "versions": changes["versions"], "changes": changes["changes"]}

    @router.delete("/articles/{article_id:path}", summary="Delete one article")
    def delete(article_id: str) -> dict[str, Any]:
        try:
            info, deleted = library.delete(article_id, door="API")
        except NewsdeskError as e:
            raise store_failure(e) from e
        if not deleted:
            raise HTTPException(404, f"no article {article_id!r}")
        return {"deleted": True, "article": article_json(info) if info else {"id": article_id}}

    @router.post("/ingest", summary="Ingest uploaded files, article URLs and feed URLs",
                 openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "properties": {
                         "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                   "description": ".txt .md .html .pdf .jsonl files"},
                         "urls": {"type": "array", "items": {"type": "string"}, "description": "http(s) article URLs"},
                         "feeds": {"type": "array", "items": {"type": "string"}, "description": "http(s) feed URLs"},
                     }}}}}})
    async def ingest(request: Request) -> dict[str, Any]:
        limit = settings.max_upload_mb * 1024 * 1024 * MAX_UPLOAD_FILES
        folder = Path(tempfile.mkdtemp(prefix="newsdesk-api-upload-"))
        try:
            uploads, urls, feeds = await _read_form(request, folder, settings, limit)
            if not uploads and not urls and not feeds:
                raise HTTPException(400, "nothing to ingest: send files, urls or feeds (multipart/form-data)")
            try:
                done = await run_in_threadpool(library.ingest, uploads=uploads, urls=urls, feeds=feeds,
                                               upload_folder=folder, door="API")
            except NewsdeskError as e:
                raise store_failure(e) from e
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return {"summary": done.report.summary(), **done.report.to_json(), "notes": done.notes}

    return router


async def _read_form(request: "Request", folder: Path, settings: Settings, limit: int
                     ) -> tuple[list[Any], list[str], list[str]]:
    """The uploads (saved under `folder`, each in its own subfolder so equal names never collide), URLs
    and feeds of a multipart form; the body is counted as it arrives and refused past `limit`."""
    from fastapi import HTTPException, Request
    from starlette.datastructures import UploadFile

    from ingest.gate import Upload

    kind = request.headers.get("content-type", "")
    if not kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise HTTPException(415, "send the files, urls and feeds as multipart/form-data (urls and feeds alone "
                                 "may also be form-urlencoded)")
    form = await Request(request.scope, receive=_capped(request.receive, limit)).form(
        max_files=MAX_UPLOAD_FILES, max_fields=MAX_FORM_FIELDS)
    uploads: list[Upload] = []
    urls: list[str] = []
    feeds: list[str] = []
    per_file = settings.max_upload_mb * 1024 * 1024
    try:
        for key, value in form.multi_items():
            if key == "files" and isinstance(value, UploadFile):
                target = folder / str(len(uploads)) / "upload"
                target.parent.mkdir()
                await _save(value, target, per_file)
                uploads.append(Upload(target, Path((value.filename or "upload").replace("\\", "/")).name))
            elif key in ("urls", "feeds") and isinstance(value, str):
                (urls if key == "urls" else feeds).extend(line.strip() for line in value.splitlines() if line.strip())
            else:
                raise HTTPException(400, f"unexpected form field {key!r} (expected files, urls, feeds)")
    finally:
        await form.close()
    return uploads, urls, feeds


async def _save(upload: Any, target: Path, limit: int) -> None:
    """Copy an uploaded file to `target`, stopping one byte past `limit` (the gate then reports the file
    as too large, naming it)."""
    written = 0
    with target.open("wb") as out:
        while written <= limit:
            piece = await upload.read(1024 * 1024)
            if not piece:
                break
            out.write(piece[: limit + 1 - written])
            written += len(piece)


def _capped(receive: Callable[[], Awaitable[dict[str, Any]]], limit: int) -> Callable[[], Awaitable[dict[str, Any]]]:
    from fastapi import HTTPException

    seen = 0

    async def counted() -> dict[str, Any]:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise HTTPException(413, f"the request is larger than {limit // (1024 * 1024)} MB")
        return message

    return counted
