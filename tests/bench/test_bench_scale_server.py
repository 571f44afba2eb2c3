"""`python -m bench scale` and `python -m bench server` end to end on a tiny collection (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.test_bench_smoke import _article

pytestmark = pytest.mark.slow


@pytest.fixture
def benchmark(tmp_path: Path, embedder) -> tuple[Path, Path, Path]:
    """A tiny articles/questions pair and its benchmark store, ingested as `python -m bench ingest` leaves it."""
    from bench.query import ensure_store

    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(_article(i)) + "\n" for i in range(12)), encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    rows = [{"id": str(i), "question": f"How much will plan {i} cost?"} for i in range(3)]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cache = tmp_path / "cache"
    ensure_store(articles, cache, embedder)
    return articles, questions, cache


def test_scale_builds_variant_collections_and_measures_them(benchmark, embedder) -> None:
    from bench import scale
    from bench.ingest import bench_settings
    from vectorstore.store import ArticleStore

    articles, questions, cache = benchmark
    result = scale.run(articles, questions, cache=cache, sizes=(6, 30, 60), repeats=1, warmup=1, filtered=2,
                       embedder=embedder)
    small, _, large = result["sizes"]
    assert small["variants"] == 0 and 6 <= small["chunks"] < 12
    assert large["chunks"] >= 60 and large["variants"] >= 1 and large["articles"] == 12 + large["variants"]
    for size in result["sizes"]:
        for stage in scale.STAGES:
            assert 0 < size["p50"][stage] <= size["p95"][stage], (size["target"], stage)
        labels = sorted(size["filtered"])
        assert len(labels) == 3 and labels[0].startswith("as of 20") and labels[1].startswith("since 20")
        assert labels[2] == "source example.org"
        for modes in size["filtered"].values():
            assert sorted(modes) == ["filtered query", "planned"]
            assert all(0 < m["p50"]["dense"] <= m["p95"]["dense"] for m in modes.values())
        assert sorted(size["calibration"]["unfiltered"]) == list(scale.PLAN_FETCHES)
        # Another process added the 12 articles' variants, then deleted them: updated by that writer (the
        # question's process re-indexed nothing), then by the question's process catching up per article.
        changes = [(c["writer_updates_index"], c["action"], c["reader_articles_touched"]) for c in size["changes"]]
        assert changes == [(True, "add", 0), (True, "delete", 0), (False, "add", 12), (False, "delete", 12)]
        assert all(c["reader_builds"] == 0 for c in size["changes"])

    store = ArticleStore(bench_settings(Path(large["path"])))
    assert store.count_chunks() == large["chunks"]  # the change measurements left the store as it was
    infos = [a for a in store.list_articles() if "?variant=" in a.id]
    assert infos and all(a.title.endswith(")") and "(variant " in a.title for a in infos)
    for c in store.iter_chunks():
        if "?variant=" in c.article_id:
            assert store.article_text(c.article_id)[c.start:c.end] == c.text  # offsets round-trip in variants
    text = scale.to_markdown(result)
    assert "| total |" in text and "Growth from" in text and "added wait ms" in text

    again = scale.ensure_stores(articles, cache, (6, 30, 60))  # cached: nothing rebuilt
    assert [b.build_seconds for b in again] == [s["build_seconds"] for s in result["sizes"]]


@pytest.mark.server
def test_server_benchmark_runs_against_chroma_run_with_client_processes(benchmark, embedder) -> None:
    from bench import server

    articles, questions, cache = benchmark
    result = server.run(articles, questions, cache=cache, repeats=1, warmup=1, clients=(1, 2), per_client=2,
                        embedder=embedder)
    assert result["chunks"] >= 12
    for where in ("local", "server"):
        assert 0 < result["single"][where]["p50"]["dense"] <= result["single"][where]["p95"]["dense"]
    assert [c["clients"] for c in result["concurrent"]] == [1, 2]
    assert [c["questions_per_round"] for c in result["concurrent"]] == [2, 4]
    assert all(c["throughput"] > 0 and c["p95"] > 0 for c in result["concurrent"])
    assert all(c["lexical_builds"] == 0 for c in result["concurrent"])  # the persisted index was reused
    assert "| app processes |" in server.to_markdown(result)
    assert not list(cache.glob("server-*"))  # the served copy is removed
