"""The login of the programmatic doors (JSON API, OpenAI-compatible endpoint, MCP): the same NEWSDESK_AUTH
as the web page, sent as HTTP Basic (`user:password`) or as a bearer token whose value is `user:password`
(what an OpenAI client sends as its `api_key`). Without NEWSDESK_AUTH every door is open, as the page is.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from core.settings import Settings

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

CHALLENGE = 'Basic realm="Newsdesk QA", charset="UTF-8"'


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    """NEWSDESK_AUTH as the (user, password) the web page's login form checks."""
    if not settings.auth:
        return None
    user, _, password = settings.auth.partition(":")
    return user, password


def authorized(header: str | None, settings: Settings) -> bool:
    """Whether an Authorization header carries the login (always, when none is set)."""
    if not settings.auth:
        return True
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return secrets.compare_digest(value.encode("utf-8"), settings.auth.encode("utf-8"))


REFUSAL = b'{"detail":"sign in: NEWSDESK_AUTH as HTTP Basic, or as a bearer token user:password"}'


class Guarded:
    """An ASGI app behind the login: a request without it gets 401 and never reaches the app. (A class,
    not a function: Starlette's `Route` serves a plain function as a request handler, an object as ASGI.)"""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not authorized(headers.get("authorization"), self.settings):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", CHALLENGE.encode())]})
                await send({"type": "http.response.body", "body": REFUSAL})
                return
        await self.app(scope, receive, send)
