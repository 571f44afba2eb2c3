"""`python -m evaluation.calibrate_timeline`: choose `app.timeline.SAME_CLAIM_COSINE` from data.

Two sentences "say the same" (one timeline event with both citations; not new in "what's new since")
when their sentence vectors are at least the threshold alike and they give the same figures. The
pairs in tests/data/timeline/sentence_pairs.jsonl (written for this: lightly edited copies of a sentence
as outlets republish it, against distinct sentences on the same topic, some differing only in a figure)
carry a "part": the threshold maximising F1 on the "calibrate" part is reported on the "report" part.
Sentence vectors are made as ingest makes them (`Embedder.embed_with_spans`, the mean of the model's
token embeddings over the sentence), here without an article around them; the last table checks the
chosen threshold on the dated test corpus's stored vectors, in their articles: the three outlets'
versions of the 545 report, sentence for sentence, against every other pair of sentences of the story.

    python -m evaluation.calibrate_timeline [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from vectorstore.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
PAIRS = ROOT / "tests" / "data" / "timeline" / "sentence_pairs.jsonl"
DATED = ROOT / "tests" / "data" / "dated"
COPIES = ("repatriations-545-2025-10-14", "repatriations-545-riverpost-2025-10-15",
          "repatriations-547-coastwire-2025-10-15")
"""The dated corpus's versions of one report; their sentences correspond one to one, in order."""
GRID = [round(0.50 + 0.01 * i, 2) for i in range(50)]


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    part: str
    cosine: float


@dataclass(frozen=True)
class Scores:
    threshold: float
    pairs: int
    precision: float
    recall: float
    f1: float
    accuracy: float


def sentence_vectors(embedder: "Embedder", texts: Sequence[str]) -> "np.ndarray":
    """One vector per sentence, pooled over its tokens as ingest pools a chunk's sentences."""
    import numpy as np

    _, pooled = embedder.embed_with_spans(list(texts), [[(0, len(t))] for t in texts])
    return np.stack([rows[0] for rows in pooled])


def load_pairs(embedder: "Embedder", path: Path = PAIRS) -> list[Pair]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            missing = {"a", "b", "same", "part"} - set(row)
            if missing:
                raise SystemExit(f"error: {path}: line {number}: missing {', '.join(sorted(missing))}")
            rows.append(row)
    va = sentence_vectors(embedder, [r["a"] for r in rows])
    vb = sentence_vectors(embedder, [r["b"] for r in rows])
    return [Pair(r["a"], r["b"], bool(r["same"]), r["part"], float(x @ y)) for r, x, y in zip(rows, va, vb)]


def scores(pairs: Sequence[Pair], threshold: float) -> Scores:
    from app.timeline import numbers

    said = [p.cosine >= threshold and numbers(p.a) == numbers(p.b) for p in pairs]
    tp = sum(s and p.same for s, p in zip(said, pairs))
    fp = sum(s and not p.same for s, p in zip(said, pairs))
    fn = sum(not s and p.same for s, p in zip(said, pairs))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    correct = sum(s == p.same for s, p in zip(said, pairs))
    return Scores(threshold, len(pairs), round(precision, 3), round(recall, 3), round(f1, 3),
                  round(correct / len(pairs), 3) if pairs else 0.0)


def choose(pairs: Sequence[Pair]) -> float:
    """The threshold with the best F1 on `pairs`: the middle of the widest run of best thresholds on the
    grid (a value at the edge of a run would hang on one pair)."""
    results = [scores(pairs, t) for t in GRID]
    best = max(r.f1 for r in results)
    runs: list[list[float]] = []
    for r in results:
        if r.f1 == best:
            if runs and round(r.threshold - runs[-1][-1], 2) == 0.01:
                runs[-1].append(r.threshold)
            else:
                runs.append([r.threshold])
    widest = max(runs, key=len)
    return round(widest[len(widest) // 2], 2)


def dated_pairs(embedder: "Embedder") -> list[Pair]:
    """Every pair of sentences from different articles of the dated corpus, with their stored vectors;
    same: corresponding sentences of the 545/547 report's versions that give the same figures."""
    from app.answering import ExtractiveAnswerer
    from app.assistant import build_assistant
    from app.timeline import numbers
    from core.settings import Settings
    from ingest.loaders import load_sources
    from ingest.pipeline import Ingestor

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(store_dir=Path(folder) / "store", collection="dated", chroma_host=None, _env_file=None)
        Ingestor.from_settings(settings, embedder=embedder).run(load_sources([str(DATED)], settings))
        assistant = build_assistant(settings, embedder=embedder)
        hits = assistant.retriever.search("Korean citizens repatriated task force", k=50).hits
        scored = ExtractiveAnswerer(embedder, pool=50, embed_limit=0).score("repatriations", hits)
    by_article: dict[str, list] = {}
    for s in sorted(scored, key=lambda s: s.candidate.start):
        by_article.setdefault(Path(s.candidate.hit.chunk.article_id).stem, []).append(s)
    pairs = []
    names = sorted(by_article)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            for ix, a in enumerate(by_article[x]):
                for iy, b in enumerate(by_article[y]):
                    copy = x in COPIES and y in COPIES and ix == iy
                    same = copy and numbers(a.candidate.text) == numbers(b.candidate.text)
                    pairs.append(Pair(a.candidate.text, b.candidate.text, same, "dated corpus",
                                      float(a.vector @ b.vector)))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    from vectorstore.embedding import Embedder

    p = argparse.ArgumentParser(prog="python -m evaluation.calibrate_timeline", description=__doc__.split("\n")[0])
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    embedder = Embedder()
    pairs = load_pairs(embedder)
    calibrate = [q for q in pairs if q.part == "calibrate"]
    report = [q for q in pairs if q.part == "report"]
    chosen = choose(calibrate)
    dated = dated_pairs(embedder)
    rows = {"calibrate": scores(calibrate, chosen), "report": scores(report, chosen),
            "dated corpus": scores(dated, chosen)}
    print(f"chosen threshold (best F1 on the calibrate part): {chosen}")
    print(f"{'part':14} {'pairs':>5} {'precision':>9} {'recall':>6} {'F1':>6} {'accuracy':>8}")
    for name, r in rows.items():
        print(f"{name:14} {r.pairs:5d} {r.precision:9.3f} {r.recall:6.3f} {r.f1:6.3f} {r.accuracy:8.3f}")
    print("\ncosine of same pairs (min) / different pairs (max), figures aside:")
    for name, part in (("calibrate", calibrate), ("report", report), ("dated corpus", dated)):
        same = [q.cosine for q in part if q.same]
        other = [q.cosine for q in part if not q.same and not _figures_differ(q)]
        print(f"  {name:14} same min {min(same):.3f}  different max {max(other):.3f}")
    print("\nF1 on the report part across thresholds (for the record, not used to choose):")
    print("  " + "  ".join(f"{t:.2f}:{scores(report, t).f1:.2f}" for t in GRID[::3]))
    if args.json:
        Path(args.json).write_text(json.dumps({"threshold": chosen, **{k: asdict(v) for k, v in rows.items()}},
                                              indent=2) + "\n", encoding="utf-8")
    return 0


def _figures_differ(pair: Pair) -> bool:
    from app.timeline import numbers

    return numbers(pair.a) != numbers(pair.b)


if __name__ == "__main__":
    sys.exit(main())
