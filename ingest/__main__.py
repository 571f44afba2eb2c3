"""`python -m ingest`: add articles from files, folders, URLs, feeds and JSONL; list, delete, stats, copies;
watch feeds."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.watch import StopFlag
    from vectorstore.store import ArticleStore

logger = logging.getLogger("ingest")

SUBCOMMANDS = ("list", "delete", "stats", "copies", "history")


def _ingest_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Ingest news articles into the Newsdesk store. Unchanged articles are skipped; "
        "changed ones replace their old version, which is kept as history. Other commands: list, delete ID, stats, "
        "copies, history ID, "
        "watch --feed URL (keep feeds current).",
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
    rm = sub.add_parser("delete", help="delete an article, its chunks and its earlier versions")
    rm.add_argument("ids", nargs="+", metavar="ID")
    st = sub.add_parser("stats", help="counts of articles and chunks")
    st.add_argument("--json", action="store_true")
    cp = sub.add_parser("copies", help="syndicated and near-duplicate articles, grouped by story")
    cp.add_argument("--json", action="store_true")
    hi = sub.add_parser("history", help="an article's versions and the sentences that changed between them")
    hi.add_argument("id", metavar="ID")
    hi.add_argument("--json", action="store_true")
    for s in (ls, rm, st, cp, hi):
        s.add_argument("-v", "--verbose", action="store_true")
    return p


def _duration(text: str) -> float:
    from ingest.watch import parse_duration

    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _feed_url(text: str) -> str:
    if not text.lower().startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r}: watch takes http(s) feed URLs "
                                         "(a feed file is ingested once with `python -m ingest --feed FILE`)")
    return text


def _watch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest watch",
        description="Poll RSS/Atom feeds and ingest their new and changed entries, until SIGTERM or Ctrl-C. "
        "Polls are conditional (ETag, Last-Modified); an unchanged entry is neither fetched nor embedded again; "
        "a feed that is down is retried later and later (up to 1h) while the others go on.",
    )
    p.add_argument("--feed", action="append", default=[], type=_feed_url, metavar="URL", help="RSS or Atom feed URL")
    p.add_argument("--opml", action="append", default=[], metavar="FILE", help="OPML file: every outline's xmlUrl")
    p.add_argument("--every", type=_duration, default=_duration("15m"), metavar="DURATION",
                   help="time between polls of a feed, e.g. 30s, 15m, 1h (default 15m)")
    p.add_argument("--once", action="store_true", help="poll every feed once and exit (cron)")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    return p


@contextmanager
def _stop_on_signals(stop: StopFlag) -> Iterator[None]:
    """SIGTERM and Ctrl-C stop the watcher after the entry it is reading; a second one stops it at once."""
    import signal

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        os.write(2, b"stopping after the current entry (signal again to stop at once)\n")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _run_watch(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from ingest.watch import FeedWatcher, PollResult, StopFlag, describe_duration, read_opml

    feeds = [*args.feed, *(url for path in args.opml for url in read_opml(Path(path)))]
    if not feeds:
        _watch_parser().error("give at least one --feed URL or --opml FILE")
    watcher = FeedWatcher(get_settings(), feeds, every=args.every)

    def show(result: PollResult) -> None:
        if result.error is None:  # a failed poll is the watcher's warning on stderr
            print(result.line(), flush=True)
        for source, error in result.errors:
            print(f"error: {source}: {error}", file=sys.stderr, flush=True)

    stop = StopFlag()
    with _stop_on_signals(stop):
        if args.once:
            return 0 if all(r.ok for r in watcher.poll_all(stop, show)) else 1
        print(f"watching {_plural(len(watcher.feeds), 'feed')} every {describe_duration(args.every)}; "
              f"state in {watcher.path}", file=sys.stderr, flush=True)
        watcher.run(stop, show)
    print("stopped", file=sys.stderr, flush=True)
    return 0


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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
    if args.command == "copies":
        return _print_copies(store, as_json=args.json)
    if args.command == "history":
        return _print_history(store, args.id, as_json=args.json)
    if args.command == "delete":
        from ingest.pipeline import delete_articles

        missing = delete_articles(store, args.ids)
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


def _print_copies(store: ArticleStore, *, as_json: bool) -> int:
    from ingest.near_duplicates import NearDuplicateTracker

    index = NearDuplicateTracker(store).index()
    if index is None:
        print("error: the near-duplicate index could not be read or rebuilt (see the warning above)", file=sys.stderr)
        return 1
    titles = {a.id: a.title for a in store.list_articles()}
    groups = index.groups()
    for group in groups:
        if as_json:
            print(json.dumps({"id": group.id, "outlets": group.outlets, "members": [
                {"id": m.article_id, "source": m.source, "title": titles.get(m.article_id, ""),
                 "published": m.published.isoformat() if m.published else None} for m in group.members]},
                ensure_ascii=False))
            continue
        print(f"{titles.get(group.id, '')[:70] or group.id}  ({_plural(len(group), 'article')}: "
              f"{', '.join(group.outlets)})")
        for m in group.members:
            when = m.published.isoformat() if m.published else "----------"
            print(f"  {when}  {(m.source or '(unknown outlet)')[:30]:30s}  {m.article_id}")
    if not as_json:
        stories = f"{len(groups)} {'story' if len(groups) == 1 else 'stories'}"
        print(f"{stories} told by more than one article" if groups else "no near-duplicate articles")
    return 0


def _print_history(store: ArticleStore, article_id: str, *, as_json: bool) -> int:
    from core.versions import version_history

    history = version_history(store, article_id)
    if history is None:
        print(f"error: no article with id {article_id!r} (see `python -m ingest list`)", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(history.to_json(), ensure_ascii=False))
        return 0
    print("\n".join(history.lines()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from core.entrypoint import configure, run

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["watch"]:
        args = _watch_parser().parse_args(argv[1:])
        configure(args.verbose)
        return run(lambda: _run_watch(args), interrupted="interrupted: the next run finishes or undoes any article "
                   "left half-written, and polls again the entries not recorded as ingested")
    admin = bool(argv) and argv[0] in SUBCOMMANDS
    # Intermixed: `--jsonl a.jsonl file.html` gives the file to SOURCE, not an "unrecognized arguments" error.
    args = _admin_parser().parse_args(argv) if admin else _ingest_parser().parse_intermixed_args(argv)
    configure(args.verbose)
    return run(lambda: _run_admin(args) if admin else _run_ingest(args),
               interrupted="interrupted: the next run finishes or undoes any article left half-written")


if __name__ == "__main__":
    sys.exit(main())
