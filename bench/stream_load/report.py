"""Figures of a round, and the table comparing paths."""

from __future__ import annotations

from dataclasses import dataclass

from bench.stream_load.paths import StreamResult


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Round:
    path: str
    load: str
    results: list[StreamResult]
    elapsed: float
    cpu: dict[str, float]
    check_seq: bool
    steal: float | None = None

    @property
    def stolen(self) -> str:
        """The hypervisor's steal share during the round, as a percentage."""
        return "—" if self.steal is None else f"{self.steal * 100:.0f} %"

    @property
    def ttfd(self) -> list[float]:
        return [r.ttfd for r in self.results if r.ttfd is not None]

    def p(self, q: float) -> float:
        return percentile(self.ttfd, q)

    @property
    def failures(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results:
            for problem in result.problems(check_seq=self.check_seq):
                counts[problem] = counts.get(problem, 0) + 1
        return counts

    @property
    def deltas(self) -> int:
        return sum(len(r.seqs) if r.seqs else 0 for r in self.results)

    def line(self) -> str:
        failures = self.failures
        ok = len(self.results) - sum(
            1 for r in self.results if r.problems(check_seq=self.check_seq)
        )
        cpu = ", ".join(f"{k} {v / len(self.results) * 1000:.1f} ms" for k, v in self.cpu.items())
        return (
            f"{self.load:<26} {self.path:<8} first delta p50 {self.p(0.5) * 1000:8.1f} ms "
            f"p95 {self.p(0.95) * 1000:8.1f} p99 {self.p(0.99) * 1000:8.1f} | round "
            f"{self.elapsed:6.2f} s, {len(self.results) / self.elapsed:6.1f} turns/s | "
            f"{ok}/{len(self.results)} ok {failures or ''} | CPU/turn: {cpu} | "
            f"steal {self.stolen}"
        )


def print_rounds(rounds: list[Round]) -> None:
    """A markdown table: each path next to the direct path of the same load."""
    direct = {r.load: r for r in rounds if r.path == "direct"}
    print(
        "| load | path | first delta p50 / p95 / p99 | added over direct p50 / p99 "
        "| round (x direct) | turns/s | deltas/s | ok | CPU s per turn | steal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rounds:
        base = direct.get(r.load)
        added = (
            f"{(r.p(0.5) - base.p(0.5)) * 1000:.1f} / {(r.p(0.99) - base.p(0.99)) * 1000:.1f} ms"
            if base and r is not base
            else "—"
        )
        ratio = f" ({r.elapsed / base.elapsed:.2f}x)" if base and r is not base else ""
        deltas = f"{r.deltas / r.elapsed:.0f}" if r.deltas else "—"
        ok = len(r.results) - sum(1 for x in r.results if x.problems(check_seq=r.check_seq))
        cpu = ", ".join(f"{k} {v / len(r.results):.4f}" for k, v in r.cpu.items())
        print(
            f"| {r.load} | {r.path} | {r.p(0.5) * 1000:.1f} / {r.p(0.95) * 1000:.1f} / "
            f"{r.p(0.99) * 1000:.1f} ms | {added} | {r.elapsed:.2f} s{ratio} "
            f"| {len(r.results) / r.elapsed:.1f} | {deltas} | {ok}/{len(r.results)} | {cpu} "
            f"| {r.stolen} |"
        )
