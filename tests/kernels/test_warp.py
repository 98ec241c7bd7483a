"""The Numba affine warp kernel against hand-worked rows and a naive reference.

The reference below is written from SciPy's documented boundary rules (Keras
hands every channel to ``scipy.ndimage.affine_transform``), one output pixel at
a time in float64, with plain Python modular arithmetic instead of the
kernel's branches. When SciPy is installed the kernel is also compared with
SciPy itself, bit for bit.

Numba checks no bounds, so the kernel must stay inside its arrays whatever
matrix reaches it (NaN, inf, 1e308): the tests that once crashed it run in a
child process, so a segfault fails them instead of ending pytest.
"""

import json
import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from convsim.kernels import warp

MODES = ["nearest", "reflect", "wrap", "constant"]


def _inside(c, n, mode):
    """Map a real position into the image; None means 'use cval'."""
    if 0 <= c <= n - 1:
        return c
    if n == 1:
        return None if mode == "constant" else 0.0
    if mode == "constant":
        return None
    if mode == "nearest":
        return min(max(c, 0.0), n - 1.0)
    if mode == "wrap":  # period n - 1; SciPy sends -(n - 1) to n - 1, not 0
        return n - 1 - (-c) % (n - 1) if c < 0 else c % (n - 1)
    # reflect about the pixel edges: period 2n, position -0.5 is the mirror
    c = c % (2 * n)
    return 2 * n - 1 - c if c > n - 0.5 else c


def _index(i, n, mode):
    """Integer tap index for interpolation; taps outside are edge-mirrored."""
    if 0 <= i < n:
        return i
    if n == 1:
        return 0
    if mode == "nearest":
        return min(max(i, 0), n - 1)
    if mode == "reflect":
        i = i % (2 * n)
        return 2 * n - 1 - i if i >= n else i
    i = i % (2 * n - 2)  # mirror about the centre of the edge pixel
    return 2 * n - 2 - i if i >= n else i


def naive_warp(image, m, order, mode, cval):
    h, w, channels = image.shape
    out = np.empty((h, w, channels))
    for row in range(h):
        for col in range(w):
            # summed in SciPy's order, so far-away positions round alike
            r = _inside(m[0, 2] + row * m[0, 0] + col * m[0, 1], h, mode)
            c = _inside(m[1, 2] + row * m[1, 0] + col * m[1, 1], w, mode)
            if r is None or c is None:
                out[row, col] = cval
            elif order == 0:
                rr = _index(math.floor(r + 0.5), h, mode)
                cc = _index(math.floor(c + 0.5), w, mode)
                out[row, col] = image[rr, cc]
            else:
                r0, c0 = math.floor(r), math.floor(c)
                fr, fc = r - r0, c - c0
                value = 0.0
                for dr, wr in ((0, 1 - fr), (1, fr)):
                    for dc, wc in ((0, 1 - fc), (1, fc)):
                        value = value + wr * wc * image[
                            _index(r0 + dr, h, mode), _index(c0 + dc, w, mode)
                        ].astype(np.float64)
                out[row, col] = value
    return out


def run(image, m, order, mode, cval=0.0, parallel=False):
    kernel = warp.affine_warp_parallel if parallel else warp.affine_warp_serial
    images = np.ascontiguousarray(image, np.float32)[None]
    return kernel(images, np.asarray(m, np.float64)[None], np.zeros(1, np.bool_),
                  order, warp.MODES[mode], cval)[0]


