"""What a question asks for: its answer type, its focus, and the names it is about.

The extractive answerer has no language model to read a question with, so it reads it by rule: the
wh-word and the noun after "which"/"what" give the kind of answer expected ("Which country ..." wants a
place, "Who ..." a person, "Why ..." a reason), the capitalised words are the names the answer must be
about, and the other content words are the focus, the part a sentence has to match beyond the story's
shared topic words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import STOPWORDS, words
from vectorstore.lexical import IRREGULAR

KINDS = ("person", "role", "organisation", "place", "date", "duration", "number", "money", "percent", "age",
         "reason", "purpose", "action", "title", "thing")
"""The answer types a question can ask for; "thing" is any other noun phrase, None (no type) an open question."""

PERSON_NOUNS = ("person", "man", "woman", "official", "minister", "leader", "president", "star", "celebrity",
                "player", "actor", "actress", "singer", "ceo", "head", "chief", "ambassador", "senator", "judge",
                "suspect", "ringleader", "commander", "candidate", "author", "member", "founder", "prime")
"""The nouns a "which" question asks for a person by ("Which official ...")."""
_HEADS: dict[str, tuple[str, ...]] = {
    "person": PERSON_NOUNS,
    "organisation": ("company", "companies", "automaker", "firm", "organisation", "organization", "agency",
                     "group", "team", "school", "university", "college", "bank", "chain", "brand", "party",
                     "service", "airline", "retailer", "network", "court", "ministry", "department", "body",
                     "club", "union", "committee", "government", "authority", "authorities", "force"),
    "place": ("country", "countries", "nation", "state", "states", "city", "cities", "town", "towns",
              "province", "region", "continent", "island", "park", "place", "county", "border", "port",
              "attraction", "capital", "district", "location"),
    "title": ("show", "movie", "film", "book", "song", "album", "series", "game", "app", "award", "awards"),
    "date": ("year", "date", "day", "month", "week", "time"),
    "age": ("age", "ages"),
}
_MONEY = re.compile(r"\bhow much (money|did .* (pay|cost|spend|lose|raise)|does .* cost|is .* worth)\b|"
                    r"\b(sum|price|cost|amount|fine|damages)\b")


@dataclass(frozen=True)
class QuestionFrame:
    """A question read by rule."""

    kind: str | None
    """One of `KINDS`, or None when the question does not say what kind of answer it wants."""
    names: tuple[str, ...]
    """Capitalised words and numbers of the question, lower-cased: what the answer must be about."""
    focus: tuple[str, ...]
    """The question's other content words: what it asks about them."""
    future: bool = False
    """The question asks what will happen ("What will Korea do ...")."""
    head: str = ""
    """The noun a "which"/"what" question names ("country" in "Which country ...")."""
    verb: str = ""
    """The question's main verb, lower-cased ("agree" in "What did Korea agree to with Cambodia?")."""
    particle: str = ""
    """The word right after that verb when it is "to", "on", "with", ... ("to" in "agree to")."""
    subject: tuple[str, ...] = ()
    """The names between the auxiliary and the verb, lower-cased: who acts ("south", "korea" in "What will
    South Korea do ...")."""
    question: str = ""
    """The question as read (spaces collapsed)."""


def _kind_of_head(head: str) -> str | None:
    for kind, heads in _HEADS.items():
        if head in heads:
            return kind
    return None


_EMPTY = re.compile(r"\b(?:take|takes|took|taken|taking)\s+place\b|\b(?:happen|occur)(?:s|ed|red|ring|ing)?\b",
                    re.IGNORECASE)


def eventful(question: str) -> str:
    """`question` without the verbs that only say an event happened ("When did the meeting take place?"
    asks when they met: "take" and "place" are no words a sentence has to share with it)."""
    return _EMPTY.sub(" ", question)


