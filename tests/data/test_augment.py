"""ImageDataGenerator: hand-computed transforms, Keras's random ranges, properties.

Hand-worked cases use a small image whose pixels are all different (so any
mix-up of rows, columns or directions shows), and ``interpolation_order=0``
where the expected result is a pure rearrangement of pixels.
"""

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from convsim.errors import ArgumentError, WrongTypeError
from convsim.preprocessing import image
from convsim.preprocessing.affine import apply_affine_transform, transform_matrix
from convsim.preprocessing.image import ImageDataGenerator

# 4 x 4, every pixel distinct and no symmetry: rot/flip/shift mistakes show.
GRID = np.arange(16, dtype=np.float32).reshape(4, 4, 1) * 10 + 5


def apply(params, **kwargs):
    kwargs.setdefault("interpolation_order", 0)
    return ImageDataGenerator(**kwargs).apply_transform(GRID, params)


def test_rotation_90_turns_picture_anticlockwise():
    # on screen, +90 degrees moves the right column to the top row
    out = apply({"theta": 90})
    assert_array_equal(out, np.rot90(GRID, 1))
    assert_array_equal(apply({"theta": -90}), np.rot90(GRID, -1))
    # bilinear sampling agrees up to float rounding of cos(90 deg)
    assert_allclose(apply({"theta": 90}, interpolation_order=1), np.rot90(GRID, 1),
                    atol=1e-3)


def test_rotation_90_of_a_non_square_picture_stays_centred():
    tall = np.arange(6, dtype=np.float32).reshape(3, 2, 1)
    out = ImageDataGenerator(interpolation_order=0).apply_transform(
        tall, {"theta": 180})
    assert_array_equal(out, tall[::-1, ::-1])


@pytest.mark.parametrize("mode, expected_row", [
    ("nearest", [5, 5, 15, 25]),     # content moves right by 1: a|abc
    ("reflect", [5, 5, 15, 25]),     # half-sample mirror of a is a
    ("wrap", [25, 5, 15, 25]),       # SciPy 'wrap', period n - 1: c|abc
    ("constant", [-7, 5, 15, 25]),   # cval
])
def test_integer_shift_with_each_fill_mode(mode, expected_row):
    out = apply({"tx": -1}, fill_mode=mode, cval=-7)
    assert_array_equal(out[0, :, 0], expected_row)
    # every row moves the same way, and tx never touches rows
    assert_array_equal(out[:, 1:, 0], GRID[:, :3, 0])


def test_vertical_shift_moves_rows():
    out = apply({"ty": 2}, fill_mode="constant", cval=0)  # sample 2 rows down
    assert_array_equal(out[:2], GRID[2:])
    assert_array_equal(out[2:], 0)


def test_flips():
    assert_array_equal(apply({"flip_horizontal": True}), GRID[:, ::-1])
    assert_array_equal(apply({"flip_vertical": True}), GRID[::-1])
    both = apply({"flip_horizontal": True, "flip_vertical": True})
    assert_array_equal(both, GRID[::-1, ::-1])


def test_zoom_factor_half_enlarges_the_centre_2x():
    # zoom 0.5 samples at centre + (out - centre) / 2: the middle 2x2 of the
    # picture fills the whole output, each pixel becoming a 2x2 block
    out = apply({"zx": 0.5, "zy": 0.5})
    assert_array_equal(out, GRID[[1, 1, 2, 2]][:, [1, 1, 2, 2]])


def test_zoom_factor_two_shrinks():
    # zoom 2 samples at 1.5 + 2 (out - 1.5): rows/cols -1.5, 0.5, 2.5, 4.5;
    # the outer ones fall outside (cval), 0.5 and 2.5 round up to 1 and 3
    out = apply({"zx": 2.0, "zy": 2.0}, fill_mode="constant", cval=0)
    expected = np.zeros_like(GRID)
    expected[1:3, 1:3] = GRID[[1, 3]][:, [1, 3]]
    assert_array_equal(out, expected)