# One row "a b c d" = 1 2 3 4 (two identical rows), sampled 2 pixels to the
# left of each output pixel: out[j] = in[j - 2]. Hand-worked from the modes:
# nearest aaaa|abcd, reflect (half-sample) ba|abcd, SciPy wrap (period n-1:
# position -1 is position 2, -2 is 1), constant k.
SHIFT_CASES = {
    "nearest": [1, 1, 1, 2],
    "reflect": [2, 1, 1, 2],
    "wrap": [2, 3, 1, 2],
    "constant": [9, 9, 1, 2],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_integer_shift_each_fill_mode(mode, order):
    image = np.array([[1, 2, 3, 4], [1, 2, 3, 4]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, -2]]
    out = run(image, m, order, mode, cval=9.0)
    assert_array_equal(out[..., 0], [SHIFT_CASES[mode]] * 2)


def test_shift_right_side_each_mode():
    image = np.array([[1, 2, 3, 4]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, 3]]  # out[j] = in[j + 3]
    expected = {"nearest": [4, 4, 4, 4], "reflect": [4, 4, 3, 2],
                "wrap": [4, 2, 3, 1], "constant": [4, 0, 0, 0]}
    for mode, row in expected.items():
        assert_array_equal(run(image, m, 0, mode)[0, :, 0], row, err_msg=mode)


def test_half_pixel_bilinear_blend_and_constant_has_no_blend():
    image = np.array([[0, 10, 20, 30]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, 0.5]]  # halfway between neighbours
    assert_allclose(run(image, m, 1, "nearest")[0, :, 0], [5, 15, 25, 30])
    # constant: position 3.5 is outside [0, 3], so cval, not a blend with cval
    assert_allclose(run(image, m, 1, "constant", cval=-1)[0, :, 0], [5, 15, 25, -1])
    # order 0 rounds halves up: 0.5 -> 1
    assert_allclose(run(image, m, 0, "nearest")[0, :, 0], [10, 20, 30, 30])


def test_identity_flag_copies_exactly():
    image = np.random.default_rng(0).normal(size=(2, 3, 4, 2)).astype(np.float32)
    m = np.zeros((2, 2, 3))  # would sample pixel (0, 0) everywhere
    out = warp.affine_warp_serial(image, m, np.array([True, False]), 1, 0, 0.0)
    assert_array_equal(out[0], image[0])
    assert_array_equal(out[1], np.broadcast_to(image[1, 0, 0], (3, 4, 2)))


matrices = st.tuples(*[st.floats(-2, 2) for _ in range(4)],
                     st.floats(-8, 8), st.floats(-8, 8))


@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3),
       coeffs=matrices, order=st.sampled_from([0, 1]),
       mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_matches_naive_reference(h, w, c, coeffs, order, mode, seed):
    image = np.random.default_rng(seed).uniform(-5, 5, (h, w, c)).astype(np.float32)
    a, b, d, e, f, g = coeffs
    m = np.array([[a, b, f], [d, e, g]])
    expected = naive_warp(image, m, order, mode, cval=0.25)
    assert_allclose(run(image, m, order, mode, 0.25), expected, rtol=1e-5, atol=1e-5)


def test_parallel_equals_serial():
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 255, (5, 9, 7, 3)).astype(np.float32)
    m = rng.uniform(-1.5, 1.5, (5, 2, 3))
    identity = np.array([False, True, False, False, True])
    for mode in range(4):
        serial = warp.affine_warp_serial(images, m, identity, 1, mode, 3.0)
        parallel = warp.affine_warp_parallel(images, m, identity, 1, mode, 3.0)
        assert_array_equal(serial, parallel)
        assert serial.dtype == np.float32 and serial.shape == images.shape


def test_bit_identical_to_scipy_when_installed():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(7)
    # offsets up to 1e12 pixels: SciPy's own arithmetic is exact up to 2**53
    for reach in [4] * 25 + [1e3, 1e6, 1e9, 1e12] * 5:
        h, w = rng.integers(1, 8, 2)
        image = rng.uniform(-3, 3, (h, w, 2)).astype(np.float32)
        m = rng.uniform(-2, 2, (2, 3)) * [1, 1, reach]
        if reach > 4 and rng.random() < 0.5:  # whole multiples of the periods
            m[:, 2] = np.round(m[:, 2])
        for mode in MODES:
            for order in (0, 1):
                ours = run(image, m, order, mode, cval=0.5)
                ref = np.stack([ndimage.affine_transform(
                    image[..., k], m[:, :2], m[:, 2], order=order, mode=mode,
                    cval=0.5) for k in range(2)], -1)
                assert_array_equal(ours, ref, err_msg=f"{mode} order={order}")


