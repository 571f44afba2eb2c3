"""Forgetting chat sessions nobody uses, so a long-running server's memory stays flat.

Gradio keeps every session's state (a copy of the page's component configuration, about 130 kB
here, plus the chat) until `state_session_capacity` sessions exist, even after the browser tab has
closed; it only empties `gr.State` values an hour after the tab closed. `SessionReaper` removes, once
a minute, the sessions that

- closed (the tab's heartbeat stopped) and have not been used for `closed_after` seconds: one hour by
  default, when Gradio would empty their chat anyway; and
- have not been used for `idle_after` seconds (NEWSDESK_SESSION_IDLE_MINUTES, a day by default): API
  clients, which keep no heartbeat, and tabs left open.

It reads Gradio's `StateHolder` (`session_data`, `time_last_used`, `lock`, `SessionState.is_closed`,
all present since Gradio 4); `tests/app/test_sessions.py` fails if they move.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

logger = logging.getLogger(__name__)

TRIM_SECONDS = 10.0
"""How often freed heap memory is handed back to the system (`trim_heap`) unless told otherwise
(NEWSDESK_HEAP_TRIM_SECONDS)."""

CLOSED_AFTER_SECONDS = 3600.0
"""A closed tab's session is kept this long after its last use (Gradio empties its State then)."""


class SessionReaper:
    """Drops idle and closed sessions from a launched Blocks' state holder, in a daemon thread."""

    def __init__(self, state_holder: Any, *, idle_after: float, closed_after: float = CLOSED_AFTER_SECONDS,
                 interval: float | None = None, trim_every: float = TRIM_SECONDS,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.holder = state_holder
        self.idle_after = idle_after
        self.closed_after = min(closed_after, idle_after)
        self.interval = interval if interval is not None else max(0.2, min(60.0, self.closed_after / 4))
        self.trim_every = trim_every
        self.clock = clock
        self.forgotten = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> list[str]:
        """Forget every session past its time now; returns their ids."""
        now = self.clock()
        holder = self.holder
        with holder.lock:
            expired = []
            for session_id, state in list(holder.session_data.items()):
                last = holder.time_last_used.get(session_id)
                if last is None:
                    continue
                idle = (now - last).total_seconds()
                if idle > self.idle_after or (getattr(state, "is_closed", False) and idle > self.closed_after):
                    expired.append(session_id)
            for session_id in expired:
                holder.session_data.pop(session_id, None)
                holder.time_last_used.pop(session_id, None)
        if expired:
            self.forgotten += len(expired)
            logger.info("forgot %d idle chat session(s); %d kept", len(expired), len(holder.session_data))
        return expired

    def _loop(self) -> None:
        swept = time.monotonic()
        while not self._stop.wait(min(self.interval, self.trim_every)):
            try:
                if time.monotonic() - swept >= self.interval:
                    swept = time.monotonic()
                    self.sweep()
                trim_heap()
            except Exception:  # a failed sweep must not stop the next one, nor the server
                logger.exception("forgetting idle chat sessions failed")

    def start(self) -> SessionReaper:
        self._thread = threading.Thread(target=self._loop, name="newsdesk-session-reaper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


M_ARENA_MAX = -8
"""glibc's mallopt parameter for the number of malloc arenas (malloc.h)."""

SERVER_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = SERVER_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for a threaded server; True when done.

    Gradio runs every answer in a worker thread, and glibc gives threads arenas of their own (up to
    8 per core) that fragment and are seldom returned: under load the server's resident memory kept
    climbing about 2 MB per 100 answers with no Python object growing; with two arenas it stays flat
    at the same speed (docs/reliability.md, Load). MALLOC_ARENA_MAX in the environment wins; other C
    libraries (macOS, musl) are left alone."""
    mallopt = _libc_function("mallopt")
    if os.environ.get("MALLOC_ARENA_MAX") or mallopt is None:
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


@cache
def _libc_function(name: str) -> Any:
    """A function of glibc on Linux (None elsewhere, or when the C library lacks it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def trim_heap() -> bool:
    """Hand memory malloc holds free back to the system (glibc's `malloc_trim`); True when done.

    Answers allocate and free in many threads; glibc keeps the freed pages, so resident memory crept
    up about 2 MB per 100 answers with no Python object growing. Trimming every few seconds keeps it
    level (docs/reliability.md, Load); a no-op on other C libraries."""
    malloc_trim = _libc_function("malloc_trim")
    return malloc_trim is not None and bool(malloc_trim(0))
