"""PyTorch's thread count chosen per ingest batch from measured throughput (`ThreadChooser`): two threads on a
quiet 2-core machine, one when another process keeps a core busy (two threads then run at about half the
speed of one: docs/benchmarks.md, "Encoder precision")."""

from __future__ import annotations

import pytest

from core.cpu import OtherLoad, usable_cores
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


def test_a_quiet_machine_keeps_every_core_and_tries_nothing_else():
    chooser = ThreadChooser(2)
    busy = {2: 500.0, 1: 1000.0}
    used = _run(chooser, busy, 20)
    assert used[-1] == 1  # learnt on a busy machine ...
    for _ in range(200):  # ... then the other process stops: all cores, nothing explored
        n = chooser.pick(quiet=True)
        chooser.record(n, 10_000, 10_000 / 2000.0)
        assert n == 2


class _Load(OtherLoad):
    """A machine whose other processes keep `cores` cores busy."""

    def __init__(self, cores: float) -> None:
        super().__init__()
        self.busy = cores

    def since_last(self) -> float | None:
        return self.busy


def test_other_processes_cpu_use_is_measured_and_our_own_is_not():
    import subprocess
    import sys
    import time

    load = OtherLoad()
    if load._reading() is None:
        pytest.skip("no /proc/stat for this process's CPUs")
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        load.since_last()
        time.sleep(1.5)
        others = load.since_last()
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert others is not None and others >= 0.5  # two spinning processes; more load elsewhere only adds


def test_the_load_is_the_machines_cpu_time_less_this_processs(tmp_path):
    import os
    import time

    hz = os.sysconf("SC_CLK_TCK")
    cpus = "".join(f"cpu{i} 0 0 0 0 0 0 0 0 0 0\n" for i in range(usable_cores()))
    stat = tmp_path / "stat"
    stat.write_text("cpu  0 0 0 0 0 0 0 0 0 0\n" + cpus)
    load = OtherLoad(stat)
    started, own = time.monotonic(), time.process_time()
    time.sleep(0.3)
    wall = time.monotonic() - started
    # the kernel counted one core busy all along (user, system and steal time), and this process slept
    ticks = round(wall * hz)
    stat.write_text(f"cpu  {ticks // 2} 0 {ticks // 4} 5000 0 0 0 {ticks - ticks // 2 - ticks // 4} 0 0\n" + cpus)
    others = load.since_last()
    spent = time.process_time() - own
    assert others is not None and 0.3 < others <= 1.0 and abs(others - (1.0 - spent / wall)) < 0.5


def test_a_stat_file_that_lists_other_cpus_is_not_read(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 1000 0 0 0 0 0 0\n" + "".join(
        f"cpu{i} 1 0 1 10 0 0 0 0 0 0\n" for i in range(usable_cores() + 3)))
    load = OtherLoad(stat)
    assert load.since_last() is None
    assert OtherLoad(tmp_path / "missing").since_last() is None


@pytest.mark.slow
@pytest.mark.parametrize("busy", [True, False])
def test_embedding_measures_both_counts_and_restores_the_default(embedder, busy):
    import numpy as np
    import torch

    from vectorstore.embedding import THREAD_BATCH

    before = torch.get_num_threads()
    texts = [f"Police in province {i} detained {i} workers at a scam compound on Tuesday." for i in
             range(3 * THREAD_BATCH)]
    saved = embedder.load, embedder._chooser
    embedder.load, embedder._chooser = _Load(1.0 if busy else 0.0), None
    try:
        vectors, sentences = embedder.embed_with_spans(texts, [[(0, len(t))] for t in texts])
        rates = embedder.thread_rates
    finally:
        embedder.load, embedder._chooser = saved
    assert torch.get_num_threads() == before
    # busy: every count is measured; quiet: only all cores are used
    assert set(rates) == (set(range(1, before + 1)) if busy else {before})
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5) and len(sentences) == len(texts)
    # whatever count each batch ran with, the vectors are the model's
    assert (vectors * embedder.embed_documents(texts)).sum(axis=1).min() > 0.999
