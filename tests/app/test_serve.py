"""Start-up without the page: `app.serve.prepare` seeds an empty store and warms the models, no Gradio."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.slow

PREPARE = """
import json, sys
from app.serve import prepare
from core.settings import Settings
said = []
settings = Settings(store_dir=sys.argv[1], articles_dir=sys.argv[2], collection="serve-test", _env_file=None)
assistant = prepare(settings, port=None, seed=True, say=said.append)
again = prepare(settings, port=None, seed=True, say=said.append)  # the store is no longer empty
print(json.dumps({"said": said, "articles": len(assistant.store.list_articles()), "lexical": assistant.lexical.size,
                  "gradio": "gradio" in sys.modules}))
"""


def test_prepare_seeds_an_empty_store_once_and_imports_no_gradio(tmp_path) -> None:
    run = subprocess.run([sys.executable, "-c", PREPARE, str(tmp_path / "store"), str(SEED.parent)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["gradio"] is False
    assert result["articles"] == 1 and result["lexical"] == 3
    seeded = [line for line in result["said"] if line.startswith("the store was empty")]
    assert len(seeded) == 1 and "added 1, updated 0, unchanged 0, failed 0" in seeded[0]
    assert result["said"].count("loading the store and the embedding model\u2026") == 2
