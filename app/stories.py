"""A story told by several outlets: the cited article's copies on its citations ("also reported by"), and
the numbers or names those copies give differently for the same sentence, shown side by side.

Retrieval folds a story's copies into the best-ranked one (`Retriever._fold_copies`), so the answer cites
one outlet. When a copy states the cited sentence with another figure ("547" where the cited article says
"545"), picking one silently would hide that the sources disagree: `disagreements` finds the copy's
version of the sentence, cites it too, and says both.

A copy's version of a sentence is its sentence with the most words in common once numbers are left out
(Jaccard over word sets). Copies come from the near-duplicate index (MinHash over whole articles), so
their sentences are mostly the same words; `SAME_SENTENCE` only has to tell the edited sentence from the
other sentences of the same article. Calibrated in `python -m bench disagreements` (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from core.records import Answer, ArticleInfo, Citation, Copy, Disagreement, Hit
from core.sentences import sentences
from core.text import names, words

if TYPE_CHECKING:
    from vectorstore.store import ArticleStore

SAME_SENTENCE = 0.7
"""Jaccard of two sentences' words without their numbers, at or above which they are one sentence."""

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")


def with_copies(answer: Answer, hits: Sequence[Hit]) -> None:
    """Each citation carries the copies of the hit it quotes (for "also reported by" on its card)."""
    by_chunk = {h.chunk.id: h for h in hits}
    answer.citations = [replace(c, copies=by_chunk[c.chunk_id].copies) if c.chunk_id in by_chunk and
                        by_chunk[c.chunk_id].copies else c for c in answer.citations]


def numbers(text: str) -> set[str]:
    """The figures a sentence states, as written without thousands separators ("1,200" -> "1200")."""
    return {m.group(0).replace(",", "") for m in _NUMBER.finditer(text)}


def _shape(text: str) -> set[str]:
    return {w for w in words(text) if not any(ch.isdigit() for ch in w)}


def _jaccard(x: set[str], y: set[str]) -> float:
    """Jaccard of two sentences' word sets (`_shape`: numbers left out)."""
    return len(x & y) / len(x | y) if x | y else 0.0


Shapes = list[tuple[tuple[int, int], set[str]]]


def sentence_shapes(text: str) -> Shapes:
    """Each sentence's span in `text` and its words without numbers: what `closest` compares a quote with,
    cut once by a caller that compares many quotes with one text (`same_story`: cutting and reading the
    copy again for each figure-stating sentence made a question whose hits have large groups of copies
    wait over a second in retrieval; `python -m bench query`, fuse p95 1.6 s on realtimeqa-dev)."""
    return [((s.quote_start, s.end), _shape(text[s.quote_start:s.end])) for s in sentences(text)]


def closest(quote: str, text: str, shapes: Shapes | None = None) -> tuple[float, tuple[int, int] | None]:
    """`text`'s sentence most like `quote` (numbers left out): its similarity and span. Among equally
    alike sentences (list lines such as "Regular: $4.68"), one stating the same figures is the one; when
    none does and there are several, the sentence has no single counterpart (None). `shapes`: `text`'s
    `sentence_shapes`, when the caller has them."""
    asked = _shape(quote)
    scored = [(_jaccard(asked, shape), span) for span, shape in (sentence_shapes(text) if shapes is None else shapes)]
    best = max((score for score, _ in scored), default=0.0)
    if best == 0.0:
        return 0.0, None
    tied = [span for score, span in scored if score == best]
    same = [span for span in tied if numbers(text[span[0]:span[1]]) == numbers(quote)]
    if same:
        return best, same[0]
    return best, tied[0] if len(tied) == 1 else None


def counterpart(quote: str, text: str, shapes: Shapes | None = None) -> tuple[int, int] | None:
    """The span of `text`'s sentence that is `quote` as another outlet edited it, or None."""
    best, span = closest(quote, text, shapes)
    return span if best >= SAME_SENTENCE else None