# ---------------------------------------------------------------- any number
# Exact answers from SciPy's rules in rational arithmetic; the kernel must give
# them (rounded once to float64) for every finite position, however far.

def _exact(c, n, mode):
    """SciPy's map_coordinate, with Fractions: exact for any finite c."""
    if 0 <= c <= n - 1:
        return c
    if mode == "constant":
        return -1.0
    if n == 1:
        return 0.0
    if mode == "nearest":
        return 0.0 if c < 0 else n - 1.0
    x = Fraction(c)
    if mode == "wrap":
        p = n - 1
        return float(p - (-x) % p) if x < 0 else float(x % p)
    p = 2 * n  # reflect
    if x < 0:
        if x < -p:
            x = -((-x) % p)
        if x < -n:
            return float(x + p)
        return (1e-15 if x > Fraction(-1e-15) else float(-x)) - 1.0
    x = x % p
    return float(p - x - 1) if x >= n else float(x)


FAR = [2.0**53, 2.0**53 + 2, 9.5e15, 1e20, 3.3e150, 1e300, 1.7e308]
EDGES = [-0.0, 0.0, 1e-300, -1e-300, -1e-16, -1e-15, 0.5, -0.5, -1.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 5, 150])
def test_positions_map_exactly_however_far_outside(n, mode):
    positions = EDGES + [n - 1.0, float(n), n - 0.5, -float(n), -2.0 * n,
                         -4.0 * n, -(n - 1.0), -2.0 * (n - 1), 3.0 * (n - 1),
                         2.0 * n + 0.25, -2.0 * n - 0.25]
    positions += FAR + [-f for f in FAR] + [f + 0.5 for f in (1e6, -1e6, 1e12)]
    for c in positions:
        got = warp.map_coordinate(c, n, warp.MODES[mode])
        assert got == _exact(c, n, mode), (c, got, _exact(c, n, mode))
        assert got == -1.0 or -1.0 < got < n, (c, got)


@pytest.mark.parametrize("mode", MODES)
def test_non_finite_position_has_no_pixel_and_gets_cval(mode):
    for c in (math.nan, math.inf, -math.inf):
        for n in (1, 4):
            assert warp.map_coordinate(c, n, warp.MODES[mode]) == -1.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_every_tap_index_lands_inside_the_image(n, mode):
    taps = [-(2**62), -(2**31) - 1, -2 * n - 1, -n - 1, -n, -2, -1, 0, n - 1, n,
            n + 1, 2 * n, 2 * n - 2, 3 * n + 1, 2**31, 2**62]
    for i in taps:
        j = warp._tap(i, n, warp.MODES[mode])
        assert 0 <= j < n, (i, j)
        assert j == _index(i, n, mode) if n > 1 else j == 0


@pytest.mark.parametrize("mode", ["reflect", "wrap"])
def test_a_shift_of_whole_periods_changes_nothing(mode):
    """Shifting by a whole number of periods, even 1e14 of them, samples the
    same pixels as not shifting (periods: reflect 2n, SciPy's wrap n - 1).
    Every position here is exactly a double (1e15 + 1.25 still is)."""
    image = np.arange(1.0, 6.0, dtype=np.float32).reshape(1, 5, 1)
    period = 10 if mode == "reflect" else 4
    for order in (0, 1):
        near = run(image, [[1, 0, 0], [0, 1, 1.25]], order, mode)
        for k in (1, 7, 10**6, 10**12, 10**14):
            far = run(image, [[1, 0, 0], [0, 1, k * period + 1.25]], order, mode)
            assert_array_equal(far, near, err_msg=f"{k} periods")
            back = run(image, [[1, 0, 0], [0, 1, -k * period + 1.25]], order, mode)
            assert_array_equal(back, near, err_msg=f"-{k} periods")


# the special values first: hypothesis draws (and shrinks towards) them most
any_number = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1.7e308, -1e300, 2.0**53,
                     -(2.0**63), 1e15 + 0.5, -0.0, 5e-324]),
    st.floats(-4, 4),
    st.floats(allow_nan=True, allow_infinity=True),
)


