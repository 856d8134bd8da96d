"""Training augmentation: the random distortions and the drawn handwriting styles."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def batch(mnist_sample):
    """64 MNIST digits as float32 (64, 28, 28, 1) in [0, 1] and their labels."""
    x, y = mnist_sample
    return x[:64].astype(np.float32)[..., None] / 255.0, y[:64]


def test_augment_batch_keeps_range_and_shape_and_varies(batch):
    import tensorflow as tf

    from training.augment import AugmentConfig, augment_batch

    images, _ = batch
    tf.random.set_seed(3)
    out = augment_batch(tf.constant(images), AugmentConfig()).numpy()
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert (np.abs(out - images).mean(axis=(1, 2, 3)) > 0.005).mean() > 0.9
    assert (out.max(axis=(1, 2, 3)) > 0.5).all(), "no digit wiped out"


def test_augmented_digits_stay_readable(batch, shipped_classifier):
    """The shipped model reads most augmented digits right: the distortions change the
    style, not the class (a broken augmentation that garbles digits fails this)."""
    import tensorflow as tf

    from training.augment import AugmentConfig, augment_batch

    images, labels = batch
    tf.random.set_seed(11)
    out = augment_batch(tf.constant(images), AugmentConfig()).numpy()
    predicted = shipped_classifier.predict_probabilities(out).argmax(axis=1)
    assert (predicted == labels).mean() >= 0.9


def test_continental_styles_draw_on_ones_and_sevens_only(mnist_sample):
    from training.augment import add_continental_styles

    x, y = mnist_sample
    styled = add_continental_styles(x, y, rate=1.0, seed=5)
    changed = (styled != x).any(axis=(1, 2))
    assert not changed[(y != 1) & (y != 7)].any()
    assert changed[y == 1].mean() > 0.9 and changed[y == 7].mean() > 0.8
    # A stroke is added: more ink on every changed digit.
    ink = styled[changed].astype(int).sum(axis=(1, 2)) - x[changed].astype(int).sum(axis=(1, 2))
    assert (ink > 0).all()
    np.testing.assert_array_equal(add_continental_styles(x, y, rate=1.0, seed=5), styled)


def test_looped_styles_draw_on_nines_and_twos_only_and_stay_framed(mnist_sample, shipped_classifier):
    from training.augment import add_looped_styles

    x, y = mnist_sample
    looped = add_looped_styles(x, y, rate=1.0, seed=5)
    assert looped.shape == x.shape and looped.dtype == np.uint8
    changed = (looped != x).any(axis=(1, 2))
    assert not changed[(y != 9) & (y != 2)].any()
    assert changed[y == 9].mean() > 0.9 and changed[y == 2].mean() > 0.9
    # Framed again as MNIST is: the ink fits a 20x20 box, off the frame's edge (nothing cut or wrapped).
    for image in looped[changed]:
        rows, columns = np.nonzero(image)
        assert rows.min() >= 1 and rows.max() <= 26 and columns.min() >= 1 and columns.max() <= 26
        assert max(rows.max() - rows.min(), columns.max() - columns.min()) <= 20
        assert image.max() >= 200
    np.testing.assert_array_equal(add_looped_styles(x, y, rate=1.0, seed=5), looped)
    np.testing.assert_array_equal(add_looped_styles(x, y, rate=0.0, seed=5), x)
    # Still 9s and 2s to a model trained without them, mostly (the style is new to it, not garbled).
    predicted = shipped_classifier.predict_probabilities(looped[changed].astype(np.float32)[..., None] / 255.0)
    assert (predicted.argmax(axis=1) == y[changed]).mean() >= 0.6


def _redrawn_nines(redrawn: np.ndarray, x: np.ndarray, y: np.ndarray) -> list:
    """Check what a 9-redrawing style changed (only 9s, most but not all, ink inside the frame)
    and return ``(rows, columns, loop box)`` of the ink of each changed 9 whose loop survived
    framing (shrinking to 20x20 can close a small loop up: nothing to measure there)."""
    import cv2

    assert redrawn.shape == x.shape and redrawn.dtype == np.uint8
    changed = (redrawn != x).any(axis=(1, 2))
    assert not changed[y != 9].any()
    assert 0.6 < changed[y == 9].mean() < 1.0, "closed-loop 9s are redrawn, open ones are left"
    measured = []
    for image in redrawn[changed]:
        rows, columns = np.nonzero(image > 96)
        assert rows.min() >= 1 and rows.max() <= 26 and columns.min() >= 1 and columns.max() <= 26
        contours, hierarchy = cv2.findContours((image > 96).astype(np.uint8), cv2.RETR_CCOMP,
                                               cv2.CHAIN_APPROX_NONE)
        holes = [c for c, links in zip(contours, hierarchy[0]) if links[3] >= 0]
        if holes:
            measured.append((rows, columns, cv2.boundingRect(max(holes, key=cv2.contourArea))))
    return measured


def test_stemmed_nines_hang_a_stem_below_the_loop_of_closed_nines_only(mnist_sample):
    from training.augment import add_stemmed_nines

    x, y = mnist_sample
    stemmed = add_stemmed_nines(x, y, rate=1.0, seed=5)
    for rows, columns, (left, top, width, height) in _redrawn_nines(stemmed, x, y):
        # The loop is on top and the stem hangs from its bottom: the ink's foot is not right
        # of the loop, as an MNIST 9's stem usually is.
        assert top + height < rows.max() - 2
        assert columns[rows >= rows.max() - 1].mean() <= left + width + 1
    np.testing.assert_array_equal(add_stemmed_nines(x, y, rate=1.0, seed=5), stemmed)
    np.testing.assert_array_equal(add_stemmed_nines(x, y, rate=0.0, seed=5), x)


def test_curled_nines_hang_a_leaning_stem_below_the_loop_of_closed_nines_only(mnist_sample):
    from training.augment import add_curled_nines, add_stemmed_nines

    x, y = mnist_sample
    curled = add_curled_nines(x, y, rate=1.0, seed=5)
    feet_right = []
    for rows, columns, (left, top, width, height) in _redrawn_nines(curled, x, y):
        assert top + height < rows.max() - 2, "the loop is on top, the stem below it"
        feet_right.append(columns[rows >= rows.max() - 1].mean() > left + width / 2)
    assert 0.1 < np.mean(feet_right) < 0.9, "stems lean both ways, unlike add_stemmed_nines'"
    assert not np.array_equal(curled, add_stemmed_nines(x, y, rate=1.0, seed=5))
    np.testing.assert_array_equal(add_curled_nines(x, y, rate=1.0, seed=5), curled)
    np.testing.assert_array_equal(add_curled_nines(x, y, rate=0.0, seed=5), x)


def _restyled_only(style, digit: int, x, y, seed: int, share: float):
    """``style`` (an ``add_*`` of training.augment) at rate 1 on ``x, y``: a uint8 copy of the
    same shape in which only images of ``digit`` changed, more than ``share`` of them, each
    still inside the frame MNIST leaves (rows and columns 1-26); the same again with the same
    seed, and nothing changed at rate 0. Returns ``(styled, changed)``, changed a bool (N,)."""
    styled = style(x, y, rate=1.0, seed=seed)
    assert styled.shape == x.shape and styled.dtype == np.uint8
    changed = (styled != x).any(axis=(1, 2))
    assert not changed[y != digit].any() and changed[y == digit].mean() > share
    for image in styled[changed]:
        rows, columns = np.nonzero(image > 96)
        assert rows.min() >= 1 and rows.max() <= 26 and columns.min() >= 1 and columns.max() <= 26
    np.testing.assert_array_equal(style(x, y, rate=1.0, seed=seed), styled)
    np.testing.assert_array_equal(style(x, y, rate=0.0, seed=seed), x)
    return styled, changed


def test_long_flagged_ones_grow_a_flag_to_the_lower_left_of_ones_only(mnist_sample):
    from training.augment import add_long_flagged_ones

    x, y = mnist_sample
    flagged, changed = _restyled_only(add_long_flagged_ones, 1, x, y, seed=5, share=0.9)

    def aspect(image):
        rows, columns = np.nonzero(image > 96)
        return (columns.max() - columns.min() + 1) / (rows.max() - rows.min() + 1)

    ones = np.flatnonzero(changed)
    # A 1 is a bar; with a flag as long as most of its stem it is about as wide as tall.
    assert np.median([aspect(flagged[i]) for i in ones]) > np.median([aspect(x[i]) for i in ones]) + 0.2
    for index in ones:
        rows, columns = np.nonzero(flagged[index] > 96)
        # The flag leaves the top of the stem towards the lower left: the top is right of the
        # leftmost ink.
        assert columns[rows <= rows.min() + 1].mean() > columns.min() + 2


def test_hooked_sevens_hang_a_hook_below_the_left_end_of_the_bar_of_sevens_only(mnist_sample):
    from training.augment import add_hooked_sevens

    x, y = mnist_sample
    hooked, changed = _restyled_only(add_hooked_sevens, 7, x, y, seed=7, share=0.9)

    def upper_left_ink(image):
        """Ink under the top fifth, in the left third of the digit's box, as a share of its area."""
        rows, columns = np.nonzero(image > 96)
        top, height = rows.min(), rows.max() - rows.min() + 1
        left, width = columns.min(), columns.max() - columns.min() + 1
        box = image[int(top + 0.2 * height):int(top + 0.55 * height), left:int(left + width / 3) + 1]
        return (box > 96).mean()

    sevens = np.flatnonzero(changed)
    # MNIST's 7s leave that corner empty (the bar goes right, the stem comes down on the right).
    assert np.median([upper_left_ink(hooked[i]) for i in sevens]) > np.median([upper_left_ink(x[i]) for i in sevens]) + 0.1


