"""How busy the rest of the machine is: the CPU time every process got, less this process's.

Linux counts the CPU time of all processes in /proc/stat (in clock ticks, per CPU and in total). Read twice,
that less this process's own CPU time over the same interval is what other processes used, in cores. The
ingest's encoder uses it to tell a quiet machine (all cores are its own: no other thread count is worth
trying) from a busy one (`vectorstore.embedding.ThreadChooser`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
"""user, nice, system, irq, softirq, steal: the columns of /proc/stat's "cpu" line that are not idle time."""


def usable_cores() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class OtherLoad:
    """Other processes' CPU use between two readings, in cores (`since_last`)."""

    def __init__(self, stat: Path = Path("/proc/stat")) -> None:
        self.stat = stat
        self.cores = usable_cores()
        self._tick = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        self._last = self._reading()

    def _reading(self) -> tuple[float, float, float] | None:
        """(wall clock, CPU seconds of all processes, CPU seconds of this one), or None where /proc/stat is
        missing or counts other CPUs than this process may use (a container shown its host's CPUs)."""
        try:
            lines = self.stat.read_text(encoding="ascii", errors="replace").splitlines()
        except OSError:
            return None
        total = next((line.split()[1:] for line in lines if line.startswith("cpu ")), None)
        listed = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
        if total is None or listed != self.cores or len(total) < 8:
            return None
        try:
            busy = sum(int(total[i]) for i in _BUSY_FIELDS) * self._tick
        except ValueError:
            return None
        return time.monotonic(), busy, time.process_time()

    def since_last(self) -> float | None:
        """The cores other processes kept busy, on average, since the last call (or since this object was
        made); None when it cannot be told."""
        now, last = self._reading(), self._last
        self._last = now
        if now is None or last is None or now[0] - last[0] < 0.05:
            return None
        return max(0.0, ((now[1] - last[1]) - (now[2] - last[2])) / (now[0] - last[0]))
