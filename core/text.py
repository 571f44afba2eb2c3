"""Text utilities shared by ingest, retrieval and answering: words, answers, outlets, unprintable characters.

Sentences are `core.sentences`.
"""

from __future__ import annotations

import re
import unicodedata

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


_NAME = re.compile(r"\b[A-Z][\w'\u2019-]*")
_OPENERS = (".", "!", "?", ":", '"', "\u201c")


def names(text: str) -> list[str]:
    """Capitalised words that do not open a sentence or a line (those may be ordinary words): the people,
    places and bodies a text names, and a pronoun in the next sentence may stand for."""
    found = []
    for m in _NAME.finditer(text):
        before = text[max(0, m.start() - 40):m.start()].rstrip(" \t")  # bounded: linear on long text
        if m.start() == 0 or not before or before.endswith(("\n", *_OPENERS)):
            continue
        found.append(m.group(0))
    return found


_HOST_IN_PARENS = re.compile(r"\(((?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+)\)", re.IGNORECASE)


_NAME_RUN = re.compile(r"(?!(?:The|A|An)\s)[A-Z][\w'\u2019-]*(?:\s+(?:(?:of|for|and|on|&)\s+)?[A-Z][\w'\u2019-]*)+")
_NAME_GLUE = frozenset("of for and on &".split())


def initialisms(text: str) -> list[str]:
    """The initials of the multi-word names in `text`, each run of three to six of a name's words: "Internal
    Revenue Service" gives "IRS", "the US Centers for Disease Control and Prevention" gives "CDC" (among
    others), so a question that says "IRS" finds the sentence that spells it out."""
    found: list[str] = []
    for m in _NAME_RUN.finditer(text):
        initials = [w[0] for w in m.group(0).split() if w not in _NAME_GLUE]
        found.extend("".join(initials[i:j]) for i in range(len(initials))
                     for j in range(i + 3, min(len(initials), i + 6) + 1))
    return found


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
