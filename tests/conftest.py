"""Shared fixtures: real embedding model, real Chroma on tmp_path, a real `chroma run` server."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import chroma_binary, free_port, stop_process  # noqa: F401  (tests import these from here)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "data" / "articles" / "cambodia-korea-cyber-fraud-2025-11-04.txt"
SEED_TITLE = "Cambodia and South Korea agreed to continue deepening cooperation in combating online fraud."


@pytest.fixture(scope="session")
def embedder():
    from vectorstore.embedding import Embedder

    return Embedder()


@pytest.fixture
def settings(tmp_path: Path):
    from core.settings import Settings

    return Settings(store_dir=tmp_path / "store", collection="test-news", _env_file=None)


@pytest.fixture
def ingestor(settings, embedder):
    from ingest.pipeline import Ingestor

    return Ingestor.from_settings(settings, embedder=embedder)






class ChromaServer:
    """A real `chroma run` process on a loopback port."""

    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port, self.proc = path, port, None

    def start(self) -> None:
        log = open(self.path.parent / f"chroma-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [chroma_binary(), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chroma run exited with {self.proc.returncode}; see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail("chroma run did not start within 60 s")

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server", free_port())
    server.start()
    yield server
    server.stop()


SAMPLE_SOURCES = (ROOT / "data" / "articles", DATA / "articles")
"""The sample corpus: the bundled seed plus short distractor articles written for the tests."""


def assistant_over(tmp_path_factory, embedder, name: str, sources, added: int | None = None):
    """An assistant over a fresh store holding `sources` (files or folders), ingested with the real model;
    `added`: how many articles the ingest must add."""
    from app.assistant import build_assistant
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    settings = Settings(store_dir=tmp_path_factory.mktemp(name) / "store", collection=name, _env_file=None)
    report = Ingestor.from_settings(settings, embedder=embedder).run(load_sources([str(p) for p in sources], settings))
    assert report.failed == 0 and added in (None, report.added), (report.added, report.errors)
    return build_assistant(settings, embedder=embedder)


@pytest.fixture(scope="session")
def sample_assistant(tmp_path_factory, embedder):
    """An assistant over the sample corpus, ingested once per session. Tests must not modify it."""
    return assistant_over(tmp_path_factory, embedder, "sample", SAMPLE_SOURCES)
