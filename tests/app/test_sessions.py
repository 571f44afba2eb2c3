"""What the UI server keeps per chat session: bounded in a long chat, forgotten when unused.

The in-process tests serve the real Blocks (real assistant over the sample articles) on a loopback
port and ask through `gradio_client`, then read the server's per-session state, which is where a
leak would show: `tests/app/test_load.py` watches the same thing from outside, as resident memory.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.sessions import SessionReaper
from app.ui import build_ui
from app.ui_handlers import MAX_KEPT_ANSWERS, ChatSession
from bench import free_port
from bench.load import AppProcess, _client, ask, load_questions, parse_reply


def _holder() -> Any:
    """Gradio's own StateHolder for a small page, as `launch` sets it up."""
    import gradio as gr
    from gradio.state_holder import StateHolder

    with gr.Blocks() as demo:
        gr.State(ChatSession())
        gr.Textbox()
    holder = StateHolder()
    holder.set_blocks(demo)
    return holder


def test_reaper_forgets_idle_and_closed_sessions_only() -> None:
    holder = _holder()
    now = datetime(2026, 11, 25, 12, 0)
    for session_id, idle_minutes in (("busy", 1), ("idle", 25 * 60), ("closed-new", 5), ("closed-old", 61)):
        holder[session_id]  # noqa: B018 - creates the session, as a request does
        holder.time_last_used[session_id] = now - timedelta(minutes=idle_minutes)
    holder.session_data["closed-new"].is_closed = True
    holder.session_data["closed-old"].is_closed = True
    reaper = SessionReaper(holder, idle_after=24 * 3600, clock=lambda: now)
    assert sorted(reaper.sweep()) == ["closed-old", "idle"]
    assert sorted(holder.session_data) == ["busy", "closed-new"] and sorted(holder.time_last_used) == sorted(
        holder.session_data)
    assert reaper.sweep() == [] and reaper.forgotten == 2
    # a session forgotten and then used again simply starts afresh
    assert "idle" not in holder and holder["idle"] is not None


@pytest.fixture(scope="module")
def served(sample_assistant: Any) -> Iterator[tuple[Any, str]]:
    demo = build_ui(sample_assistant, sample_assistant.settings)
    demo.queue(default_concurrency_limit=4)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, ssr_mode=False,
                show_error=False)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def _session_bytes(state: Any) -> tuple[int, set[int]]:
    """Bytes of what the server holds for one session (component configs and State values), and the
    component ids it holds configs for."""
    configs = json.dumps(state.config_values, default=repr)
    return len(configs) + len(pickle.dumps(state.state_data)), set(state.config_values)


@pytest.mark.slow
def test_a_long_chat_holds_bounded_memory_on_the_server(served: tuple[Any, str]) -> None:
    demo, url = served
    questions = load_questions()
    client = _client(url)
    sizes, ids = [], set()
    try:
        for i in range(MAX_KEPT_ANSWERS + 6):
            question = questions[i % len(questions)]
            reply = parse_reply(question, ask(client, question))
            assert reply.error is None
            state = demo.state_holder.session_data[client.session_hash]
            size, held = _session_bytes(state)
            sizes.append(size)
            ids |= held
    finally:
        client.close()
    # No config for components the page does not have (Gradio 6 stores one per skipped output).
    assert ids <= set(demo.blocks), f"configs for ids {sorted(ids - set(demo.blocks))} that are not on the page"
    # The chat grows answer by answer, then holds the last MAX_KEPT_ANSWERS: flat from there on.
    grown, full, end = sizes[0], sizes[MAX_KEPT_ANSWERS - 1], sizes[-1]
    assert full > grown
    assert end < full * 1.15, f"session kept growing after {MAX_KEPT_ANSWERS} answers: {full} -> {end} bytes"
    chat = next(v for v in state.state_data.values() if isinstance(v, ChatSession))
    assert len(chat.messages) == 2 * MAX_KEPT_ANSWERS and chat.asked == MAX_KEPT_ANSWERS + 6


@pytest.mark.slow
def test_an_unused_session_is_forgotten_by_the_running_server(tmp_path: Any) -> None:
    """`python -m app` with NEWSDESK_SESSION_IDLE_MINUTES: a follow-up within the idle time keeps the
    chat; after it, the server has forgotten the session and the chat starts again."""
    app = AppProcess(tmp_path, env={"NEWSDESK_SESSION_IDLE_MINUTES": "0.04"})  # 2.4 s
    try:
        app.start()
        client = _client(app.url)
        try:
            assert len(ask(client, "What did Korea agree to with Cambodia?")[0]) == 2
            assert len(ask(client, "Who leads Cambodia's committee against cyber fraud?")[0]) == 4
            time.sleep(4.0)
            chat = ask(client, "What did Ambassador Park thank Cambodia for?")[0]
            assert len(chat) == 2, "the idle session was forgotten, so the chat starts again"
        finally:
            client.close()
    finally:
        app.stop()


def test_trim_heap_gives_freed_memory_back() -> None:
    import os
    import threading

    from app.sessions import trim_heap
    from bench.load import rss_mb

    kept: list[bytes] = []

    def churn() -> None:  # as an answer does: many mid-sized allocations in a worker thread, most freed
        blocks = [bytes(2048) for _ in range(100_000)]
        kept.extend(blocks[::1000])  # a few survivors pin the heap's top, so only a trim frees the rest
        del blocks

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    before = rss_mb(os.getpid()) or 0.0
    assert trim_heap() is True
    after = rss_mb(os.getpid()) or 0.0
    assert before - after > 100, f"RSS {before:.0f} -> {after:.0f} MB after trimming"
