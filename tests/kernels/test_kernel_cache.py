"""Numba compilation: lazy at import, cached on disk, one version per kernel.

A learner pays for compiling the kernels (seconds each) once: ``import
convsim`` must not compile anything, and a second Python process must load the
machine code from the on-disk cache instead of compiling again. These run in
subprocesses so this test session's own compiled kernels do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from numba.core.registry import CPUDispatcher

from convsim.kernels import activations, conv, pool

KERNEL_MODULES = (activations, conv, pool)


def jitted_kernels():
    return {f"{m.__name__}.{name}": obj for m in KERNEL_MODULES
            for name, obj in vars(m).items() if isinstance(obj, CPUDispatcher)}


def run_python(code: str, cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_kernel_is_jitted_with_an_on_disk_cache():
    kernels = jitted_kernels()
    assert len(kernels) >= 10  # conv (3), pool (4), activations (8)
    uncached = [name for name, k in kernels.items()
                if type(k._cache).__name__ == "NullCache"]
    assert uncached == [], "kernels compiled again in every process"


@pytest.mark.subprocess
def test_import_compiles_nothing(tmp_path):
    report = run_python(
        "import json, convsim, convsim.ops\n"
        "from numba.core.registry import CPUDispatcher\n"
        "from convsim.kernels import activations, conv, pool\n"
        "print(json.dumps({m.__name__ + '.' + n: len(o.signatures)\n"
        "    for m in (activations, conv, pool) for n, o in vars(m).items()\n"
        "    if isinstance(o, CPUDispatcher)}))",
        tmp_path,
    )
    assert report and all(count == 0 for count in report.values()), report


@pytest.mark.slow
@pytest.mark.subprocess
def test_second_process_loads_from_the_cache(tmp_path):
    op = "relu"  # the cheapest kernel to compile
    code = (
        "import json, numpy as np\n"
        "from convsim import ops\n"
        "from convsim.kernels import activations\n"
        f"ops.{op}(np.ones((2, 3)))\n"
        f"stats = activations.{op}.stats\n"
        "print(json.dumps({'hits': sum(stats.cache_hits.values()),\n"
        "                  'misses': sum(stats.cache_misses.values())}))"
    )
    assert run_python(code, tmp_path) == {"hits": 0, "misses": 1}  # compiled
    assert run_python(code, tmp_path) == {"hits": 1, "misses": 0}  # loaded
