"""The answer in a phrase: the name, date, place or number in a sentence that a question asks for.

Candidates are cut from the sentence by rule (capitalised runs of words, quoted titles, dates, numbers
with their unit, clauses after "because" or "to"); a candidate is dropped when the question already says
it, and the rest are ranked by how well they fit the expected answer type and how near they stand to the
words the sentence shares with the question. The phrase is an exact span of the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.places import country_of, demonym_places, is_place_name, people_words
from app.question import PERSON_NOUNS as _PERSON_NOUNS
from app.question import QuestionFrame
from core.text import STOPWORDS, words
from vectorstore.lexical import IRREGULAR as _IRREGULAR_FORMS

_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|" \
         r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_SMALL = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|" \
         r"sixty|hundred|dozens?|hundreds|thousands|a few|several)"
_NUM = rf"(?:\d(?:[\d,.]*\d)?|{_SMALL})(?:\s+(?:million|billion|trillion|thousand|hundred))?"
_UNIT = r"(?:days?|weeks?|months?|years?|hours?|minutes?)"
_AGE_FROM = r"(?:under|over|older than|younger than|between|up to|at least|as young as|from)"
PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:(?:on|by|since|from|until)\s+)?(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
        rf"|\b\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?|\b{_MONTH}\s+\d{{4}}|\b(?:in\s+)?(?:19|20)\d\d\b|\b{_WEEKDAY}\b"
        rf"|\b(?:next|last|this)\s+(?:week|month|year|{_WEEKDAY})\b", re.IGNORECASE),
    "duration": re.compile(
        rf"\b(?:(?:within|in|for|after|over|up to|by|until|at least|about|around|nearly)\s+)?(?:the\s+)?"
        rf"(?:next\s+|coming\s+|past\s+)?{_NUM}\s+{_UNIT}\b"
        rf"|\b(?:next|this|by the end of(?: the)?)\s+(?:week|month|year)\b"
        rf"|\b(?:by|until|before)\s+(?:the end of\s+)?(?:{_MONTH}(?:\s+\d{{1,2}})?(?:,?\s+\d{{4}})?|\d{{4}})",
        re.IGNORECASE),
    "percent": re.compile(rf"\b{_NUM}\s*(?:%|percent\b|per cent\b|percentage points?\b)", re.IGNORECASE),
    "money": re.compile(rf"(?:[$€£¥₩]|US\$)\s?{_NUM}|\b{_NUM}\s+(?:dollars|euros|pounds|yen|won|pesos|baht|riel|"
                        rf"yuan|rupees)\b", re.IGNORECASE),
    "number": re.compile(rf"(?:[$€£¥₩]\s?)?\b{_NUM}(?:\s*%)?(?:\s+(?!(?:of|and|to|in|the|a|on|at|for|by|per|as)\b)"
                         rf"[a-z][\w-]*){{0,2}}", re.IGNORECASE),
    "age": re.compile(
        rf"\b(?:(?:children|kids|people|adults|teens|teenagers|infants|babies|toddlers|seniors|those|anyone|"
        rf"residents|students|girls|boys|men|women|patients)\s+)?(?:(?:aged?|ages)\s+(?:{_AGE_FROM}\s+)?|"
        rf"{_AGE_FROM}\s+){_NUM}(?:\s+{_UNIT})?(?:\s*(?:to|and|-|\u2013)\s*{_NUM}(?:\s+{_UNIT})?)?(?:\s+old)?"
        rf"(?:\s+(?:and (?:older|up|under)|or (?:older|younger)))?", re.IGNORECASE),
    "reason": re.compile(r"\bfor\s+(?:\w+ly\s+)?\w+ing\b[^,;.]{0,100}|\b(?:because(?: of)?|due to|owing to|"
                         r"as a result of|in response to|amid|over concerns?"
                         r" (?:about|over|that)|for fear (?:of|that)|citing|after|since)\s+[^,;.]{3,120}",
                         re.IGNORECASE),
    "purpose": re.compile(r"\b(?:in order to|so as to|aimed at|aiming to|designed to|intended to|to help|"
                          r"in (?:a|an) (?:move|bid|effort|attempt|push|drive) to)\s+[a-z][^,;.]{3,120}",
                          re.IGNORECASE),
}
_DAY_OR_YEAR = re.compile(rf"\b{_MONTH}\s+\d{{1,2}}\b(?:,?\s+(?:19|20)\d\d\b)?"
                          rf"|\b\d{{1,2}}\s+{_MONTH}(?:\s+(?:19|20)\d\d\b)?"
                          rf"|\b(?:in|since|by|until|of|from)\s+(?:19|20)\d\d\b|\b{_MONTH}\s+(?:19|20)\d\d\b",
                          re.IGNORECASE)
"""A day of a month or a year said as one ("June 24", "January 6, 2021", "in 2022"): no count, though "The
hotline number is 1919" is one."""
_CAP_RUN = re.compile(r"(?:[\"\u201c][^\"\u201d]{2,60}[\"\u201d])|(?:(?:(?:[dl]['\u2019])?[A-Z][\w'\u2019.&-]*|\d+)"
                      r"(?:\s+(?:of|and|&|de|the|for|on)\s+(?=[A-Z])|\s+(?=[A-Z0-9]|[dl]['\u2019][A-Z]))?)+")
