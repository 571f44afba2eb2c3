"""`python -m bench startup`: wall time of fresh processes — `--help`, imports, model load, a first answer.

Method: each command runs in a new `python` subprocess from the project root, `repeats` times in
round-robin order (so a burst of load hits every command alike); the median wall time is reported.
`python -X importtime -m app --help` shows whether anything heavy is imported for `--help`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, ROOT, machine, median, table, timed

HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "gradio", "langchain", "langchain_core",
         "bm25s", "tiktoken", "numpy", "trafilatura")
FIRST_QUESTION = "Which wildly popular show was recently green lit for a new season?"


def commands(store_dir: Path | None) -> list[tuple[str, list[str]]]:
    """(label, argv after `python`) for each start-up measured."""
    found = [
        ("`python -c pass` (interpreter alone)", ["-c", "pass"]),
        ("`python -m app --help`", ["-m", "app", "--help"]),
        ("`python -m ingest --help`", ["-m", "ingest", "--help"]),
        ("`import app.assistant`", ["-c", "import app.assistant"]),
        ("`import ingest.pipeline`", ["-c", "import ingest.pipeline"]),
        ("`import chromadb`", ["-c", "import chromadb"]),
        ("`import sentence_transformers`", ["-c", "import sentence_transformers"]),
        ("embedding model load (`Embedder().model`)",
         ["-c", "from vectorstore.embedding import Embedder; Embedder().model"]),
    ]
    if store_dir is not None:
        found.append(("first answer: `python -m app ask QUESTION` (realtimeqa-dev store)",
                      ["-m", "app", "ask", FIRST_QUESTION]))
    return found


def _env(store_dir: Path | None) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if store_dir is not None:
        from bench.ingest import COLLECTION

        env.update(NEWSDESK_STORE_DIR=str(store_dir), NEWSDESK_COLLECTION=COLLECTION)
    return env


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    seconds, done = timed(lambda: subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True,
                                                 text=True))
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def heavy_imports(argv: list[str], env: dict[str, str]) -> tuple[list[str], list[tuple[str, float]]]:
    """Heavy top-level packages imported by `python argv`, and the slowest top-level imports (ms)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    cumulative: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", line)
        if match:
            top = match.group(2).split(".")[0]
            cumulative[top] = max(cumulative.get(top, 0.0), int(match.group(1)) / 1000)
    heavy = sorted(name for name in cumulative if name in HEAVY)
    slowest = sorted(cumulative.items(), key=lambda kv: -kv[1])[:5]
    return heavy, slowest


def run(articles: Path = DEFAULT_ARTICLES, *, cache: Path = DEFAULT_CACHE, repeats: int = 5) -> dict[str, Any]:
    """Median wall seconds per command; the first-answer row only when the cached store exists."""
    from bench.ingest import cache_store_dir

    store_dir = cache_store_dir(articles, cache) if articles.is_file() else None
    store_dir = store_dir if store_dir is not None and store_dir.is_dir() else None
    env = _env(store_dir)
    measured = commands(store_dir)
    times: dict[str, list[float]] = {label: [] for label, _ in measured}
    for _ in range(repeats):
        for label, argv in measured:
            times[label].append(wall_time(argv, env))
    heavy, slowest = heavy_imports(["-m", "app", "--help"], env)
    return {"machine": machine(), "repeats": repeats, "seconds": {k: median(v) for k, v in times.items()},
            "help_heavy_imports": heavy, "help_slowest_imports": slowest}


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Start-up" section body."""
    method = (
        f"**Method.** `python -m bench startup` on {r['machine']}. Each command is a new process, run "
        f"{r['repeats']} times round-robin; median wall time. Shared machine: noisy; compare rows with the "
        f"interpreter-alone row measured in the same run. Warm OS file cache."
    )
    rows = [[label, f"{seconds:.3f}" if seconds < 1 else f"{seconds:.2f}"] for label, seconds in r["seconds"].items()]
    heavy = ", ".join(r["help_heavy_imports"]) or "none"
    slowest = ", ".join(f"{name} {ms:.0f} ms" for name, ms in r["help_slowest_imports"])
    notes = (f"Heavy packages imported by `python -m app --help` (`-X importtime`): {heavy}. "
             f"Slowest top-level imports there (cumulative): {slowest}. Goal (issue 7): `--help` under 1 s. "
             f"The model-load and first-answer rows include importing sentence_transformers (and torch).")
    return "\n\n".join([method, table(["command", "median s"], rows), notes])
