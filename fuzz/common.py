"""What the fuzz harnesses share: a memory cap for their workers and the table
of outcomes they print."""

from __future__ import annotations

from collections import Counter


def memory_cap(memory_mb: int):
    """A ``preexec_fn`` giving a worker process at most ``memory_mb`` of address
    space, so an input that makes convsim allocate without end fails in that
    worker (and is reported) instead of taking the machine's memory."""
    def cap():
        import resource

        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return cap


def print_outcomes(counts: Counter, by_kind: Counter) -> None:
    """``N inputs tried: clear 9, ok 3`` and one line per kind of input."""
    print(f"\n{sum(counts.values()):,} inputs tried: " + ", ".join(
        f"{k} {v:,}" for k, v in counts.most_common()))
    for kind in sorted({k for k, _ in by_kind}):
        line = ", ".join(f"{o} {n:,}" for (k, o), n in sorted(by_kind.items())
                         if k == kind)
        print(f"  {kind}: {line}")