"""Capitalised runs of words, a French particle included ("Coeur d'Alene"), and quoted phrases."""
_REGION_AFTER = re.compile(r",\s+((?:[A-Z][\w.'\u2019-]*)(?:\s+[A-Z][\w.'\u2019-]*){0,2})")
"""The state or country after a town, as datelines and reports name it: "Coeur d'Alene, Idaho"."""
REGION_FIT = 0.1
"""What a town said with its state gains over either alone: it says where more exactly, and holds both."""
_ORG_WORDS = frozenset("""ministry police bank inc corp corporation group agency committee company association
    university college court council commission office department force army navy party union bureau institute
    foundation airlines airways motors news times post network club fund organization organisation authority
    government administration assembly parliament senate congress service services""".split())
_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|across|to|into|near|of|outside|throughout|inside)\s+(?:the\s+)?$",
                           re.IGNORECASE)
_SOURCE_BEFORE = re.compile(r"\baccording to\s+(?:the\s+)?$", re.IGNORECASE)
"""Who says it, not where: "according to OPIS" names a source."""
_PERSON_TITLES = frozenset("""mr mrs ms dr president minister ambassador prime senator governor king queen prince
    general chairman ceo secretary judge director spokesperson spokesman spokeswoman chief star""".split())
_MAX_WORDS = 14
_MIN_FIT = {"person": 1.0, "role": 1.0, "place": 1.0}
"""A "who" question is answered by a phrase that looks like a person or a body (or, for "who is X", a title),
never by any capitalised word: "Malaysia" is no answer to "Who commands the task force?"; a "where" or "which
country" question only by a place ("Ambassador Park" is no country). The place rule was chosen on half A
(same figures, 36.5 words instead of 39.5: no sentence is added for a non-place)."""
_DATELINE = re.compile(r"^(?:[A-Z][\w .,'\u2019-]{0,40}?)?\([A-Z][\w .&-]{1,40}\)\s*[-\u2013\u2014:]?\s*")
_FUNCTION = frozenset("""across along amid among around behind beside beyond despite near onto toward towards
    upon via within without were was are is been being had have has than like per since""".split())
_TITLES = frozenset("""minister ambassador president prime secretary-general secretary director general chairman
    governor spokesperson spokesman spokeswoman deputy vice chief mr mrs ms dr king queen prince senator judge
    ceo""".split())


@dataclass(frozen=True)
class Phrase:
    start: int
    end: int
    """Offsets in the sentence."""
    score: float


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Offsets without surrounding spaces, punctuation or a leading article; at most `_MAX_WORDS` words."""
    while a < b and text[a] in " \t\n,;:()\u2013\u2014-":
        a += 1
    while b > a and text[b - 1] in " \t\n,;:.()\u2013\u2014-":
        b -= 1
    lead = re.match(r"(?:the|a|an|on|in|at)\s+", text[a:b], re.IGNORECASE)
    if lead and b - a > lead.end():
        a += lead.end()
    spans = list(re.finditer(r"\S+", text[a:b]))
    if len(spans) > _MAX_WORDS:
        b = a + spans[_MAX_WORDS - 1].end()
    while True:  # no trailing function word ("five towns across"), no possessive ("Hun Manet's")
        tail = re.search(r"(?:\s+(\w+)|['\u2019]s)$", text[a:b])
        if tail and tail.group(1) is None:
            b = a + tail.start()
        elif tail and tail.start() > 0 and (tail.group(1).lower() in STOPWORDS or (
                tail.group(1) in _FUNCTION)):  # "Beyond" in "Bed Bath & Beyond" is a name's word
            b = a + tail.start()
        else:
            return a, b


_TICKER = re.compile(r"\s*\((?:(?:NYSE|NASDAQ|Nasdaq|LSE|TSE):\s*)?[A-Z]{1,5}\)")
"""A stock ticker after a name, "Bed Bath & Beyond (BBBY)": the name is a company's."""