def test_footless_fours_lose_the_stem_below_the_bar_of_fours_only(mnist_sample):
    from training.augment import add_footless_fours

    x, y = mnist_sample
    footless, changed = _restyled_only(add_footless_fours, 4, x, y, seed=9, share=0.8)

    def bottom_width(image):
        """Width of the bottom fifth's ink, as a share of the digit's width."""
        rows, columns = np.nonzero(image > 96)
        bottom = columns[rows >= rows.max() - 0.2 * (rows.max() - rows.min())]
        return (bottom.max() - bottom.min() + 1) / (columns.max() - columns.min() + 1)

    fours = np.flatnonzero(changed)
    # MNIST's 4s end in the stem's narrow foot; a footless 4 ends in its bar, the "L"'s base.
    assert np.median([bottom_width(footless[i]) for i in fours]) > np.median([bottom_width(x[i]) for i in fours]) + 0.3
    for index in fours:
        rows, columns = np.nonzero(footless[index] > 96)
        # stretched back to the digit's height: a tall "L", not a squat "u"
        assert rows.max() - rows.min() >= 0.8 * (columns.max() - columns.min())


def test_flat_topped_threes_get_a_straight_bar_on_top_of_threes_only(mnist_sample):
    from training.augment import add_flat_topped_threes

    x, y = mnist_sample
    flat, changed = _restyled_only(add_flat_topped_threes, 3, x, y, seed=10, share=0.9)

    def top_bar(image):
        """Share of the digit's width inked in its fullest row among the top eighth: a bar is wide."""
        rows, columns = np.nonzero(image > 96)
        width = columns.max() - columns.min() + 1
        band = image[rows.min():rows.min() + max(2, (rows.max() - rows.min()) // 8)] > 96
        return band.sum(axis=1).max() / width

    threes = np.flatnonzero(changed)
    # MNIST's 3s start in a round arc; the flat-topped ones in a straight bar.
    assert np.median([top_bar(flat[i]) for i in threes]) > np.median([top_bar(x[i]) for i in threes]) + 0.15


def test_lifted_bar_fives_get_a_bar_apart_from_the_body_of_fives_only(mnist_sample):
    import cv2

    from training.augment import add_lifted_bar_fives

    x, y = mnist_sample
    lifted, changed = _restyled_only(add_lifted_bar_fives, 5, x, y, seed=11, share=0.9)

    def pieces(image):
        """Connected pieces of ink bigger than 3 pixels."""
        count, _, stats, _ = cv2.connectedComponentsWithStats((image > 96).astype(np.uint8), connectivity=8)
        return int((stats[1:, cv2.CC_STAT_AREA] > 3).sum())

    fives = np.flatnonzero(changed)
    # MNIST's 5s are mostly one stroke; a lifted bar is a second piece.
    assert np.mean([pieces(lifted[i]) >= 2 for i in fives]) > np.mean([pieces(x[i]) >= 2 for i in fives]) + 0.4


def test_cursive_loops_close_a_loop_low_in_twos_and_threes_only(mnist_sample):
    import cv2

    from training.augment import add_cursive_loops

    x, y = mnist_sample
    looped = add_cursive_loops(x, y, rate=1.0, seed=5)
    assert looped.shape == x.shape and looped.dtype == np.uint8
    changed = (looped != x).any(axis=(1, 2))
    assert not changed[(y != 2) & (y != 3)].any()
    assert changed[y == 2].mean() > 0.9 and changed[y == 3].mean() > 0.9

    def holes_in_lower_half(image):
        mask = (image > 96).astype(np.uint8)
        rows = np.flatnonzero(mask.any(axis=1))
        contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        if hierarchy is None:
            return 0
        return sum(1 for contour, links in zip(contours, hierarchy[0])
                   if links[3] >= 0 and cv2.boundingRect(contour)[1] >= (rows[0] + rows[-1]) / 2 - 2)

    for digit in (2, 3):
        indices = np.flatnonzero(changed & (y == digit))
        # the drawn loop is a hole low in the digit (one shrunk shut by the reframing is not)
        gained = np.mean([holes_in_lower_half(looped[i]) > holes_in_lower_half(x[i]) for i in indices])
        assert gained > 0.5, (digit, gained)
    for image in looped[changed]:
        rows, columns = np.nonzero(image)
        assert rows.min() >= 1 and rows.max() <= 26 and columns.min() >= 1 and columns.max() <= 26
        assert max(rows.max() - rows.min(), columns.max() - columns.min()) <= 20
    np.testing.assert_array_equal(add_cursive_loops(x, y, rate=1.0, seed=5), looped)
    np.testing.assert_array_equal(add_cursive_loops(x, y, rate=0.0, seed=5), x)


def test_style_rate_arguments_are_shares_checked_by_argparse(capsys):
    import argparse

    from training.augment import STYLE_RATE_HELP, add_style_rate_arguments

    parser = argparse.ArgumentParser(prog="train")
    add_style_rate_arguments(parser, ("curled", "long-flag"))
    args = parser.parse_args(["--curled-rate", "0.35"])
    assert (args.curled_rate, args.long_flag_rate) == (0.35, 0.0)
    assert parser.parse_args(["--long-flag-rate", "1"]).long_flag_rate == 1.0
    for bad, message in (("1.5", "must be between 0 and 1, got 1.5"), ("-0.1", "must be between 0 and 1"),
                         ("many", "not a number: 'many'")):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(["--curled-rate", bad])
        assert exit_info.value.code == 2
        assert f"argument --curled-rate: {message}" in capsys.readouterr().err
    assert "add_long_flagged_ones" in parser.format_help() and "--stemmed-rate" not in parser.format_help()
    with pytest.raises(KeyError):
        add_style_rate_arguments(argparse.ArgumentParser(), ("plaid",))
    assert set(STYLE_RATE_HELP) == {"elastic", "looped", "stemmed", "curled", "long-flag", "cursive", "hooked", "footless",
                                   "flat-top", "lifted-bar"}
