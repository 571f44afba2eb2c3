"""Sentences: the one contract between ingest and answers.

Ingest cuts every article into sentences with `sentences`, stores each chunk's sentences beside their
vectors, and the answerer reads them back; both sides cut the same way by construction. What a sentence
is can change (a new abbreviation, the rule for line breaks): then `SEGMENTATION_VERSION` changes, and
since it is part of every article's index signature (`vectorstore.store.ArticleStore.index_signature`)
the next ingest re-embeds what was stored under the old cuts instead of misattaching its vectors.
"""

from __future__ import annotations

import re
from typing import NamedTuple

SEGMENTATION_VERSION = 2
"""Bump on any change to where `sentences` cuts (2: a line break inside a paragraph of wrapped lines is a
space; 1: every line break ended a sentence)."""

SOFT_WRAP_MIN_CHARS = 40
"""A line at least this long that does not end a sentence continues on the next line (text hard-wrapped
at 72-80 columns, a PDF's text layer); a shorter one (a title, a dateline, a heading) ends its sentence."""


class Sentence(NamedTuple):
    """A sentence as offsets into its text: `text[start:end]`, and `text[quote_start:end]`, the part
    quoted as evidence (without a dateline's outlet prefix)."""

    start: int
    quote_start: int
    end: int


_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr mt ft gen gov sen rep lt col capt sgt maj cmdr adm pres supt insp
    no nos vs etc al approx dept est inc corp ltd co bros jan feb mar apr jun jul aug sep sept oct nov dec
    e.g i.e u.s u.k u.n u.s.a a.m p.m ph.d""".split()
)

# A sentence ends at . ! ? (plus closing quotes/brackets) followed by space, or at CJK/Khmer enders.
# The lookbehind starts a match only at the first of a run of dots: without it a long run ("......")
# is rescanned from every position, quadratic time on hostile text.
_LATIN_END = re.compile(r"""(?<![.!?])[.!?]+["'\u2019\u201d)\]]*(?=\s)""")
_SCRIPT_END = re.compile(r"""[\u3002\uff01\uff1f\u17d4\u17d5\u0964\u06d4]+["'\u2019\u201d)\]]*""")
_NEXT_START = re.compile(r"""\s+["'\u2018\u201c(\[]*[^\sa-z]""")
_WORD_BEFORE = re.compile(r"(\S+)$")