def frame(question: str) -> QuestionFrame:
    """Read `question`: its expected answer type, names, focus words and tense."""
    q = " ".join(question.split())
    said = eventful(q)
    found = list(re.finditer(r"[\w'\u2019-]+", said))
    tokens = [m.group(0) for m in found]
    # A capital that only opens a sentence is no name: "... has arrived. What is it called?"
    opening = {i for i, m in enumerate(found) if re.search(r"(?:^|[.!?]\s*)$", said[:m.start()])}
    capitalised = tuple(dict.fromkeys(t.lower() for i, t in enumerate(tokens) if (
        i not in opening and t[:1].isupper()) or any(c.isdigit() for c in t)))
    content = [w for w in words(said) if w not in STOPWORDS and w not in capitalised and len(w) > 1]
    # The question itself, after any sentences that set it up: its kind is read there, not off a "who" of
    # the premise ("... Patriot Front who allegedly planned to riot at a Pride event. Where was the event?").
    asks = _SETUP.split(q)[-1]
    low = asks.lower()
    head = ""
    kind: str | None = None
    which = re.search(r"\b(which|what)\s+(?!(?:is|was|are|were|did|does|do|will|would|can|could|should|has|have|had|"
                      r"about|about|if|else|happened|happens)\b)(?:(?:two|three|\w+ly|new|major|popular|high-ranking|us|u\.s\.|"
                      r"other|kind of|type of|sort of)\s+)*([a-z'\u2019-]+)", low)
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share|proportion)\b|"
                 r"\bwhat(?: is|'s| was) the (number|percentage|share|proportion|figure|total)\b", low):
        kind = "percent" if re.search(r"\b(percentage|percent|share|proportion)\b", low) else (
            "money" if _MONEY.search(low) else "number")
        counted = re.search(r"\bhow many\s+([a-z'\u2019-]+)(?:\s+([a-z'\u2019-]+))?", low)
        # What is counted: "How many hot dogs did ..." counts "dogs", "How many people died" "people".
        head = "" if not counted or _STOP_HEAD.match(counted.group(1)) else counted.group(2) if (
            counted.group(2) and not counted.group(1).endswith("s") and counted.group(2).endswith("s")
            and not _STOP_HEAD.match(counted.group(2))) else counted.group(1)
    elif re.search(r"\bhow (long|soon)\b|\bby when\b|\buntil when\b", low):
        kind = "duration"
    elif re.search(r"^\s*when\b|\bwhen (was|did|is|were|will|does|do)\b|\bwhat (year|date|day|month)\b", low):
        kind = "date"
    elif re.search(r"^\s*why\b|\bwhy (did|do|does|was|were|is|are|has|have|will)\b|\bfor what reason\b", low):
        kind = "reason"
    elif re.search(r"\bwhat for\b|\bwhat (is|was) the (purpose|aim|goal)\b|\bin order to\b", low):
        kind = "purpose"
    elif re.search(r"^\s*(?i:who)\s+(?i:is|was|are|were)\s+[A-Z]", asks) or re.search(
            r"\bwhat (position|post|role|title|job)\b", low):
        kind = "role"  # "Who is Chhay Sinharith?": what he is, not another name
    elif re.search(r"^\s*(who|whom)\b|\b(who|whom|whose)\b", low):
        kind = "person"
    elif re.search(r"^\s*where\b|\bwhere (is|was|did|do|does|were|are|will|in)\b|\bin what (country|city|state)\b",
                   low):
        kind = "place"
    elif re.search(r"\bwhat (did|does|do|will|would|should|can|could)\b.*\b(do|agree|decide|announce|offer|urge|"
                   r"recommend|ask|plan|promise|pledge|propose|say|tell)\w*\b", low) or re.search(
                       r"\bdo what\b", low):
        kind = "action"
    elif which:
        head = _head(low, which)
        kind = _kind_of_head(head) or ("number" if head in _MEASURES else "thing")
    elif re.search(r"\bwhat(?: is|'s| was| are| were) (?:the|its|their|his|her)\b", low):
        what = re.search(r"\bwhat(?: is|'s| was| are| were) (?:the|its|their|his|her)\s+(?:[\w'\u2019-]+\s+){0,3}?"
                         r"([a-z\u2019'-]+)\s+(?:of|for|in|on|at|that|to|behind|according|\?|$)", low + " ?")
        head = what.group(1) if what else ""
        kind = _kind_of_head(head) or ("number" if head in _MEASURES else "reason" if head in ("reason", "cause")
                                       else "thing")
    elif re.search(r"\bwhat (?:is|was|are|were) (?:it|they|this|that) called\b|\bwhat (?:is|was) (?:its|the) name\b",
                   low):
        kind = "title"
    future = bool(re.search(r"\b(will|going to|plan(s|ned)? to|next)\b", low)) and (
        not _REPORTED.search(low) or _ASKS_REPORTED.search(low) is not None)
    if which and not head and kind not in ("number", "money", "percent"):
        head = which.group(2)
    # The verb of the question itself: "... reforms were not included in the deal. Which measure did lawmakers
    # leave out?" asks what was left out, not what was included.
    verb, particle, subject = _verb(re.findall(r"[\w'\u2019-]+", eventful(asks)))
    return QuestionFrame(kind, capitalised, tuple(dict.fromkeys(content)), future, head, verb, particle, subject, q)


