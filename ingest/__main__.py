"""`python -m ingest`: add articles from files, folders, URLs, feeds and JSONL; list, delete, stats."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger("ingest")

SUBCOMMANDS = ("list", "delete", "stats")


def _ingest_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Ingest news articles into the Newsdesk store. Unchanged articles are skipped; "
        "changed ones replace their old version. Other commands: list, delete ID, stats.",
        epilog="Sources: .txt .md .html .htm .pdf .jsonl files, folders (recursive), http(s) URLs.",
    )
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="file, folder or http(s) URL")
    p.add_argument("--jsonl", action="append", default=[], metavar="FILE",
                   help="JSONL file, one article per line: id, url, title, text, published, source")
    p.add_argument("--feed", action="append", default=[], metavar="URL", help="RSS or Atom feed (URL or file)")
    p.add_argument("--prune", action="store_true", help="remove articles whose file is gone from a given folder")
    p.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


def _admin_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", description="Inspect or edit the article store.")
    sub = p.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="list ingested articles")
    ls.add_argument("--json", action="store_true")
    rm = sub.add_parser("delete", help="delete an article and its chunks")
    rm.add_argument("ids", nargs="+", metavar="ID")
    st = sub.add_parser("stats", help="counts of articles and chunks")
    st.add_argument("--json", action="store_true")
    for s in (ls, rm, st):
        s.add_argument("-v", "--verbose", action="store_true")
    return p


def _run_ingest(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    if not (args.sources or args.jsonl or args.feed):
        _ingest_parser().error("give at least one SOURCE, --jsonl FILE or --feed URL")
    settings = get_settings()
    ingestor = Ingestor.from_settings(settings)
    loaded = load_sources(args.sources, settings, jsonl=args.jsonl, feeds=args.feed)
    roots = [Path(s) for s in args.sources if Path(s).is_dir()] if args.prune else []
    report = ingestor.run(loaded, prune_roots=roots, dry_run=args.dry_run, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for error in report.errors:
            print(f"error: {error['source']}: {error['error']}", file=sys.stderr)
        for skip in report.skips:
            print(f"skipped: {skip['source']}: {skip['reason']}", file=sys.stderr)
        print(report.summary())
    return 1 if report.failed else 0


def _run_admin(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from vectorstore.store import ArticleStore

    store = ArticleStore(get_settings())
    if args.command == "stats":
        stats = store.stats()
        print(json.dumps(stats, ensure_ascii=False, indent=None if args.json else 2))
        return 0
    if args.command == "delete":
        missing = [i for i in args.ids if not store.delete_article(i)]
        for i in missing:
            print(f"error: no article with id {i!r} (see `python -m ingest list`)", file=sys.stderr)
        print(f"deleted {len(args.ids) - len(missing)} article(s)")
        return 1 if missing else 0
    articles = store.list_articles()
    if args.json:
        for a in articles:
            print(json.dumps({"id": a.id, "title": a.title, "source": a.source, "url": a.url,
                              "published": a.published.isoformat() if a.published else None,
                              "chunks": a.chunks, "content_hash": a.content_hash}, ensure_ascii=False))
        return 0
    for a in articles:
        when = a.published.isoformat() if a.published else "----------"
        chunks = f"{a.chunks:3d} chunk{'s' if a.chunks != 1 else ' '}"
        print(f"{when}  {chunks}  {a.title[:70]:70s}  {a.source[:30]:30s}  {a.id}")
    print(f"{len(articles)} article(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure, run

    argv = list(sys.argv[1:] if argv is None else argv)
    admin = bool(argv) and argv[0] in SUBCOMMANDS
    # Intermixed: `--jsonl a.jsonl file.html` gives the file to SOURCE, not an "unrecognized arguments" error.
    args = _admin_parser().parse_args(argv) if admin else _ingest_parser().parse_intermixed_args(argv)
    configure(args.verbose)
    return run(lambda: _run_admin(args) if admin else _run_ingest(args),
               interrupted="interrupted: the next run finishes or undoes any article left half-written")


if __name__ == "__main__":
    sys.exit(main())
