"""Prompt templates kept as text files beside this module, rendered by `load_prompt`.

Templates use `string.Template` placeholders (`$question`, `${passages}`; a literal dollar is `$$`).
Rendering is strict both ways: a placeholder without a value and a value without a placeholder are
errors naming the prompt, because a silently empty or ignored variable is a prompt that quietly
changed meaning. This package imports nothing of ours.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent
SUFFIX = ".txt"


class PromptError(LookupError):
    """An unknown prompt, or a variable missing from (or unknown to) a prompt's template."""


def available_prompts() -> list[str]:
    """Names of the prompt templates shipped in this folder."""
    return sorted(p.stem for p in PROMPT_DIR.glob(f"*{SUFFIX}"))


@lru_cache(maxsize=64)
def _template(name: str) -> string.Template:
    path = PROMPT_DIR / f"{name}{SUFFIX}"
    if "/" in name or "\\" in name or name.startswith(".") or not path.is_file():
        raise PromptError(f"unknown prompt {name!r}. Available: {available_prompts()}")
    template = string.Template(path.read_text(encoding="utf-8"))
    if not template.is_valid():
        raise PromptError(f"prompt {name!r} ({path}) has a malformed placeholder; write a literal $ as $$")
    return template


def prompt_variables(name: str) -> list[str]:
    """The variables a prompt needs, in order of first use."""
    return list(dict.fromkeys(_template(name).get_identifiers()))


def load_prompt(name: str, **variables: object) -> str:
    """The prompt `name` rendered with `variables`.

    Raises:
        PromptError: the prompt does not exist, a variable it uses is not given, or a given variable
            is not used by it.
    """
    template = _template(name)
    needed = prompt_variables(name)
    missing = [v for v in needed if v not in variables]
    if missing:
        raise PromptError(f"prompt {name!r} needs variable(s) {missing}; given: {sorted(variables)}")
    unknown = sorted(set(variables) - set(needed))
    if unknown:
        raise PromptError(f"prompt {name!r} has no variable(s) {unknown}; it uses: {needed}")
    return template.substitute({k: str(v) for k, v in variables.items()})
