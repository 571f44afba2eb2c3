"""Helpers for the fault and concurrency tests: a tiny generated corpus and a fork server for ingest runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

TOPICS = (
    ("scam compound", "raided a scam compound in Sihanoukville and freed {n} workers"),
    ("crypto fraud", "froze {n} crypto wallets used in an investment fraud"),
    ("romance scam", "charged {n} members of a romance scam ring"),
    ("money mules", "arrested {n} money mules who moved stolen savings"),
    ("task force", "set up a joint task force of {n} officers against cyber fraud"),
    ("extradition", "extradited {n} suspects wanted for online fraud"),
)


def write_corpus(folder: Path, n: int, *, version: int = 1, start: int = 0) -> list[Path]:
    """`n` tiny articles (one chunk each); `version=2` changes one sentence of every article."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        topic, act = TOPICS[i % len(TOPICS)]
        body = f"Police in province {i} {act.format(n=10 + i)} on Monday. The case number is {1000 + i}."
        if version == 2:
            body += f" Prosecutors in province {i} later confirmed a trial date for the {topic} case."
        p = folder / f"story-{i:04d}.txt"
        p.write_text(f"Province {i}: {topic} case\n2025-10-{1 + i % 28:02d}\n\n{body}\n", encoding="utf-8")
        paths.append(p)
    return paths


def clean_env(store_dir: Path, collection: str, **extra: str) -> dict[str, str]:
    """Environment for a child: this store, no NEWSDESK_* from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(NEWSDESK_STORE_DIR=str(store_dir), NEWSDESK_COLLECTION=collection, **extra)
    return env


def child_env(store_dir: Path, collection: str, **extra: str) -> dict[str, str]:
    """The NEWSDESK_* variables a fork-server child sets (it inherits the rest)."""
    return {"NEWSDESK_STORE_DIR": str(store_dir), "NEWSDESK_COLLECTION": collection, **extra}


class ForkServer:
    """Client of tests/reliability/forkserver.py: real ingest processes without a model load each."""

    def __init__(self, workdir: Path, prefix: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.runs = 0
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "tests.reliability.forkserver"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=(workdir / "forkserver.log").open("w"),
            env={k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        )
        ready = self._read()
        assert "ready" in ready, ready

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            log = (self.workdir / "forkserver.log").read_text()
            pytest.fail(f"the fork server exited: {log[-2000:]}")
        return json.loads(line)

    def _send(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def start(self, argv: list[str] | None, env: dict[str, str], *, snapshot: bool = False,
              hashed_vectors: bool = False) -> tuple[int, Path, Path]:
        """Fork a child running `python -m ingest ARGV` (or a snapshot); returns (pid, stdout file, stderr file).
        `hashed_vectors`: the real tokenizer and chunks, vectors from a hash (see forkserver.HashedVectors)."""
        self.runs += 1
        out, err = self.workdir / f"run-{self.runs}.out", self.workdir / f"run-{self.runs}.err"
        self._send({"argv": argv, "env": env, "out": str(out), "err": str(err), "snapshot": snapshot,
                    "hashed_vectors": hashed_vectors})
        return int(self._read()["pid"]), out, err

    def wait(self, pid: int) -> int:
        """The child's exit status (negative: killed by that signal)."""
        self._send({"wait": pid})
        return int(self._read()["status"])

    def run(self, argv: list[str], env: dict[str, str], *, hashed_vectors: bool = False) -> tuple[int, str, str]:
        """Run to completion: (exit status, stdout, stderr)."""
        pid, out, err = self.start(argv, env, hashed_vectors=hashed_vectors)
        status = self.wait(pid)
        return status, out.read_text(), err.read_text()

    def snapshot(self, env: dict[str, str]) -> dict[str, Any]:
        pid, out, err = self.start(None, env, snapshot=True)
        status = self.wait(pid)
        assert status == 0, err.read_text()
        return json.loads(out.read_text())

    def shell(self, *command: str) -> tuple[int, str]:
        """Run a command in the server's own process context (its mount namespace)."""
        self._send({"shell": list(command)})
        answer = self._read()
        return int(answer["status"]), str(answer["output"])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()


def kill_at(pid: int, delay: float) -> bool:
    """SIGKILL `pid` after `delay` seconds; False when it had already exited."""
    time.sleep(delay)
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


def unshare_prefix() -> tuple[str, ...] | None:
    """`unshare` into a new user + mount namespace (mounts without touching the host), if the kernel allows."""
    unshare = shutil.which("unshare")
    if not unshare:
        return None
    probe = subprocess.run([unshare, "--user", "--map-root-user", "--mount", "sh", "-c",
                            "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d && rmdir $d"],
                           capture_output=True)
    return (unshare, "--user", "--map-root-user", "--mount") if probe.returncode == 0 else None


@pytest.fixture(scope="session")
def forkserver(tmp_path_factory) -> Iterator[ForkServer]:
    server = ForkServer(tmp_path_factory.mktemp("forkserver"))
    yield server
    server.close()


def in_process_snapshot(settings: Any, embedder: Any, folder: Path) -> dict[str, Any]:
    """A clean ingest of `folder` in this process, as a JSON-shaped snapshot."""
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor
    from tests.reliability.forkserver import snapshot

    ingestor = Ingestor.from_settings(settings, embedder=embedder)
    report = ingestor.run(load_sources([str(folder)], settings))
    assert report.failed == 0, report.errors
    return json.loads(json.dumps(snapshot(ingestor.store)))
