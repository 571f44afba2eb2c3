"""Citation markers in answer text: "[1]", or several passages in one, "[2, 3]" (an LLM's)."""

from __future__ import annotations

import re

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
"""One marker; group 1 holds its numbers."""

LINK_MARKER = re.compile(r"\[(\d{1,3})\]")
"""A marker the UI turns into a link to its source card: one number, so "[2025]" in a quote stays text."""


def cited(marker_numbers: str) -> list[int]:
    """The numbers of one marker's group 1: "2, 3" -> [2, 3]."""
    return [int(n) for n in re.split(r"[,;]", marker_numbers)]


def without_markers(text: str) -> str:
    """`text` with every marker, and the space before it, removed."""
    return re.sub(r"\s*" + MARKER.pattern, "", text)