def _entity_kind(sentence: str, a: int, b: int) -> set[str]:
    """What a capitalised run looks like: a title (quoted), an organisation, a place, a person."""
    span = sentence[a:b]
    tokens = [t.lower().strip(".") for t in span.split()]
    kinds = set()
    if span[:1] in "\"\u201c":
        kinds.add("title")
    if any(t in _ORG_WORDS for t in tokens) or re.fullmatch(r"[A-Z]{2,6}", span) or "&" in tokens \
            or _TICKER.match(sentence, b):
        kinds.add("organisation")
    lead = sentence[max(0, a - 20):a]
    if (_PLACE_BEFORE.search(lead) and not _SOURCE_BEFORE.search(lead)) \
            or is_place_name(span.rstrip(".")):  # "... flooding Portugal." ends the sentence, not the name
        kinds.add("place")
    before = sentence[max(0, a - 30):a].lower().split()
    titled = before and before[-1].strip(".,") in _PERSON_TITLES
    named = [t for t in tokens if t not in _TITLES]
    plain = named and not any(_NATIONALITY.search(t) for t in named)
    if "place" not in kinds and not any(t in _ORG_WORDS for t in tokens) and plain and (
            len(named) >= 2 or titled or len(named) < len(tokens)):
        kinds.add("person")
    return kinds


NAMED_FIT = 1.1
"""The fit of a name that says its own kind ("Tony Awards" for "which awards show"): surer than a kind read
off a name's shape or the preposition before it ("at New York's Radio City Music Hall" looks like a place)."""
_TRAILING_DAY = re.compile(rf"(?:\s+(?:on|and|the|for|of))*\s+{_WEEKDAY}\W*$")


def _named_kind(frame: QuestionFrame) -> frozenset[str]:
    """The words of the noun phrase a "which" question names its answer by ("prestigious", "awards", "show" in
    "... at which prestigious awards show?"): a name that ends in one of them is a name of that kind ("Tony
    Awards", "Harvard University"), whatever else it looks like."""
    if not frame.head:
        return frozenset()
    m = re.search(rf"\b(?:which|what)\s+((?:[\w'\u2019-]+\s+){{0,3}}?{re.escape(frame.head)})\b",
                  frame.question.lower())
    said = m.group(1).split() if m else [frame.head]
    return frozenset(w for t in said for w in (t, t + "s", t.rstrip("s")) if w not in STOPWORDS)


_CALENDAR = re.compile(r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|jan(?:uary)?|feb(?:ruary)?|march|april|may|june|"
                       r"july|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|today|yesterday|"
                       r"tonight")
_NATIONALITY = re.compile(r"(?:ian|ean|ese|ish|can|ch|an)$")


# A "who" question is answered by a body as much as by a person: "Who raided the compound?" "Police ...".
_FITS = {"person": {"person", "organisation"}, "organisation": {"organisation"}, "place": {"place"},
         "title": {"title"}, "thing": {"title", "organisation", "person", "place"}}


