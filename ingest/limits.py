"""Size limits in words: "file too large: 200.0 MB (limit 50.0 MB, NEWSDESK_MAX_SOURCE_BYTES)"."""

from __future__ import annotations


def megabytes(size: int) -> str:
    """A byte count for people: "200.0 MB", "1.0 KB", "12 bytes"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


def too_large(what: str, size: str, limit: int, variable: str = "NEWSDESK_MAX_SOURCE_BYTES") -> str:
    """The refusal of `what` ("file", "response") of `size` (already in words) over `limit` bytes."""
    return f"{what} too large: {size} (limit {megabytes(limit)}, {variable})"
