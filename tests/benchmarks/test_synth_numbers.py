"""benchmarks.synth_numbers: digits placed to touch, and the underline below them."""

import numpy as np

from benchmarks.synth_numbers import number_alpha, touching_column


def test_touching_column_puts_the_new_ink_right_after_the_old():
    canvas = np.zeros((10, 30), np.float32)
    canvas[2:8, 5:9] = 1.0  # old ink ends at column 8
    mask = np.zeros((6, 6), np.float32)
    mask[:, 2:4] = 1.0  # new ink starts 2 columns into its mask
    assert touching_column(canvas, mask, top=2) == 7  # 7 + 2 = 9, the column after 8
    assert touching_column(canvas, mask, top=8) is None  # no row shared


def test_touching_digits_touch_and_the_underline_lies_below():
    digits = [np.zeros((28, 28), np.uint8) for _ in range(3)]
    for digit in digits:
        digit[4:24, 8:20] = 255  # a solid bar: pen-stroke and marker alphas both exist
        digit[8:20, 12:16] = 0
    contacts: list[bool] = []
    spaced = number_alpha(digits, 60, np.random.default_rng(1), ("marker", 0.1), False, False)
    touching = number_alpha(digits, 60, np.random.default_rng(1), ("marker", 0.1), True, False, contacts)
    underlined = number_alpha(digits, 60, np.random.default_rng(1), ("marker", 0.1), True, True)
    assert contacts == [True, True]
    assert touching.shape[1] < spaced.shape[1]
    assert underlined.shape[0] > touching.shape[0]