_SETUP = re.compile(r"(?<=[a-z0-9]{3}[.!])\s+(?=[A-Z\"\u201c])|(?<=[a-z0-9]{2}[.!][\"\u201d])\s+(?=[A-Z])")
"""Where a question's setup sentence ends: after a lower-case word of three letters or more ("... in history.
Where ..."), not after an initial or a title ("Roe v. Wade", "Mr. Park", "U.S. Senator")."""

_ASKS_REPORTED = re.compile(r"\b(?:will|would|going to)\s+(?:[\w'\u2019-]+\s+){0,4}?(?:do\s+)?what\b")
"""... unless the reported future is what is asked: "The IRS announced it will do what?"."""
_REPORTED = re.compile(r"\b(?:announc|said|say|report|claim|promis|pledg|vow|expect|hope|decid|confirm|warn)\w*"
                       r"\s+(?:that\s+)?(?:[\w'\u2019-]+\s+){0,3}?(?:will|would)\b")
"""A future that is only reported: "Which school announced it will eliminate loans?" asks who announced."""

_MEASURES = frozenset("""magnitude score rate age temperature speed height length weight size population
    total toll""".split())
"""Nouns a "what is the X" question asks a number for ("What was the magnitude of the quake?")."""
_STOP_HEAD = re.compile(r"^(?:is|was|are|were|did|does|do|will|would|can|could|should|has|have|had|of|in|on|at|to|"
                        r"for|from|with|by|that|who|which|recently|since|after|before|and|or)$")


def _head(low: str, which: re.Match[str]) -> str:
    """The noun a "which"/"what" phrase names: the last known head among its next few words ("Which
    prestigious awards show" -> "show", "What NFL star" -> "star"), a possessive ("Which company's stock" ->
    "company"), else the word that ends the phrase where a verb or the next noun phrase closes it ("Which type
    of extreme weather swept" -> "weather"), or else the first word after the modifiers."""
    following = re.findall(r"[a-z0-9\u2019'.-]+", low[which.start(2):])[:5]
    phrase: list[str] = []
    ended = False  # the phrase ends where the verb or the next noun phrase begins
    for i, w in enumerate(following):
        if _STOP_HEAD.match(w) or (i > 0 and (w in ("the", "a", "an") or _past_tense(w))):
            # the verb or the next noun phrase: "Which country signed the border treaty" names a country
            ended = i > 0 and (w in _AUXILIARIES or w in ("the", "a", "an") or _past_tense(w)
                               or (i <= 2 and w in ("in", "of", "on", "at", "from", "with", "for", "by")))
            break
        phrase.append(w)
        if re.search(r"['\u2019]s$", w):
            return re.sub(r"['\u2019]s$", "", w)
    if re.search(r"\bages? (?:group|groups|bracket|range)\b", " ".join(phrase)):
        return "age"  # "which age group": an age, not a group of people
    known = [w for w in phrase if _kind_of_head(w) or w in _MEASURES]
    if known:
        return known[-1]
    # The noun ends its phrase: "Which type of extreme weather swept ...", "Which menu item did KFC ...".
    return phrase[-1] if ended and phrase else which.group(2)


