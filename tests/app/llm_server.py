"""A scripted chat model behind a real HTTP server on 127.0.0.1, for testing LLM backends.

It speaks two wire protocols:

- the OpenAI chat-completions API: `POST /v1/chat/completions`, a JSON `chat.completion` reply, or
  with `"stream": true` server-sent events (`data: {chat.completion.chunk}` ... `data: [DONE]`);
- the Ollama chat API: `POST /api/chat`, one JSON object, or with `"stream": true` (Ollama's
  default) newline-delimited JSON objects ending with `"done": true`.

Tests queue replies with `script(...)`: a text, or a function of the prompt (the concatenated
message contents) returning the text, so a reply can cite the passage number the prompt actually
gave a fact. `fail(status)` queues an HTTP error. Every request is recorded in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[str], str]


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def prompt(self) -> str:
        """All message contents joined, system first."""
        return "\n\n".join(_content(m) for m in self.messages)

    def role(self, role: str) -> str:
        return "\n\n".join(_content(m) for m in self.messages if m.get("role") == role)

    @property
    def streamed(self) -> bool:
        return bool(self.body.get("stream"))


def _content(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


@dataclass
class _Scripted:
    reply: Reply = ""
    status: int = 200


@dataclass
class ScriptedLLM:
    """The state shared by the handler threads: queued replies and recorded requests."""

    default: Reply = "The passages do not answer this question."
    model: str = "scripted-model"
    token_delay: float = 0.0
    """Seconds between streamed pieces (lets a test see pieces arrive before the reply ends)."""
    queue: deque[_Scripted] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Reply) -> None:
        with self.lock:
            self.queue.extend(_Scripted(r) for r in replies)

    def fail(self, status: int = 500, message: str = "scripted server failure") -> None:
        with self.lock:
            self.queue.append(_Scripted(message, status))

    def next(self, request: Recorded) -> _Scripted:
        with self.lock:
            self.requests.append(request)
            scripted = self.queue.popleft() if self.queue else _Scripted(self.default)
        if callable(scripted.reply):
            return _Scripted(scripted.reply(request.prompt), scripted.status)
        return scripted


def pieces(text: str) -> list[str]:
    """Split a reply into token-like pieces (a word with the space before it)."""
    return re.findall(r"\s*\S+", text) or [text]


class _Handler(BaseHTTPRequestHandler):
    server: "LLMServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("", "/api/tags", "/v1/models"):
            self._json(200, {"models": [{"name": self.server.llm.model}],
                             "data": [{"id": self.server.llm.model, "object": "model"}]})
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": "request body is not JSON"})
            return
        request = Recorded(self.path, body, {k.lower(): v for k, v in self.headers.items()})
        if self.path.rstrip("/").endswith("/chat/completions"):
            self._openai(request)
        elif self.path.rstrip("/") == "/api/chat":
            self._ollama(request)
        else:
            self._json(404, {"error": f"no route {self.path}"})

    # -- OpenAI --------------------------------------------------------------------------------

    def _openai(self, request: Recorded) -> None:
        scripted = self.server.llm.next(request)
        if scripted.status != 200:
            self._json(scripted.status, {"error": {"message": scripted.reply, "type": "server_error", "code": None}})
            return
        text = str(scripted.reply)
        ident, created, model = f"chatcmpl-{len(self.server.llm.requests)}", int(time.time()), self.server.llm.model
        if not request.streamed:
            self._json(200, {
                "id": ident, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(request.prompt.split()), "completion_tokens": len(pieces(text)),
                          "total_tokens": len(request.prompt.split()) + len(pieces(text))},
            })
            return
        self._start_stream("text/event-stream")

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            data = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(data)}\n\n".encode()

        self._send_chunk(chunk({"role": "assistant", "content": ""}, None))
        for piece in pieces(text):
            self._pause()
            self._send_chunk(chunk({"content": piece}, None))
        self._send_chunk(chunk({}, "stop"))
        self._send_chunk(b"data: [DONE]\n\n")
        self._end_stream()

    # -- Ollama --------------------------------------------------------------------------------

    def _ollama(self, request: Recorded) -> None:
        scripted = self.server.llm.next(request)
        if scripted.status != 200:
            self._json(scripted.status, {"error": scripted.reply})
            return
        text, model = str(scripted.reply), request.body.get("model") or self.server.llm.model
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        done = {"model": model, "created_at": stamp, "done": True, "done_reason": "stop", "total_duration": 1000,
                "load_duration": 10, "prompt_eval_count": len(request.prompt.split()), "prompt_eval_duration": 100,
                "eval_count": len(pieces(text)), "eval_duration": 500}
        if request.body.get("stream") is False:
            self._json(200, {**done, "message": {"role": "assistant", "content": text}})
            return
        self._start_stream("application/x-ndjson")
        for piece in pieces(text):
            self._pause()
            line = {"model": model, "created_at": stamp, "message": {"role": "assistant", "content": piece},
                    "done": False}
            self._send_chunk((json.dumps(line) + "\n").encode())
        self._send_chunk((json.dumps({**done, "message": {"role": "assistant", "content": ""}}) + "\n").encode())
        self._end_stream()

    # -- HTTP plumbing -------------------------------------------------------------------------

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _pause(self) -> None:
        if self.server.llm.token_delay:
            time.sleep(self.server.llm.token_delay)


class LLMServer(ThreadingHTTPServer):
    """`with LLMServer() as server:` serves on a free loopback port in a daemon thread."""

    daemon_threads = True

    def __init__(self, llm: ScriptedLLM | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.llm = llm or ScriptedLLM()
        self._thread = threading.Thread(target=self.serve_forever, name="scripted-llm", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def __enter__(self) -> "LLMServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    # Shortcuts to the script.
    def script(self, *replies: Reply) -> None:
        self.llm.script(*replies)

    def fail(self, status: int = 500, message: str = "scripted server failure") -> None:
        self.llm.fail(status, message)

    @property
    def requests(self) -> list[Recorded]:
        return self.llm.requests