def test_shear_tilts_columns_by_row():
    # shear s: x_in = x_c + (x - x_c) - sin(s) (y - y_c), y_in = y_c + cos(s)(y - y_c)
    m = transform_matrix(shear=30, height=4, width=4)
    s = np.sin(np.radians(30))
    c = np.cos(np.radians(30))
    assert_allclose(m, [[c, 0, 1.5 - 1.5 * c], [-s, 1, 1.5 * s]], atol=1e-12)


def test_composition_order_rotation_then_shift_then_shear_then_zoom():
    centre = np.array([[1, 0, 1.5], [0, 1, 1.5], [0, 0, 1]])
    a = np.radians(20)
    r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    t = np.array([[1, 0, 0.7], [0, 1, -0.4], [0, 0, 1]])
    sh = np.array([[1, -np.sin(0.2), 0], [0, np.cos(0.2), 0], [0, 0, 1]])
    z = np.diag([1.3, 0.8, 1.0])
    xy = centre @ r @ t @ sh @ z @ np.linalg.inv(centre)
    expected = xy[[1, 0]][:, [1, 0, 2]]  # to (row, col) order
    got = transform_matrix(20, 0.7, -0.4, np.degrees(0.2), 1.3, 0.8, 4, 4)
    assert_allclose(got, expected, atol=1e-12)


def test_rescale_is_applied_after_augmentation():
    gen = ImageDataGenerator(rescale=0.5, fill_mode="constant", cval=100,
                             interpolation_order=0)
    out = gen.standardize(gen.apply_transform(GRID, {"tx": -1}))
    assert out[0, 0, 0] == 50.0  # the fill value was rescaled too
    assert_array_equal(out[:, 1:], GRID[:, :3] * 0.5)


def test_random_parameters_follow_keras_ranges():
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
                             height_shift_range=4.0, shear_range=20,
                             zoom_range=0.5, horizontal_flip=True)
    rng = np.random.default_rng(0)
    draws = [gen.get_random_transform((150, 200, 3), rng) for _ in range(2000)]
    theta = np.array([d["theta"] for d in draws])
    tx = np.array([d["tx"] for d in draws])
    ty = np.array([d["ty"] for d in draws])
    zx = np.array([d["zx"] for d in draws])
    zy = np.array([d["zy"] for d in draws])
    assert -30 <= theta.min() < -29 and 29 < theta.max() <= 30
    assert -20 <= tx.min() < -19 and 19 < tx.max() <= 20   # 0.1 * width 200
    assert -4 <= ty.min() < -3.9 and 3.9 < ty.max() <= 4    # >= 1: pixels
    assert 0.5 <= min(zx.min(), zy.min()) and max(zx.max(), zy.max()) <= 1.5
    assert abs(np.corrcoef(zx, zy)[0, 1]) < 0.1             # drawn separately
    flips = np.mean([d["flip_horizontal"] for d in draws])
    assert 0.45 < flips < 0.55
    assert not any(d["flip_vertical"] for d in draws)


def test_integer_and_list_shift_ranges_are_whole_pixels():
    gen = ImageDataGenerator(width_shift_range=2, height_shift_range=[3, 5])
    rng = np.random.default_rng(1)
    draws = [gen.get_random_transform((10, 10, 1), rng) for _ in range(300)]
    assert {d["tx"] for d in draws} == {-1.0, 0.0, 1.0}
    assert {d["ty"] for d in draws} == {-5.0, -3.0, 3.0, 5.0}


def test_seeded_random_transform_is_reproducible():
    gen = ImageDataGenerator(rotation_range=40, zoom_range=0.3, horizontal_flip=True)
    a = gen.random_transform(GRID, seed=5)
    b = gen.random_transform(GRID, seed=5)
    assert_array_equal(a, b)
    assert not np.array_equal(a, gen.random_transform(GRID, seed=6))


images = st.tuples(st.integers(1, 7), st.integers(1, 7), st.sampled_from([1, 3]))


