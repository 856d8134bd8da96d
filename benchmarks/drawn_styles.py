"""How the digit classifier reads MNIST test digits redrawn in hands MNIST's writers seldom used.

Each drawn style of :mod:`training.augment` (the continental 1 and 7, the 9 on a curled stem,
the 4 whose stem stops at the bar, ...) redraws every MNIST *test* digit it applies to (rate
1, one seed), and the classifier, as served (LiteRT), reads each redrawn digit. Printed per
style and digit: how many were redrawn, how many of them are read right as drawn by MNIST's
writer and as redrawn, and what the wrong answers were. The styles are the real confusions
that the training options were written for (cheques' "L"-like 4 read 6, registers' "ʒ" 3
read 2, ...): a model trained with a style should read that row better without lowering the
others, and a row that stays low shows a hand the model still cannot read. MNIST's test digits
are never trained on, so this is a yardstick beside the real dev sets, not instead of them.

Usage::

    python -m benchmarks.drawn_styles [--mnist ../shared/data/mnist.npz] [--model models/digit_cnn.tflite]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.config import DEFAULT_MODEL_PATH, NOT_A_DIGIT, NUM_OUTPUTS
from benchmarks.synth_photos import DEFAULT_MNIST
from training import augment

#: ``(name, style function of training.augment, the digits it redraws)``.
STYLES = (
    ("continental 1 and 7", augment.add_continental_styles, (1, 7)),
    ("long-flagged 1", augment.add_long_flagged_ones, (1,)),
    ("looped 9 and 2", augment.add_looped_styles, (9, 2)),
    ("cursive 2 and 3", augment.add_cursive_loops, (2, 3)),
    ("ring-on-stem 9", augment.add_stemmed_nines, (9,)),
    ("curled-stem 9", augment.add_curled_nines, (9,)),
    ("footless 4", augment.add_footless_fours, (4,)),
    ("flat-topped 3", augment.add_flat_topped_threes, (3,)),
    ("lifted-bar 5", augment.add_lifted_bar_fives, (5,)),
    ("hooked 7", augment.add_hooked_sevens, (7,)),
)


def read_styles(predict, images: np.ndarray, labels: np.ndarray, seed: int = 1) -> list[dict]:
    """Redraw ``images`` in every style of :data:`STYLES` and read them.

    Args:
        predict: maps uint8 (N, 28, 28) white-on-black digits to the classes read, int (N,)
            in [0, NUM_OUTPUTS) (:data:`core.config.NOT_A_DIGIT` is "not a digit").
        images: uint8 (N, 28, 28) MNIST test digits; labels: int (N,) in 0-9.
        seed: the style functions' seed (which strokes are drawn).

    Returns:
        One dict per style and digit: ``style``, ``digit``, ``redrawn`` (count), ``right_before``
        and ``right_after`` (counts read right, as MNIST drew them and redrawn) and ``wrong_as``
        (int (NUM_OUTPUTS,) counts of the wrong answers after redrawing).
    """
    rows = []
    for name, draw, digits in STYLES:
        redrawn = draw(images, labels, rate=1.0, seed=seed)
        changed = (redrawn != images).any(axis=(1, 2))
        for digit in digits:
            picked = changed & (labels == digit)
            before = predict(images[picked])
            after = predict(redrawn[picked])
            rows.append({
                "style": name, "digit": digit, "redrawn": int(picked.sum()),
                "right_before": int((before == digit).sum()), "right_after": int((after == digit).sum()),
                "wrong_as": np.bincount(after[after != digit], minlength=NUM_OUTPUTS),
            })
    return rows


def format_rows(rows: list[dict]) -> list[str]:
    """The report's lines: one per style and digit, the commonest wrong answers named."""
    lines = [f"{'style':22} {'digit':>5} {'redrawn':>8} {'right as drawn':>15} {'redrawn, right':>15}  wrong answers"]
    for row in rows:
        count = max(1, row["redrawn"])
        order = np.argsort(-row["wrong_as"], kind="stable")
        wrong = ", ".join(f"{'not a digit' if label == NOT_A_DIGIT else label} x{row['wrong_as'][label]}"
                          for label in order[:3] if row["wrong_as"][label])
        lines.append(f"{row['style']:22} {row['digit']:>5} {row['redrawn']:>8} "
                     f"{100 * row['right_before'] / count:>14.1f}% {100 * row['right_after'] / count:>14.1f}%  {wrong}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; always returns 0 (a report, not a test)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", type=Path, default=DEFAULT_MNIST, help="Keras-layout mnist.npz")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, help="the classifier's .keras or .tflite")
    parser.add_argument("--seed", type=int, default=1, help="the style functions' seed")
    args = parser.parse_args(argv)
    if not args.mnist.is_file():
        print(f"SKIP: {args.mnist} is absent (MNIST is never committed; see ../shared/data/README.md)")
        return 0
    from core.classifier import Classifier
    from core.preprocessing import to_model_input

    classifier = Classifier.from_path(args.model, reader_paths=None)
    with np.load(args.mnist) as data:
        images, labels = data["x_test"], data["y_test"]

    def predict(batch: np.ndarray) -> np.ndarray:
        return classifier.predict_probabilities(to_model_input(batch)).argmax(axis=1)

    print(f"MNIST test digits redrawn in each style of training.augment (rate 1, seed {args.seed}), "
          f"read by {classifier.path}")
    for line in format_rows(read_styles(predict, images, labels, seed=args.seed)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
