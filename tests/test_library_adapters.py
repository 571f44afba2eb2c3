"""Each place that relies on another library beyond its documented API, tested so that it fails loudly,
with the adapter's name, when the library moves (the pinned versions are in requirements.txt).

| adapter | relies on |
|---|---|
| `ingest.fetch.vetting_transport` | httpx.HTTPTransport keeps an httpcore.ConnectionPool in `_pool` |
| `app.sessions.SessionReaper` | Gradio's StateHolder: `session_data`, `time_last_used`, `lock`; `is_closed` |
| `app.ui_handlers.gradio_upload_folder` | `gradio.utils.get_upload_folder()` |
| `app.web.build_web_app` | Gradio checks event files only once `Blocks.has_launched` is set |
| `vectorstore.embedding.Embedder._fast_tokenizer` | transformers' public `backend_tokenizer` (a tokenizers.Tokenizer) |
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings


def test_vetting_transport_puts_the_vetting_backend_in_httpx() -> None:
    import httpcore

    from ingest.fetch import _VettingBackend, vetting_transport

    transport = vetting_transport(Settings(_env_file=None))
    pool = transport._pool
    assert isinstance(pool, httpcore.ConnectionPool)
    assert isinstance(pool._network_backend, _VettingBackend), "httpcore no longer takes our network backend"


def test_gradio_state_holder_has_what_the_session_reaper_reads() -> None:
    import gradio as gr
    from gradio.state_holder import SessionState, StateHolder

    holder = StateHolder()
    for name in ("session_data", "time_last_used", "lock"):
        assert hasattr(holder, name), f"gradio's StateHolder lost {name}: update app/sessions.py"
    with gr.Blocks() as blocks:
        gr.State(0)
    state = SessionState(blocks)
    assert state.is_closed is False, "gradio's SessionState lost is_closed: update app/sessions.py"


def test_gradio_upload_folder_is_where_uploads_go() -> None:
    from app.ui_handlers import gradio_upload_folder

    folder = gradio_upload_folder()
    assert isinstance(folder, Path) and folder.is_absolute()


def test_gradio_checks_event_files_only_once_has_launched_is_set(tmp_path: Path) -> None:
    """`app.web.build_web_app` sets `has_launched` after `mount_gradio_app`, which leaves it unset."""
    import gradio as gr
    from fastapi import FastAPI
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    with gr.Blocks() as blocks:
        gr.Textbox()
    gr.mount_gradio_app(FastAPI(), blocks, path="/")
    assert blocks.has_launched is False, "mount_gradio_app now sets has_launched: app/web.py need not"
    outside = tmp_path / "server-file.txt"
    outside.write_text("not uploaded", encoding="utf-8")
    token = LocalContext.blocks.set(blocks)
    try:
        processing_utils._check_allowed(outside, True)  # unchecked: what a mounted app would let through
        blocks.has_launched = True
        with pytest.raises(InvalidPathError, match="not uploaded by a user"):
            processing_utils._check_allowed(outside, True)
    finally:
        LocalContext.blocks.reset(token)


@pytest.mark.slow
def test_the_model_tokenizer_is_reached_through_the_public_api(embedder) -> None:
    import tokenizers

    fast = embedder._fast_tokenizer
    assert isinstance(fast, tokenizers.Tokenizer), "transformers' backend_tokenizer moved: update the Embedder"
    assert embedder.count_tokens(["Cambodia and South Korea"]) == [len(embedder.model.tokenizer(
        "Cambodia and South Korea")["input_ids"])]
