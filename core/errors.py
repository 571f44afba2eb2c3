"""The project's few exceptions; turned into user words only at the edges (CLI, UI)."""

from __future__ import annotations


class NewsdeskError(Exception):
    """Base class for every error this project raises on purpose."""


class ConfigError(NewsdeskError):
    """A setting is missing or has a wrong value; the message names the variable."""


class IngestError(NewsdeskError):
    """A source could not be loaded; the message names the source."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = message


class StoreUnavailable(NewsdeskError):
    """The vector store (local directory or Chroma server) cannot be reached or written."""


class ModelUnavailable(NewsdeskError):
    """The embedding model (or an LLM backend) cannot be loaded or reached."""
