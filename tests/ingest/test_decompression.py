"""Compressed responses: decoded piece by piece under the size limit, so a small compressed body cannot
make the process hold gigabytes (a 32 kB zstd body once peaked the process at 2.1 GB).

Each bomb is served by a real HTTP server on 127.0.0.1 and fetched by a fresh Python process that
reports its own peak resident memory (`ru_maxrss`)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib

import pytest

from core.settings import Settings
from ingest.compressed import decoded
from ingest.loaders import load_url
from tests.conftest import ROOT
from tests.ingest.conftest import Site

BOMB_BYTES = 1024 * 1024 * 1024
"""What each bomb decompresses to: 1 GiB of zeros."""
PEAK_LIMIT_MB = 300
PAGE = (b"Police raid a scam compound\n2025-11-02\n\nPolice raided a scam compound near the border on Sunday and "
        b"freed 120 workers. The workers had been forced to run online investment frauds.")


def _zeros(n: int, step: int = 16 * 1024 * 1024):
    block = bytes(step)
    for _ in range(n // step):
        yield block


def _gzip_bomb() -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(c.compress(b) for b in _zeros(BOMB_BYTES)) + c.flush()


def _deflate_bomb() -> bytes:
    c = zlib.compressobj(9)
    return b"".join(c.compress(b) for b in _zeros(BOMB_BYTES)) + c.flush()


def _br_bomb() -> bytes:
    import brotli

    c = brotli.Compressor(quality=1)
    return b"".join(c.process(b) for b in _zeros(BOMB_BYTES)) + c.finish()


def _zstd_bomb() -> bytes:
    import zstandard

    c = zstandard.ZstdCompressor(level=1).compressobj()
    return b"".join(c.compress(b) for b in _zeros(BOMB_BYTES)) + c.flush()


BOMBS = {"gzip": _gzip_bomb, "deflate": _deflate_bomb, "br": _br_bomb, "zstd": _zstd_bomb}

FETCH = """
import json, re, sys
from core.settings import Settings
from ingest.fetch import fetch
try:
    fetched = fetch(sys.argv[1], Settings(allow_private_urls=True, fetch_timeout=60, _env_file=None))
    error = None
except ValueError as e:
    error = str(e)
# VmHWM, this process's own peak: ru_maxrss would carry over the parent's at fork (a test runner holding
# the embedding model is over 1 GB), since Linux keeps it across exec.
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
print(json.dumps({"error": error, "peak_mb": peak_kb / 1024}))
"""


def _fetch_in_child(url: str) -> dict:
    out = subprocess.run([sys.executable, "-c", FETCH, url], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("encoding", list(BOMBS))
def test_a_compression_bomb_is_refused_with_little_memory(site: Site, encoding: str) -> None:
    body = BOMBS[encoding]()
    assert len(body) < 2 * 1024 * 1024  # small on the wire
    url = site.add(f"/bomb-{encoding}", body, content_type="text/html", **{"Content-Encoding": encoding})
    result = _fetch_in_child(url)
    print(f"\n{encoding}: {len(body):,} bytes on the wire, peak RSS {result['peak_mb']:.0f} MB: {result['error']}")
    assert result["error"] == "response too large: more than 50.0 MB (limit 50.0 MB, NEWSDESK_MAX_SOURCE_BYTES) " \
                              "once decompressed"
    assert result["peak_mb"] < PEAK_LIMIT_MB


@pytest.mark.parametrize("encoding", list(BOMBS))
def test_compressed_pages_are_decoded(site: Site, encoding: str) -> None:
    compress = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": lambda data: __import__("brotli").compress(data),
        "zstd": lambda data: __import__("zstandard").ZstdCompressor().compress(data),
    }[encoding]
    url = site.add(f"/page-{encoding}", compress(PAGE), content_type="text/plain; charset=utf-8",
                   **{"Content-Encoding": encoding})
    loaded = load_url(url, Settings(allow_private_urls=True, _env_file=None))
    assert loaded.error is None and loaded.article is not None
    assert "freed 120 workers" in loaded.article.text


def test_raw_deflate_and_concatenated_gzip_members_are_decoded() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert b"".join(decoded([raw.compress(PAGE) + raw.flush()], ["deflate"])) == PAGE
    members = gzip.compress(PAGE[:50]) + gzip.compress(PAGE[50:])
    assert b"".join(decoded([members[i:i + 7] for i in range(0, len(members), 7)], ["gzip"])) == PAGE


def test_every_piece_is_small_however_much_a_chunk_expands() -> None:
    sizes = [len(piece) for piece in decoded([_gzip_bomb()[:200_000]], ["gzip"])]
    assert sizes and max(sizes) <= 64 * 1024


def test_corrupt_and_unknown_encodings_are_clear_errors(site: Site) -> None:
    settings = Settings(allow_private_urls=True, _env_file=None)
    corrupt = site.add("/corrupt", b"\x1f\x8b\x08\x00not gzip at all", content_type="text/plain",
                       **{"Content-Encoding": "gzip"})
    unknown = site.add("/unknown", PAGE, content_type="text/plain", **{"Content-Encoding": "compress"})
    assert (load_url(corrupt, settings).error or "").startswith("could not fetch: the gzip data is corrupt")
    assert load_url(unknown, settings).error == "could not fetch: unsupported content encoding 'compress'"


def test_requests_ask_only_for_encodings_that_can_be_decoded_safely() -> None:
    from ingest.compressed import accept_encoding

    assert accept_encoding() == "gzip, deflate, br, zstd"
