"""Oversized questions are refused with a message, in the UI handler and on the command line, before
any retrieval runs. Oversized uploads: test_ui_render.py::test_uploads_are_staged_under_safe_names_with_limits;
oversized files and responses: tests/ingest/test_loaders.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import ui_render as render
from app.assistant import MAX_QUESTION_CHARS, QuestionError, check_question
from app.ui_handlers import NewsdeskUI
from core.settings import Settings
from tests.conftest import ROOT

LONG = "Why did the police raid the compound " * 60  # 2,220 characters


class NeverAsked:
    """An assistant that fails the test if a question reaches it."""

    answerer = SimpleNamespace(name="extractive")

    def stream(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("an oversized question reached the assistant")


def test_check_question_counts_characters_after_collapsing_whitespace() -> None:
    assert check_question("  What   happened?\n") == "What happened?"
    assert check_question("a" * MAX_QUESTION_CHARS + " " * 5000) == "a" * MAX_QUESTION_CHARS
    with pytest.raises(QuestionError, match=f"too long \\({MAX_QUESTION_CHARS + 1} characters; the limit is "):
        check_question("a" * (MAX_QUESTION_CHARS + 1))


def test_ui_refuses_an_oversized_question_with_a_message(tmp_path: Path) -> None:
    ui = NewsdeskUI(NeverAsked(), Settings(store_dir=tmp_path, collection="ui-test", _env_file=None))  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="too long"):
        steps = list(ui.respond(LONG, None, "", "", "", [], 5, "extractive"))
    assert steps == [([], render.sources_panel([]), {"__type__": "update"})]  # nothing in the chat changes
    asked = ui.validate(LONG, None, "", "", "", [], 5, "extractive")[0]
    assert asked["is_valid"] is False
    length = len(LONG.strip())
    assert asked["message"] == f"That question is {length} characters long; the limit is {MAX_QUESTION_CHARS}."


@pytest.mark.slow
def test_cli_refuses_an_oversized_question_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(tmp_path / "store"), NEWSDESK_COLLECTION="limits", HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    run = subprocess.run([sys.executable, "-m", "app", "ask", LONG], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 2
    assert run.stderr.strip() == (f"error: the question is too long ({len(LONG.strip())} characters; "
                                  f"the limit is {MAX_QUESTION_CHARS})")
    assert run.stdout == ""