@given(shape=images, seed=st.integers(0, 2**16))
def test_identity_parameters_give_the_identical_image(shape, seed):
    x = np.random.default_rng(seed).normal(0, 100, shape).astype(np.float32)
    gen = ImageDataGenerator(fill_mode="wrap")
    assert_array_equal(gen.random_transform(x, seed=seed), x)
    same = gen.apply_transform(x, {"theta": 0, "tx": 0, "ty": 0, "shear": 0,
                                   "zx": 1, "zy": 1})
    assert_array_equal(same, x)


@given(shape=images, seed=st.integers(0, 2**16),
       mode=st.sampled_from(["nearest", "reflect", "wrap", "constant"]))
def test_nearest_sampling_only_copies_input_or_fill_values(shape, seed, mode):
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float32)
    gen = ImageDataGenerator(rotation_range=180, width_shift_range=0.5,
                             height_shift_range=0.5, shear_range=45,
                             zoom_range=0.6, horizontal_flip=True,
                             vertical_flip=True, fill_mode=mode, cval=-1,
                             interpolation_order=0)
    out = gen.random_transform(x, seed=rng)
    assert out.shape == x.shape and out.dtype == np.float32
    allowed = set(x.ravel().tolist()) | {-1.0}
    assert set(out.ravel().tolist()) <= allowed


def test_flow_shapes_dtypes_and_seed():
    x = np.random.default_rng(0).uniform(0, 255, (7, 6, 5, 3))
    y = np.arange(7)
    gen = ImageDataGenerator(rescale=1 / 255, rotation_range=20)
    it = gen.flow(x, y, batch_size=3, seed=11)
    assert len(it) == 3
    batches = [next(it) for _ in range(4)]
    assert [b[0].shape[0] for b in batches] == [3, 3, 1, 3]  # short last batch
    assert all(b[0].dtype == np.float32 for b in batches)
    assert sorted(np.concatenate([b[1] for b in batches[:3]])) == list(range(7))
    again = gen.flow(x, y, batch_size=3, seed=11)
    for b in batches:
        xb, yb = next(again)
        assert_array_equal(xb, b[0])
        assert_array_equal(yb, b[1])
    assert next(gen.flow(x, batch_size=2)).shape == (2, 6, 5, 3)  # no y: x only


@pytest.mark.parametrize("kwargs, match", [
    ({"fill_mode": "mirror"}, r"`fill_mode` must be one of \{'constant', "
                              r"'nearest', 'reflect', 'wrap'\}. Received: "
                              r"fill_mode='mirror'"),
    ({"zoom_range": [0.5, 1, 2]}, "`zoom_range` should be a float or a tuple"),
    ({"zoom_range": 1.5}, r"0 < lower <= upper"),
    ({"rotation_range": -10}, r"`rotation_range` must be a finite number of "
                              r"degrees between 0 and 1e\+06. Received: "
                              r"rotation_range=-10"),
    ({"width_shift_range": "0.1"}, "`width_shift_range` must be a float, an int"),
    ({"interpolation_order": 3}, "`interpolation_order` must be 0"),
    ({"validation_split": 1.5}, "strictly between 0 and 1"),
    ({"brightness_range": 0.5}, "brightness_range should be tuple"),
    ({"data_format": "channels_first"}, "channels_last"),
    ({"dtype": "float64"}, "float32"),
])
def test_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImageDataGenerator(**kwargs)