def candidates(frame: QuestionFrame, sentence: str, known: frozenset[str] = frozenset()
               ) -> list[tuple[int, int, float]]:
    """(start, end, type fit) of every phrase of `sentence` that could answer a question of `frame.kind`;
    `known` holds the last words of people's full names said near it (`full_names`): "Biden" alone is a person
    where "Joe Biden" is said."""
    kind = frame.kind
    found: list[tuple[int, int, float]] = []
    if kind in ("date", "duration", "number", "money", "percent", "age", "reason", "purpose"):
        order = {"money": ("money", "number"), "percent": ("percent",), "duration": ("duration", "date"),
                 "date": ("duration", "date") if frame.future else ("date", "duration"),
                 "reason": ("reason", "purpose")}.get(kind, (kind,))
        dates = [m.span() for m in _DAY_OR_YEAR.finditer(sentence)] if kind in ("number", "money", "percent") \
            else []
        for rank, name in enumerate(order):
            for m in PATTERNS[name].finditer(sentence):
                if name == "number" and any(a <= m.start() < b for a, b in dates):
                    continue  # "June 24", "in 2022": when, not how many
                found.append((m.start(), m.end(), 1.0 - 0.3 * rank))
        return found
    if kind == "role":  # the title in front of a name the question gives, or the apposition after it
        for name in _question_names(frame, sentence):
            a, b = name
            before = re.search(r"((?:[A-Z][\w'\u2019-]*(?:(?:\s+(?:of|for|and|the|on))+\s+|\s+)?)+)(?:,\s*)?$",
                               sentence[max(0, a - 160):a])
            if before:
                found.append((a - len(before.group(0)), a, 1.0))
            after = re.match(r",\s+((?:the|a|an)\s+)?([^,;.]{3,100})", sentence[b:])
            if after:
                found.append((b + after.start(2), b + after.end(2), 0.9))
        return found
    if kind in ("person", "organisation", "place", "title", "thing"):
        named = _named_kind(frame)
        fits = {"person"} if kind == "person" and frame.head in _PERSON_HEADS else _FITS[kind]
        regions: set[int] = set()  # where a state said after its town begins: it is part of that answer
        for a, b in _runs(sentence):
            if a in regions:
                continue
            while (first := re.match(r"([A-Z]\w*)\s+", sentence[a:b])) and first.group(1).lower() in STOPWORDS:
                a += first.end()  # "Under Prime Minister ...", "The ...": a capital that only opens the sentence
            if (day := _TRAILING_DAY.search(sentence[a:b])) and day.start() > 0:
                b = a + day.start()  # "the UK on Monday", "Covid-19 Thursday": when, not part of the name
            if kind == "person" and frame.head not in _OFFICE_HEADS:  # "Hun Manet", not "Prime Minister Hun Manet"
                lead = re.match(r"(?:(?:" + "|".join(_TITLES) + r")\.?\s+)+", sentence[a:b], re.IGNORECASE)
                if lead and lead.end() < b - a:
                    a += lead.end()
            if a == 0 and " " not in sentence[a:b].strip() and sentence[a:b].strip().lower() in STOPWORDS:
                continue
            tokens = sentence[a:b].lower().replace(".", "").split()
            if not tokens or all(t.isdigit() or _CALENDAR.fullmatch(t) for t in tokens):
                continue  # "Sunday", "July", "20": when or how many, not who or what
            if a > 0 and _TICKER.match(sentence, a - 1):
                continue  # "(BBBY)": the ticker of the name before it, not another answer
            kinds = _entity_kind(sentence, a, b)
            if len(tokens) == 1 and tokens[0] in known:
                kinds.add("person")
            fit = NAMED_FIT if kind != "person" and tokens[-1] in named else 1.0 if kinds & fits else 0.4
            if kind == "title" and fit < 1.0 and kinds == {"place"}:
                continue  # "at New York's Radio City Music Hall" is where, not which awards show
            region = _REGION_AFTER.match(sentence, b) if kind == "place" and fit >= 1.0 else None
            if region and is_place_name(region.group(1)) and not is_place_name(sentence[a:b]):
                found.append((a, region.end(), fit + REGION_FIT))  # the town with its state: both say where
                regions.add(region.start(1))
            if kind == "organisation" and fit < 1.0 and len(tokens) == 1 and a > 0 and not kinds & {"place"} \
                    and not _NATIONALITY.search(tokens[0]):
                fit = 0.7  # one capitalised word inside a sentence may well be a company ("Google's parent")
            found.append((a, b, fit))
        if kind == "thing":  # a count of things, unless the words it counts go on past it ("several deadly mass")
            found.extend((m.start(), m.end(), 0.8) for m in PATTERNS["number"].finditer(sentence)
                         if not _CUT.match(sentence, m.end()))
            found.extend(_predicated(frame, sentence))
        if kind == "place" and frame.head in _COUNTRY_HEADS:  # "at the White House" is a place but no country
            several = frame.head in ("countries", "nations")
            found = [(a, a + len(c), max(fit, 1.0)) for a, b, fit in found
                     if (c := _a_country(sentence[a:b], several))]
        if kind == "place" and (_WHOSE.search(frame.question) or _FROM.search(frame.question)) \
                and not _HOST.search(frame.question):
            found.extend((a, b, 1.0 + _modifies(frame, sentence, b)) for a, b in demonym_places(sentence))
            # A people-word that does not spell its country says it less directly than the country's name.
            found.extend((a, b, PEOPLE_WORD_FIT + _modifies(frame, sentence, b)) for a, b in people_words(sentence))
    return found


