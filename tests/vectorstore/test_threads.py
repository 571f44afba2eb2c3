"""PyTorch's thread count chosen per ingest batch from measured throughput (`ThreadChooser`): two threads on a
quiet 2-core machine, one when another process keeps a core busy (two threads then run at about half the
speed of one: docs/benchmarks.md, "Encoder precision")."""

from __future__ import annotations

import pytest

from vectorstore.embedding import MAX_EXPLORE_EVERY, ThreadChooser


def _run(chooser: ThreadChooser, speed: dict[int, float], batches: int) -> list[int]:
    """`batches` batches of 10,000 tokens on a machine where `speed[n]` tokens/s is what n threads get."""
    used = []
    for _ in range(batches):
        n = chooser.pick()
        chooser.record(n, 10_000, 10_000 / speed[n])
        used.append(n)
    return used


def test_the_faster_count_is_used_and_a_change_of_load_is_followed():
    chooser = ThreadChooser(2)
    quiet, busy = {2: 2000.0, 1: 1000.0}, {2: 500.0, 1: 1000.0}
    used = _run(chooser, quiet, 200)
    assert used[0] == 2 and 1 in used[:4]  # the default first, then the other is measured
    assert used[4:].count(2) / len(used[4:]) > 0.9  # quiet: two threads, exploring costs little
    used = _run(chooser, busy, 200)  # another process takes a core
    switched = used.index(1)
    assert switched <= MAX_EXPLORE_EVERY + 2 and used[switched + 2:].count(1) / len(used[switched + 2:]) > 0.9
    used = _run(chooser, quiet, 200)  # and leaves it again
    assert used[MAX_EXPLORE_EVERY + 2:].count(2) / len(used[MAX_EXPLORE_EVERY + 2:]) > 0.9


def test_the_first_batch_after_a_switch_is_not_measured():
    chooser = ThreadChooser(2)
    assert chooser.pick() == 2
    chooser.record(2, 1000, 1.0)
    assert chooser.pick() == 1
    chooser.record(1, 1000, 100.0)  # the pool's resizing and cold caches: not counted
    assert chooser.pick() == 1 and chooser.rate == {2: 1000.0}
    chooser.record(1, 1000, 0.5)
    assert chooser.rate == {2: 1000.0, 1: 2000.0} and chooser.pick() == 1


def test_one_core_leaves_nothing_to_choose():
    chooser = ThreadChooser(1)
    assert _run(chooser, {1: 1000.0}, 50) == [1] * 50


@pytest.mark.slow
def test_embedding_measures_both_counts_and_restores_the_default(embedder):
    import numpy as np
    import torch

    from vectorstore.embedding import THREAD_BATCH

    before = torch.get_num_threads()
    texts = [f"Police in province {i} detained {i} workers at a scam compound on Tuesday." for i in
             range(3 * THREAD_BATCH)]
    vectors, sentences = embedder.embed_with_spans(texts, [[(0, len(t))] for t in texts])
    assert torch.get_num_threads() == before
    assert set(embedder.thread_rates) == set(range(1, before + 1))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5) and len(sentences) == len(texts)
    # whatever count each batch ran with, the vectors are the model's
    assert (vectors * embedder.embed_documents(texts)).sum(axis=1).min() > 0.999
