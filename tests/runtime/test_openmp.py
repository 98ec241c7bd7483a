"""Numba's threads start at the first kernel call, with GOMP_SPINCOUNT=10000,
and only Numba's.

Each case runs in a fresh Python: the setting only counts when Numba starts
its threads. A stand-in for Numba's thread launcher records the environment at
that moment.
"""

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

SCRIPT = """
import os
import numba.np.ufunc.parallel as parallel

launch = parallel._launch_threads
seen = []

def recording_launch():
    if not seen:
        seen.append(os.environ.get("GOMP_SPINCOUNT"))
    launch()

parallel._launch_threads = recording_launch
import numpy as np
import convsim.kernels, convsim.ops, convsim.models, convsim.preprocessing.image
print(len(seen))  # nothing started at import
convsim.ops.relu(np.ones(3))
print(seen[0], os.environ.get("GOMP_SPINCOUNT"))
"""


def run(**env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env={**base, **env},
                            capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_numba_threads_start_at_the_first_kernel_call_with_the_short_spin():
    assert run() == ["0", "10000", "None"]


def test_a_spin_count_or_wait_policy_the_user_set_is_kept():
    assert run(GOMP_SPINCOUNT="5") == ["0", "5", "5"]
    assert run(OMP_WAIT_POLICY="passive") == ["0", "None", "None"]
