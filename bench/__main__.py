"""`python -m bench ingest|query|startup|scale|server|load|arenas|warm|near-dups|disagreements|setup|tutorial`: run a
benchmark, print its table, write it into its section of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import DEFAULT_ARTICLES, DEFAULT_CACHE, DEFAULT_OUT, DEFAULT_QUESTIONS, write_section

SECTIONS = {"ingest": "Ingest", "query": "Query latency", "startup": "Start-up", "scale": "Scale",
            "server": "Chroma server", "load": "Load", "arenas": "Memory over a long run", "warm": "Warm CLI",
            "as-of": "As of (RealTimeQA)", "near-dups": "Near-duplicates",
            "disagreements": "Copies that disagree", "setup": "First set-up",
            "tutorial": "Ingest: ours vs the LangChain tutorial"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="Newsdesk QA benchmarks; results are "
                                "printed and written into their section of docs/benchmarks.md.")
    p.add_argument("command", choices=list(SECTIONS), help="which benchmark")
    p.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES, metavar="PATH",
                   help="articles JSONL (default: realtimeqa-dev; read in place, never copied)")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, metavar="PATH",
                   help="questions JSONL for `query` (default: realtimeqa-dev)")
    p.add_argument("--out", default=str(DEFAULT_OUT), metavar="FILE",
                   help="markdown file whose section to replace; '-' to only print (default: docs/benchmarks.md)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                   help="where benchmark stores are kept (default: bench/.cache, git-ignored)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="repeats to take the median of (default: 3; 5 for startup); arenas: rounds of 100 "
                   "requests (default 12)")
    p.add_argument("--subset", type=int, default=200, metavar="N",
                   help="ingest: articles per side-by-side repeat (0 = all; default 200)")
    p.add_argument("--slice", type=int, default=50, metavar="N",
                   help="ingest: articles per slice; ingest and raw encode alternate slice by slice (default 50)")
    p.add_argument("--variants", default=None, metavar="O/H[/P],...",
                   help="tutorial: our configurations as chunk overlap tokens/embedding header[/precision: auto, "
                   "float32, bfloat16] (default 40/title_date,40/title_date/float32)")
    p.add_argument("--sizes", type=_ints, default=None, metavar="N,N,...",
                   help="scale: collection sizes in chunks (default 10000,50000,200000)")
    p.add_argument("--clients", type=_ints, default=None, metavar="N,N,...",
                   help="server: numbers of app processes sharing the server (default 1,2,4); "
                   "load: concurrent chat clients (default 8)")
    p.add_argument("--requests", type=int, default=200, metavar="N", help="load: chat requests (default 200)")
    p.add_argument("--turns", type=int, default=0, metavar="N",
                   help="load: questions per chat session before a client starts a new one (default 0: one "
                   "session per client)")
    p.add_argument("--warmup", type=int, default=400, metavar="N",
                   help="load: warm-up requests before the measured run (default 400)")
    p.add_argument("--idle-minutes", type=float, default=None, metavar="M",
                   help="load: NEWSDESK_SESSION_IDLE_MINUTES for the app (default: the app's own)")
    p.add_argument("--store", type=Path, default=None, metavar="DIR",
                   help="as-of: a store of the articles to reuse (default: one in the cache); scale: an evaluation "
                   "store of the articles (`python -m evaluation --store DIR`) to build the collections from")
    p.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


def _ints(value: str) -> list[int]:
    try:
        found = [int(v) for v in value.split(",") if v.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from e
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return found


def _run(args: argparse.Namespace) -> tuple[dict[str, Any], Callable[[dict[str, Any]], str]]:
    if args.command == "ingest":
        from bench import ingest

        result = ingest.run(args.articles, cache=args.cache, repeats=args.repeats or 3, subset=args.subset,
                            slice_articles=args.slice)
        return result, ingest.to_markdown
    if args.command == "query":
        from bench import query

        result = query.run(args.articles, args.questions, cache=args.cache, repeats=args.repeats or 3)
        return result, query.to_markdown
    if args.command == "scale":
        from bench import scale

        result = scale.run(args.articles, args.questions, cache=args.cache, repeats=args.repeats or 3,
                           sizes=args.sizes or scale.SIZES, source_store=args.store)
        return result, scale.to_markdown
    if args.command == "server":
        from bench import server

        result = server.run(args.articles, args.questions, cache=args.cache, repeats=args.repeats or 3,
                            clients=args.clients or server.CLIENTS)
        return result, server.to_markdown
    if args.command == "load":
        from bench import load

        result = load.run(args.requests, (args.clients or [load.CLIENTS])[0], turns=args.turns,
                          warmup=args.warmup, idle_minutes=args.idle_minutes)
        return result, load.to_markdown
    if args.command == "as-of":
        from bench import as_of

        return as_of.run(args.articles, args.questions, cache=args.cache, store_dir=args.store), as_of.to_markdown
    if args.command == "warm":
        from bench import warm

        return warm.run(cache=args.cache, repeats=args.repeats or 5), warm.to_markdown
    if args.command == "near-dups":
        from bench import near_duplicates

        return near_duplicates.run(args.articles, cache=args.cache), near_duplicates.to_markdown
    if args.command == "disagreements":
        from bench import disagreements

        return disagreements.run(args.articles), disagreements.to_markdown
    if args.command == "tutorial":
        from bench import tutorial

        variants = tuple(v.strip() for v in args.variants.split(",")) if args.variants else tutorial.VARIANTS
        return tutorial.run(args.articles, cache=args.cache, repeats=args.repeats or 3, subset=args.subset,
                            slice_articles=args.slice, variants=variants), tutorial.to_markdown
    if args.command == "setup":
        from bench import setup

        return setup.run(args.repeats or 1), setup.to_markdown
    if args.command == "arenas":
        from bench import load

        result = load.arenas(args.repeats or 12, (args.clients or [load.CLIENTS])[0])
        return result, load.arenas_markdown
    from bench import startup

    result = startup.run(args.articles, cache=args.cache, repeats=args.repeats or 5)
    return result, startup.to_markdown


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure

    args = _parser().parse_args(argv)
    configure(args.verbose)
    for path, name in ((args.articles, "--articles"), (args.questions, "--questions")):
        needed = (name == "--articles" and args.command not in ("load", "warm", "setup")
                  or args.command in ("query", "scale", "server", "as-of"))
        if needed and not path.is_file():
            print(f"error: {name}: no such file: {path}", file=sys.stderr)
            return 2
    result, render = _run(args)
    body = render(result)
    print(f"## {SECTIONS[args.command]}\n\n{body}")
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    if args.out != "-":
        write_section(Path(args.out), SECTIONS[args.command], body)
        print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
