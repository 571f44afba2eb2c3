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

DEFAULT_PORT = 7860
SESSION_CAPACITY = 1000
"""Browser sessions whose state the server keeps (least recently used dropped first). Gradio keeps
every session, closed or not, up to 10,000 by default (docs/reliability.md, Load)."""


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


def free_port(host: str, first: int = DEFAULT_PORT, tries: int = 100) -> int:
    """The first port from `first` on that `host` can listen on (Gradio's choice when none is given)."""
    for port in range(first, first + tries):
        try:
            _check_port(host, port)
            return port
        except ConfigError:
            continue
    raise ConfigError(f"no free port in {first}-{first + tries - 1} on {host}; choose one with --port")


def local_url(host: str, port: int) -> str:
    """The address to print and to record for the CLI: a wildcard interface is reached on loopback."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


SHUTDOWN_WAIT = 15.0
"""Seconds a stopping server waits for uvicorn's shutdown: open requests get `timeout_graceful_shutdown` (5 s),
then the app's lifespan ends (MCP sessions, Gradio's file cleanup)."""


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int | None = None, seed: bool = True) -> int:
    """Serve the page and the APIs (`app.web`) with uvicorn until Ctrl-C or SIGTERM; returns the exit code."""
    import signal
    import threading

    import uvicorn

    from app.client import ServerRecord
    from app.web import build_web_app

    host = host or "127.0.0.1"
    port = port if port is not None else free_port(host)
    assistant = prepare(settings, host=host, port=port, seed=seed)
    web = build_web_app(assistant, settings, host=host, session_capacity=SESSION_CAPACITY)
    server = uvicorn.Server(uvicorn.Config(web.app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=5, log_config=None))
    finished = threading.Event()

    def serve() -> None:
        try:
            server.run()
        finally:
            finished.set()

    # The main thread waits on an Event, never in `Thread.join`: a KeyboardInterrupt (Ctrl-C, or SIGTERM
    # below) that lands inside `join` leaves the thread looking finished to every later `join` and `is_alive`
    # (CPython 3.11), and the process would then exit without uvicorn's shutdown: open requests cut off, and
    # the app's lifespan (Gradio's deletion of uploaded and exported files) never run.
    thread = threading.Thread(target=serve, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if finished.is_set():
            raise ConfigError(f"cannot serve on {host}:{port} (the log above says why; choose another with --port)")
        time.sleep(0.05)
    url = local_url(host, port)
    record = ServerRecord.for_server(url, settings)
    record.write(settings)
    reaper = SessionReaper(web.demo.state_holder, idle_after=settings.session_idle_minutes * 60,
                           trim_every=settings.heap_trim_seconds).start()
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Newsdesk QA is running on {url}/  (Ctrl-C to stop; API docs at {url}/docs)", flush=True)
    try:
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nNewsdesk QA: stopping.", flush=True)
    finally:
        record.remove(settings)
        reaper.stop()
        server.should_exit = True
        finished.wait(SHUTDOWN_WAIT)
        web.demo.close()
        web.ui.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the server as Ctrl-C does (the server record is removed, sessions are closed)."""
    raise KeyboardInterrupt
