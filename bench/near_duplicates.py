"""`python -m bench near-dups`: how well the near-duplicate index tells copies from distinct stories, and
what it costs per article at 1k and 10k articles.

Quality. The articles (realtimeqa-dev, read in place) are split in two halves by a hash of their id:
half A chooses the parameters, half B is measured with them. In each half, positives are synthetic
copies of real articles with an outlet's edits (outlet dateline added, headline changed, sentences
dropped or added, words substituted, paragraphs reordered, a few at once); negatives are distinct real
articles on the same topic: each article's two nearest neighbours by word overlap. Pairs of real
articles that are themselves near-identical (the same text at two URLs) are counted and left out of
the negatives. On half B every article and copy goes through `NearDuplicates.add` in a shuffled order,
and a pair counts as grouped when both end in one group.

Cost. 10k distinct articles are synthesised from real ones (paragraphs of three articles shuffled
together, one in ten an edited copy of another), indexed once at 1k and once at 10k; then the same
probe articles are added to (and removed from) both indexes in turn, so that the noise of a busy
machine hits both sizes alike, and the time of each `add` is taken.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import machine, median, percentile, table

OUTLETS = ("Gulf Daily Wire", "Northern Star Online", "Metro Press Agency", "Coastal Herald", "Valley News Network")
FILLERS = ("This story has been updated with additional reporting.",
           "Reporting was contributed by staff correspondents in the region.",
           "Follow our live coverage for the latest developments.",
           "The outlet has reached out to the authorities for further comment.")
SUBSTITUTES = {"said": "stated", "says": "states", "told": "informed", "according": "per", "also": "additionally",
               "officials": "authorities", "people": "residents", "government": "administration",
               "however": "but", "about": "around", "more": "further", "new": "fresh", "big": "large",
               "week": "weekend", "percent": "per cent", "children": "kids", "police": "officers"}
SHINGLES = (2, 3, 4, 5)
NUM_PERMS = (64, 128, 256)
MIN_PRECISION = 0.99
"""The threshold is the one with the best recall at this precision on half A (best F1 if none reaches it)."""
MIN_WORDS = 150
"""Articles shorter than this are left out of the quality pairs (captions, pages whose text failed to load)."""


def _half(article_id: str) -> str:
    return "A" if hashlib.sha1(article_id.encode("utf-8")).digest()[0] % 2 == 0 else "B"


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _sentences_of(paragraph: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", paragraph) if s]


def edited_copy(article: dict[str, Any], rng: random.Random, pool: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """An outlet's copy of `article`: two to four edits among dateline prefix, new headline, rewritten lede,
    dropped and added sentences, substituted words, swapped paragraphs."""
    paragraphs = _paragraphs(article["text"])
    edits = rng.sample(["prefix", "headline", "lede", "drop", "add", "words", "reorder"], rng.randint(2, 4))
    outlet = rng.choice(OUTLETS)
    if "lede" in edits and paragraphs:  # the first paragraph rewritten: its sentences turned round, words changed
        lede = list(reversed(_sentences_of(paragraphs[0])))
        paragraphs[0] = " ".join(SUBSTITUTES.get(w, w) for w in " ".join(lede).split(" "))
    if "headline" in edits:
        title = (article.get("title") or " ".join(paragraphs[0].split()[:10]) if paragraphs else "News").split(" - ")[0]
        paragraphs.insert(0, f"{rng.choice(('Report:', 'Explainer:', 'Breaking:'))} {title}")
    if "drop" in edits:
        for _ in range(rng.randint(1, 2)):
            body = [i for i, p in enumerate(paragraphs) if len(_sentences_of(p)) > 1]
            if body:
                i = rng.choice(body)
                parts = _sentences_of(paragraphs[i])
                del parts[rng.randrange(len(parts))]
                paragraphs[i] = " ".join(parts)
    if "add" in edits:
        for _ in range(rng.randint(1, 2)):
            other = _paragraphs(rng.choice(pool)["text"])
            extra = rng.choice(FILLERS) if not other or rng.random() < 0.5 else rng.choice(_sentences_of(other[-1]))
            paragraphs.insert(rng.randint(1, max(1, len(paragraphs))), extra)
    if "words" in edits:
        paragraphs = [" ".join(SUBSTITUTES.get(w, w) if rng.random() < 0.7 else w for w in p.split(" "))
                      for p in paragraphs]
    if "reorder" in edits and len(paragraphs) > 3:
        i = rng.randrange(1, len(paragraphs) - 1)
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
    if "prefix" in edits and len(paragraphs) > 1:
        paragraphs[1] = f"{outlet} – {paragraphs[1]}"
    return {**article, "id": f"{article['id']}#copy-{outlet}", "source": outlet, "text": "\n\n".join(paragraphs),
            "edits": edits}


def _overlaps(texts: Sequence[str]) -> "Any":
    """Word-set Jaccard of every pair of texts (words of four letters or more), as a matrix."""
    import numpy as np

    sets = [{w for w in re.findall(r"\w+", t.casefold()) if len(w) > 3} for t in texts]
    vocabulary = {w: i for i, w in enumerate(sorted(set().union(*sets)))}
    matrix = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for row, words in enumerate(sets):
        matrix[row, [vocabulary[w] for w in words]] = 1.0
    shared = matrix @ matrix.T
    sizes = matrix.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - shared
    return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def build_pairs(articles: Sequence[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Positives (article, edited copy); negatives: each article's two nearest others by word overlap,
    except pairs whose texts are near-identical (the same site furniture at two URLs), set aside."""
    from ingest.near_duplicates import shingles

    rng = random.Random(seed)
    copies = [edited_copy(a, rng, articles) for a in articles]
    overlap = _overlaps([a["text"] for a in articles])
    three = [shingles(a["text"], 3) for a in articles]
    negatives: set[tuple[int, int]] = set()
    same_text: set[tuple[int, int]] = set()
    for i in range(len(articles)):
        overlap[i, i] = -1.0
        for j in overlap[i].argsort()[::-1][:2]:
            pair = (min(i, int(j)), max(i, int(j)))
            (same_text if _jaccard(three[i], three[int(j)]) >= 0.8 else negatives).add(pair)
    return {"articles": list(articles), "copies": copies, "negatives": sorted(negatives),
            "real_duplicates": sorted(same_text)}


