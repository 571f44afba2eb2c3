"""Benchmarks anyone can run: `python -m bench ingest|query|startup|scale|server`; results go to docs/benchmarks.md.

These machines are small (2 cores) and shared, so every figure is a median of repeats, and the
figures that matter (ratios) are measured side by side in one run so that noise hits both sides.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "realtimeqa-dev"
"""The public benchmark beside the checkout (`../shared`, as on the team's machines and in CI); pass
--articles/--questions for one elsewhere."""
DEFAULT_ARTICLES = DEFAULT_BENCHMARK / "articles.jsonl"
DEFAULT_QUESTIONS = DEFAULT_BENCHMARK / "questions.jsonl"
DEFAULT_CACHE = ROOT / "bench" / ".cache"
"""Stores built from benchmark data live here, git-ignored: the data never enters the project."""
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"

T = TypeVar("T")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds taken by `fn()`, and its result."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


@contextmanager
def stage_timer(targets: Sequence[tuple[object, str, str]], totals: dict[str, float]) -> Iterator[None]:
    """Add the time spent in `obj.method` to `totals[stage]`, for each (obj, method, stage), while open.

    The wrapper is set on the instance only and removed on exit, so nothing else is affected.
    """
    for obj, method, stage in targets:
        totals.setdefault(stage, 0.0)
        setattr(obj, method, _timing_wrapper(getattr(obj, method), stage, totals))
    try:
        yield
    finally:
        for obj, method, _ in targets:
            vars(obj).pop(method, None)


def _timing_wrapper(fn: Callable[..., Any], stage: str, totals: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[stage] += time.perf_counter() - started

    return wrapper


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def machine() -> str:
    """One line naming the machine and the code measured."""
    return (f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"commit {_commit()}, {date.today().isoformat()}")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace the `## heading` section of a markdown file (or append it), leaving other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: "subprocess.Popen[Any] | None") -> None:
    """Terminate a process this program started, killing it if it does not exit within 20 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def chroma_binary() -> str:
    """The `chroma` command shipped in the chromadb wheel (beside this interpreter, else on PATH)."""
    import shutil
    import sys

    found = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not found:
        raise FileNotFoundError("the `chroma` command (shipped in the chromadb wheel) is not installed")
    return found
