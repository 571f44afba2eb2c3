"""`python -m app`: the chat UI (default) and `python -m app ask` on the command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

from app.export import FORMATS

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.retrieval import Filters
    from core.records import Answer
    from core.settings import Settings

logger = logging.getLogger("app")

BATCH_MIN_HITS = 10


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from e


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app", description="Newsdesk QA: questions about news articles, "
                                "answered with a citation for every sentence.")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command")
    ui = sub.add_parser("ui", help="open the chat UI (the default)")
    _ui_args(ui)
    ask = sub.add_parser("ask", help="answer a question (or a batch) on the command line")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument("--batch", metavar="QUESTIONS.jsonl",
                     help='answer lines {"id","question"} (and "as_of": "YYYY-MM-DD"); write JSON lines')
    ask.add_argument("--format", choices=FORMATS, default="text",
                     help="text (default), markdown, json or csv (one row per citation)")
    ask.add_argument("--json", action="store_true", help="the same as --format json")
    ask.add_argument("--since", type=_date, metavar="DATE", help="only articles published on or after DATE")
    ask.add_argument("--until", type=_date, metavar="DATE", help="only articles published on or before DATE")
    ask.add_argument("--as-of", type=_date, metavar="DATE", dest="as_of",
                     help="answer as of DATE: only articles published by then; 'last week', 'latest' read from it")
    story = ask.add_mutually_exclusive_group()
    story.add_argument("--timeline", action="store_true",
                       help="answer as a dated list of events, oldest first, each a cited sentence")
    story.add_argument("--since-last", type=_date, metavar="DATE", dest="since_last",
                       help="what is new since DATE: sentences of later articles that earlier ones did not say")
    ask.add_argument("--source", action="append", default=[], metavar="HOST", help="only this outlet (repeatable)")
    ask.add_argument("--k", type=int, metavar="N", help="number of passages to retrieve")
    ask.add_argument("--llm", choices=("extractive", "openai", "ollama"),
                     help="answer backend (default NEWSDESK_LLM, else extractive); see docs/llm.md")
    where = ask.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="ask the Newsdesk server at URL (its JSON API)")
    where.add_argument("--standalone", action="store_true",
                       help="answer in this process even when a server serves the same store")
    ask.add_argument("-v", "--verbose", action="store_true", help="log details")
    _ui_args(p)
    return p


def _ui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=argparse.SUPPRESS, help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=argparse.SUPPRESS, help="port (default 7860, or the next free)")
    p.add_argument("--no-seed", action="store_true", default=argparse.SUPPRESS,
                   help="do not ingest the bundled sample articles into an empty store")


def format_answer(answer: "Answer") -> str:
    """The answer as a person reads it in a terminal: text, numbered sources, what was searched."""
    from app.assistant import describe_search

    note = answer.timeline.note if answer.timeline else ""
    return "\n\n".join(p for p in (answer.text, note, format_sources(answer), *answer.changed,
                                   describe_search(answer.window)) if p)


def format_sources(answer: "Answer") -> str:
    """The numbered sources of an answer, one exact quote each."""
    from core.records import also_reported

    lines = []
    if answer.citations:
        lines.append("Closest passages:" if answer.abstained else "Sources:")
    for c in answer.citations:
        when = c.published.isoformat() if c.published else "undated"
        outlet = f" — {c.source}" if c.source else ""
        also = f"; {also_reported(c.copies)}" if c.copies else ""
        lines.append(f"[{c.n}] {c.title or c.article_id}{outlet}, {when}{also}")
        lines.append(f"    \u201c{c.quote}\u201d")
        lines.append(f"    {c.url or c.article_id} (characters {c.start}\u2013{c.end})")
    return "\n".join(lines).rstrip()


def _filters(args: argparse.Namespace) -> "Filters":
    from app.retrieval import Filters

    if args.since and args.until and args.since > args.until:
        raise SystemExit("error: --since is after --until")
    return Filters(since=args.since, until=args.until, sources=tuple(args.source))


BatchLine = tuple[str, str | None, date | None, str | None]
"""(id, question, as-of day or None, None) for a usable line; (id, None, None, error) for one that is not."""


def _batch_questions(path: str) -> Iterator[BatchLine]:
    """Each line of a batch file, read: its id, question and optional "as_of" day, or why it is unusable."""
    from core.text import strip_unprintable

    try:
        handle = open(path, "rb")
    except OSError as e:
        raise SystemExit(f"error: cannot read {path}: {e.strerror}") from e
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as e:
                yield str(number), None, None, f"line {number}: invalid JSON ({e})"
                continue
            if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                yield str(number), None, None, f'line {number}: expected a JSON object with a "question" string'
                continue
            qid = strip_unprintable(str(row.get("id", number)))
            try:
                as_of = date.fromisoformat(row["as_of"]) if row.get("as_of") else None
            except (TypeError, ValueError):
                yield qid, None, None, f'line {number}: "as_of" must be a date as YYYY-MM-DD, got {row["as_of"]!r}'
                continue
            yield qid, strip_unprintable(row["question"]), as_of, None


Asker = Callable[[str, int | None, date | None], dict[str, Any]]
"""Answers (question, k, as-of day) with the JSON of an answer: in this process, or by a server."""


def _run_batch(ask: Asker, default_k: int, args: argparse.Namespace, out: TextIO) -> int:
    """One JSON line per question line; a line that cannot be asked (not JSON, no question, empty, too
    long) gets an error row and the rest go on: exit 1 when any had one. A store or model that fails stops
    the batch (exit 2): every later question would fail the same way."""
    from app.assistant import QuestionError

    k = max(args.k or default_k, BATCH_MIN_HITS)
    failed = 0
    for qid, question, as_of, error in _batch_questions(args.batch):
        if question is not None:
            try:
                row = {"id": qid, **ask(question, k, as_of or args.as_of)}
            except QuestionError as e:
                error = str(e)
        if error is not None:
            failed += 1
            print(f"error: {args.batch}: question {qid}: {error}", file=sys.stderr)
            row = {"id": qid, "question": question, "error": error}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return 1 if failed else 0


def _server_for(args: argparse.Namespace, settings: "Settings") -> str | None:
    """The server to ask: `--server URL`, else one running on this store (none with `--standalone`)."""
    from app.client import running_server

    if args.server:
        return args.server
    return None if args.standalone else running_server(settings)


def _run_ask(args: argparse.Namespace) -> int:
    from core.settings import get_settings

    if not args.question and not args.batch:
        raise SystemExit("error: give a QUESTION or --batch FILE")
    if args.json:
        args.format = "json"
    filters = _filters(args)
    settings = get_settings()
    server = _server_for(args, settings)
    if server is not None:
        code = _ask_remote(server, args, settings, filters)
        if code is not None:
            return code
    if args.llm:
        settings = settings.model_copy(update={"llm": args.llm})
    return _ask_here(args, settings, filters)


def _ask_remote(server: str, args: argparse.Namespace, settings: "Settings", filters: "Filters") -> int | None:
    """Ask `server`; None when a server found in the store folder cannot be reached (the caller answers
    itself). A server named with --server that fails is an error."""
    from app.client import ServerError, ask_server
    from app.export import answer_from_json, render

    def ask(question: str, k: int | None, as_of: date | None = args.as_of) -> dict[str, Any]:
        return ask_server(server, settings, question, since=filters.since, until=filters.until,
                          sources=filters.sources, k=k, mode=args.llm, as_of=as_of, timeline=args.timeline,
                          since_last=args.since_last)

    try:
        if args.batch:
            return _run_batch(ask, settings.top_k, args, sys.stdout)
        data = ask(args.question, args.k)
    except ServerError as e:
        if args.server:
            raise
        print(f"note: {e}; answering here instead", file=sys.stderr)
        return None
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.format == "text":
        print(format_answer(answer_from_json(data)))
    else:
        sys.stdout.write(render(answer_from_json(data), args.format))
    return 0


def _ask_here(args: argparse.Namespace, settings: "Settings", filters: "Filters") -> int:
    from app.assistant import build_assistant
    from app.export import answer_json, render

    assistant = build_assistant(settings)
    if args.batch:
        return _run_batch(lambda q, k, as_of: answer_json(assistant.ask(
            q, filters=filters, k=k, as_of=as_of, timeline=args.timeline, since_last=args.since_last)),
                          settings.top_k, args, sys.stdout)
    if args.format == "text":
        _stream_answer(assistant, args, sys.stdout)
        return 0
    sys.stdout.write(render(assistant.ask(args.question, filters=filters, k=args.k, as_of=args.as_of,
                                          timeline=args.timeline, since_last=args.since_last), args.format))
    return 0


def _stream_answer(assistant: "Assistant", args: argparse.Namespace, out: TextIO) -> None:
    """Print the answer as it is produced, then its sources. An LLM's streamed draft may differ from the
    verified answer (dropped sentences, renumbered citations): the verified one is then printed too."""
    from core.records import Answer

    shown: list[str] = []
    answer = None
    for event in assistant.stream(args.question, filters=_filters(args), k=args.k, as_of=args.as_of,
                                  timeline=args.timeline, since_last=args.since_last):
        if isinstance(event, Answer):
            answer = event
            continue
        shown.append(event)
        out.write(event)
        out.flush()
    assert answer is not None
    out.write("\n")
    if " ".join("".join(shown).split()) != " ".join(answer.text.split()):
        out.write(f"\nVerified answer ({answer.mode}):\n{answer.text}\n")
    from app.assistant import describe_search

    note = answer.timeline.note if answer.timeline else ""
    for part in (note, format_sources(answer), *answer.changed, describe_search(answer.window)):
        out.write(f"\n{part}\n" if part else "")
    out.flush()
    if answer.fallback_reason:
        print(f"note: fallback: extractive answer because {answer.fallback_reason}", file=sys.stderr)


def _run_ui(args: argparse.Namespace) -> int:
    from app.serve import launch
    from core.settings import get_settings

    settings = get_settings()
    return launch(settings, host=getattr(args, "host", "127.0.0.1"), port=getattr(args, "port", None),
                  seed=not getattr(args, "no_seed", False))


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure, run

    args = _parser().parse_args(argv)
    configure(args.verbose)
    return run(lambda: _run_ask(args) if args.command == "ask" else _run_ui(args))


if __name__ == "__main__":
    sys.exit(main())
