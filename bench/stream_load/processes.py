"""CPU time of the processes under test, read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

MODULES = {
    "gateway": "roleplay_gateway",
    "chat": "roleplay_chat",
    "standin": "roleplay_standin",
}
_TICK = os.sysconf("SC_CLK_TCK")


def service_pids() -> dict[str, int]:
    """The pid of each service started as `python -m <module>` on this machine."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for name, module in MODULES.items():
            if b"-m" in argv and module.encode() in argv:
                found[name] = int(entry.name)
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of `pid` and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / _TICK


def cpu_times() -> list[int]:
    """The machine's CPU time counters since boot (the `cpu` line of /proc/stat), or none."""
    try:
        line = Path("/proc/stat").read_text().splitlines()[0]
    except (OSError, IndexError):
        return []
    return [int(field) for field in line.split()[1:9]]


def steal_share(before: list[int], after: list[int]) -> float | None:
    """The share of CPU time the hypervisor gave to others between two `cpu_times()`: a
    virtual machine whose host is busy runs slower, whatever runs inside it."""
    if len(before) < 8 or len(after) < 8:
        return None
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return spent[7] / sum(spent) if sum(spent) else None
