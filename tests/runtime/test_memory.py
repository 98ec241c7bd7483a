"""convsim.runtime.memory: glibc keeps freed blocks for the next training step."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from convsim.runtime import memory


def glibc() -> bool:
    try:
        ctypes.CDLL("libc.so.6").gnu_get_libc_version  # noqa: B018
    except (OSError, AttributeError):
        return False
    return True


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not glibc(), reason="mallopt is a glibc setting")
def test_a_second_big_array_reuses_pages_after_keep_freed_memory():
    """A fresh process fills a 128 MB array, frees it and fills another. Without
    the setting the second array is new memory from the kernel, paid for with
    page faults (at least 61 even with 2 MB huge pages; ~31,000 with 4 KB
    pages). With it, glibc reuses the freed block: no page faults. Run in child
    processes so each starts clean."""
    script = """
import resource, sys
import numpy as np
from convsim.runtime.memory import keep_freed_memory
if sys.argv[1] == "on":
    assert keep_freed_memory() and keep_freed_memory()
a = np.ones(32_000_000, np.float32)
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
b = np.ones(32_000_000, np.float32)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
    faults = {}
    for mode in ("on", "off"):
        result = subprocess.run([sys.executable, "-c", script, mode],
                                capture_output=True, text=True, check=True)
        faults[mode] = int(result.stdout)
    assert faults["off"] >= 30, faults
    assert faults["on"] <= 2, faults


def test_does_nothing_off_linux(monkeypatch):
    monkeypatch.setattr(memory, "_done", False)
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False


def test_the_first_kernel_call_turns_it_on(monkeypatch):
    import numpy as np

    from convsim import ops, runtime

    calls = []
    monkeypatch.setattr(runtime, "_prepared", False)
    monkeypatch.setattr(runtime, "start_numba_threads", lambda: None)
    monkeypatch.setattr(runtime, "keep_freed_memory", lambda: calls.append(1) or True)
    ops.relu(np.ones(3))
    ops.relu(np.ones(3))
    assert calls == [1]  # once per process
