"""Newsdesk as an OpenAI-compatible "model": `POST /v1/chat/completions` (streamed or not), `GET /v1/models`.

Any OpenAI client or chat front end (Open WebUI, LibreChat) can ask it. The last user message is the
question, earlier user/assistant messages are the conversation it is read in, system messages are ignored
(the answer comes from the articles, not from instructions). The reply's text carries `[n]` markers and
ends with a numbered source list, for clients that show only the text; the same citations come as a
structured `citations` field on the completion (and on the last chunk of a stream).
(No `from __future__ import annotations` here: FastAPI reads the handlers' annotations.)
"""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from app.api import AssistantFor
from app.assistant import QuestionError
from app.conversation import Turn
from app.export import answer_json, citation_json
from core.errors import NewsdeskError
from core.records import Answer, also_reported

if TYPE_CHECKING:
    from fastapi import APIRouter

logger = logging.getLogger(__name__)

MODEL_PREFIX = "newsdesk"
"""Model ids: "newsdesk" (the server's default answerer) and "newsdesk-MODE" for each mode it offers."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields of OpenAI's request that mean something here; the rest (temperature, max_tokens, ...)
    are accepted and ignored, since the answer is quoted, not sampled."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_PREFIX
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


def message_text(message: ChatMessage) -> str:
    """The text of a message (a string, or the text parts of a list of parts)."""
    if isinstance(message.content, str):
        return message.content
    return " ".join(str(part.get("text", "")) for part in message.content or [] if part.get("type") == "text")


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """(question, earlier turns): the last user message, and each earlier user message with the assistant
    reply that followed it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise QuestionError("no user message to answer")
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages[:last]:
        if message.role == "user":
            if pending is not None:
                turns.append(Turn(pending))
            pending = message_text(message)
        elif message.role == "assistant" and pending is not None:
            turns.append(Turn(pending, _without_sources(message_text(message))))
            pending = None
    if pending is not None:
        turns.append(Turn(pending))
    return message_text(messages[last]), turns


def _without_sources(text: str) -> str:
    """An earlier reply of ours without the source list `sources_text` appended to it."""
    return text.split("\n\nSources:\n", 1)[0].split("\n\nClosest passages (not an answer):\n", 1)[0]


def sources_text(answer: Answer) -> str:
    """The numbered sources appended to the reply's text: title, outlet, date, quote, link."""
    if not answer.citations:
        return ""
    lines = ["Closest passages (not an answer):" if answer.abstained else "Sources:"]
    for c in answer.citations:
        facts = ", ".join(p for p in (c.source, c.published.isoformat() if c.published else "undated") if p)
        if c.copies:
            facts += f"; {also_reported(c.copies)}"
        lines.append(f"[{c.n}] {c.title or c.article_id} ({facts}): \u201c{c.quote}\u201d"
                     + (f" {c.url}" if c.url else ""))
    return "\n\n" + "\n".join(lines)


def usage(question: str, reply: str) -> dict[str, int]:
    from core.tokens import count_tokens

    prompt, completion = count_tokens(question), count_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def openai_router(assistant_for: AssistantFor, modes: list[str], *, login: Any) -> "APIRouter":
    """The `/v1` routes; `login` checks NEWSDESK_AUTH (an OpenAI client sends it as its api_key)."""
    from fastapi import APIRouter, Depends
    from fastapi.responses import JSONResponse, StreamingResponse

    router = APIRouter(prefix="/v1", tags=["openai-compatible"], dependencies=[Depends(login)])
    model_ids = [MODEL_PREFIX, *(f"{MODEL_PREFIX}-{m}" for m in modes)]
    created = int(time.time())

    def failure(status: int, message: str, kind: str, param: str | None = None) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}}, status)

    @router.get("/models", summary="The answerers, as models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": m, "object": "model", "created": created, "owned_by": "newsdesk"}
                                           for m in model_ids]}

    @router.post("/chat/completions", summary="Answer the last user message, OpenAI-style")
    def chat(body: ChatRequest) -> Any:
        if body.model not in model_ids:
            return failure(404, f"the model {body.model!r} does not exist (models: {', '.join(model_ids)})",
                           "invalid_request_error", "model")
        mode = body.model[len(MODEL_PREFIX) + 1:] or None
        try:
            question, history = conversation(body.messages)
            assistant = assistant_for(mode)
            events = assistant.stream(question, history=history)
            first = next(events)  # a question that cannot be asked fails here, before a stream starts
        except QuestionError as e:
            return failure(400, str(e), "invalid_request_error", "messages")
        except NewsdeskError as e:
            logger.warning("an OpenAI-style request failed: %s", e)
            return failure(503, str(e), "server_error")
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            return StreamingResponse(_stream(first, events, completion_id, body.model, question),
                                     media_type="text/event-stream")
        answer = _final([first], events)
        reply = answer.text + sources_text(answer)
        return {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": usage(question, reply),
            "citations": [citation_json(c) for c in answer.citations],
            "newsdesk": _extra(answer),
        }

    return router


def _final(seen: list[str | Answer], events: Iterator[str | Answer]) -> Answer:
    for event in [*seen, *events]:
        if isinstance(event, Answer):
            return event
    raise NewsdeskError("the answerer ended without an answer")


def _extra(answer: Answer) -> dict[str, Any]:
    data = answer_json(answer)
    keys = ("standalone_question", "abstained", "mode", "empty_store", "fallback_reason", "verification", "window",
            "notes", "timings_ms")
    return {key: data[key] for key in keys}


def _stream(first: str | Answer, events: Iterator[str | Answer], completion_id: str, model: str,
            question: str) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`. An LLM's streamed draft can
    differ from its verified answer (a sentence dropped or corrected): the verified text then follows."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    shown: list[str] = []
    answer = None
    try:
        for event in [first, *events]:
            if isinstance(event, Answer):
                answer = event
            else:
                shown.append(event)
                yield chunk({"content": event})
    except Exception as e:  # the stream has started: say so in the text, the log has the traceback
        logger.error("a streamed OpenAI-style answer failed", exc_info=True)
        reason = str(e) if isinstance(e, NewsdeskError) else "an unexpected error (the server log has details)"
        yield chunk({"content": f"\n\n[Newsdesk could not finish this answer: {reason}]"}, "stop")
        yield "data: [DONE]\n\n"
        return
    assert answer is not None
    tail = ""
    if " ".join("".join(shown).split()) != " ".join(answer.text.split()):
        tail = f"\n\nVerified answer:\n{answer.text}"
    tail += sources_text(answer)
    reply = "".join(shown) + tail
    yield chunk({"content": tail} if tail else {}, "stop", usage=usage(question, reply),
                citations=[citation_json(c) for c in answer.citations], newsdesk=_extra(answer))
    yield "data: [DONE]\n\n"
