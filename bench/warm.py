"""`python -m bench warm`: `python -m app ask` as a whole process, asking a running server vs. answering
alone, side by side in one run.

A server (`python -m app ui`) runs on a temporary store seeded from the sample articles. The same
question is then asked `repeats` times each way, alternating: through the server (found by the CLI in the
store folder's `server.json`) and `--standalone` (which loads the embedding model in its own process).
The bare interpreter (`python -c pass`) is measured in the same rounds, as the floor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import DEFAULT_CACHE, ROOT, machine, median, table
from bench.load import COLLECTION, AppProcess

QUESTION = "What did Korea agree to with Cambodia?"
SAMPLE_ARTICLES = ROOT / "data" / "articles"


def _wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or (argv[:2] == ["-m", "app"] and "[1]" not in done.stdout):
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-1500:]}")
    if "answering here instead" in done.stderr:
        raise RuntimeError(f"the CLI did not reach the server: {done.stderr[-500:]}")
    return seconds


def run(*, cache: Path = DEFAULT_CACHE, repeats: int = 5) -> dict[str, Any]:
    cache.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="warm-", dir=cache))
    app = AppProcess(workdir, sources=(SAMPLE_ARTICLES,))
    try:
        app.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        env.update(NEWSDESK_STORE_DIR=str(app.store_dir), NEWSDESK_COLLECTION=COLLECTION, HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1")
        commands = {
            "`python -c pass` (the interpreter alone)": ["-c", "pass"],
            "`python -m app ask Q` with a server running (JSON API)": ["-m", "app", "ask", QUESTION],
            "`python -m app ask --standalone Q` (loads the model itself)": ["-m", "app", "ask", "--standalone",
                                                                            QUESTION],
        }
        for argv in commands.values():  # one untimed round: warm OS file cache and byte-code
            _wall(argv, env)
        times: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(repeats):
            for label, argv in commands.items():
                times[label].append(_wall(argv, env))
    finally:
        app.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"machine": machine(), "repeats": repeats, "question": QUESTION,
            "runs": {k: [round(s, 3) for s in v] for k, v in times.items()},
            "seconds": {k: median(v) for k, v in times.items()}}


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Warm CLI" section body."""
    method = (f"**Method.** `python -m bench warm` on {r['machine']}. A `python -m app ui` server on a temporary "
              f"store seeded from the sample articles; then the question {r['question']!r} asked {r['repeats']} "
              "times each way, alternating round by round (one untimed round first), each a new process; whole-"
              "process wall time, median. The CLI finds the server through `server.json` in the store folder.")
    seconds = list(r["seconds"].items())
    rows = [[label, f"{s:.3f}", ", ".join(f"{x:.2f}" for x in r["runs"][label])] for label, s in seconds]
    served, alone = seconds[1][1], seconds[2][1]
    rows.append(["standalone / through the server (same run)", f"{alone / served:.1f}\u00d7", ""])
    return "\n\n".join([method, table(["command", "median s", "runs (s)"], rows)])
