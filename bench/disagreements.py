"""`python -m bench disagreements`: does the answer notice when copies of a story give different figures?

For each realtimeqa-dev article (read in place, never stored), an outlet's edited copy is made as the
near-duplicate benchmark makes them (`near_duplicates.edited_copy`: dateline, headline, lede rewritten,
sentences dropped or added, words substituted, paragraphs swapped); in half of the copies one figure of one
sentence is changed as well (a disagreement). Then every sentence of the original that states a figure is
looked up in the copy the way the answer does it (`app.stories.counterpart`, then `differ`): a changed
sentence must be reported, an unchanged one must not.

`SAME_SENTENCE` (how alike two sentences must be, numbers left out, to be one sentence) is chosen on the
articles of half A (split by a hash of the id, as the near-duplicate benchmark does): the value with the
best recall at precision >= 0.99 (best F1 if none reaches it). Half B is measured with it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import machine, table
from bench.near_duplicates import MIN_WORDS, _half, _load, edited_copy

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
MIN_PRECISION = 0.99
_FIGURE = re.compile(r"(?<![\w.])\d[\d,]*(?![\w])")


def _changed(text: str, rng: random.Random) -> tuple[str, str, str] | None:
    """`text` with one figure of one sentence changed, that sentence as it was, and the new figure; None
    when no sentence states a figure."""
    from core.sentences import sentences

    spans = [(s.quote_start, s.end) for s in sentences(text) if _FIGURE.search(text[s.quote_start:s.end])]
    if not spans:
        return None
    start, end = rng.choice(spans)
    sentence = text[start:end]
    m = rng.choice(list(_FIGURE.finditer(sentence)))
    value = int(m.group(0).replace(",", ""))
    new = str(value + rng.choice((-3, -2, -1, 1, 2, 5, 10)) if value > 10 else value + 1)
    return text[:start] + sentence[:m.start()] + new + sentence[m.end():] + text[end:], sentence, new


def cases(articles: Sequence[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Every sentence of an original that states a figure, with its copy's text and whether the copy
    states that sentence with another figure. The figure is changed in the original before the outlet's
    edits are made, so a copy that dropped the sentence has no disagreement to find."""
    from core.sentences import sentences

    rng = random.Random(seed)
    out = []
    for article in articles:
        source, changed, new = article, None, ""
        if rng.random() < 0.5:
            got = _changed(article["text"], rng)
            if got is not None:
                source, changed, new = {**article, "text": got[0]}, got[1], got[2]
        copy = edited_copy(source, rng, articles)["text"]
        text = article["text"]
        for s in sentences(text):
            quote = text[s.quote_start:s.end]
            if _FIGURE.search(quote):
                truth = quote == changed and re.search(rf"(?<![\w.]){re.escape(new)}(?![\w])", copy) is not None
                out.append({"quote": quote, "copy": copy, "truth": truth})
    return out


def _prepare(items: Sequence[dict[str, Any]]) -> None:
    """Each case's closest sentence in the copy and the verdict on it: the threshold only decides
    whether that sentence counts as the same one."""
    from app.stories import closest, differ

    for case in items:
        best, span = closest(case["quote"], case["copy"])
        verdict = differ(case["quote"], case["copy"][span[0]:span[1]]) if span else None
        case["best"], case["number"] = best, verdict is not None and verdict[0] == "number"


def score(items: Sequence[dict[str, Any]], threshold: float) -> dict[str, float]:
    tp = fp = fn = 0
    for case in items:
        found = case["best"] >= threshold and case["number"]
        truth = case["truth"]
        tp += found and truth
        fp += found and not truth
        fn += truth and not found
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def run(articles_path: Path, *, seed: int = 16) -> dict[str, Any]:
    import app.stories as stories

    usable = [a for a in _load(articles_path) if len(a["text"].split()) >= MIN_WORDS]
    halves = {h: cases([a for a in usable if _half(a["id"]) == h], seed + (h == "B")) for h in ("A", "B")}
    for items in halves.values():
        _prepare(items)
    grid = [score(halves["A"], t) for t in THRESHOLDS]
    ok = [g for g in grid if g["precision"] >= MIN_PRECISION]
    chosen = max(ok, key=lambda g: (g["recall"], g["precision"])) if ok else max(grid, key=lambda g: g["f1"])
    return {"machine": machine(), "articles": len(usable), "grid": grid, "chosen": chosen["threshold"],
            "current": stories.SAME_SENTENCE, "sentences": {h: len(v) for h, v in halves.items()},
            "changed": {h: sum(c["truth"] for c in v) for h, v in halves.items()},
            "test": score(halves["B"], chosen["threshold"]),
            "test_current": score(halves["B"], stories.SAME_SENTENCE)}


def to_markdown(r: dict[str, Any]) -> str:
    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    t, c = r["test"], r["test_current"]
    rows = [[g["threshold"], pct(g["precision"]), pct(g["recall"]), g["tp"], g["fp"], g["fn"]] for g in r["grid"]]
    return "\n".join([
        f"**Method.** `python -m bench disagreements` on {r['machine']}. {r['articles']} realtimeqa-dev articles "
        "(>= 150 words) each get an outlet's edited copy (the near-duplicate benchmark's edits); half of the copies "
        "also have one figure of one sentence changed. Every sentence of the original that states a figure is "
        "looked up in its copy as answers do (`app.stories.counterpart`, then `differ`): a changed figure must be "
        "reported, an unchanged sentence must not. **Calibration**: half A of the articles (by a hash of the id) "
        f"chooses `SAME_SENTENCE` (best recall at precision >= {pct(MIN_PRECISION)}). **Report**: half B.",
        "",
        f"Sentences with a figure: A {r['sentences']['A']} ({r['changed']['A']} changed), "
        f"B {r['sentences']['B']} ({r['changed']['B']} changed).",
        "",
        f"Chosen on A: `SAME_SENTENCE = {r['chosen']}` (in the code: {r['current']}). On B with it: precision "
        f"**{pct(t['precision'])}**, recall **{pct(t['recall'])}** (tp {t['tp']}, fp {t['fp']}, fn {t['fn']}); "
        f"with the value in the code: {pct(c['precision'])} / {pct(c['recall'])}.",
        "",
        "<details><summary>Calibration grid (half A)</summary>",
        "",
        table(["SAME_SENTENCE", "precision", "recall", "tp", "fp", "fn"], rows),
        "",
        "</details>",
    ])