def _participle(word: str) -> bool:
    return _past_tense(word) or (word.endswith("ing") and len(word) > 5) or (word.endswith("en") and len(word) > 4)


def _past_tense(word: str) -> bool:
    return (word.endswith("ed") and len(word) > 4) or word in IRREGULAR


_AUXILIARIES = frozenset("did does do will would should can could has have had is are was were".split())
_PARTICLES = frozenset("to on with about for into against out up off down".split())
_DO_SUPPORT = frozenset("did does do will would should can could".split())
"""Auxiliaries before a subject and the verb's base form: the verb is the last word of the run after them."""
_BE_HAVE = frozenset("has have had is are was were".split())
_DETERMINERS = frozenset("""the a an some his her their its this these those that many several all both each every
    any most other another two three four five six seven eight nine ten""".split())
_PREPOSITIONS = frozenset("""across along around behind beyond near among amid toward towards inside outside within
    without via per upon onto""".split())


_LY_VERBS = frozenset("apply reply supply comply imply multiply rely rally tally ally fly bully".split())


def _adverb(word: str) -> bool:
    """An -ly word that is no verb ("recently", "finally"; not "apply", "rely")."""
    return len(word) > 4 and word.endswith("ly") and word not in _LY_VERBS


def _plain(token: str) -> bool:
    """A lower-case word that may be a subject's noun or the verb after it, not a function word."""
    low = token.lower()
    return token[:1].islower() and low not in STOPWORDS and low not in _DETERMINERS and low not in _PREPOSITIONS \
        and low not in _PARTICLES and low not in _AUXILIARIES


def _verb(tokens: list[str]) -> tuple[str, str, tuple[str, ...]]:
    """The first lower-case content word after an auxiliary and its subject, the particle after it, and the
    subject's capitalised words ("What will South Korea do ...": "", "", ("south", "korea")). A word right
    after a determiner or a possessive is part of the subject, not its verb."""
    for i, t in enumerate(tokens):
        if t.lower() not in _AUXILIARIES:
            continue
        subject: list[str] = []
        for j in range(i + 1, len(tokens)):
            w = tokens[j]
            if w.lower() == "do":
                return "", "", tuple(subject)  # "What will Korea do with ...": no verb of its own to match
            if w[:1].isupper() or re.match(r"[a-z]+-[A-Z]", w):  # "then-President Donald Trump" is one name
                subject.append(w.lower())
                continue
            low = w.lower()
            if low in STOPWORDS or low in _DETERMINERS or low in _PREPOSITIONS or _adverb(low):
                continue  # "Which show was recently renewed?": "renewed"
            before = tokens[j - 1].lower()
            if before in _DETERMINERS or re.search(r"['\u2019]s?$", before):
                continue  # a noun or its modifier: "Why did some cities ... cancel", "the countries' leaders agree"
            if t.lower() in _BE_HAVE and not _participle(low) and (subject or any(
                    x.lower() in _DETERMINERS for x in tokens[i + 1:j])):
                continue  # "How much has the Biden administration approved": after "has" and a subject, the
                # participle; with no subject between, the word is what is said of it ("Which country is bankrupt")
            if t.lower() in _DO_SUPPORT:  # the verb ends the run of words its subject opens
                run = j
                while run + 1 < len(tokens) and _plain(tokens[run + 1]):
                    run += 1
                while run > j and tokens[run].lower().endswith("ly"):
                    run -= 1  # "Why did prices rise sharply?": "rise"
                # "Which measure did lawmakers leave out?", "Where did the massive data leak occur?"
                j, w = run, tokens[run]
            after = tokens[j + 1].lower() if j + 1 < len(tokens) else ""
            return w.lower(), after if after in _PARTICLES else "", tuple(subject)
        break
    return "", "", ()
