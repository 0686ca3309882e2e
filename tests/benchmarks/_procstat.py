"""CPU accounting from Linux /proc for benchmarks whose processes share this machine."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def postgres_cpu_seconds() -> float | None:
    """CPU time of every local PostgreSQL process (backends, WAL writer, checkpointer…);
    None when none runs here (a remote server)."""
    total, found = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        found = True
        total += cpu_seconds(int(entry.name))
    return total if found else None


def idle_seconds() -> float:
    """CPU time the whole machine has spent idle (all cores: idle + iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / _TICK


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the machine and some processes had used at one moment."""

    client: float
    preempted: int
    idle: float
    postgres: float | None
    others: tuple[float, ...]

    @classmethod
    def take(cls, pids: tuple[int, ...] = ()) -> Snapshot:
        """Now, with this process as the client and pids as the others."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return cls(
            client=time.process_time(),
            preempted=usage.ru_nivcsw,
            idle=idle_seconds(),
            postgres=postgres_cpu_seconds(),
            others=tuple(cpu_seconds(pid) for pid in pids),
        )

    def since(self, start: Snapshot) -> dict[str, float | int | None]:
        """CPU seconds used between start and this snapshot, by user."""
        pg = (
            None
            if self.postgres is None or start.postgres is None
            else round(self.postgres - start.postgres, 2)
        )
        return {
            "client_cpu_s": round(self.client - start.client, 2),
            "postgres_cpu_s": pg,
            "simulators_cpu_s": round(sum(self.others) - sum(start.others), 2),
            "idle_cpu_s": round(self.idle - start.idle, 2),
            "client_preempted": self.preempted - start.preempted,
        }
