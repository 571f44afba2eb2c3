"""Text utilities shared by ingest, retrieval and answering: sentence spans and word tokens."""

from __future__ import annotations

import re
import unicodedata

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


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]` as (start, end) offsets into `text`, whitespace trimmed.

    A line break always ends a sentence, so titles, datelines and list items stay separate.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line_match in re.finditer(r"[^\n]+", text[start:end]):
        line = line_match.group(0)
        base = start + line_match.start()
        cuts = [0, *_line_sentence_ends(line), len(line)]
        for a, b in zip(cuts, cuts[1:]):
            piece = line[a:b]
            stripped = piece.strip()
            if not stripped:
                continue
            lead = len(piece) - len(piece.lstrip())
            s = base + a + lead
            spans.append((s, s + len(stripped)))
    return spans


_OUTLET_PREFIX = re.compile(r"^[^\n–—]{3,90}?\((?:www\.)?[\w-]+(?:\.[\w-]+)+\)\s*[–—-]\s*")


def citable_spans(text: str) -> list[tuple[int, int]]:
    """`sentence_spans(text)` with a dateline's outlet prefix cut from the sentence it opens:
    "Southeast Asia Information Port News (www.dnyxxg.com) – Cambodia's minister met ..." is quoted
    from "Cambodia's". The spans the answerer quotes, and the spans ingest stores vectors for."""
    spans = []
    for a, b in sentence_spans(text):
        prefix = _OUTLET_PREFIX.match(text, a, b)
        spans.append((prefix.end() if prefix and prefix.end() < b else a, b))
    return spans


_WORD = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been being but by did do does doing for from had has have having he her
    hers him his how i if in into is it its itself me my of on or our ours she so than that the their
    theirs them then there these they this those to too was we were what when where which while who whom
    why will with would you your yours about after again against all am any because before below between
    both during each few further here just more most no nor not now off once only other out over own same
    should some such through under until up very can could also said says say according""".split()
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (Unicode aware), keeping every script."""
    return [w.lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text))]


def content_words(text: str) -> list[str]:
    """Word tokens without English stopwords."""
    return [w for w in words(text) if w not in STOPWORDS]


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation for answer matching: lower case, no punctuation or articles."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_HOST_IN_PARENS = re.compile(r"\(((?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+)\)", re.IGNORECASE)


def source_host(source: str, url: str = "") -> str:
    """A comparable outlet key: the URL's host, else a host named in the source, else the source itself.

    "Southeast Asia Information Port News (www.dnyxxg.com)" -> "dnyxxg.com"; "www.CNN.com" -> "cnn.com".
    """
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or "" if url.startswith(("http://", "https://")) else ""
    if not host:
        match = _HOST_IN_PARENS.search(source)
        host = match.group(1) if match else source.strip()
    host = host.lower()
    return host[4:] if host.startswith("www.") else host
