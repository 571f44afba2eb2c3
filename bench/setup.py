"""`python -m bench setup`: how long a newcomer's first `make run` / `make test` spends setting up `.venv`.

Two ways of installing requirements.txt into a new virtual environment, side by side and alternating in
one run: the old Makefile rule (`pip install --quiet -r requirements.txt`) and today's `make install`
(torch and uv through pip, the rest through uv). Each is timed cold (no download or wheel cache, as on a
fresh machine: `PIP_NO_CACHE_DIR=1`, `UV_NO_CACHE=1`) and warm (the caches an earlier install left). After
each install the environment's `pip freeze` is compared with the first one's: both ways must install the
same versions (uv itself aside).
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

from bench import ROOT, machine, median, table

WAYS = ("pip alone (before)", "make install: pip for torch, uv for the rest (now)")
MODES = ("cold", "warm")
TIMEOUT = 3600.0


def _install(way: str, venv: Path, cold: bool) -> float:
    """Seconds to create `venv` and install requirements.txt into it the given way; raises when it fails."""
    env = dict(os.environ)
    if cold:
        env.update(PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    python = venv / "bin" / "python"
    if way == WAYS[0]:
        commands = [[sys.executable, "-m", "venv", str(venv)],
                    [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
                     str(ROOT / "requirements.txt")]]
    else:
        commands = [["make", "--no-print-directory", "install", f"VENV={venv}", f"PYTHON={sys.executable}"]]
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - start


def _freeze(venv: Path) -> list[str]:
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--disable-pip-version-check"],
                          capture_output=True, text=True, check=True)
    return sorted(line for line in done.stdout.splitlines() if line and not line.startswith("uv=="))


def run(repeats: int = 1) -> dict[str, Any]:
    seconds: dict[str, dict[str, list[float]]] = {m: {w: [] for w in WAYS} for m in MODES}
    reference: list[str] | None = None
    same = True
    with tempfile.TemporaryDirectory(prefix="newsdesk-setup-") as tmp:
        for r in range(repeats):
            for mode in MODES:
                for way in (WAYS if r % 2 == 0 else WAYS[::-1]):
                    venv = Path(tmp) / f"venv-{r}-{mode}-{WAYS.index(way)}"
                    seconds[mode][way].append(_install(way, venv, mode == "cold"))
                    frozen = _freeze(venv)
                    reference = reference or frozen
                    same = same and frozen == reference
                    shutil.rmtree(venv)
    return {"seconds": seconds, "same_versions": same, "packages": len(reference or []), "repeats": repeats,
            "machine": machine()}


def to_markdown(result: dict[str, Any]) -> str:
    rows = []
    for mode in MODES:
        before, now = (median(result["seconds"][mode][w]) for w in WAYS)
        rows.append([mode, f"{before:.0f}", f"{now:.0f}", f"{before / now:.1f}×"])
    return "\n".join([
        f"`python -m bench setup --repeats {result['repeats']}` ({result['machine']}): a new `.venv` with all "
        f"{result['packages']} packages of requirements.txt, median seconds of {result['repeats']} alternating "
        "repeat(s). Cold: no download or wheel cache (a fresh machine); warm: the caches an earlier install left.",
        "",
        table(["caches", f"{WAYS[0]} (s)", f"{WAYS[1]} (s)", "speed-up"], rows),
        "",
        "Same versions installed both ways: " + ("yes" if result["same_versions"] else "**no**") + ". The old rule "
        "printed nothing while it ran (`--quiet`); `make install` prints pip's and uv's progress.",
    ])