def differ(a: str, b: str) -> tuple[str, tuple[str, str]] | None:
    """("number" | "name", (a's value, b's value)) when the two versions of a sentence state a different
    figure or name in the same place; None when they agree (or one only leaves something out)."""
    na, nb = numbers(a), numbers(b)
    if na - nb and nb - na:
        return "number", (", ".join(sorted(na - nb)), ", ".join(sorted(nb - na)))
    ma, mb = set(names(a)), set(names(b))
    if ma - mb and mb - ma and len(ma ^ mb) <= 4:  # a name swapped, not a sentence rewritten
        return "name", (" ".join(sorted(ma - mb)), " ".join(sorted(mb - ma)))
    return None


def same_story(a: str, b: str) -> bool:
    """Whether two texts the near-duplicate index grouped tell one event: at most one of `a`'s sentences
    that state figures says them differently in `b`. Templated reports of different events (the same
    wording about province 1 and province 13, each with its own figures) differ in several."""
    differing = 0
    shapes: Shapes | None = None
    for s in sentences(a):
        quote = a[s.quote_start:s.end]
        if not numbers(quote):
            continue
        shapes = sentence_shapes(b) if shapes is None else shapes
        span = counterpart(quote, b, shapes)
        if span is not None and numbers(b[span[0]:span[1]]) != numbers(quote):
            differing += 1
            if differing > 1:
                return False
    return True


def disagreements(answer: Answer, store: "ArticleStore") -> str:
    """Cite, beside each quoted sentence, the copies that state it differently, and record each
    disagreement on the answer (its sentences become citations, numbered after the others); returns the
    text added to the answer ("" when the copies agree)."""
    if answer.abstained:
        return ""
    texts: dict[str, str | None] = {}
    infos: dict[str, ArticleInfo | None] = {}
    added: list[Citation] = []
    for citation in list(answer.citations):
        values: list[tuple[str, int]] = []
        kind = ""
        for copy in citation.copies:
            if copy.article_id not in texts:
                texts[copy.article_id] = store.article_text(copy.article_id)
                infos[copy.article_id] = store.get_article(copy.article_id)
            text, info = texts[copy.article_id], infos[copy.article_id]
            span = counterpart(citation.quote, text) if text else None
            if span is None or text is None or info is None:
                continue
            found = differ(citation.quote, text[span[0]:span[1]])
            if found is None or (kind and found[0] != kind):
                continue
            kind = found[0]
            n = len(answer.citations) + len(added) + 1
            added.append(_cite(info, citation, text, span, n))
            if not values:
                values.append((found[1][0], citation.n))
            values.append((found[1][1], n))
        if values:
            answer.disagreements.append(Disagreement(kind=kind, values=tuple(values)))  # type: ignore[arg-type]
    if not added:
        return ""
    answer.citations.extend(added)
    extra = "\n\n" + describe(answer)
    answer.text = answer.text.rstrip() + extra
    answer.notes.append(f"{len(answer.disagreements)} disagreement(s) between copies of a story")
    return extra


def _cite(info: ArticleInfo, of: Citation, text: str, span: tuple[int, int], n: int) -> Citation:
    """A citation of the copy's sentence; its card lists the rest of the story (the cited article too)."""
    others = tuple(c for c in of.copies if c.article_id != info.id)
    own = Copy(of.article_id, of.source, of.published)
    return Citation(n=n, article_id=info.id, quote=text[span[0]:span[1]], start=span[0], end=span[1],
                    title=info.title, url=info.url, source=info.source, published=info.published,
                    copies=(own, *others))


def describe(answer: Answer) -> str:
    """The disagreements in words: each value once, with the outlets, dates and markers that give it."""
    by_n = {c.n: c for c in answer.citations}
    lines = []
    for d in answer.disagreements:
        said: dict[str, list[str]] = {}
        for value, n in d.values:
            c = by_n[n]
            when = f", {c.published.day} {c.published:%b %Y}" if c.published else ""
            said.setdefault(value, []).append(f"{c.source or 'unknown outlet'}{when} [{n}]")
        what = "this figure" if d.kind == "number" else "this name"
        lines.append(f"Sources differ on {what}: " + "; ".join(f"{v} ({'; '.join(who)})" for v, who in said.items())
                     + ".")
    return "\n".join(lines)
