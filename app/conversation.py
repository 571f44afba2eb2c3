"""Chat history: trimmed to a token budget, and follow-ups rewritten into standalone questions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.text import STOPWORDS, content_words, words
from core.tokens import count_tokens

_LEAD_IN = re.compile(r"^\s*(?:and|but|also|so|ok(?:ay)?|then)\b[\s,]*", re.IGNORECASE)
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.IGNORECASE)
_PRONOUNS = frozenset("it that this they them those these he she his her its their there then".split())


@dataclass(frozen=True)
class Turn:
    """One exchange: what the user asked, what it meant on its own, and the answer given."""

    question: str
    answer: str = ""
    standalone: str = ""

    @property
    def meaning(self) -> str:
        return self.standalone or self.question


def trim_history(history: Sequence[Turn], budget_tokens: int) -> list[Turn]:
    """The most recent turns whose questions and answers fit in `budget_tokens` (tiktoken)."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(history):
        used += count_tokens(turn.question) + count_tokens(turn.answer)
        if used > budget_tokens:
            break
        kept.append(turn)
    return kept[::-1]


def is_follow_up(question: str) -> bool:
    """Short questions leaning on what came before: "What about the task force?", "When was that?"."""
    if _ABOUT.match(question) or _LEAD_IN.match(question):
        return True
    tokens = words(question)
    return len(content_words(question)) <= 3 and any(t in _PRONOUNS for t in tokens)


def _subject(question: str) -> list[str]:
    """Names in a question (capitalised words after the first), which carry its subject."""
    raw = re.findall(r"[^\W\d_][\w'-]*", question)
    return [w for w in raw[1:] if w[:1].isupper() and w.lower() not in STOPWORDS]


def condense(question: str, history: Sequence[Turn]) -> str:
    """A standalone version of `question`, carrying over the previous question's subject (rule-based)."""
    question = " ".join(question.split())
    if not history or not is_follow_up(question):
        return question
    previous = history[-1].meaning
    if not content_words(_ABOUT.sub("", _LEAD_IN.sub("", question))):
        # Nothing of its own to ask about ("When was that?"): ask it of the previous question.
        return f"{question.rstrip('?. ')}: {previous}"
    rest = _ABOUT.sub("", _LEAD_IN.sub("", question)).strip(" ?.")
    names = _subject(previous)
    if rest and names and all(w[:1].isupper() for w in rest.split()):
        # "And Japan?" after a question about Korea: the same question about the new name.
        return previous.replace(names[0], rest, 1)
    own = {w.lower() for w in words(question)}
    carried = [w for w in dict.fromkeys(_subject(previous)) if w.lower() not in own]
    if not carried:
        carried = [w for w in dict.fromkeys(content_words(previous)) if w not in own][:4]
    body = question.rstrip("?. ")
    return f"{body} ({', '.join(carried)})?" if carried else question