_CUT = re.compile(r"\s+(?!(?:of|and|or|to|in|the|a|an|on|at|for|by|per|as|from|with|that|which|who|is|was|are|"
                  r"were|has|have|had|will|would)\b)[a-z][\w-]*")
"""A lower-case word right after a phrase: the noun phrase goes on, so the phrase is cut short."""


PEOPLE_WORD_FIT = 0.9
"""The fit of a people-word that does not spell its country ("Thai"): under the country's own name in the same
sentence ("Saudi Arabia" before "Saudi"), over any place that is no country."""
_COUNTRY_HEADS = frozenset({"country", "countries", "nation", "nations"})
_COUNTRY_SHORT = frozenset({"us", "u.s", "usa", "uk", "u.k", "uae", "eu"})


def _a_country(phrase: str, several: bool = False) -> str:
    """The part of `phrase` that names a country ("Ukraine", "the US", "Saudi Arabia" of "Saudi Arabia's
    Ministry of Commerce"), or countries when the question asks for `several` ("Sweden and Finland"); "" when it
    names none ("White House" is a place, no country)."""
    own = re.match(r"(.+?)['\u2019]s\b", phrase)
    for said in (phrase.rstrip("."), own.group(1) if own else ""):
        names = re.split(r",\s*(?:and\s+)?|\s+(?:and|&)\s+", said) if several else [said]
        if said and all(is_place_name(n) or n.lower().removeprefix("the ") in _COUNTRY_SHORT for n in names):
            return said
    return ""


_PERSON_HEADS = frozenset(_PERSON_NOUNS) - {"head", "member"}
"""A "which official" question is answered by a person, not by the body a "who" question may be ("Who raided
the compound?" "Police"): "Which high-ranking US official tested positive?" is not "the US Food and Drug
Administration"."""

_OFFICE_HEADS = frozenset("official minister leader president head chief ambassador senator judge commander prime "
                          "ceo".split())
"""A question that asks for a person by an office ("Which high-ranking US official ...?") is answered with the
office the articles give the name ("President Joe Biden"); a "who" question by the name alone."""

_FROM = re.compile(r"\bfrom\s*\?\s*$", re.IGNORECASE)
_WHOSE = re.compile(r"\b(?:which|what) (?:country|countries|nation)\b", re.IGNORECASE)
_HOST = re.compile(r"\b(?:to|in|at)\s*\?\s*$|\b(?:posted|stationed|based|accredited)\b", re.IGNORECASE)
"""A country's people-word ("South Korean") answers whose someone or something is ("Which country did the
ambassador represent?", "Where is she from?"), never where one serves ("... ambassador to?", "posted")."""


def _modifies(frame: QuestionFrame, sentence: str, end: int) -> float:
    """0.3 when the people-word of a country ending at `end` qualifies a word the question names ("South Korean
    Ambassador" for "Which country did the ambassador represent?") or the question asks where one is from;
    else 0."""
    follows = words(re.sub(r"^\w*", "", sentence[end:]))[:2]
    mine = any(w in frame.focus or w == frame.head for w in follows) or _FROM.search(frame.question)
    return 0.3 if mine else 0.0


_COPULA = r"(?:is|was|are|were|remains|remained|became|becomes|poses?|posed|represents?|represented)"


