"""Turn extracted article text into clean paragraphs: Unicode, whitespace and page furniture."""

from __future__ import annotations

import re
import unicodedata

from core.text import replace_surrogates

# Whole lines (case-insensitive, after trailing ":", ".", "»" and the like are stripped) that are
# page furniture, never article text. Each pattern must match the entire line.
FURNITURE_PATTERNS: tuple[str, ...] = (
    r"(text|font) size\s*:?\s*[-+a ]*",
    r"related (news|articles?|stories|posts|content|coverage|topics)",
    r"navigation",
    r"(main )?menu",
    r"share( this)?( article| story| post| page)?( on \w+)?",
    r"share (on|via) \w+",
    r"advertisement|advertising|sponsored( content)?|ad",
    r"print( this)?( article| page| story)?",
    r"read more|read the full (story|article)|continue reading|see more|show more",
    r"subscribe( now| today| here)?",
    r"(sign up|subscribe|register) (for|to) (our|the) [\w' -]{0,30}newsletters?( here| now| today)?",
    r"click here( to .{0,80})?",
    r"skip to (main )?content|back to top|scroll to top",
    r"(this (web)?site|we) uses? cookies\b.{0,300}",
    r"(accept|allow|reject|manage) (all )?cookies|cookie (settings|preferences|policy|consent)",
    r"copyright\s*(©|\(c\)|\d{4}).{0,200}",
    r"©\s*\d{4}.{0,200}",
    r"all rights reserved",
    r"(previous|next) (article|story|post)",
    r"tags?",
)
_FURNITURE = re.compile("|".join(f"(?:{p})" for p in FURNITURE_PATTERNS), re.IGNORECASE)

# A line that starts the trailing list of links ("Related News" followed by headlines).
TAIL_MARKERS: tuple[str, ...] = (
    r"related (news|articles?|stories|posts|content|coverage)",
    r"read more|more (news|stories)|you (may|might) also like|recommended( for you)?",
    r"more from .{1,60}",
)
_TAIL_MARKER = re.compile("|".join(f"(?:{p})" for p in TAIL_MARKERS), re.IGNORECASE)

_TRAILING_JUNK = " \t:.\u2026\u00bb\u203a>|\u2013\u2014-"
_SPACES = re.compile(r"[\t\v\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000 ]+")
# Dropped: BOM, word joiner, soft hyphen. Kept on purpose: U+200B (Khmer/Thai word breaks) and
# U+200C/U+200D (joiners needed to shape Indic, Persian and emoji text).
_INVISIBLE = re.compile("[\ufeff\u2060\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # tab, VT, FF become spaces instead
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f\u17d4](?=[\"'\u2019\u201d)\]]*(\s|$))")
_MAX_TAIL_WORDS = 12
_MAX_TAIL_CHARS = 150


def _bare(line: str) -> str:
    return line.strip().rstrip(_TRAILING_JUNK).strip()


def is_furniture(line: str) -> bool:
    """True when the whole line is page furniture such as "Font Size:" or "Related News"."""
    bare = _bare(line)
    return bool(bare) and _FURNITURE.fullmatch(bare) is not None


def _is_tail_line(line: str) -> bool:
    """A line that can belong to a trailing link list: short, no sentence punctuation."""
    if not line or is_furniture(line):
        return True
    body = line.rstrip().removesuffix("...").rstrip("\u2026 ")
    short = len(body.split()) < _MAX_TAIL_WORDS and len(body) <= _MAX_TAIL_CHARS
    return short and not _SENTENCE_END.search(body)


def _cut_tail(lines: list[str]) -> list[str]:
    """Drop a trailing "Related News"-style marker and the link list after it."""
    tail_ok = True
    cut = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if tail_ok and _TAIL_MARKER.fullmatch(_bare(lines[i])):
            cut = i
        tail_ok = tail_ok and _is_tail_line(lines[i])
        if not tail_ok:
            break
    return lines[:cut]


def _normalise_line(line: str) -> str:
    line = _CONTROL.sub("", _INVISIBLE.sub("", line))
    return _SPACES.sub(" ", line).strip()


def clean_text(text: str) -> str:
    """Clean article text; paragraphs are separated by one blank line. Idempotent.

    Korean, Khmer, Chinese and Thai text is kept as is apart from NFC normalisation.
    """
    text = unicodedata.normalize("NFC", replace_surrogates(text))
    text = re.sub(r"\r\n?|[\u2028\u2029\x85]", "\n", text)
    lines = [_normalise_line(line) for line in text.split("\n")]
    lines = [line for line in _cut_tail(lines) if not is_furniture(line)]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip())
    # Again at the end: removing an invisible character can bring a base letter and its accent together.
    return unicodedata.normalize("NFC", joined)


def has_prose(text: str) -> bool:
    """True when `text` holds at least one sentence, not only menu items or headlines."""
    return bool(_SENTENCE_END.search(text)) or any(len(line) >= 200 for line in text.split("\n"))
