"""Separate processes share one store: an answering process sees what another process ingested.

Process A is a long-lived assistant answering questions read from stdin (one JSON line out per
question); process B is `python -m ingest`; process C only opens the lexical index. Each is a real
Python process on the same local Chroma directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED, stop_process

pytestmark = pytest.mark.slow

# Process A: answer each stdin line; report the hits and how often the lexical index was built.
_ANSWERER = """
import json, sys
from app.assistant import build_assistant
from core.settings import get_settings
assistant = build_assistant(get_settings())
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    answer = assistant.ask(line.strip())
    hits = [{"title": h.chunk.title, "article_id": h.chunk.article_id, "dense_rank": h.dense_rank,
             "lexical_rank": h.lexical_rank} for h in answer.hits]
    print(json.dumps({"hits": hits, "builds": assistant.lexical.builds, "text": answer.text}), flush=True)
"""

# Process C: open the index only (no model): it must load what A persisted, not rebuild.
_READER = """
import json
from core.settings import get_settings
from vectorstore.lexical import LexicalIndex
from vectorstore.store import ArticleStore
index = LexicalIndex.for_store(ArticleStore(get_settings()))
print(json.dumps({"hits": index.search("Zanzibar ferry", 3), "builds": index.builds}))
"""

STORY_TITLE = "Zanzibar ferry ticket scam"
QUESTION = "What did police in Zanzibar warn about ferry tickets?"


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(settings.store_dir), NEWSDESK_COLLECTION=settings.collection,
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


class Answerer:
    """Process A, driven line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _ANSWERER], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._read().get("ready")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            pytest.fail(f"the answering process exited ({self.proc.returncode}): {self.proc.stderr.read()[-3000:]}")
        return json.loads(line)

    def ask(self, question: str) -> dict:
        # Past the index's check interval, so that a change would be noticed by this question.
        time.sleep(1.2)
        self.proc.stdin.write(question + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        stop_process(self.proc)


def test_answering_process_sees_an_article_ingested_by_another_process(ingestor, settings, tmp_path: Path):
    from ingest.loaders import load_sources

    assert ingestor.run(load_sources([str(SEED)], settings)).added == 1
    env = _env(settings)
    a = Answerer(env)
    try:
        first = a.ask(QUESTION)
        assert first["builds"] == 0 and STORY_TITLE not in [h["title"] for h in first["hits"]]
        again = a.ask(QUESTION)
        assert again["builds"] == 0, "nothing changed, yet the lexical index was rebuilt"
        assert again["hits"] == first["hits"]

        story = tmp_path / "zanzibar.txt"
        story.write_text(f"{STORY_TITLE}\n2025-10-01\n\nPolice in Zanzibar warned travellers about a ferry "
                         "ticket scam on Monday. Fake sellers took payment for ferry tickets that never "
                         "existed.\n", encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "ingest", str(story), "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1])["added"] == 1

        after = a.ask(QUESTION)
        assert after["builds"] == 0, "the ingest process updated the index: the answerer only reloads it"
        top = after["hits"][0]
        assert top["title"] == STORY_TITLE, after["hits"]
        assert top["lexical_rank"] == 1
        assert top["dense_rank"] is not None, "the dense side of the answering process misses the new chunks"
        assert "Zanzibar" in after["text"]
        assert a.ask(QUESTION)["builds"] == 0, "rebuilt without a need"
    finally:
        a.close()

    reader = subprocess.run([sys.executable, "-c", _READER], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert reader.returncode == 0, reader.stderr[-3000:]
    seen = json.loads(reader.stdout.strip().splitlines()[-1])
    assert seen["hits"] and seen["builds"] == 0, "a new process rebuilt instead of loading the persisted index"