def _estimates(shingle_sets: Sequence[set[str]], num_perm: int) -> list[Any]:
    """Each set's MinHash values, as the index computes them (None below its minimum size)."""
    from datasketch import MinHash

    from ingest.near_duplicates import Params

    minimum = Params().min_shingles
    permutations = MinHash(num_perm=num_perm, seed=Params().seed).permutations
    out = []
    for found in shingle_sets:
        if len(found) < minimum:
            out.append(None)
            continue
        m = MinHash(num_perm=num_perm, seed=Params().seed, permutations=permutations, scheme="affine32")
        m.update_batch([x.encode("utf-8") for x in found])
        out.append(m.digest())
    return out


def _similarity(a: Any, b: Any) -> float:
    import numpy as np

    return 0.0 if a is None or b is None else float(np.count_nonzero(a == b)) / len(a)


def _best_threshold(pos: Sequence[float], neg: Sequence[float]) -> dict[str, float]:
    """The threshold with the best recall at MIN_PRECISION (best F1 when none reaches it); of several
    as good, the middle one, as far as possible from both the copies and the distinct articles."""
    rows = []
    for step in range(10, 96):
        t = step / 100
        tp, fp = sum(s >= t for s in pos), sum(s >= t for s in neg)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / len(pos) if pos else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"threshold": t, "precision": precision, "recall": recall, "f1": f1})

    def key(r: dict[str, float]) -> tuple[bool, float, float]:
        ok = r["precision"] >= MIN_PRECISION
        return (ok, round(r["recall"] if ok else r["f1"], 6), round(r["precision"], 6))

    top = max(key(r) for r in rows)
    tied = [r for r in rows if key(r) == top]
    return tied[len(tied) // 2]


def choose(pairs: dict[str, Any]) -> dict[str, Any]:
    """On half A: for each shingle size and num_perm, the best threshold; the winner by recall at
    MIN_PRECISION, then the margin: the gap between the least similar copy and the most similar distinct
    article, less two standard errors of the estimate on each side (4 * sqrt(0.25 / num_perm), its
    spread at J = 0.5): what is left when a new pair's estimate is as unlucky as it plausibly gets."""
    from ingest.near_duplicates import shingles

    rows = []
    for shingle in SHINGLES:
        originals = [shingles(a["text"], shingle) for a in pairs["articles"]]
        copies = [shingles(c["text"], shingle) for c in pairs["copies"]]
        for num_perm in NUM_PERMS:
            o, c = _estimates(originals, num_perm), _estimates(copies, num_perm)
            pos = [_similarity(o[i], c[i]) for i in range(len(o))]
            neg = [_similarity(o[i], o[j]) for i, j in pairs["negatives"]]
            rows.append({"shingle": shingle, "num_perm": num_perm, **_best_threshold(pos, neg),
                         "min_positive": min(pos), "max_negative": max(neg) if neg else 0.0})
    for r in rows:
        r["margin"] = r["min_positive"] - r["max_negative"] - 4 * (0.25 / r["num_perm"]) ** 0.5
    winner = max(rows, key=lambda r: (r["precision"] >= MIN_PRECISION, r["recall"], round(r["margin"], 2),
                                      -r["num_perm"]))
    return {"rows": rows, "winner": winner}


def evaluate(pairs: dict[str, Any], params: Any, seed: int) -> dict[str, Any]:
    """On half B: every article and copy added in a shuffled order; labelled pairs grouped or not, and
    the precision of every pair the index put in one group."""
    from ingest.near_duplicates import NearDuplicates

    items = [(a["id"], a) for a in pairs["articles"]] + [(c["id"], c) for c in pairs["copies"]]
    random.Random(seed).shuffle(items)
    index = NearDuplicates(None, params)
    for article_id, a in items:
        index.add(article_id, a["text"], source=a.get("source", ""))

    def together(x: str, y: str) -> bool:
        g = index.group_of(x)
        return g is not None and any(m.article_id == y for m in g.members)

    arts, copies = pairs["articles"], pairs["copies"]
    tp = sum(together(a["id"], c["id"]) for a, c in zip(arts, copies))
    fp = sum(together(arts[i]["id"], arts[j]["id"]) for i, j in pairs["negatives"])
    real = {frozenset((arts[i]["id"], arts[j]["id"])) for i, j in pairs["real_duplicates"]}
    grouped = right = 0
    across: set[tuple[str, ...]] = set()
    for group in index.groups():
        ids = [m.article_id for m in group.members]
        roots = tuple(sorted({i.split("#copy-")[0] for i in ids}))
        if len(roots) > 1:
            across.add(roots)
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                grouped += 1
                right += ids[x].split("#copy-")[0] == ids[y].split("#copy-")[0] or frozenset((ids[x], ids[y])) in real
    return {"positives": len(copies), "negatives": len(pairs["negatives"]), "tp": tp, "fp": fp,
            "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / len(copies) if copies else 0.0,
            "grouped_pairs": grouped, "grouped_pairs_right": right, "across_stories": sorted(across),
            "missed_edits": _missed_edits(arts, copies, together)}


def _missed_edits(arts: Sequence[dict[str, Any]], copies: Sequence[dict[str, Any]], together: Any) -> dict[str, int]:
    missed: dict[str, int] = {}
    for a, c in zip(arts, copies):
        if not together(a["id"], c["id"]):
            for e in c["edits"]:
                missed[e] = missed.get(e, 0) + 1
    return missed


def synthesise(articles: Sequence[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """`n` distinct articles made of real ones: paragraphs of three shuffled together; one in ten an
    edited copy of an earlier synthetic one."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        if out and i % 10 == 9:
            copy = edited_copy(rng.choice(out), rng, articles)
            out.append({**copy, "id": f"synthetic-{i}"})
            continue
        paragraphs = [p for a in rng.sample(list(articles), 3) for p in rng.sample(_paragraphs(a["text"]),
                      min(4, len(_paragraphs(a["text"]))))]
        rng.shuffle(paragraphs)
        out.append({"id": f"synthetic-{i}", "source": rng.choice(OUTLETS), "text": "\n\n".join(paragraphs)})
    return out


def cost(articles: Sequence[dict[str, Any]], params: Any, sizes: Sequence[int], probes: int,
         seed: int, workdir: Path) -> dict[str, Any]:
    """Per-article `add` (and add + save) time at each size, measured in turn on the same probe articles."""
    from ingest.near_duplicates import NearDuplicates

    corpus = synthesise(articles, max(sizes) + probes, seed)
    base, probe = corpus[:max(sizes)], corpus[max(sizes):]
    indexes = {}
    build_seconds = {}
    for size in sizes:
        path = workdir / f"near-dups-{size}.jsonl"
        path.unlink(missing_ok=True)
        index = NearDuplicates(path, params)
        started = time.perf_counter()
        for a in base[:size]:
            index.add(a["id"], a["text"], source=a["source"])
        build_seconds[size] = time.perf_counter() - started
        index.save("bench")
        indexes[size] = index
    add: dict[int, list[float]] = {s: [] for s in sizes}
    saved: dict[int, list[float]] = {s: [] for s in sizes}
    for i, a in enumerate(probe):
        order = list(sizes) if i % 2 == 0 else list(reversed(sizes))
        for size in order:
            index = indexes[size]
            started = time.perf_counter()
            index.add(a["id"], a["text"], source=a["source"])
            middle = time.perf_counter()
            index.save("bench")  # one appended batch of one article, fsync included
            add[size].append(middle - started)
            saved[size].append(time.perf_counter() - started)
            index.remove(a["id"])
            index.save("bench")
    opened, first_add = {}, {}
    for size in sizes:
        started = time.perf_counter()
        reopened = NearDuplicates.open(workdir / f"near-dups-{size}.jsonl", params)
        opened[size] = time.perf_counter() - started
        started = time.perf_counter()
        reopened.add(probe[0]["id"], probe[0]["text"], source=probe[0]["source"])
        first_add[size] = time.perf_counter() - started
    return {"sizes": list(sizes), "probes": len(probe),
            "add_ms": {s: {"median": 1000 * median(add[s]), "p95": 1000 * percentile(add[s], 95)} for s in sizes},
            "add_save_ms": {s: {"median": 1000 * median(saved[s]), "p95": 1000 * percentile(saved[s], 95)}
                            for s in sizes},
            "open_s": opened, "first_add_s": first_add, "build_s": build_seconds,
            "groups": {s: len(indexes[s].groups()) for s in sizes}}


def run(articles_path: Path, *, cache: Path, sizes: Sequence[int] = (1000, 10000), probes: int = 300,
        seed: int = 15) -> dict[str, Any]:
    from ingest.near_duplicates import Params

    usable = [a for a in _load(articles_path) if len(a["text"].split()) >= MIN_WORDS]
    halves = {h: [a for a in usable if _half(a["id"]) == h] for h in ("A", "B")}
    train = build_pairs(halves["A"], seed)
    chosen = choose(train)
    w = chosen["winner"]
    defaults = Params()
    params = replace(defaults, shingle=int(w["shingle"]), num_perm=int(w["num_perm"]),
                     threshold=float(w["threshold"]))
    params = replace(params, rows=defaults.rows, bands=params.num_perm // defaults.rows)
    test = build_pairs(halves["B"], seed + 1)
    result = {
        "machine": machine(), "articles": len(usable), "halves": {h: len(v) for h, v in halves.items()},
        "train": {"negatives": len(train["negatives"]), "real_duplicates": len(train["real_duplicates"]),
                  "rows": chosen["rows"], "winner": w},
        "params": params.to_json(), "defaults": defaults.to_json(),
        "test": {**evaluate(test, params, seed), "real_duplicates": len(test["real_duplicates"])},
        "test_with_defaults": evaluate(test, defaults, seed),
    }
    cache.mkdir(parents=True, exist_ok=True)
    result["cost"] = cost(usable, defaults, sizes, probes, seed, cache)
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def to_markdown(r: dict[str, Any]) -> str:
    t, w, d = r["test"], r["train"]["winner"], r["test_with_defaults"]
    lines = [
        f"`python -m bench near-dups` — {r['machine']}.",
        "",
        f"Quality: {r['articles']} realtimeqa-dev articles of at least {MIN_WORDS} words, split by a hash of "
        f"their id into half A ({r['halves']['A']}, used to choose the parameters) and half B "
        f"({r['halves']['B']}, measured). Positives: each article and an outlet's synthetic copy (2-4 of: "
        "dateline prefix, new headline, first paragraph rewritten, 1-2 sentences dropped, 1-2 added, "
        "words substituted, two paragraphs swapped). Negatives: each article's two nearest other articles by "
        "word overlap (same topic, names and places); pairs whose texts are near-identical (3-shingle Jaccard "
        f">= 0.8: {r['train']['real_duplicates']} in A, {t['real_duplicates']} in B, all the same site furniture, "
        "a newsletter sign-up notice, at two URLs) are left out of the negatives.",
        "",
        "Half A, best threshold for each shingle size and num_perm (estimated Jaccard; best recall at "
        f"precision >= {MIN_PRECISION}):",
        "",
        table(["shingle", "num_perm", "threshold", "precision", "recall", "lowest positive", "highest negative",
               "margin"],
              [[x["shingle"], x["num_perm"], f"{x['threshold']:.2f}", _pct(x["precision"]), _pct(x["recall"]),
                f"{x['min_positive']:.2f}", f"{x['max_negative']:.2f}", f"{x['margin']:.3f}"]
               for x in r["train"]["rows"]]),
        "",
        "Margin: the gap between the least similar copy and the most similar distinct article, less two "
        "standard errors of the MinHash estimate on each side (4 * sqrt(0.25 / num_perm)); the winner has the "
        "best recall at that precision, then the widest margin. The threshold is the middle of the range "
        "that scores best.",
        "",
        f"Chosen on A: {w['shingle']}-word shingles, {w['num_perm']} permutations, threshold {w['threshold']:.2f}. "
        f"Shipped defaults (`ingest.near_duplicates.Params`): {_params(r['defaults'])}.",
        "",
        "Half B, every article and copy added to one index in a shuffled order:",
        "",
        table(["parameters", "positives", "negatives", "precision", "recall", "pairs grouped", "of them right"],
              [["chosen on A", t["positives"], t["negatives"], _pct(t["precision"]), _pct(t["recall"]),
                t["grouped_pairs"], t["grouped_pairs_right"]],
               ["shipped defaults", d["positives"], d["negatives"], _pct(d["precision"]), _pct(d["recall"]),
                d["grouped_pairs"], d["grouped_pairs_right"]]]),
        "",
    ]
    if t["across_stories"]:
        lines += ["Groups on B that join different real articles (read them: a real article republished under "
                  "another URL is a copy the labels do not know of): "
                  + "; ".join(" + ".join(f"<{u}>" for u in roots) for roots in t["across_stories"]) + ".", ""]
    if t["missed_edits"]:
        lines += ["Edits of the copies missed on B (a copy has several): "
                  + ", ".join(f"{k} {v}" for k, v in sorted(t["missed_edits"].items())) + ".", ""]
    c = r["cost"]
    small, large = c["sizes"][0], c["sizes"][-1]
    a, s = c["add_ms"], c["add_save_ms"]
    lines += [
        f"Cost per article (shipped defaults): {c['probes']} probe articles added to an index of {small:,} and "
        f"one of {large:,} synthetic articles in turn (each removed again), ms:",
        "",
        table(["articles indexed", "add median", "add p95", "add + save median", "add + save p95",
               "open the file (s)", "first add after opening (s)"],
              [[f"{n:,}", f"{a[n]['median']:.2f}", f"{a[n]['p95']:.2f}", f"{s[n]['median']:.2f}",
                f"{s[n]['p95']:.2f}", f"{c['open_s'][n]:.2f}", f"{c['first_add_s'][n]:.2f}"] for n in c["sizes"]]),
        "",
        f"Ratio {large:,} / {small:,}: add median {a[large]['median'] / a[small]['median']:.2f}x, "
        f"add + save median {s[large]['median'] / s[small]['median']:.2f}x. `add` is shingles + MinHash + one LSH "
        "query, the same at any size; `save` appends the batch with one fsync. Once per process, opening the "
        "file and the first add (which builds the LSH from the file's MinHashes) grow with the collection, as "
        "does rewriting the file when its log has doubled.",
    ]
    return "\n".join(lines)


def _params(p: dict[str, Any]) -> str:
    return (f"{p['shingle']}-word shingles, {p['num_perm']} permutations, threshold {p['threshold']:.2f}, "
            f"LSH {p['bands']}x{p['rows']}, at least {p['min_shingles']} shingles")
