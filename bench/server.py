"""`python -m bench server`: the query benchmark against a `chroma run` server, and N app processes sharing it.

Method: the store of `python -m bench ingest` (realtimeqa-dev, 16,469 chunks) is copied into a
temporary directory and served by `chroma run --path COPY --host 127.0.0.1 --port P` (the command the
chromadb wheel ships). First, in one process, the questions are asked alternately against the local
store and against the server (same data, same model), per stage. Then N = 1, 2, 4 separate app
processes, each configured as a user would (`NEWSDESK_CHROMA_HOST/PORT`), answer their share of the
questions at the same moment: throughput (questions/s over the round's wall time) and p95 latency.

Run as `python -m bench.server --worker` it is one such app process (used by the benchmark itself).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import (
    DEFAULT_ARTICLES,
    DEFAULT_CACHE,
    DEFAULT_QUESTIONS,
    ROOT,
    chroma_binary,
    free_port,
    machine,
    median,
    percentile,
    stop_process,
    table,
)
from bench.scale import load_note

if TYPE_CHECKING:
    from core.settings import Settings
    from vectorstore.embedding import Embedder

logger = logging.getLogger(__name__)

STAGES = ("embed", "dense", "lexical", "fuse", "answer", "total")
CLIENTS = (1, 2, 4)
START_TIMEOUT = 120.0








@contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[int]:
    """`chroma run --path PATH` on a free loopback port for the duration; yields the port."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([chroma_binary(), "run", "--path", str(path), "--host", "127.0.0.1", "--port",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not listen within {START_TIMEOUT:.0f} s; see {log}") from None
                time.sleep(0.2)
        yield port
    finally:
        stop_process(proc)


def served_copy(source: Path, workdir: Path) -> Path:
    """A copy of the Chroma files of `source` (not its lexical index or lock file) for the server to own."""
    target = workdir / "chroma"
    shutil.copytree(source, target,
                    ignore=shutil.ignore_patterns("lexical", "lexical-cache", "lexical-index", ".newsdesk-*"))
    return target


def server_settings(port: int, client_dir: Path) -> "Settings":
    from bench.ingest import COLLECTION
    from core.settings import Settings

    return Settings(chroma_host="127.0.0.1", chroma_port=port, collection=COLLECTION, store_dir=client_dir,
                    _env_file=None)


# -- one process: local store vs server ------------------------------------------------------------


def side_by_side(local: "Settings", served: "Settings", questions: Sequence[str], embedder: "Embedder",
                 repeats: int, warmup: int) -> dict[str, Any]:
    """The same questions against the local store and the server, alternating passes."""
    from bench.query import FreshQuestions, fresh_assistant
    from bench.scale import one_pass, summarise
    from vectorstore.store import ArticleStore

    fresh = FreshQuestions(embedder)
    stores = {"local": ArticleStore(local), "server": ArticleStore(served)}
    first_lexical = {}
    for name, store in stores.items():
        assistant, first_lexical[name] = fresh_assistant(store, fresh)
        one_pass(assistant, questions[:warmup])
    passes: dict[str, list[dict[str, list[float]]]] = {name: [] for name in stores}
    for r in range(repeats):
        for name in (("local", "server") if r % 2 == 0 else ("server", "local")):
            assistant, _ = fresh_assistant(stores[name], fresh)
            passes[name].append(one_pass(assistant, questions))
    return {name: {**summarise(p), "lexical_first_seconds": first_lexical[name]} for name, p in passes.items()}


# -- N processes sharing the server -------------------------------------------------------------


class Worker:
    """One app process (`python -m bench.server --worker`) on the server, driven over stdin/stdout."""

    def __init__(self, env: dict[str, str], questions: Sequence[str], log: Path) -> None:
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.server", "--worker"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self._send({"questions": list(questions)})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"a benchmark worker exited ({self.proc.wait()}); see {self.log.name}")
        return json.loads(line)

    def go(self) -> None:
        self._send({"go": True})

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        stop_process(self.proc)
        self.log.close()