def _predicated(frame: QuestionFrame, sentence: str) -> list[tuple[int, int, float]]:
    """The phrase a sentence says is the thing the question names, in lower case as often as not: "climate
    change posed the biggest security threat", "the biggest threat is climate change" for "What is the biggest
    security threat ...?"."""
    if not frame.head or len(frame.head) < 3:
        return []
    head = re.escape(frame.head.rstrip("s"))
    found = []
    spans = [m.span(1) for m in re.finditer(rf"\b((?:[a-z][\w-]*\s+){{1,3}}){_COPULA}\s+(?:(?:the|a|an)\s+)?"
                                            rf"(?:[\w-]+\s+){{0,3}}?{head}\w*\b", sentence)]
    spans += [m.span(1) for m in re.finditer(rf"\b{head}\w*\s+{_COPULA}\s+((?:[\w-]+\s+){{0,2}}[\w-]+)", sentence)]
    for a, b in spans:
        while (first := re.match(r"(\w+)\s+", sentence[a:b])) and first.group(1).lower() in STOPWORDS:
            a += first.end()  # "that climate change posed": the phrase, not the clause's opening word
        if a < b:
            found.append((a, b, 1.0))
    return found


def _runs(sentence: str) -> list[tuple[int, int]]:
    """The capitalised runs of `sentence`; a run that ends in a country's possessive after other names is
    two ("Ambassador Park Jung-Wook Cambodia's commitment": "Ambassador Park Jung-Wook", "Cambodia's")."""
    out = []
    for m in _CAP_RUN.finditer(sentence):
        a, b = m.start(), m.end()
        last = re.search(r"\s([A-Z][\w-]*)['\u2019]s\s*$", sentence[a:b])
        if last and is_place_name(last.group(1)) and not is_place_name(sentence[a:a + last.end(1)].strip()):
            out.append((a, a + last.start(1)))
            a += last.start(1)
        out.append((a, b))
    return out


def _question_names(frame: QuestionFrame, sentence: str) -> list[tuple[int, int]]:
    """Where the run of the question's names stands in the sentence ("Chhay Sinharith")."""
    found = []
    for m in re.finditer(r"[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*)*", sentence):
        tokens = [t.lower() for t in m.group(0).split()]
        if tokens and all(t in frame.names for t in tokens):
            found.append((m.start(), m.end()))
    return found


_STRANDED = re.compile(r"\b(to|in|at|from|for|with|by)\s*\?\s*$", re.IGNORECASE)
"""A question that ends in its preposition ("Where is he ambassador to?") wants what follows it in the sentence."""


@lru_cache(maxsize=4096)
def phrases(frame: QuestionFrame, sentence: str, known: frozenset[str] = frozenset()) -> tuple[Phrase, ...]:
    """Every span of `sentence` that could answer a question read as `frame`, best fit first, each with how
    well it fits (about 0-1.3): its type, the share of its words the question does not say, its nearness to
    the words the question shares with the sentence. Memoised: scoring, selection, the abstention evidence
    and the answer's composition each ask it of the same sentences."""
    if frame.kind not in ("person", "role", "organisation", "place", "title", "thing", "date", "duration", "number",
                          "money", "percent", "age", "reason", "purpose"):
        return ()
    asked = set(frame.names) | set(frame.focus)
    dateline = _DATELINE.match(sentence)
    opening = dateline.end() if dateline else 0
    anchors = _anchors(asked, sentence)
    found: dict[tuple[int, int], Phrase] = {}
    stranded = _STRANDED.search(frame.question) if frame.kind in ("place", "person", "organisation", "thing") \
        else None
    counted = frame.head.rstrip("s")[:6] if frame.kind in ("number", "money", "percent") and frame.head else ""
    for a, b, fit in candidates(frame, sentence, known):
        if fit < _MIN_FIT.get(frame.kind or "", 0.0):
            continue
        a, b = _trim(sentence, a, b)
        if a < opening:
            continue  # "Paris (CNN) –": where and by whom it was filed, not what it says
        phrase = words(sentence[a:b])
        new = [w for w in phrase if w not in asked and w not in STOPWORDS and not _stem_asked(w, asked)]
        initials = "".join(w[0] for w in phrase if w not in STOPWORDS)
        if b <= a or not new or (len(initials) > 1 and initials in asked) or (
                frame.kind == "role" and not any(t in _TITLES or t in _ORG_WORDS for t in phrase)):
            continue  # the question already says it, maybe by initials ("US"); a role names a title or a body
        score = fit + 0.3 * len(new) / len(phrase) - 0.5 * _distance(anchors, a, sentence)
        if counted and any(w.startswith(counted) for w in phrase):
            score += 0.5  # "63 hot dogs" for "How many hot dogs ...", not "10 minutes"
            unit = next((m for m in re.finditer(r"\w+", sentence[a:b]) if m.group(0).lower().startswith(counted)), None)
            b = a + unit.end() if unit else b  # the count and what it counts: "six months", not "six months pending"
        if stranded and re.search(rf"\b{stranded.group(1)}\s+(?:the\s+)?$", sentence[max(0, a - 12):a], re.IGNORECASE):
            score += 0.3  # "Where is he ambassador to?": "Ambassador to Cambodia"
        if (a, b) not in found or score > found[(a, b)].score:
            found[(a, b)] = Phrase(a, b, score)
    return tuple(sorted(found.values(), key=lambda p: -p.score))


