"""ImageDataGenerator: hand-computed transforms, Keras's random ranges, properties.

Hand-worked cases use a small image whose pixels are all different (so any
mix-up of rows, columns or directions shows), and ``interpolation_order=0``
where the expected result is a pure rearrangement of pixels.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from convsim.preprocessing import image
from convsim.preprocessing.affine import transform_matrix
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
    ({"rotation_range": -10}, r"`rotation_range` must be a finite number >= 0. "
                              r"Received: rotation_range=-10"),
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