def _is_abbreviation(line: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial rather than a sentence."""
    match = _WORD_BEFORE.search(line, max(0, dot - 100), dot)  # bounded: linear time on "Mr. Mr. Mr. ..."
    if not match:
        return False
    word = match.group(1).lstrip("\"'(\u201c\u2018[").lower()
    if word in _ABBREVIATIONS:
        return True
    return len(word) == 1 and word.isalpha()  # an initial such as "J." in "J. Smith"


def _line_sentence_ends(line: str) -> list[int]:
    ends: set[int] = set()
    for m in _LATIN_END.finditer(line):
        if line[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(line, m.start()):
            continue
        if _NEXT_START.match(line, m.end()):
            ends.add(m.end())
    for m in _SCRIPT_END.finditer(line):
        ends.add(m.end())
    return sorted(ends)


_LIST_ITEM = re.compile(r"\s*(?:[-*\u2022\u00b7\u2013\u2014]\s|\(?\d{1,3}[.)]\s|[a-z][.)]\s)")
_SENTENCE_ENDED = re.compile(r"""[.!?:;\u3002\uff01\uff1f\u17d4\u17d5\u0964\u06d4]["'\u2019\u201d)\]]*\s*$""")


def _soft_break(line: str, next_line: str) -> bool:
    """True when the line break between `line` and `next_line` (no blank line between) is a space."""
    return (len(line.strip()) >= SOFT_WRAP_MIN_CHARS and not _SENTENCE_ENDED.search(line)
            and not _LIST_ITEM.match(next_line))


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Runs of lines that belong together: a line joins the one before across a soft break."""
    blocks: list[tuple[int, int]] = []
    previous = ""
    for m in re.finditer(r"[^\n]+", text[start:end]):
        a, b = start + m.start(), start + m.end()
        if blocks and text[blocks[-1][1]:a] == "\n" and _soft_break(previous, m.group(0)):
            blocks[-1] = (blocks[-1][0], b)
        else:
            blocks.append((a, b))
        previous = m.group(0)
    return blocks


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]` as (start, end) offsets into `text`, whitespace trimmed.

    A sentence ends at its punctuation. A blank line always ends one, and so does a line break after a
    short line or before a list item, so titles, datelines and list items stay separate; inside a
    paragraph of wrapped lines a line break is a space (see `SOFT_WRAP_MIN_CHARS`).
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for base, block_end in _blocks(text, start, end):
        block = text[base:block_end]
        cuts = [0, *_line_sentence_ends(block), len(block)]
        for a, b in zip(cuts, cuts[1:]):
            piece = block[a:b]
            stripped = piece.strip()
            if not stripped:
                continue
            lead = len(piece) - len(piece.lstrip())
            s = base + a + lead
            spans.append((s, s + len(stripped)))
    return spans


OUTLET_PREFIX = re.compile(r"^(?P<outlet>[^\n–—]{3,90}?\s*\((?:www\.)?[\w-]+(?:\.[\w-]+)+\))\s*[–—-]\s*")
"""A dateline's outlet with its site: "Southeast Asia Information Port News (www.dnyxxg.com) – "."""

_OUTLET_WORDS = (r"news|wire|daily|times|post|press|agency|herald|journal|tribune|gazette|online|media|network|"
                 r"telegraph|chronicle|observer|express|monitor|bulletin|star|standard|mail|today|weekly|ledger|"
                 r"dispatch|courier|globe|insider|digest|magazine|channel|radio|tv|broadcasting|service")
OUTLET_NAME_PREFIX = re.compile(
    rf"^(?P<outlet>(?:[A-Z][\w'&.-]*\s+){{0,5}}(?:{_OUTLET_WORDS})\b(?:\s+[A-Z][\w'&.-]*){{0,3}})\s*[–—]\s+",
    re.IGNORECASE)
"""A dateline's outlet without a site, only at an article's start: "Bangkok Daily Wire – ". Title-case words,
one of them a word outlets are named with, then a dash (not a hyphen)."""


def outlet_prefix(text: str, start: int = 0, end: int | None = None, *,
                  article_start: bool = False) -> re.Match[str] | None:
    """The outlet dateline opening the sentence at `text[start:end]`, if any (a name without a site only
    when the sentence opens the article)."""
    end = len(text) if end is None else end
    found = OUTLET_PREFIX.match(text, start, end)
    if found is None and article_start and start == 0:
        found = _name_prefix(text, end)
    return found if found and found.end() < end else None


def _name_prefix(text: str, end: int) -> re.Match[str] | None:
    found = OUTLET_NAME_PREFIX.match(text, 0, end)
    if found and all(w[:1].isupper() for w in found.group("outlet").split()):
        return found
    return None


def sentences(text: str, *, article_start: bool = True) -> list[Sentence]:
    """The sentences of `text` with the part of each that is quoted: a dateline's outlet prefix is cut
    from the sentence it opens ("Southeast Asia Information Port News (www.dnyxxg.com) – Cambodia's
    minister met ..." is quoted from "Cambodia's"; "Bangkok Daily Wire – Police said ..." too when
    `text` starts the article). The segmentation of record: see the module docstring."""
    out = []
    for a, b in sentence_spans(text):
        prefix = outlet_prefix(text, a, b, article_start=article_start)
        out.append(Sentence(a, prefix.end() if prefix else a, b))
    return out


def citable_spans(text: str, *, article_start: bool = False) -> list[tuple[int, int]]:
    """(quote_start, end) of each of `sentences(text)`: the spans the answerer quotes."""
    return [(s.quote_start, s.end) for s in sentences(text, article_start=article_start)]


def pack_sentences(spans: list[Sentence], offset: int = 0) -> str:
    """Sentences as compact text for Chroma metadata, relative to `offset`: "0,0,120;121,121,245"."""
    return ";".join(f"{s.start - offset},{s.quote_start - offset},{s.end - offset}" for s in spans)


def unpack_sentences(packed: str, offset: int = 0) -> list[Sentence]:
    """What `pack_sentences` wrote, moved by `offset`; [] when there is nothing or it is unreadable."""
    out = []
    for part in packed.split(";") if packed else []:
        try:
            a, q, b = (int(x) + offset for x in part.split(","))
        except ValueError:
            return []
        out.append(Sentence(a, q, b))
    return out
