"""Bytes to text: byte order marks, UTF-8, UTF-16 without a mark, a declared charset, then detection.

Raises ValueError in words a user can act on ("binary file (not text)", "empty file (only whitespace)").
"""

from __future__ import annotations

import codecs
import logging

logger = logging.getLogger(__name__)

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


TEXT_CONTROLS = set(b"\t\n\r\f\b\x1b")


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in TEXT_CONTROLS)
    return controls > len(sample) * 0.05


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes to text: BOM, UTF-8, a declared charset, then charset detection. Raises ValueError."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as e:
                raise ValueError(f"invalid {encoding} text: {e.reason}") from e
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    if _looks_binary(data):
        raise ValueError("binary file (not text)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            logger.debug("declared charset %r does not decode the data", declared)
    return _detect(data)


def _utf16_without_bom(data: bytes) -> str | None:
    """The text of UTF-16 saved without a byte order mark (Windows tools do), else None.

    Its zero bytes (the high byte of every space, digit and Latin letter) fall on odd offsets
    (little-endian) or on even ones (big-endian), but for the few characters such as U+AC00 whose low
    byte is zero; a binary file's fall on both. Korean or Latin text always has enough of them (spaces,
    punctuation). It must then decode to text without control characters."""
    sample = data[:8192]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd >= 0.05 * pairs and even * 4 <= odd:
        encoding = "utf-16-le"
    elif even >= 0.05 * pairs and odd * 4 <= even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data[: len(data) // 2 * 2].decode(encoding)
    except UnicodeDecodeError:
        return None
    head = text[:4096]
    controls = sum(1 for ch in head if ord(ch) < 32 and ord(ch) not in TEXT_CONTROLS)
    return text if controls <= len(head) * 0.05 else None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ValueError("could not detect the text encoding")
    logger.debug("detected encoding %s", best.encoding)
    return str(best)


def decode_text(data: bytes, declared: str | None = None) -> str:
    """`decode_bytes`, refusing text that is only whitespace."""
    text = decode_bytes(data, declared)
    if not text.strip():
        raise ValueError("empty file (only whitespace)")
    return text