def _anchors(asked: set[str], sentence: str) -> list[int]:
    """Where the sentence says a word of the question (of three letters or more)."""
    low = sentence.lower()
    return [m.start() for w in asked if len(w) > 2 for m in re.finditer(rf"\b{re.escape(w)}", low)]


def _distance(anchors: list[int], start: int, sentence: str) -> float:
    """How far a phrase starting at `start` stands from the nearest of `anchors`, as a share of the sentence."""
    return min((abs(x - start) for x in anchors), default=len(sentence)) / max(len(sentence), 1)


def _stem_asked(word: str, asked: set[str]) -> bool:
    """The question says `word` in another form of it: "Europe" in "European", "Korea" in "Korean"."""
    return len(word) >= 4 and any(len(w) >= 4 and abs(len(w) - len(word)) <= 3 and (
        w.startswith(word) or word.startswith(w)) for w in asked)


def short_answer(frame: QuestionFrame, sentence: str) -> tuple[int, int, float] | None:
    """The span of `sentence` that best answers a question read as `frame` with how well it fits, or None when
    no phrase fits its kind."""
    found = phrases(frame, sentence)
    return (found[0].start, found[0].end, found[0].score) if found else None


def _key(sentence: str, p: Phrase) -> frozenset[str]:
    """The words of a phrase, each without a plural "s": "chicken nuggets" and "chicken nugget" are one answer;
    a people-word's are its country's: "Saudi" and "Saudi Arabia" are one answer."""
    if country := country_of(sentence[p.start:p.end]):
        return frozenset(words(country))
    return frozenset(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w
                     for w in words(sentence[p.start:p.end]) if w not in STOPWORDS)


COMMON_FIT = 0.7
"""The fit of a lower-case noun for a "which thing" question ("monkeypox" for "Which virus ..."): less than a
name's, so one mention does not outweigh a name; said by many of the best sentences and headlines, it wins.
Half A (four such questions) is flat in its figures from 0.3 to 1.2; from 0.7 on, "Which type of extreme
weather ...?" is answered "heat" and not by a quoted '"extreme danger"': the smallest value that does."""


@lru_cache(maxsize=4096)
def common_nouns(frame: QuestionFrame, sentence: str) -> tuple[Phrase, ...]:
    """The lower-case words and word pairs of `sentence` that a "which thing" question may be answered by: not
    the question's, no function word, adverb or verb form. They vote (`vote`) and are never a sentence's
    short answer alone: one sentence's nouns are too many to choose from."""
    asked = set(frame.names) | set(frame.focus) | {frame.head}
    anchors = _anchors(asked, sentence)
    found = []

    def noun(w: str) -> bool:
        return not (w in STOPWORDS or w in _FUNCTION or w in asked or _stem_asked(w, asked) or w.endswith(
            ("ly", "ed", "ing")) or w in _IRREGULAR_FORMS)

    dateline = _DATELINE.match(sentence)
    opening = dateline.end() if dateline else 0
    for m in re.finditer(r"\b[a-zA-Z][a-z-]{2,}\b", sentence):
        # A capital is a name's (`phrases` has those), unless it only opens the sentence: "Insulin shortage ...".
        if not noun(m.group(0).lower()) or (m.group(0)[0].isupper() and m.start() != opening):
            continue
        spans = [(m.start(), m.end())]
        nxt = re.match(r"\s([a-z][a-z-]{2,})\b", sentence[m.end():])
        if nxt and noun(nxt.group(1)):
            spans.append((m.start(), m.end() + nxt.end()))
        found.extend(Phrase(a, b, COMMON_FIT + 0.3 - 0.5 * _distance(anchors, a, sentence)) for a, b in spans)
    return tuple(found)


