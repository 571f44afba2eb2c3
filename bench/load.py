"""Load: R chat requests from C concurrent `gradio_client` clients against `python -m app` on loopback.

The app runs as a subprocess on a free 127.0.0.1 port with a temporary store seeded from the sample
articles; every client asks through the public `/chat` endpoint, exactly as the page does. Reported:
throughput, latency percentiles, errors (exceptions, error replies, citations that do not round-trip
to the stored article text), and the server's resident memory sampled every second.

Each client holds a conversation of `turns` questions and then starts a new session, like a reader
who asks a few follow-ups and reloads the page.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ROOT, free_port, machine, percentile, stop_process

SAMPLE_SOURCES = (ROOT / "data" / "articles", ROOT / "tests" / "data" / "articles")
GOLDEN = ROOT / "tests" / "golden" / "sample_questions.jsonl"
COLLECTION = "load"
CLIENTS = 8
START_TIMEOUT = 300.0
REQUEST_TIMEOUT = 120.0
WARMUP_SECONDS = 2.0

_CARD = re.compile(r'<article class="nd-src" id="src-(\d+)-(\d+)">(.*?)</article>', re.DOTALL)
_TITLE = re.compile(r'class="nd-title"[^>]*>(.*?)</(?:span|a)>', re.DOTALL)
_PARA = re.compile(r'<p class="nd-para">(.*?)</p>', re.DOTALL)
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)
_LINK = re.compile(r'href="#src-(\d+)-(\d+)"')
_TAG = re.compile(r"<[^>]+>")
ABSTAIN_BADGE = "Not answered by the articles"
ERROR_CLASS = "nd-error-msg"
STALE_NOTES = ("(the article has changed since)", "(the article has been deleted)")


# -- what a reply says ---------------------------------------------------------------------------


@dataclass
class Source:
    """One source card of the sources panel: the cited sentence and the paragraph it sits in."""

    n: int
    title: str
    quote: str
    paragraph: str
    stale: bool


@dataclass
class Reply:
    question: str
    answer: str
    abstained: bool
    cited: list[int]
    sources: list[Source]
    error: str | None = None


def _text(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment))


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def parse_reply(question: str, result: Sequence[Any]) -> Reply:
    """Read the /chat outputs (chat messages, sources panel HTML, question box) for the newest answer."""
    messages, panel = result[0] or [], result[1] or ""
    last = _message_text(messages[-1]) if messages and messages[-1].get("role") == "assistant" else ""
    if not last:
        return Reply(question, "", False, [], [], error="no answer in the chat")
    if ERROR_CLASS in last:
        return Reply(question, _text(last), False, [], [], error=_text(last))
    links = [(int(t), int(n)) for t, n in _LINK.findall(last)]
    turn = links[0][0] if links else None
    sources = []
    for t, n, body in _CARD.findall(panel):
        if turn is None or int(t) != turn:
            continue
        title, para = _TITLE.search(body), _PARA.search(body)
        mark = _MARK.search(para.group(1)) if para else None
        paragraph = para.group(1) if para else ""
        stale = any(note in _text(paragraph) for note in STALE_NOTES)
        sources.append(Source(int(n), _text(title.group(1)) if title else "", _text(mark.group(1)) if mark else "",
                              _text(paragraph), stale))
    return Reply(question, _text(last), ABSTAIN_BADGE in last, [n for _, n in links], sources)


def check_reply(reply: Reply, texts: dict[str, list[str]]) -> list[str]:
    """What is wrong with a reply, given the stored article texts by title (empty: nothing)."""
    if reply.error:
        return [f"{reply.question!r}: error reply: {reply.error}"]
    problems = []
    if not reply.abstained and not reply.cited:
        problems.append(f"{reply.question!r}: an answer without a citation: {reply.answer[:120]!r}")
    if reply.cited and not reply.sources:
        problems.append(f"{reply.question!r}: citations {reply.cited} but no source card for this answer")
    shown = {s.n for s in reply.sources}
    for n in reply.cited:
        if n not in shown:
            problems.append(f"{reply.question!r}: [{n}] has no source card")
    for s in reply.sources:
        candidates = texts.get(s.title, [])
        if s.stale or not s.quote:
            problems.append(f"{reply.question!r}: source {s.n} shows no cited sentence ({s.paragraph[:80]!r})")
        elif not candidates:
            problems.append(f"{reply.question!r}: source {s.n} names no stored article: {s.title!r}")
        elif not any(s.quote in text and _paragraph_in(s.paragraph, text) for text in candidates):
            problems.append(f"{reply.question!r}: source {s.n} quote is not in {s.title!r}: {s.quote[:80]!r}")
    return problems


def _paragraph_in(paragraph: str, text: str) -> bool:
    """The shown paragraph (cut with an ellipsis when long) is a piece of the article text."""
    return all(piece.strip() in text for piece in paragraph.split("\u2026") if piece.strip())


def stored_texts(store_dir: Path, collection: str = COLLECTION) -> dict[str, list[str]]:
    """Article texts by title, read back from the store the app wrote."""
    from core.settings import Settings
    from vectorstore.store import ArticleStore

    store = ArticleStore(Settings(store_dir=store_dir, collection=collection, _env_file=None))
    texts: dict[str, list[str]] = {}
    for info in store.list_articles():
        text = store.article_text(info.id)
        if text is not None:
            texts.setdefault(info.title or info.id, []).append(text)
    return texts


# -- the app under test --------------------------------------------------------------------------




def rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` in MB (psutil when installed, else /proc), None once it is gone."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)
        except psutil.Error:
            return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


class AppProcess:
    """`python -m app ui` on a free loopback port, seeding a fresh store in `workdir` from `sources`."""

    def __init__(self, workdir: Path, sources: Sequence[Path] = SAMPLE_SOURCES,
                 env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.sources = sources
        self.env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.store_dir = workdir / "store"
        self.log = workdir / "app.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        articles = self.workdir / "articles"
        articles.mkdir(parents=True, exist_ok=True)
        for folder in self.sources:  # one folder, since the app seeds from one; ids are the file names
            for path in sorted(Path(folder).iterdir()):
                if path.is_file():
                    shutil.copyfile(path, articles / path.name)
        env = dict(os.environ, NEWSDESK_STORE_DIR=str(self.store_dir), NEWSDESK_COLLECTION=COLLECTION,
                   NEWSDESK_ARTICLES_DIR=str(articles), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   GRADIO_ANALYTICS_ENABLED="False")
        env.pop("NEWSDESK_AUTH", None)
        env.pop("NEWSDESK_CHROMA_HOST", None)
        env.update(self.env)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "ui", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.tail()}")
            if "is running on" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the app did not start within {timeout:.0f} s:\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc)


class RssSampler:
    """Samples a process's RSS every `interval` seconds in a thread: (seconds since start, MB)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._t0 = time.monotonic()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> float | None:
        mb = rss_mb(self.pid)
        if mb is not None:
            self.samples.append((time.monotonic() - self._t0, mb))
        return mb

    def now(self) -> float:
        return time.monotonic() - self._t0

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# -- the load ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    question: str
    started: float
    seconds: float
    reply: Reply | None = None
    error: str | None = None


