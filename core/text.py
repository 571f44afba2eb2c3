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


def citable_spans(text: str, *, article_start: bool = False) -> list[tuple[int, int]]:
    """`sentence_spans(text)` with a dateline's outlet prefix cut from the sentence it opens:
    "Southeast Asia Information Port News (www.dnyxxg.com) – Cambodia's minister met ..." is quoted
    from "Cambodia's"; so is "Bangkok Daily Wire – Police said ..." when `text` starts the article.
    The spans the answerer quotes, and the spans ingest stores vectors for."""
    spans = []
    for a, b in sentence_spans(text):
        prefix = outlet_prefix(text, a, b, article_start=article_start)
        spans.append((prefix.end() if prefix else a, b))
    return spans


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def replace_surrogates(text: str, replacement: str = "\ufffd") -> str:
    """`text` without lone UTF-16 surrogates (half an emoji, as scraped data and JSON escapes carry them),
    each replaced: no UTF-8 encoder, hash or tokenizer accepts them."""
    return _SURROGATE.sub(replacement, text)


def strip_unprintable(text: str) -> str:
    """`text` without control characters (tab and line breaks become spaces) and lone surrogates."""
    return _CONTROL.sub("", _SURROGATE.sub("", text.replace("\t", " ")))


def unprintable(text: str) -> str | None:
    """The first character of `text` that no identifier should hold (a control character or a lone
    surrogate), described as "U+0000", or None."""
    found = _CONTROL.search(text) or _SURROGATE.search(text)
    return f"U+{ord(found.group(0)):04X}" if found else None


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
