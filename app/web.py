"""The server's doors in one ASGI app: the JSON API (`/api`), the OpenAI-compatible endpoint (`/v1`), MCP
(`/mcp`), the OpenAPI docs (`/docs`) and the chat page (`/`, Gradio), sharing one assistant, one library
(one write at a time) and one login.

FastAPI routes are registered first, so they match before Gradio, which is mounted at `/` last and
serves everything else. `app.serve` runs the result with uvicorn. (No `from __future__ import
annotations` here: FastAPI reads the login dependency's annotations, which name classes imported in it.)
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from core.settings import Settings

if TYPE_CHECKING:
    import gradio as gr
    from fastapi import FastAPI

    from app.assistant import Assistant
    from app.ui_handlers import NewsdeskUI

TITLE = "Newsdesk QA"


@dataclass
class WebApp:
    app: "FastAPI"
    demo: "gr.Blocks"
    ui: "NewsdeskUI"


def login_dependency(settings: Settings) -> Any:
    """A FastAPI dependency refusing requests without the login (declared as HTTP Basic and bearer, so
    the OpenAPI page offers both under "Authorize")."""
    from fastapi import Depends, HTTPException, Request
    from fastapi.security import HTTPBasic, HTTPBearer

    from app.login import CHALLENGE, authorized

    basic, bearer = HTTPBasic(auto_error=False), HTTPBearer(auto_error=False)

    def login(request: Request, _basic: Annotated[Any, Depends(basic)],
              _bearer: Annotated[Any, Depends(bearer)]) -> None:
        if not authorized(request.headers.get("authorization"), settings):
            raise HTTPException(401, "sign in: NEWSDESK_AUTH as HTTP Basic, or as a bearer token user:password",
                                headers={"WWW-Authenticate": CHALLENGE})

    return login


def build_web_app(assistant: "Assistant", settings: Settings, *, host: str, session_capacity: int) -> WebApp:
    import gradio as gr
    from fastapi import FastAPI
    from starlette.routing import Route

    from app.api import api_router
    from app.library import Library
    from app.login import Guarded, auth_pair
    from app.mcp_tools import build_mcp
    from app.openai_api import openai_router
    from app.ui import build_ui, launch_options
    from app.ui_handlers import NewsdeskUI

    ui = NewsdeskUI(assistant, settings, Library(assistant, settings))
    demo = build_ui(assistant, settings, ui)
    demo.queue(default_concurrency_limit=4)
    demo.state_session_capacity = session_capacity  # read when Gradio's app is created, below

    mcp = build_mcp(ui.assistant_for)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                      host=host)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:  # noqa: RUF029 (the context manager is the point)
        async with mcp.session_manager.run():
            yield

    app = FastAPI(title=TITLE, version="1", lifespan=lifespan, docs_url="/docs", redoc_url=None,
                  openapi_url="/openapi.json",
                  description="Questions about news articles, answered with an exact, cited quote for every "
                              "sentence. The chat page is at `/`; MCP (Streamable HTTP) at `/mcp`.")
    login = login_dependency(settings)
    app.include_router(api_router(ui.library, settings, ui.assistant_for, login=login))
    app.include_router(openai_router(ui.assistant_for, ui.modes, login=login))
    for route in mcp_app.routes:  # the SDK's one endpoint, behind our login
        if isinstance(route, Route):
            app.router.routes.append(Route(route.path, endpoint=Guarded(route.endpoint, settings),
                                           methods=sorted(route.methods) if route.methods else None))
    gr.mount_gradio_app(app, demo, path="/", auth=auth_pair(settings),
                        auth_message="Newsdesk QA: sign in" if settings.auth else None, show_error=False,
                        ssr_mode=False, footer_links=[], **launch_options(settings))
    # Gradio checks that a file given to an event was uploaded (is in its upload folder) only once
    # `has_launched` is set, which `launch()` does and `mount_gradio_app` does not (Gradio's own reloader
    # sets it too). Without it a crafted request could name any server file; the gate refuses it again.
    demo.has_launched = True
    return WebApp(app, demo, ui)