def worker_main() -> int:
    """A worker: build the assistant from NEWSDESK_* settings, warm up, then answer its questions on each "go"."""
    from app.assistant import build_assistant
    from bench.query import FreshQuestions
    from core.settings import get_settings
    from vectorstore.embedding import Embedder

    settings = get_settings()
    questions = json.loads(sys.stdin.readline())["questions"]
    fresh = FreshQuestions(Embedder.from_settings(settings))
    assistant = build_assistant(settings, embedder=fresh)
    for question in questions[:3]:
        assistant.ask(question)
    print(json.dumps({"ready": True, "lexical_builds": assistant.lexical.builds}), flush=True)
    for line in sys.stdin:
        if not json.loads(line).get("go"):
            continue
        assistant = build_assistant(settings, store=assistant.store, embedder=fresh)  # empty answer caches
        assistant.lexical.size  # noqa: B018  (loads the persisted index before the clock starts)
        started = time.monotonic()
        latencies = []
        for question in questions:
            answer = assistant.ask(question)
            latencies.append(answer.timings["total"])
        print(json.dumps({"started": started, "ended": time.monotonic(), "latencies": latencies}), flush=True)
    return 0


def concurrent(env: dict[str, str], questions: Sequence[str], clients: Sequence[int], per_client: int,
               rounds: int, logs: Path) -> list[dict[str, Any]]:
    """For each N: N worker processes answer `per_client` questions each, all at once, `rounds` times.

    max(N) workers are started (and warmed up) once; a round for N sends "go" to the first N of them.
    """
    shares = [[questions[(i * per_client + j) % len(questions)] for j in range(per_client)]
              for i in range(max(clients))]
    workers = [Worker(env, share, logs / f"worker-{i}.log") for i, share in enumerate(shares)]
    results = []
    try:
        ready = [w.read() for w in workers]
        for n in clients:
            throughput, p95, p50 = [], [], []
            for _ in range(rounds):
                for w in workers[:n]:
                    w.go()
                done = [w.read() for w in workers[:n]]
                wall = max(d["ended"] for d in done) - min(d["started"] for d in done)
                latencies = [s for d in done for s in d["latencies"]]
                throughput.append(len(latencies) / wall)
                p95.append(percentile(latencies, 95))
                p50.append(percentile(latencies, 50))
            results.append({"clients": n, "questions_per_round": n * per_client, "throughput": median(throughput),
                            "throughputs": [round(t, 2) for t in throughput], "p50": median(p50),
                            "p95": median(p95), "lexical_builds": sum(r["lexical_builds"] for r in ready[:n])})
            logger.info("N=%d: %.2f questions/s, p95 %.0f ms", n, results[-1]["throughput"],
                        1000 * results[-1]["p95"])
    finally:
        for w in workers:
            w.close()
    return results