@dataclass
class LoadRun:
    outcomes: list[Outcome] = field(default_factory=list)
    sessions: int = 0
    started: float = 0.0
    ended: float = 0.0


def load_questions(path: Path = GOLDEN) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def _client(url: str) -> Any:
    from gradio_client import Client

    # trust_env=False: a proxy set in the environment must not sit between the clients and loopback.
    return Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"trust_env": False})


def ask(client: Any, question: str, timeout: float = REQUEST_TIMEOUT) -> tuple[Any, ...]:
    """One question through /chat, as typed in the page with the default search options."""
    job = client.submit(question=question, since="", until="", as_of="", api_name="/chat")
    return tuple(job.result(timeout=timeout))


def open_clients(url: str, n: int) -> list[Any]:
    """`n` clients, each its own chat session; close them with `close_clients`."""
    return [_client(url) for _ in range(n)]


def close_clients(clients: Sequence[Any]) -> None:
    for client in clients:
        client.close()


def run_load(url: str, questions: Sequence[str], *, requests: int, clients: int, turns: int = 5,
             seed: int = 8, clock: Callable[[], float] = time.monotonic,
             sessions: Sequence[Any] | None = None) -> LoadRun:
    """`requests` questions (drawn from `questions`) from `clients` threads, each with its own client:
    new ones, or the open clients `sessions` (which go on with their conversations)."""
    rng = random.Random(seed)
    drawn = [rng.choice(list(questions)) for _ in range(requests)]
    shares = [drawn[i::clients] for i in range(clients)]
    run = LoadRun(sessions=sum(-(-len(share) // turns) if turns else 1 for share in shares if share))
    lock = threading.Lock()

    def worker(n: int, share: list[str]) -> None:
        client = sessions[n] if sessions is not None else _client(url)
        try:
            for i, question in enumerate(share):
                if i and turns and i % turns == 0:
                    client.reset_session()
                started = clock()
                outcome = Outcome(question, started, 0.0)
                try:
                    outcome.reply = parse_reply(question, ask(client, question))
                except Exception as e:  # every failure is counted, with its type and words
                    outcome.error = f"{type(e).__name__}: {e}"
                outcome.seconds = clock() - started
                with lock:
                    run.outcomes.append(outcome)
        finally:
            if sessions is None:
                client.close()

    run.started = clock()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="load-client") as pool:
        for future in [pool.submit(worker, n, share) for n, share in enumerate(shares) if share]:
            future.result()
    run.ended = clock()
    return run


def slope_mb_per_min(samples: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(t for t, _ in samples) / n
    mm = sum(m for _, m in samples) / n
    var = sum((t - mt) ** 2 for t, _ in samples)
    return 0.0 if var == 0 else sum((t - mt) * (m - mm) for t, m in samples) / var * 60


def floor_growth(samples: Sequence[tuple[float, float]], share: float = 0.25) -> float:
    """How much the lowest RSS of the last `share` of `samples` exceeds the lowest of the first `share`.

    Between two heap trims RSS rises by a few MB and falls back at the trim (a sawtooth), so two single
    samples differ by up to its height whatever the trend; the lows are what the process keeps after a
    trim. Each window must span a trim period (NEWSDESK_HEAP_TRIM_SECONDS) for its low to be one."""
    if len(samples) < 4:
        return 0.0
    n = max(1, int(len(samples) * share))
    return min(m for _, m in samples[-n:]) - min(m for _, m in samples[:n])


def summarise(run: LoadRun, samples: Sequence[tuple[float, float]], rss_start: float, rss_warm: float,
              texts: dict[str, list[str]]) -> dict[str, Any]:
    """Throughput, latencies, errors and memory of one run (sample times on the run's clock)."""
    latencies = [o.seconds for o in run.outcomes]
    problems: list[str] = []
    for o in run.outcomes:
        problems.extend([f"{o.question!r}: {o.error}"] if o.error else check_reply(o.reply, texts) if o.reply else [])
    failed = sum(1 for o in run.outcomes if o.error or (o.reply and check_reply(o.reply, texts)))
    wall = max(run.ended - run.started, 1e-9)
    middle = run.started + wall / 2
    during = [(t, m) for t, m in samples if run.started <= t <= run.ended]
    second_half = [(t, m) for t, m in during if t >= middle]
    mid_rss = second_half[0][1] if second_half else rss_warm
    end_rss = during[-1][1] if during else rss_warm
    return {
        "requests": len(run.outcomes),
        "wall_s": wall,
        "throughput_rps": len(run.outcomes) / wall,
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "max_s": max(latencies, default=0.0),
        "errors": failed,
        "problems": problems[:20],
        "abstained": sum(1 for o in run.outcomes if o.reply and o.reply.abstained and not o.reply.error),
        "rss_start_mb": rss_start,
        "rss_warm_mb": rss_warm,
        "rss_mid_mb": mid_rss,
        "rss_end_mb": end_rss,
        "rss_peak_mb": max((m for _, m in during), default=rss_warm),
        "rss_second_half_growth_mb": end_rss - mid_rss,
        "rss_second_half_floor_growth_mb": floor_growth(second_half),
        "rss_second_half_slope_mb_per_min": slope_mb_per_min(second_half),
        "rss_second_half_kb_per_request": (end_rss - mid_rss) * 1024 / max(len(run.outcomes) / 2, 1),
        "rss_samples": len(during),
        "sessions": run.sessions,
    }


WARMUP_REQUESTS = 400
"""Requests before the measured run. With one session per client, the same clients ask them, so the
measured run starts with chats at their MAX_KEPT_ANSWERS limit (8 x 50): what is measured is the
steady state, where a leak would show; a chat filling up is the expected growth before it
(docs/reliability.md, Load). With --turns, other clients ask them."""


def run(requests: int = 200, clients: int = 8, *, turns: int = 0, questions: Path = GOLDEN,
        warmup: int = WARMUP_REQUESTS, idle_minutes: float | None = None) -> dict[str, Any]:
    """Start the app, warm it up, run the load, read the store back, report. `idle_minutes` sets
    NEWSDESK_SESSION_IDLE_MINUTES for the app (default: the app's own, a day)."""
    asked = load_questions(questions)
    env = {"NEWSDESK_SESSION_IDLE_MINUTES": f"{idle_minutes:g}"} if idle_minutes is not None else {}
    with tempfile.TemporaryDirectory(prefix="newsdesk-load-") as tmp:
        app = AppProcess(Path(tmp), env=env)
        sessions: list[Any] = []
        try:
            app.start()
            sessions = open_clients(app.url, clients) if not turns else []
            with RssSampler(app.pid) as sampler:
                rss_start = sampler.sample() or 0.0
                run_load(app.url, asked, requests=max(warmup, clients), clients=clients, turns=turns,
                         seed=1, clock=sampler.now, sessions=sessions or None)
                time.sleep(WARMUP_SECONDS)
                rss_warm = sampler.sample() or 0.0
                load = run_load(app.url, asked, requests=requests, clients=clients, turns=turns,
                                clock=sampler.now, sessions=sessions or None)
        finally:
            close_clients(sessions)
            app.stop()
        texts = stored_texts(app.store_dir)
        result = summarise(load, sampler.samples, rss_start, rss_warm, texts)
    result.update(clients=clients, turns=turns, questions=len(asked), machine=machine(),
                  warmup=max(warmup, clients), idle_minutes=idle_minutes)
    return result


def command(r: dict[str, Any]) -> str:
    idle = f" --idle-minutes {r['idle_minutes']:g}" if r.get("idle_minutes") is not None else ""
    return (f"python -m bench load --requests {r['requests']} --clients {r['clients']} --turns {r['turns']}"
            f" --warmup {r['warmup']}{idle}")


def to_markdown(r: dict[str, Any]) -> str:
    per_session = (f"each client asks {r['turns']} questions per session, then starts a new one"
                   if r["turns"] else "each client keeps one session")
    idle = (f" The app forgets a session after {r['idle_minutes']:g} minutes unused "
            "(NEWSDESK_SESSION_IDLE_MINUTES), so sessions come and go during the run."
            if r.get("idle_minutes") is not None else "")
    warm = ("from the same clients, so every chat starts the run at its answer limit (MAX_KEPT_ANSWERS)"
            if not r["turns"] else "from other clients")
    lines = [
        f"`{command(r)}`: "
        f"{r['requests']} chat requests through the app's `/chat` Gradio endpoint from {r['clients']} concurrent "
        f"`gradio_client` clients on 127.0.0.1 ({per_session}: {r['sessions']} sessions), questions drawn "
        f"from the {r['questions']} of tests/golden/sample_questions.jsonl, over the 5 sample articles, after "
        f"{r['warmup']} warm-up requests ({warm}). The app runs with its default queue (4 answers "
        "at a time, the rest wait). Errors count exceptions, error replies and citations that do not "
        f"round-trip to the stored article text.{idle}",
        "",
        "| requests | clients | wall | throughput | p50 | p95 | max | errors | abstained |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['requests']} | {r['clients']} | {r['wall_s']:.1f} s | {r['throughput_rps']:.2f} req/s | "
        f"{r['p50_s']:.2f} s | {r['p95_s']:.2f} s | {r['max_s']:.2f} s | {r['errors']} | {r['abstained']} |",
        "",
        "| server RSS | MB |",
        "|---|---:|",
        f"| at start (model loaded, store seeded) | {r['rss_start_mb']:.0f} |",
        f"| after warm-up ({r['warmup']} requests) | {r['rss_warm_mb']:.0f} |",
        f"| half-way through the run | {r['rss_mid_mb']:.0f} |",
        f"| end of the run | {r['rss_end_mb']:.0f} |",
        f"| peak during the run | {r['rss_peak_mb']:.0f} |",
        f"| growth over the second half | {r['rss_second_half_growth_mb']:+.1f} "
        f"({r['rss_second_half_kb_per_request']:+.0f} kB per request; slope "
        f"{r['rss_second_half_slope_mb_per_min']:+.1f} MB/min) |",
        f"| growth of the lows (first vs last quarter of the second half) | "
        f"{r['rss_second_half_floor_growth_mb']:+.1f} |",
        "",
        f"Machine: {r['machine']}; shared with other jobs, so latencies are noisy.",
    ]
    if r["problems"]:
        lines += ["", "First problems:", "", *[f"- {p}" for p in r["problems"]]]
    return "\n".join(lines)


# -- memory over a long run: glibc's malloc arenas, default vs capped ----------------------------

GLIBC_DEFAULT_ARENAS = 8 * (os.cpu_count() or 1)
"""glibc's own limit on 64-bit machines; set as MALLOC_ARENA_MAX it stops the app from capping arenas."""


def rss_rounds(rounds: int, *, clients: int = CLIENTS, per_round: int = 100,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """`rounds` rounds of `per_round` requests from the same `clients` sessions; RSS after each."""
    asked = load_questions()
    with tempfile.TemporaryDirectory(prefix="newsdesk-rounds-") as tmp:
        app = AppProcess(Path(tmp), env=env)
        sessions: list[Any] = []
        rss, seconds = [], []
        try:
            app.start()
            sessions = open_clients(app.url, clients)
            start = rss_mb(app.pid) or 0.0
            for n in range(rounds):
                run = run_load(app.url, asked, requests=per_round, clients=clients, turns=0, seed=n,
                               sessions=sessions)
                errors = [o.error for o in run.outcomes if o.error]
                if errors:
                    raise RuntimeError(f"round {n}: {len(errors)} failed requests, first: {errors[0]}")
                time.sleep(1.0)
                rss.append(rss_mb(app.pid) or 0.0)
                seconds.append(run.ended - run.started)
        finally:
            close_clients(sessions)
            app.stop()
    return {"start_mb": start, "rss_mb": rss, "round_s": seconds}


def arenas(rounds: int = 12, clients: int = CLIENTS) -> dict[str, Any]:
    """The same long run twice, one after the other: glibc's default arenas, then the app's cap."""
    default = rss_rounds(rounds, clients=clients, env={"MALLOC_ARENA_MAX": str(GLIBC_DEFAULT_ARENAS)})
    capped = rss_rounds(rounds, clients=clients)
    return {"rounds": rounds, "clients": clients, "per_round": 100, "default": default, "capped": capped,
            "glibc_default": GLIBC_DEFAULT_ARENAS, "machine": machine()}


def arenas_markdown(r: dict[str, Any]) -> str:
    from statistics import median

    from app.sessions import SERVER_MALLOC_ARENAS
    from app.ui_handlers import MAX_KEPT_ANSWERS

    full = -(-MAX_KEPT_ANSWERS * r["clients"] // r["per_round"])  # the round after which every chat is full
    lines = [
        f"`python -m bench arenas --repeats {r['rounds']}`: `python -m app` on loopback, {r['clients']} "
        f"`gradio_client` clients that keep their sessions, {r['rounds']} rounds of {r['per_round']} chat "
        "requests each; the server's RSS after each round. Run twice, one after the other: with glibc's "
        f"default malloc arenas (MALLOC_ARENA_MAX={r['glibc_default']}, 8 per core) and with the cap of "
        f"{SERVER_MALLOC_ARENAS} that `python -m app` sets (`app.sessions.limit_malloc_arenas`). Both runs "
        "hand freed heap pages back every 10 s (`app.sessions.trim_heap`). The chats fill up to "
        f"{MAX_KEPT_ANSWERS} answers during rounds 1–{full}; after that nothing is meant to grow.",
        "",
        "| round | " + " | ".join(str(n + 1) for n in range(r["rounds"])) + " |",
        "|---|" + "---:|" * r["rounds"],
    ]
    for key, label in (("default", f"RSS MB, {r['glibc_default']} arenas"), ("capped", "RSS MB, 2 arenas")):
        lines.append(f"| {label} | " + " | ".join(f"{m:.1f}" for m in r[key]["rss_mb"]) + " |")
    lines += ["", "| arenas | growth after the chats are full | per 100 requests | median round |",
              "|---|---:|---:|---:|"]
    for key, label in (("default", str(r["glibc_default"])), ("capped", "2")):
        rss = r[key]["rss_mb"][full - 1:]
        growth = rss[-1] - rss[0] if len(rss) > 1 else 0.0
        per = growth / max(len(rss) - 1, 1)
        lines.append(f"| {label} | {growth:+.1f} MB (rounds {full}–{r['rounds']}) | {per:+.2f} MB | "
                     f"{median(r[key]['round_s']):.1f} s |")
    lines += ["", f"Machine: {r['machine']}; shared with other jobs."]
    return "\n".join(lines)