@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3),
       coeffs=st.lists(any_number, min_size=6, max_size=6),
       order=st.sampled_from([0, 1]), mode=st.sampled_from(MODES),
       cval=st.floats(-9, 9), seed=st.integers(0, 2**16))
def test_kernel_returns_input_values_or_cval_whatever_the_matrix(
        h, w, c, coeffs, order, mode, cval, seed):
    """Defence in depth: :func:`warp_batch` refuses such matrices, but the
    kernel itself never reads outside the image nor invents a value."""
    image = np.random.default_rng(seed).uniform(-5, 5, (h, w, c)).astype(np.float32)
    m = np.array(coeffs).reshape(2, 3)
    out = run(image, m, order, mode, cval)
    fill = np.float32(cval)
    inside = (out >= image.min()) & (out <= image.max())
    assert np.all(inside | (out == fill)), (m, out)
    if order == 0:
        assert set(out.ravel().tolist()) <= set(image.ravel().tolist()) | {fill}


far_offsets = st.one_of(st.floats(-1e15, 1e15), st.floats(-1e300, 1e300),
                        st.integers(-(10**15), 10**15).map(float))


@given(h=st.integers(1, 6), w=st.integers(1, 6), coeffs=matrices,
       offsets=st.tuples(far_offsets, far_offsets), order=st.sampled_from([0, 1]),
       mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_far_positions_match_naive_reference(h, w, coeffs, offsets, order, mode,
                                             seed):
    image = np.random.default_rng(seed).uniform(-5, 5, (h, w, 2)).astype(np.float32)
    a, b, d, e, _, _ = coeffs
    m = np.array([[a, b, offsets[0]], [d, e, offsets[1]]])
    expected = naive_warp(image, m, order, mode, cval=0.25)
    assert_allclose(run(image, m, order, mode, 0.25), expected, rtol=1e-5, atol=1e-5)


def test_mismatched_matrices_are_refused_before_any_read():
    images = np.ones((3, 4, 4, 1), np.float32)
    for m, identity in [(np.zeros((2, 2, 3)), np.zeros(3, np.bool_)),
                        (np.zeros((3, 2, 2)), np.zeros(3, np.bool_)),
                        (np.zeros((3, 2, 3)), np.zeros(1, np.bool_))]:
        with pytest.raises(ValueError, match="one \\(2, 3\\) matrix and one"):
            warp.affine_warp_serial(images, m, identity, 1, 0, 0.0)


# A child process per case: before the fix these read far outside the image
# (SIGSEGV on 2000 x 2000, invented values such as 7.2e28 on 32 x 32).
CHILD = """
import json, sys
import numpy as np
from convsim.kernels import warp
value, size = float(sys.argv[1]), int(sys.argv[2])
image = np.random.default_rng(0).uniform(1, 2, (1, size, size, 1))
image = image.astype(np.float32)
found = {}
for mode in range(4):
    for order in (0, 1):
        for m in ([[1.0, 0.0, value], [0.0, 1.0, 0.0]],
                  [[value, 0.0, 0.0], [0.0, 1.0, 0.0]],
                  [[1.0, 0.2, 0.0], [0.2, 1.0, value]]):
            out = warp.affine_warp_parallel(image, np.array([m]),
                                            np.zeros(1, np.bool_), order, mode, 9.0)
            ok = ((out >= 1) & (out <= 2)) | (out == 9)
            found[f"{mode} {order} {m}"] = bool(ok.all())
print(json.dumps(found))
"""


def _child(*args, timeout=300):
    done = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_matrix_on_a_large_image_reads_only_inside(value):
    found = _child(value, 2000)
    assert all(found.values()), [k for k, ok in found.items() if not ok]


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("value", ["1.7e308", "-1e300", "9.3e18"])
def test_huge_finite_matrix_reads_only_inside(value):
    found = _child(value, 48)
    assert all(found.values()), [k for k, ok in found.items() if not ok]
