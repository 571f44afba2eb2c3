"""HTTP bodies decompressed piece by piece (gzip, deflate, br, zstd), so a size limit holds for what
they expand to: a 32 kB zstd body can hold gigabytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

PIECE_BYTES = 64 * 1024
"""Decompressed bytes produced at a time, so a reader can stop at its limit as soon as it is passed."""


ZSTD_MAX_WINDOW = 8 * 1024 * 1024
"""The largest zstd window accepted (RFC 8878 limits HTTP's to 8 MB): a frame may not make us allocate more."""


class DecodeError(Exception):
    """A response's Content-Encoding is unknown or its compressed data is corrupt."""


def accept_encoding() -> str:
    """The encodings `decoded` can undo here, for the Accept-Encoding header."""
    return ", ".join(name for name in ("gzip", "deflate", "br", "zstd") if _available(name))


def decoded(raw: Iterable[bytes], encodings: Sequence[str]) -> Iterator[bytes]:
    """`raw` with its content encodings (in the order they were applied) undone, in pieces of at most
    `PIECE_BYTES`. Decompressing piece by piece is what caps a compressed response: httpx decodes each
    network read whole, so a 32 kB zstd body became 2 GB in memory before any size check could run."""
    stream: Iterable[bytes] = raw
    for name in reversed(encodings):
        if name not in _DECODERS or not _available(name):
            raise DecodeError(f"unsupported content encoding '{name}'")
        stream = _DECODERS[name](stream)
    return iter(stream)


def _available(name: str) -> bool:
    module = {"br": "brotli", "zstd": "zstandard"}.get(name)
    if module is None:
        return True
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _inflate(raw: Iterable[bytes], gzip: bool) -> Iterator[bytes]:
    """gzip (members one after another) or deflate (zlib-wrapped, or raw as some servers send it)."""
    import zlib

    d: Any = None
    for data in raw:
        while data:
            if d is None:
                raw_deflate = not gzip and (len(data) < 2 or data[0] & 0x0F != 8 or int.from_bytes(data[:2]) % 31)
                d = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else -zlib.MAX_WBITS if raw_deflate
                                       else zlib.MAX_WBITS)
            try:
                out = d.decompress(data, PIECE_BYTES)
            except zlib.error as e:
                raise DecodeError(f"the {'gzip' if gzip else 'deflate'} data is corrupt ({e})") from e
            if out:
                yield out
            data = d.unconsumed_tail
            if d.eof:
                data, d = d.unused_data, None  # a next gzip member, or trailing bytes
                if not gzip:
                    return
    if d is not None:
        tail = d.flush()
        if tail:
            yield tail


def _unbrotli(raw: Iterable[bytes]) -> Iterator[bytes]:
    import brotli

    d = brotli.Decompressor()
    try:
        for data in raw:
            yield d.process(data, output_buffer_limit=PIECE_BYTES)
            while not d.can_accept_more_data():
                yield d.process(b"", output_buffer_limit=PIECE_BYTES)
    except brotli.error as e:
        raise DecodeError(f"the br data is corrupt ({e})") from e


class _Chunks:
    """A file-like `read(n)` over an iterator of byte strings (what zstandard's stream reader reads)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        out, self._buffer = (self._buffer, b"") if size < 0 else (self._buffer[:size], self._buffer[size:])
        return out


def _unzstd(raw: Iterable[bytes]) -> Iterator[bytes]:
    import zstandard

    reader = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW).stream_reader(
        _Chunks(raw), read_across_frames=True)
    try:
        while piece := reader.read(PIECE_BYTES):
            yield piece
    except zstandard.ZstdError as e:
        raise DecodeError(f"the zstd data is corrupt or needs too much memory ({e})") from e


_DECODERS: dict[str, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
    "gzip": lambda raw: _inflate(raw, gzip=True),
    "x-gzip": lambda raw: _inflate(raw, gzip=True),
    "deflate": lambda raw: _inflate(raw, gzip=False),
    "br": _unbrotli,
    "zstd": _unzstd,
}

