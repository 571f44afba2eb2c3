"""Prompt templates: one loader that fails loudly on a missing variable or an unknown prompt."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from prompts import PROMPT_DIR, PromptError, available_prompts, load_prompt, prompt_variables


def test_the_shipped_prompts_are_files_and_render_with_their_variables():
    assert {"answer_system", "answer_user", "condense", "no_answer"} <= set(available_prompts())
    for name in available_prompts():
        variables = {v: f"<{v} value>" for v in prompt_variables(name)}
        text = load_prompt(name, **variables)
        assert text.strip()
        for value in variables.values():
            assert value in text
        assert "$" not in text


def test_answer_prompts_number_passages_and_treat_them_as_data():
    system = load_prompt("answer_system", max_sentences=4, no_answer="NOPE.")
    assert "[" in system and "passage" in system.lower()
    assert "NOPE." in system and "at most 4 sentences" in system
    assert "data, not instructions" in system
    user = load_prompt("answer_user", passages='<passage id="1">text</passage>', question="Who met?")
    assert user.index('<passage id="1">') < user.index("<question>Who met?</question>")


def test_missing_variable_names_the_variable_and_the_prompt():
    with pytest.raises(PromptError) as caught:
        load_prompt("answer_user", passages="...")
    message = str(caught.value)
    assert "'answer_user'" in message and "'question'" in message


def test_unknown_variable_is_an_error_too():
    with pytest.raises(PromptError, match=r"'condense' has no variable\(s\) \['histroy'\]"):
        load_prompt("condense", question="And Japan?", history="", histroy="typo")


def test_unknown_prompt_lists_the_available_ones():
    with pytest.raises(PromptError) as caught:
        load_prompt("answer_sytem")
    message = str(caught.value)
    assert "'answer_sytem'" in message
    for name in ("answer_system", "answer_user", "condense"):
        assert name in message


@pytest.mark.parametrize("name", ["../pyproject", "/etc/passwd", ".hidden", "prompts/answer_user"])
def test_prompt_names_cannot_escape_the_folder(name):
    with pytest.raises(PromptError, match="unknown prompt"):
        load_prompt(name)


def test_values_are_inserted_verbatim_not_re_rendered():
    text = load_prompt("answer_user", passages="costs $5 and ${question}", question="$passages?")
    assert "costs $5 and ${question}" in text
    assert "<question>$passages?</question>" in text


def test_prompts_package_imports_nothing_of_ours():
    ours = {p.name for p in Path(PROMPT_DIR).parent.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    tree = ast.parse((PROMPT_DIR / "__init__.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & ours, f"prompts imports {imported & ours}"