def test_flow_argument_errors():
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="should have rank 4"):
        gen.flow(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="should have the same length"):
        gen.flow(np.zeros((4, 2, 2, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        gen.flow(np.zeros((4, 2, 2, 1)), batch_size=0)
    with pytest.raises(ValueError, match="needs `validation_split`"):
        gen.flow(np.zeros((4, 2, 2, 1)), subset="training")


def test_validation_split_subsets():
    gen = ImageDataGenerator(validation_split=0.25)
    x = np.arange(8, dtype=np.float32).reshape(8, 1, 1, 1)
    val = gen.flow(x, batch_size=8, shuffle=False, subset="validation")
    train = gen.flow(x, batch_size=8, shuffle=False, subset="training")
    assert_array_equal(next(val).ravel(), [0, 1])
    assert_array_equal(next(train).ravel(), [2, 3, 4, 5, 6, 7])


def test_featurewise_statistics_from_fit():
    x = np.random.default_rng(2).normal(3.0, 2.0, (50, 4, 4, 2)).astype(np.float32)
    gen = ImageDataGenerator(featurewise_center=True,
                             featurewise_std_normalization=True)
    gen.fit(x)
    out = np.stack([gen.standardize(img.copy()) for img in x])
    assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)


def test_preview_augmentations_is_the_notes_loop_made_repeatable():
    photo = np.random.default_rng(4).uniform(0, 255, (12, 10, 3))
    gen = ImageDataGenerator(rotation_range=30, zoom_range=0.5, horizontal_flip=True)
    first = image.preview_augmentations(photo, gen, n=4, seed=3)
    again = image.preview_augmentations(photo, gen, n=4, seed=3)
    assert len(first) == 4 and all(a.shape == (12, 10, 3) for a in first)
    for a, b in zip(first, again, strict=True):
        assert_array_equal(a, b)
    manual = gen.flow(photo[None], batch_size=1, seed=3)
    assert_array_equal(next(manual)[0], first[0])
    assert len({a.tobytes() for a in first}) == 4
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        image.preview_augmentations(photo, gen, n=0)


# ------------------------------------------------------------ hostile numbers
# Keras takes any number here: NaN, inf or 1e308 then crash the warp kernel,
# invent pixels, or end in a raw NumPy error at the first batch (issue 15).
# convsim refuses them at once, naming the argument, and still takes every
# finite value that means something.

MODES = ["nearest", "reflect", "wrap", "constant"]
NOT_FINITE = [math.nan, math.inf, -math.inf, 1.7e308, 10**400]
RANGES = ["rotation_range", "width_shift_range", "height_shift_range",
          "shear_range", "zoom_range", "channel_shift_range", "cval", "rescale"]


@pytest.mark.parametrize("argument", RANGES)
@pytest.mark.parametrize("value", NOT_FINITE,
                         ids=["nan", "inf", "-inf", "1.7e308", "10**400"])
def test_non_finite_or_huge_generator_argument_is_refused_naming_it(argument,
                                                                     value):
    with pytest.raises(ArgumentError, match=rf"`{argument}`.* Received: {argument}="):
        ImageDataGenerator(**{argument: value})


@pytest.mark.parametrize("kwargs", [
    {"zoom_range": [1e308, 1e308]}, {"zoom_range": [math.nan, 1.0]},
    {"zoom_range": [0.5, math.inf]}, {"zoom_range": [0.5, 1001]},
    {"zoom_range": np.array(0.5)},
    {"width_shift_range": [1, math.nan]}, {"width_shift_range": [1e308]},
    {"width_shift_range": [1, [2]]}, {"width_shift_range": 2_000_000},
    {"height_shift_range": np.array([[1, 2]])},
    {"height_shift_range": np.array([np.iinfo(np.int64).min])},
    {"brightness_range": [math.nan, 1.0]}, {"brightness_range": [1e308, 1e308]},
    {"brightness_range": [-1, 1]}, {"brightness_range": (2, 1)},
    {"rotation_range": 1e6 + 1}, {"shear_range": -1}, {"channel_shift_range": -5},
], ids=repr)
def test_unusable_range_is_refused_naming_it(kwargs):
    (argument,) = kwargs
    with pytest.raises(ArgumentError, match=rf"`{argument}"):
        ImageDataGenerator(**kwargs)


def test_an_int_too_long_to_print_is_refused_with_a_readable_message():
    with pytest.raises(ArgumentError, match=r"Received: rotation_range=an int of "
                                            r"about 5001 digits"):
        ImageDataGenerator(rotation_range=10**5000)


def test_zoom_range_of_1e308_is_refused_not_turned_into_invented_pixels():
    with pytest.raises(ArgumentError, match=r"`zoom_range` must give zoom factors "
                                            r"0 < lower <= upper <= 1000"):
        ImageDataGenerator(zoom_range=[1e308, 1e308], fill_mode="reflect",
                           interpolation_order=0)


def test_width_shift_range_of_1_7e308_is_refused_when_given_not_at_first_batch():
    with pytest.raises(ArgumentError, match=r"`width_shift_range` must be a finite "
                                            r"number of pixels between 0 and "
                                            r"1e\+06. Received: "
                                            r"width_shift_range=1.7e\+308"):
        ImageDataGenerator(width_shift_range=1.7e308)


@pytest.mark.parametrize("kwargs", [
    {"rotation_range": 720}, {"rotation_range": 1e6}, {"shear_range": 400},
    {"width_shift_range": 1e6, "fill_mode": "wrap"}, {"width_shift_range": 10},
    {"height_shift_range": [-3, 5]}, {"height_shift_range": (0.1, 0.25)},
    {"zoom_range": [0.2, 1000]}, {"zoom_range": 0.999},
    {"brightness_range": (0, 1000)}, {"channel_shift_range": 3e38},
    {"cval": -3.4e38, "fill_mode": "constant", "rotation_range": 45},
    {"rescale": 1e-30},
], ids=repr)
def test_every_finite_value_keras_takes_that_means_something_is_accepted(kwargs):
    x = np.random.default_rng(0).uniform(0, 255, (2, 9, 7, 3))
    batch = next(ImageDataGenerator(**kwargs).flow(x, batch_size=2, seed=1))
    assert batch.shape == x.shape and np.isfinite(batch).all()


def test_negative_zoom_mirrors_as_in_keras():
    assert_array_equal(apply_affine_transform(GRID, zx=-1, order=0), GRID[:, ::-1])
    assert_array_equal(apply_affine_transform(GRID, zy=-1, order=0), GRID[::-1])


@pytest.mark.parametrize("mode, far, near", [
    ("wrap", 999_997.25, 1.25), ("wrap", -999_997.25, -1.25),       # period 4
    ("reflect", 999_993.25, 3.25), ("reflect", -999_993.25, -3.25),  # period 10
])
def test_a_shift_of_a_million_pixels_wraps_and_reflects_exactly(mode, far, near):
    row = np.arange(5, dtype=np.float32).reshape(1, 5, 1)
    for order in (0, 1):
        assert_array_equal(
            apply_affine_transform(row, tx=far, fill_mode=mode, order=order),
            apply_affine_transform(row, tx=near, fill_mode=mode, order=order))


def test_channel_shift_past_float32_saturates_without_a_warning():
    x = np.full((2, 2, 1), 3e38, np.float32)
    x[0, 0] = -3e38
    out = ImageDataGenerator().apply_transform(x, {"channel_shift_intensity": 3e38})
    # -3e38 + 3e38 = 0; 3e38 + 3e38 overflows float32 and is clipped to the max
    assert_array_equal(out, np.array([[0, 3e38], [3e38, 3e38]], np.float32)[..., None])


def test_transform_parameters_must_be_a_dict():
    with pytest.raises(WrongTypeError, match="`transform_parameters` must be a dict"):
        ImageDataGenerator().apply_transform(GRID, [("theta", 10)])


# What a child process runs before each snippet: a crash (the segfaults of
# issue 15) or a hang then fails one test instead of ending pytest.
PRELUDE = """
import json, math
import numpy as np
from convsim.preprocessing import affine
from convsim.preprocessing.image import ImageDataGenerator, apply_affine_transform

def outcome(call):
    try:
        out = call()
    except Exception as error:
        return [type(error).__name__, str(error)]
    return ["returned", float(np.min(out)), float(np.max(out))]
"""


def isolated(code: str, timeout: float = 300):
    """Run ``code`` in a fresh Python; return the JSON it printed last."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.subprocess
@pytest.mark.parametrize("call, name", [
    ("theta=math.nan, fill_mode='reflect'", "theta"),
    ("theta=math.nan, fill_mode='reflect', order=0", "theta"),
    ("tx=math.inf, fill_mode='reflect'", "tx"),
])
def test_non_finite_parameter_on_a_large_image_is_refused_not_a_segfault(call,
                                                                        name):
    kind, message = isolated(f"""
        x = np.ones((2000, 2000, 3), np.float32)
        print(json.dumps(outcome(lambda: apply_affine_transform(x, {call}))))
    """)[:2]
    assert kind == "ArgumentError"
    assert message.startswith(f"`{name}` must be a finite number"), message


@pytest.mark.subprocess
def test_every_warp_parameter_refuses_non_finite_and_huge_values_naming_itself():
    found = isolated("""
        x = np.random.default_rng(0).uniform(1, 2, (32, 32, 3)).astype(np.float32)
        found = {}
        for name in ("theta", "tx", "ty", "shear", "zx", "zy", "cval"):
            beyond = 1e39 if name == "cval" else 2e6  # past the name's bound
            for value in (math.nan, math.inf, -math.inf, 1e308, -1.7e308, 10**400,
                          beyond):
                for mode in ("nearest", "reflect", "wrap", "constant"):
                    for order in (0, 1):
                        found[f"{name}={value!r:.12} {mode} {order}"] = outcome(
                            lambda: apply_affine_transform(
                                x, **{name: value}, fill_mode=mode, order=order))
        print(json.dumps(found))
    """)
    assert len(found) == 7 * 7 * 8
    wrong = {key: result for key, result in found.items()
             if result[0] != "ArgumentError"
             or not result[1].startswith(f"`{key.split('=')[0]}` must be a finite")}
    assert not wrong


@pytest.mark.subprocess
def test_apply_transform_checks_the_parameters_it_is_given():
    found = isolated("""
        x = np.ones((64, 64, 3), np.float32)
        gen = ImageDataGenerator(fill_mode="reflect")
        found = {}
        for key in ("theta", "tx", "ty", "shear", "zx", "zy",
                    "channel_shift_intensity", "brightness"):
            for value in (math.nan, math.inf, 1e308):
                found[f"{key}={value}"] = outcome(
                    lambda: gen.apply_transform(x, {key: value}))
        print(json.dumps(found))
    """)
    assert len(found) == 8 * 3
    for key, (kind, message, *_) in found.items():
        name = key.split("=")[0]
        assert kind == "ArgumentError", (key, kind, message)
        assert message.startswith(f"`transform_parameters['{name}']` must be"), message


@pytest.mark.subprocess
def test_warp_batch_refuses_matrices_that_are_not_finite_or_reach_too_far():
    found = isolated("""
        batch = np.ones((2, 40, 30, 1), np.float32)
        ok = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (2, 1, 1))
        flags = np.zeros(2, np.bool_)
        found = {}
        for label, (i, j, k, value) in {
                "nan": (1, 0, 2, math.nan), "inf": (0, 1, 1, math.inf),
                "far offset": (1, 1, 2, 1.1e10), "far slope": (0, 0, 0, 3e8),
                "1e308": (1, 0, 1, 1e308), "just inside": (1, 1, 2, 9.9e9)}.items():
            m = ok.copy()
            m[i, j, k] = value
            found[label] = outcome(
                lambda: affine.warp_batch(batch, m, flags, 1, "reflect", 0.0))
        found["shapes"] = outcome(
            lambda: affine.warp_batch(batch, ok[:1], flags, 1, "wrap", 0.0))
        found["cval"] = outcome(
            lambda: affine.warp_batch(batch, ok, flags, 1, "constant", math.nan))
        print(json.dumps(found))
    """)
    for label in ("nan", "inf"):
        kind, message = found[label]
        assert kind == "ArgumentError" and message.startswith(
            "Every warp matrix must hold finite numbers. Received: matrices["), message
    for label in ("far offset", "far slope", "1e308"):
        kind, message = found[label]
        assert kind == "ArgumentError" and "at most 1e+10 are allowed" in message
    assert found["just inside"] == ["returned", 1.0, 1.0]
    assert found["shapes"][0] == "ArgumentError"
    assert "needs `matrices` of shape (2, 2, 3)" in found["shapes"][1]
    assert found["cval"][0] == "ArgumentError"
    assert found["cval"][1].startswith("`cval` must be a finite float32 number")


# ------------------------------------------------------------------- fuzzing
# The property of the whole warp path, for any parameters: refused with an
# ArgumentError naming the first unusable one, or every output value is an
# input value (order 0), a blend of input values (order 1), or cval.

BOUNDS = {"theta": 1e6, "tx": 1e6, "ty": 1e6, "shear": 1e6, "zx": 1e3, "zy": 1e3,
          "cval": float(np.finfo(np.float32).max)}
hostile = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 1e15, 1e6 + 1,
                     1001.0, 3.5e38, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
usable = {name: st.floats(-bound, bound) for name, bound in BOUNDS.items()}
usable.update(tx=st.one_of(st.floats(-20, 20), usable["tx"]),
              zx=st.one_of(st.floats(-3, 3), usable["zx"]),
              cval=st.floats(-1e3, 1e3))
shapes = st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3]))


def within(value, bound: float) -> bool:
    try:
        return abs(float(value)) <= bound  # False for NaN
    except OverflowError:  # 10**400
        return False


def assert_input_values_or_fill(out, x, order, fill=None):
    allowed = (out >= x.min()) & (out <= x.max())
    if fill is not None:
        allowed |= out == fill
    assert allowed.all(), out
    if order == 0:
        assert set(out.ravel().tolist()) <= set(x.ravel().tolist()) | {fill}


@given(shape=shapes, params=st.fixed_dictionaries(usable),
       bad=st.one_of(st.tuples(st.sampled_from(sorted(BOUNDS)), hostile), st.none()),
       seed=st.integers(0, 2**16))
def test_warp_path_refuses_naming_the_parameter_or_returns_input_values(
        shape, params, bad, seed):
    if bad is not None:
        params[bad[0]] = bad[1]
    x = np.random.default_rng(seed).uniform(-5, 5, shape).astype(np.float32)
    refused = [name for name in ("theta", "tx", "ty", "shear", "zx", "zy", "cval")
               if not within(params[name], BOUNDS[name])]
    for mode in MODES:
        for order in (0, 1):
            if refused:
                with pytest.raises(ArgumentError, match=rf"^`{refused[0]}` must be"):
                    apply_affine_transform(x, **params, fill_mode=mode, order=order)
                continue
            out = apply_affine_transform(x, **params, fill_mode=mode, order=order)
            assert out.shape == x.shape and out.dtype == np.float32
            fill = np.float32(params["cval"]) if mode == "constant" else None
            assert_input_values_or_fill(out, x, order, fill)


range_value = st.one_of(st.floats(0, 1e6), st.integers(0, 10**7),
                        st.lists(st.floats(-1e7, 1e7), min_size=1, max_size=3),
                        hostile)
zoom_value = st.one_of(st.floats(0, 1.5),
                       st.lists(st.floats(-1, 2e3), min_size=2, max_size=2), hostile)


@given(kwargs=st.fixed_dictionaries({}, optional={
           "rotation_range": range_value, "width_shift_range": range_value,
           "height_shift_range": range_value, "shear_range": range_value,
           "zoom_range": zoom_value, "cval": hostile | st.floats(-9, 9)}),
       shape=shapes, seed=st.integers(0, 2**16))
def test_generator_refuses_at_once_or_yields_only_input_values(kwargs, shape, seed):
    x = np.random.default_rng(seed).uniform(-5, 5, (3, *shape)).astype(np.float32)
    for mode in MODES:
        for order in (0, 1):
            try:
                gen = ImageDataGenerator(**kwargs, fill_mode=mode,
                                         interpolation_order=order)
            except ArgumentError:
                return
            batch = next(gen.flow(x, batch_size=3, shuffle=False, seed=seed))
            fill = np.float32(gen.cval) if mode == "constant" else None
            for out, picture in zip(batch, x, strict=True):
                assert_input_values_or_fill(out, picture, order, fill)
