"""Each place that relies on another library beyond its documented API, tested so that it fails loudly,
with the adapter's name, when the library moves (the pinned versions are in requirements.txt).

| adapter | relies on |
|---|---|
| `ingest.fetch.vetting_transport` | httpx.HTTPTransport keeps an httpcore.ConnectionPool in `_pool` |
| `app.sessions.SessionReaper` | Gradio's StateHolder: `session_data`, `time_last_used`, `lock`; SessionState.is_closed |
| `app.ui_handlers.gradio_upload_folder` | `gradio.utils.get_upload_folder()` |
| `vectorstore.embedding.Embedder._fast_tokenizer` | transformers' public `backend_tokenizer` (a `tokenizers.Tokenizer`) |
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


@pytest.mark.slow
def test_the_model_tokenizer_is_reached_through_the_public_api(embedder) -> None:
    import tokenizers

    fast = embedder._fast_tokenizer
    assert isinstance(fast, tokenizers.Tokenizer), "transformers' backend_tokenizer moved: update the Embedder"
    assert embedder.count_tokens(["Cambodia and South Korea"]) == [len(embedder.model.tokenizer(
        "Cambodia and South Korea")["input_ids"])]
