"""Runs `python -m ingest` many times without paying for the model load each time.

The server imports everything and loads the embedding model's weights once (running no inference, so
no thread pool exists to break across fork), then forks one child per request; each child is a real
OS process running the real `ingest.__main__.main` against a real Chroma store, and a test may SIGKILL it.

Protocol, one JSON object per line. {"argv": [...], "env": {...}, "out": path, "err": path} forks a child
running `python -m ingest ARGV` and answers {"pid": N}; with "snapshot": true instead of "argv" the child
writes the store's `snapshot()` as JSON to "out". {"wait": N} answers {"status": code} once child N has
exited (negative: the signal that killed it); several children may run at once. {"shell": [...]} runs a
command in the server itself (`mount` inside a private mount namespace), answering {"status", "output"}.
"hashed_vectors": true gives the child `HashedVectors` instead of the model's vectors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def hashed_vectors_class() -> type:
    from vectorstore.embedding import Embedder

    class HashedVectors(Embedder):
        """The real model's tokenizer (so chunks are exactly the real ones) with vectors drawn from a hash of
        each text: for tests of the store's journal, where computing real vectors adds only time."""

        def __init__(self, real: Embedder) -> None:
            self.__dict__.update(real.__dict__)

        def _unit(self, text: str) -> Any:
            import hashlib

            import numpy as np

            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            return vector / np.linalg.norm(vector)

        def embed_documents(self, texts: Any) -> Any:
            import numpy as np

            rows = [self._unit(t) for t in texts]
            return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)

        def embed_with_spans(self, texts: Any, spans: Any) -> Any:
            import numpy as np

            pooled = [np.asarray([self._unit(t[a:b]) for a, b in s], dtype=np.float32).reshape(len(s), self.dimension)
                      for t, s in zip(texts, spans)]
            return self.embed_documents(texts), pooled

    return HashedVectors


def _preload() -> None:
    from vectorstore.embedding import Embedder

    shared = Embedder()
    shared.model  # noqa: B018  (the weights, loaded once for every child)
    shared._fast_tokenizer  # noqa: B018
    Embedder.from_settings = classmethod(lambda cls, settings: shared)  # type: ignore[method-assign]
    import chromadb  # noqa: F401

    import ingest.__main__  # noqa: F401
    import ingest.loaders  # noqa: F401
    import ingest.pipeline  # noqa: F401
    import vectorstore.store  # noqa: F401


def _child(request: dict) -> None:
    os.environ.update(request.get("env", {}))
    if request.get("hashed_vectors"):
        from vectorstore.embedding import Embedder

        hashed = hashed_vectors_class()(Embedder.from_settings(None))
        Embedder.from_settings = classmethod(lambda cls, settings: hashed)  # type: ignore[method-assign]
    for fd, path in ((1, request["out"]), (2, request["err"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    code = 70
    try:
        if request.get("snapshot"):
            from core.settings import get_settings
            from vectorstore.store import ArticleStore

            print(json.dumps(snapshot(ArticleStore(get_settings()))))
            code = 0
        else:
            from ingest.__main__ import main

            code = main(request["argv"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def snapshot(store: Any) -> dict[str, Any]:
    """Everything that must match a clean ingest: article ids, hashes and texts; chunk ids, texts, spans;
    the history: each earlier version's record (article, hash, text, the days it was current) and chunks."""
    from vectorstore.store import chunk_text

    articles = store.article_hashes()
    chunks = sorted((c.id, c.article_id, c.content_hash, c.text, c.start, c.end) for c in store.iter_chunks())
    dirty = store.registry.get(where={"dirty": True}, include=[])["ids"]
    got = store.versions.get(include=["documents", "metadatas"])
    versions = {vid: [m["article_id"], m["content_hash"], text, m["valid_from"], m["superseded"], m["chunks"]]
                for vid, text, m in zip(got["ids"], got["documents"], got["metadatas"])}
    got = store.history.get(include=["documents", "metadatas"])
    history = sorted([cid, m["version_id"], m["article_id"], m["content_hash"], chunk_text(text, m), m["start"],
                      m["end"]] for cid, text, m in zip(got["ids"], got["documents"], got["metadatas"]))
    return {"articles": articles, "texts": {a: store.article_text(a) for a in sorted(articles)},
            "chunks": [list(c) for c in chunks], "dirty": len(dirty), "records": store.registry.count(),
            "versions": dict(sorted(versions.items())), "history": history}


def serve() -> None:
    _preload()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "wait" in request:
            print(json.dumps({"status": _wait(int(request["wait"]))}), flush=True)
            continue
        if "shell" in request:
            run = subprocess.run(request["shell"], capture_output=True, text=True)
            print(json.dumps({"status": run.returncode, "output": run.stdout + run.stderr}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), flush=True)


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


if __name__ == "__main__":
    serve()
