"""Who "he", "both sides" or "the minister" is: the referent of a quoted sentence's subject, from its article.

An editor quoting "He recalled that ..." writes "He [Chhay Sinharith] recalled that ...". The quote stays
exact; the referent is an addition, placed after the words it explains and shown as one. It is looked
for in the sentences before the quote in the same chunk, nearest first, then in the title:
- "He"/"She": the person a preceding sentence opens with ("Minister Chhay Sinharith first emphasized ..."),
  skipping sentences that open with a pronoun themselves (they speak of the same person);
- "Both sides", "the two countries", "the two sides": the nearest "A and B" of names;
- "The minister", "the ambassador", ...: the nearest name run holding that title.
When nothing fits, no referent is added (a wrong name is worse than a pronoun).
"""

from __future__ import annotations

import re

_PRONOUN = re.compile(r"^(?:He|She)\b")
_PAIR_SUBJECT = re.compile(r"^(?:Both sides|Both countries|The two (?:countries|sides|nations|governments|leaders))\b")
_TITLED = re.compile(r"^The (minister|ambassador|president|prime minister|spokesperson|spokesman|spokeswoman|"
                     r"secretary-general|chairman|governor|king|queen|general|commissioner)\b", re.IGNORECASE)
_RUN = r"[A-Z][\w'\u2019-]*(?:\s+(?:[A-Z][\w'\u2019-]*))*"
_OPENING_NAME = re.compile(rf"^(?:[A-Z][\w'\u2019-]*\s+)*?({_RUN})\s+(?:[a-z]+\s+)?(?:[a-z]+ed|said|says|told|met|"
                           rf"was|is|has|had|will|also|first|then|later)\b")
_PAIR = re.compile(rf"\b({_RUN})\s+and\s+({_RUN})\b")
_PERSON_TITLES = ("Minister", "Ambassador", "President", "Prime Minister", "Mr", "Mrs", "Ms", "Dr",
                  "Secretary-General", "Spokesperson", "Governor", "General", "Commissioner", "King", "Queen")
_TITLE_WORDS = frozenset("""Minister Ministers State Secretary-General Secretary Ambassador President Director
    General Chairman Governor Spokesperson Deputy Vice Prime""".split())
_NOT_PEOPLE = frozenset("""The This That These Those It In On At When However But And Both Cambodia Korea South
    North Japan China Thailand Myanmar Philippines Vietnam Laos Malaysia Indonesia Singapore Interpol Police
    Government Ministry Related""".split())


def _looks_like_person(run: str) -> bool:
    tokens = run.split()
    if any(run.startswith(t + " ") for t in _PERSON_TITLES):
        return len(tokens) >= 2
    return len(tokens) >= 2 and tokens[0] not in _NOT_PEOPLE and all(t not in _NOT_PEOPLE for t in tokens)


def _looks_like_party(run: str) -> bool:
    """A country, a body or a person, not a title ("Minister of State and Secretary-General")."""
    return not any(t in _TITLE_WORDS for t in run.split()) and run.split()[0] not in ("The", "In", "On", "At")


def _person_opening(sentence: str) -> str | None:
    m = _OPENING_NAME.match(sentence.strip())
    if not m:
        return None
    run = m.group(1)
    return run if _looks_like_person(run) else None


def referent(quote: str, before: list[str], title: str = "") -> tuple[int, str] | None:
    """(offset in `quote` after which the referent goes, the referent) for the quote's subject, or None.

    `before`: the sentences before the quote in its article, in order (nearest last)."""
    text = quote.lstrip()
    lead = len(quote) - len(text)
    if m := _PRONOUN.match(text):
        for sentence in reversed(before):
            s = sentence.strip()
            if _PRONOUN.match(s):
                continue
            name = _person_opening(s)
            if name:
                return lead + m.end(), name
            break  # a sentence about someone or something else: "he" is not safe to resolve
        return None
    if m := _PAIR_SUBJECT.match(text):
        for source in [title, *reversed(before)]:  # a headline names the two sides of its story
            for pair in _PAIR.finditer(source):
                if source[max(0, pair.start() - 3):pair.start()] != "of " and all(
                        _looks_like_party(pair.group(g)) for g in (1, 2)):
                    return lead + m.end(), f"{pair.group(1)} and {pair.group(2)}"
        return None
    if m := _TITLED.match(text):
        word = m.group(1).lower()
        for sentence in reversed(before):
            for run in reversed(re.findall(_RUN, sentence)):
                if run.lower().startswith(word + " ") and len(run.split()) > len(word.split()):
                    return lead + m.end(), run[len(word) + 1:]
        return None
    return None