def run(articles: Path = DEFAULT_ARTICLES, questions: Path = DEFAULT_QUESTIONS, *, cache: Path = DEFAULT_CACHE,
        repeats: int = 3, warmup: int = 5, clients: Sequence[int] = CLIENTS, per_client: int = 12,
        embedder: "Embedder | None" = None) -> dict[str, Any]:
    """The server benchmark (see the module docstring)."""
    from bench.ingest import COLLECTION, bench_settings, cache_store_dir
    from bench.query import timeless_questions
    from vectorstore.embedding import Embedder

    asked = timeless_questions(questions)
    source = cache_store_dir(articles, cache)
    if not (source / "chroma.sqlite3").is_file():
        raise FileNotFoundError(f"no benchmark store at {source}: run `python -m bench ingest` first")
    cache.mkdir(parents=True, exist_ok=True)
    load_at_start = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="server-", dir=cache))
    try:
        served = served_copy(source, workdir)
        with chroma_server(served, workdir / "chroma.log") as port:
            client_dir = workdir / "client"
            settings = server_settings(port, client_dir)
            embedder = embedder or Embedder.from_settings(settings)
            single = side_by_side(bench_settings(source), settings, asked, embedder, repeats, warmup)
            env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
            env.update(NEWSDESK_CHROMA_HOST="127.0.0.1", NEWSDESK_CHROMA_PORT=str(port),
                       NEWSDESK_COLLECTION=COLLECTION, NEWSDESK_STORE_DIR=str(client_dir), HF_HUB_OFFLINE="1",
                       TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
            shared = concurrent(env, asked, clients, per_client, repeats, workdir)
            chunks = _count(settings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"machine": machine(), "repeats": repeats, "warmup": warmup, "questions": len(asked),
            "chunks": chunks, "per_client": per_client, "single": single, "concurrent": shared,
            "load_average": [load_at_start, os.getloadavg()[0]]}


def _count(settings: "Settings") -> int:
    from vectorstore.store import ArticleStore

    return ArticleStore(settings).count_chunks()


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


def to_markdown(r: dict[str, Any]) -> str:
    """The "## Chroma server" section body."""
    method = (
        f"**Method.** `python -m bench server` on {r['machine']}. Shared machine (other engineers run tests and "
        f"benchmarks at the same time): noisy, so compare figures within this section only. The store of "
        f"`python -m bench ingest` ({r['chunks']:,} chunks) is copied to a temporary directory and served by "
        f"`chroma run --path COPY --host 127.0.0.1 --port P` on this machine. (1) One process asks the "
        f"{r['questions']} realtimeqa-dev questions (their time phrases removed) alternately against the local "
        f"store and the server, "
        f"{r['repeats']} passes each after {r['warmup']} warm-up questions, a fresh assistant per pass; "
        f"medians over passes of each pass's p50 / p95. (2) N separate app processes (`python -m bench.server "
        f"--worker`, each an `Assistant` configured by `NEWSDESK_CHROMA_HOST/PORT` as a user would) share the "
        f"server and each answer {r['per_client']} different questions at the same moment; throughput is the "
        f"round's questions divided by its wall time, p50/p95 over every question of the round; median over "
        f"{r['repeats']} rounds. The server, the N clients and everyone else's work share the same 2 cores, so "
        f"this measures contention on one small host, not what a server on its own machine would give. "
        f"{load_note(r)}"
    )
    single = r["single"]
    rows = [[s, f"{_ms(single['local']['p50'][s])} / {_ms(single['local']['p95'][s])}",
             f"{_ms(single['server']['p50'][s])} / {_ms(single['server']['p95'][s])}",
             f"{single['server']['p50'][s] / single['local']['p50'][s]:.2f}" if single['local']['p50'][s] else "n/a"]
            for s in STAGES]
    one = table(["stage", "local store p50 / p95 ms", "`chroma run` p50 / p95 ms", "server / local (p50)"], rows)
    base = r["concurrent"][0]["throughput"] or 1.0
    crows = [[c["clients"], c["questions_per_round"], f"{c['throughput']:.2f} (rounds {c['throughputs']})",
              f"{c['throughput'] / base:.2f}", f"{_ms(c['p50'])}", f"{_ms(c['p95'])}"] for c in r["concurrent"]]
    many = table(["app processes", "questions per round", "throughput, questions/s", "× N=1", "p50 ms", "p95 ms"],
                 crows)
    builds = sum(c["lexical_builds"] for c in r["concurrent"])
    notes = (f"The app processes shared one `NEWSDESK_STORE_DIR`, so they loaded the BM25 index the first process "
             f"persisted in its `lexical-cache` (index builds in the worker processes: {builds}). With 2 cores, "
             f"throughput cannot grow past about 2× however many processes share the server; beyond one host, "
             f"run the app processes on their own machines against one Chroma server, or Chroma's distributed "
             f"deployment.")
    return "\n\n".join([method, "One process, local store vs server:", one,
                        "Several app processes sharing the server:", many, notes])


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        from core.entrypoint import configure

        configure()
        sys.exit(worker_main())
    sys.exit("usage: python -m bench server   (python -m bench.server --worker is the benchmark's own worker)")
