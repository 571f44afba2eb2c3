"""Newsdesk as MCP tools for agents: `ask` (a cited answer) and `search` (passages), over Streamable HTTP at
`/mcp` on the running server, behind the same login as every other door (`app.login`).

Built with the `mcp` SDK's `MCPServer`; the tools are plain functions the SDK runs in worker threads.
The server is stateless (each request stands alone) and answers in JSON, so any MCP client can call it
without keeping a session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from app.api import AssistantFor
from app.export import answer_json
from app.retrieval import Filters
from core.errors import NewsdeskError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

MAX_SEARCH_K = 50


def _filters(since: str | None, until: str | None, sources: list[str] | None) -> Filters:
    """The filters of a tool call; a malformed or reversed date is an error the agent reads."""
    from mcp.server.mcpserver.exceptions import ToolError

    first, last = _day(since), _day(until)
    if first and last and first > last:
        raise ToolError(f"since ({first}) is after until ({last})")
    return Filters(since=first, until=last, sources=tuple(sources or ()))


def _day(text: str | None) -> date | None:
    """A tool argument's date; a malformed one is an error the agent reads."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        return date.fromisoformat(text) if text else None
    except ValueError as e:
        raise ToolError(f"dates are YYYY-MM-DD: {e}") from e


@contextlib.contextmanager
def _told() -> Iterator[None]:
    """A failure the agent should read (a question that cannot be asked, a store that is down) as a
    `ToolError`: the SDK hides the words of any other exception from the client."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except NewsdeskError as e:
        raise ToolError(str(e)) from e


def build_mcp(assistant_for: AssistantFor) -> "MCPServer":
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer(
        "Newsdesk QA", version="1",
        instructions="Questions about the stored news articles. `ask` answers with a citation (an exact quote "
                     "from an article) for every sentence, or says that the articles do not say; `search` "
                     "returns the passages that match a query.",
    )
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(annotations=read_only)
    def ask(question: str, since: str | None = None, until: str | None = None,
            sources: list[str] | None = None, as_of: str | None = None) -> dict[str, Any]:
        """Answer a question from the stored news articles. Every sentence of `answer` ends with [n] markers
        naming `citations` (exact quotes with title, outlet, date and URL). `abstained` is true when the
        articles do not answer it. Optional: since/until (YYYY-MM-DD, publication dates), sources (outlet
        hosts such as "example.com"), as_of (YYYY-MM-DD: answer as of that day)."""
        with _told():
            answer = assistant_for(None).ask(question, filters=_filters(since, until, sources), as_of=_day(as_of))
        data = answer_json(answer)
        return {key: data[key] for key in ("question", "answer", "abstained", "citations", "window", "notes")}

    @server.tool(annotations=read_only)
    def search(query: str, k: int = 5, since: str | None = None, until: str | None = None,
               sources: list[str] | None = None) -> dict[str, Any]:
        """The passages of stored news articles that best match `query` (best first), with their article's
        title, outlet, date, URL and the passage's character span in the article."""
        from mcp.server.mcpserver.exceptions import ToolError

        if not 1 <= k <= MAX_SEARCH_K:
            raise ToolError(f"k must be between 1 and {MAX_SEARCH_K}")
        if not query.strip():
            raise ToolError("the query is empty")
        assistant = assistant_for(None)
        with _told():
            if assistant.lexical.size == 0:
                return {"query": query, "passages": []}
            found = assistant.retriever.search(query, k=k, filters=_filters(since, until, sources))
        return {"query": query, "passages": [
            {"article_id": h.chunk.article_id, "title": h.chunk.title, "url": h.chunk.url, "source": h.chunk.source,
             "published": h.chunk.published.isoformat() if h.chunk.published else None, "text": h.chunk.text,
             "start": h.chunk.start, "end": h.chunk.end, "score": round(h.score, 6)}
            for h in found.hits]}

    return server