VOTE_RATIO = 0.8
"""The sentences that vote on the short answer score at least this share of the best one's (chosen on half A,
docs/benchmarks.md, "Answers a journalist would write"); the type gate of the abstention reads the same ones."""
VOTES_PER_SENTENCE = 3
"""How many of a sentence's phrases it votes for (its best-fitting ones)."""
NESTED_SHARE = 0.5
"""The share of a shorter phrase's votes that a phrase holding it gets ("Avalanche" for "Colorado Avalanche")."""


def vote(frame: QuestionFrame, sentences: Sequence[tuple[str, float]],
         voters: Sequence[tuple[str, float]] = ()) -> dict[int, tuple[int, int]] | None:
    """Where the phrase that `sentences` and `voters` agree on is said in `sentences`: index -> (start, end)
    of the phrase in that sentence, the sentence where it fits best first; None when no phrase fits.

    Each sentence, weighted by its relevance (the second of each pair), votes for its `VOTES_PER_SENTENCE`
    best-fitting phrases; the same words said again ("Succession" in four sentences of three articles) add
    up, and a phrase also gets `NESTED_SHARE` of the votes of the shorter phrases it holds. `voters`
    (headlines) vote too but are not quoted: the winner is a phrase of `sentences`. A redundancy vote, as
    in the question-answering systems that mined the web for repeated answers (AskMSR)."""
    own: dict[frozenset[str], float] = {}
    spans: dict[frozenset[str], dict[int, tuple[float, int, int]]] = {}
    said: dict[frozenset[str], str] = {}  # a phrase as a sentence says it
    known = full_names([s for s, _ in (*sentences, *voters)]) if frame.kind == "person" else frozenset()
    for i, (sentence, weight) in enumerate([*sentences, *voters]):
        seen: set[frozenset[str]] = set()
        common = common_nouns(frame, sentence) if frame.kind == "thing" else ()
        for p in (*phrases(frame, sentence, known)[:VOTES_PER_SENTENCE], *common):
            key = _key(sentence, p)
            if key and key in seen and i < len(sentences) and country_of(sentence[p.start:p.end]) is None:
                value, _, _ = spans[key][i]  # "Saudi Arabia" quoted where the sentence also says "Saudi"
                spans[key][i] = (value, p.start, p.end)
            if not key or key in seen:
                continue
            seen.add(key)
            value = weight * max(p.score, 0.0)
            own[key] = own.get(key, 0.0) + value
            if i < len(sentences):
                spans.setdefault(key, {})[i] = (value, p.start, p.end)
                said.setdefault(key, sentence[p.start:p.end])
    if not spans:
        return None
    total = {k: own[k] + NESTED_SHARE * sum(o for j, o in own.items() if j < k) for k in spans}
    best = max(total, key=lambda k: (total[k], max(v for v, _, _ in spans[k].values())))
    best = max((k for k in spans if k == best or (best < k and _in_full(said[best], said[k]))),
               key=lambda k: (len(k), total[k]))
    where = sorted(spans[best].items(), key=lambda item: -item[1][0])
    return {i: (a, b) for i, (_, a, b) in where}


def _in_full(short: str, full: str) -> bool:
    """`full` is the name `short` is the end of, as a first mention says it: "Colorado Avalanche" for
    "Avalanche", "Joe Biden" for "Biden". An editor writes the full name; the later mentions shorten it. Only a
    name: "all-time heat" is no fuller name of "heat"."""
    a, b = words(short), words(full)
    return full[:1].isupper() and len(b) >= len(a) and b[len(b) - len(a):] == a


def full_names(sentences: Sequence[str]) -> frozenset[str]:
    """The last words of the people's names of two words or more that `sentences` say ("biden" for "President
    Joe Biden"): where one of them stands alone ("Biden tested positive"), it is that person, as a reader
    takes it after the first mention."""
    out = set()
    for sentence in sentences:
        for a, b in _runs(sentence):
            tokens = [t.strip(".") for t in sentence[a:b].lower().split()]
            if len(tokens) >= 2 and tokens[-1].isalpha() and "person" in _entity_kind(sentence, a, b):
                out.add(tokens[-1])
    return frozenset(out)
