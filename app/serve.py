"""Starting the UI server: seed an empty store, warm the models, serve, and stop cleanly on Ctrl-C.

Start-up is its own module so it can be read and tested without the page: `prepare` (malloc settings,
the assistant, seeding, warm-up) imports no Gradio; `launch` builds the page (`app.ui`) and serves it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.sessions import SessionReaper, limit_malloc_arenas
from core.errors import ConfigError, NewsdeskError
from core.settings import Settings

if TYPE_CHECKING:
    from app.assistant import Assistant

logger = logging.getLogger(__name__)

SESSION_CAPACITY = 1000
"""Browser sessions whose state the server keeps (least recently used dropped first). Gradio keeps
every session, closed or not, up to 10,000 by default (docs/reliability.md, Load)."""


def auth_pair(settings: Settings) -> tuple[str, str] | None:
    if not settings.auth:
        return None
    user, _, password = settings.auth.partition(":")
    return user, password


def seed_store(assistant: "Assistant", settings: Settings) -> str | None:
    """Ingest the bundled sample articles into an empty store; returns what happened (None: not needed)."""
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    if assistant.store.list_articles():
        return None
    folder = settings.articles_dir
    if not folder.is_dir():
        logger.warning("the store is empty and the sample folder %s does not exist", folder)
        return f"the store is empty and there is no sample folder {folder} (NEWSDESK_ARTICLES_DIR)"
    ingestor = Ingestor.from_settings(settings, store=assistant.store, embedder=assistant.embedder)
    report = ingestor.run(load_sources([str(folder)], settings))
    assistant.lexical.refresh(force=True)
    logger.info("seeded the empty store from %s: %s", folder, report.summary())
    for error in report.errors:
        logger.warning("seeding: %s: %s", error["source"], error["error"])
    return f"the store was empty: ingested the sample articles from {folder}: {report.summary()}"


def warm_up(assistant: "Assistant") -> None:
    """Load the embedding model and the lexical index now, so the first question is quick."""
    started = time.perf_counter()
    assistant.embedder.embed_query("warm up")
    assistant.lexical.refresh()
    if assistant.lexical.size:
        try:  # retrieval only: an LLM answerer is not called before anyone asks
            assistant.retriever.search("What happened?", k=1)
        except NewsdeskError:
            logger.warning("the warm-up search failed", exc_info=True)
    logger.info("models warmed up in %.1f s", time.perf_counter() - started)


def is_loopback(host: str) -> bool:
    """True for an interface only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail at once, before loading any model, when the port is taken."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind((host, port))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another port with --port"
                          ) from e


def prepare(settings: Settings, *, host: str = "127.0.0.1", port: int | None = None, seed: bool = True,
            say: Callable[[str], None] | None = None) -> "Assistant":
    """Everything before the page: the port checked, a warning when no login guards a public interface,
    malloc arenas capped, the store and model loaded, an empty store seeded, the models warmed."""
    from app.assistant import build_assistant

    say = say or _say
    if port is not None:
        _check_port(host, port)
    if not settings.auth and not is_loopback(host):
        print(f"Newsdesk QA: WARNING: serving on {host} without a login. Anyone who can reach this port can ask, "
              "ingest URLs and delete articles. Set NEWSDESK_AUTH=user:password (docs: SECURITY.md).",
              file=sys.stderr, flush=True)
    limit_malloc_arenas()  # before the model and the server start their threads
    say("loading the store and the embedding model\u2026")
    assistant = build_assistant(settings)
    if seed:
        done = seed_store(assistant, settings)
        if done:
            say(done)
    warm_up(assistant)
    return assistant


def _say(message: str) -> None:
    print(f"Newsdesk QA: {message}", flush=True)


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int | None = None, seed: bool = True) -> int:
    """Serve the UI until Ctrl-C; returns the exit code."""
    from app.ui import build_ui, launch_options

    host = host or "127.0.0.1"
    assistant = prepare(settings, host=host, port=port, seed=seed)
    demo = build_ui(assistant, settings)
    demo.queue(default_concurrency_limit=4)
    try:
        _, url, _ = demo.launch(
            server_name=host, server_port=port, auth=auth_pair(settings),
            auth_message="Newsdesk QA: sign in" if settings.auth else None, prevent_thread_lock=True,
            state_session_capacity=SESSION_CAPACITY,
            quiet=True, show_error=False, ssr_mode=False, share=False, footer_links=[],
            **launch_options(settings),
        )
    except OSError as e:
        raise ConfigError(f"cannot serve on {host}:{port or 'the default port'}: {e} (choose another with --port)"
                          ) from e
    reaper = SessionReaper(demo.state_holder, idle_after=settings.session_idle_minutes * 60,
                           trim_every=settings.heap_trim_seconds).start()
    print(f"Newsdesk QA is running on {url.rstrip('/')}/  (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nNewsdesk QA: stopping.", flush=True)
    finally:
        reaper.stop()
        demo.close()
    return 0
