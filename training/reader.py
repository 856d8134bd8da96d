"""Train the number reader (:mod:`core.reader`) on synthetic lines and export it for LiteRT.

The network is a CRNN (Shi, Bai and Yao 2015) trained with the CTC loss (Graves et al.
2006): five 3x3 convolutions (batch-normalised, ReLU) with max pooling reduce the (32, 256)
line to 64 time steps of 160 features; a dense layer and two residual 1-D convolutions
(kernel 3) give each step the context of its neighbours; a dense layer gives 11 logits
(the blank, then the digits 0-9). About 0.21 M parameters, 0.9 MB as ``.tflite``.
:func:`grow_reader` adds dilated residual blocks to a trained reader (``--grow``).

Data: lines of MNIST *training* digits from :mod:`training.number_lines` (with a continental
copy of some 1s and 7s, :func:`training.augment.add_continental_styles`), generated once
per run in worker processes; a held-out set of lines from other random seeds measures
how many lines are read exactly. Writes, atomically, beside each other:

- ``models/number_reader.keras``: the Keras model (for further training);
- ``models/number_reader.tflite``: what serving runs (:class:`core.reader.NumberReader`),
  checked against the Keras model on the held-out lines (same reading; logits within
  a tolerance);
- ``models/number_reader.json``: its card (data, epochs, held-out accuracy, time).

Usage::

    python -m training.reader --data ../shared/data/mnist.npz [--lines 120000] [--epochs 8]

or, to average the weights of fine-tunes of one reader (:func:`average_readers`)::

    python -m training.reader --data ../shared/data/mnist.npz --average a.keras b.keras --out /tmp/soup
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.config import MODELS_DIR
from core.litert import softmax
from core.reader import (
    LINE_HEIGHT,
    LINE_WIDTH,
    MAX_LENGTH,
    READER_CLASSES,
    TIME_STEPS,
    ctc_greedy_decode,
)
from training.augment import add_style_rate_arguments, share
from training.font_digits import add_font_arguments
from training.number_lines import LENGTH_WEIGHTS, LineOptions

READER_KERAS = "number_reader.keras"
READER_TFLITE = "number_reader.tflite"
READER_CARD = "number_reader.json"
#: Largest difference in softmax probability allowed between the Keras model and its export.
PARITY_TOLERANCE = 1e-4


#: Reader sizes: the convolutions' filters (the first strided), the width of the sequence
#: layers and the dilation of each residual 1-D convolution block. "small" is the shipped
#: readers' (214k parameters); "wide" has about 2.2 times the parameters and twice the cost,
#: and its dilated blocks see about 15 time steps (60 px of the line) each way instead of 2.
READER_SIZES = {
    "small": ((16, 32, 48, 64, 80), 128, (1, 1)),
    "wide": ((24, 48, 64, 96, 128), 160, (1, 2, 4)),
}


def build_reader(seed: int = 0, size: str = "small"):
    """The CRNN: float32 (N, 32, 256, 1) lines in [0, 1] to logits (N, 64, 11).

    Args:
        seed: for the initial weights.
        size: one of :data:`READER_SIZES`.

    Raises:
        ValueError: an unknown ``size``.
    """
    import keras
    from keras import layers

    if size not in READER_SIZES:
        raise ValueError(f"unknown reader size {size!r}; expected one of {sorted(READER_SIZES)}")
    filters_by_layer, width, dilations = READER_SIZES[size]
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    x = inputs
    # The full-resolution layers are the costly ones on a CPU: a strided convolution and no
    # batch normalisation there.
    x = layers.Conv2D(filters_by_layer[0], 3, strides=2, padding="same", activation="relu")(x)
    for filters, pool in zip(filters_by_layer[1:], ((2, 2), (2, 1), None, (2, 1))):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(pool)(x)
    # (N, 2, 64, C) -> (N, 64, 2C): one feature vector per 4-pixel column strip.
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((TIME_STEPS, -1))(x)
    x = layers.Dense(width, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    for dilation in dilations:
        y = layers.Conv1D(width, 3, padding="same", dilation_rate=dilation, activation="relu")(x)
        y = layers.Dropout(0.1)(y)
        x = layers.Add()([x, y])
    outputs = layers.Dense(READER_CLASSES, name="logits")(x)
    return keras.Model(inputs, outputs, name="number_reader")


#: Dilations of the residual blocks :func:`grow_reader` adds, in order (a block per entry used).
GROWTH_DILATIONS = (2, 4, 8)


def grow_reader(model, blocks: int, seed: int = 0):
    """The reader with ``blocks`` more residual 1-D convolution blocks before its logits layer.

    Each block is a dilated Conv1D(128, kernel 3, ReLU, dilation 2, 4, 8 in turn) then a
    Conv1D(128, kernel 1) whose kernel and bias start at zero, added to its input. So the grown
    model reads exactly as ``model`` does until training moves the new weights, and what the
    parent learned is kept (function-preserving growth, as in Net2Net: Chen, Goodfellow and
    Shlens 2016; zero-initialised residual branches: Goyal et al. 2017). The dilations widen
    each time step's context from about 7 steps (28 px of the 256-px line) to about 35.

    Args:
        model: a reader from :func:`build_reader` (or an earlier growth): (N, 32, 256, 1) lines
            to (N, 64, 11) logits, whose last layer is named ``"logits"`` and takes the
            output of the layer before it.
        blocks: how many blocks to add, 1 to ``len(GROWTH_DILATIONS)`` less the blocks
            ``model`` already has.
        seed: for the new blocks' first convolutions.

    Returns:
        A new Keras model of the same input and output shapes; the parent's layers (and
        weights) are shared, not copied.

    Raises:
        ValueError: ``blocks`` out of range, or the last layer is not ``"logits"``.
    """
    import keras
    from keras import layers

    grown = sum(layer.name.startswith("growth_") and layer.name.endswith("_add") for layer in model.layers)
    if not 1 <= blocks <= len(GROWTH_DILATIONS) - grown:
        raise ValueError(f"grow by 1 to {len(GROWTH_DILATIONS) - grown} blocks, not {blocks}")
    logits = model.layers[-1]
    if logits.name != "logits":
        raise ValueError("the reader's last layer is not its logits layer")
    keras.utils.set_random_seed(seed)
    # The logits layer is shared with every model grown from this one, so its own input is
    # the first model's; the layer before it (called once) gives this model's features.
    x = model.layers[-2].output
    for index, dilation in enumerate(GROWTH_DILATIONS[grown:grown + blocks], start=grown):
        y = layers.Conv1D(128, 3, padding="same", dilation_rate=dilation, activation="relu",
                          name=f"growth_{index}_conv")(x)
        y = layers.Conv1D(128, 1, kernel_initializer="zeros", name=f"growth_{index}_out")(y)
        x = layers.Add(name=f"growth_{index}_add")([x, y])
    return keras.Model(model.inputs, logits(x), name="number_reader")


def ctc_loss(y_true, y_pred):
    """CTC loss per line: targets int (N, 12) holding digit + 1, 0 after the end; logits (N, 64, 11)."""
    from keras import ops

    targets = ops.cast(y_true, "int32")
    target_length = ops.sum(ops.cast(targets > 0, "int32"), axis=1)
    output_length = ops.full((ops.shape(y_pred)[0],), TIME_STEPS, dtype="int32")
    return ops.ctc_loss(targets, y_pred, target_length, output_length, mask_index=0)


def distillation_loss(weight: float, max_length: int):
    """The CTC loss plus ``weight`` times the KL divergence from a teacher reader's softmax to
    this reader's, summed over the time steps, on lines of at most ``max_length`` digits
    (knowledge distillation: Hinton, Vinyals and Dean 2015): a fine-tune learns new shapes from
    the CTC term while the KL term holds its readings of short lines where the teacher's were.

    The returned loss takes ``y_true`` float32 (N, MAX_LENGTH + TIME_STEPS * READER_CLASSES):
    the targets of :func:`ctc_loss`, then the teacher's softmax (N, 64, 11) flattened; and
    ``y_pred`` logits (N, 64, 11). It returns float32 (N,), in nats.
    """
    from keras import ops

    def loss(y_true, y_pred):
        targets = y_true[:, :MAX_LENGTH]
        teacher = ops.reshape(y_true[:, MAX_LENGTH:], (-1, TIME_STEPS, READER_CLASSES))
        log_reader = ops.log_softmax(y_pred, axis=-1)
        divergence = ops.sum(teacher * (ops.log(ops.maximum(teacher, 1e-8)) - log_reader), axis=(1, 2))
        short = ops.cast(ops.sum(ops.cast(targets > 0, "int32"), axis=1) <= max_length, "float32")
        return ctc_loss(targets, y_pred) + weight * short * divergence

    return loss


def _with_teacher(teacher, lines: np.ndarray, targets: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """float32 (N, MAX_LENGTH + TIME_STEPS * READER_CLASSES): ``targets`` (N, 12) then the
    ``teacher`` reader's softmax on ``lines`` uint8 (N, 32, 256), flattened, for
    :func:`distillation_loss`."""
    combined = np.empty((len(lines), MAX_LENGTH + TIME_STEPS * READER_CLASSES), np.float32)
    combined[:, :MAX_LENGTH] = targets
    for start in range(0, len(lines), chunk):
        batch = lines[start:start + chunk].astype(np.float32)[..., np.newaxis] / 255.0
        probabilities = softmax(teacher.predict(batch, batch_size=256, verbose=0))
        combined[start:start + chunk, MAX_LENGTH:] = probabilities.reshape(len(batch), -1)
    return combined


def _lines_job(args: tuple[np.ndarray, np.ndarray, int, int, np.ndarray, LineOptions]):
    from training.number_lines import DigitBank, make_lines

    images, labels, count, seed, length_weights, options = args
    return make_lines(DigitBank.from_images(images, labels), count, seed, length_weights, options)


def generate(images: np.ndarray, labels: np.ndarray, count: int, seed: int, workers: int,
             length_weights: np.ndarray = LENGTH_WEIGHTS, options: LineOptions = LineOptions()):
    """``count`` synthetic lines made in ``workers`` processes (see :func:`training.number_lines.make_lines`;
    ``options``: its :class:`training.number_lines.LineOptions`)."""
    shares = [count // workers + (1 if index < count % workers else 0) for index in range(workers)]
    jobs = [(images, labels, share, seed * 1000 + index, length_weights, options)
            for index, share in enumerate(shares) if share]
    if workers == 1:
        parts = [_lines_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_lines_job, jobs))
    return (np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts]),
            [text for part in parts for text in part[2]])


#: What a card keeps of each earlier run (or averaged member): data, schedule, score, time.
RUN_KEYS = ("training_data", "epochs", "learning_rate", "held_out_exact", "training_seconds")


def exact_match(logits: np.ndarray, texts: list[str]) -> float:
    """Share of lines whose best-path reading equals the text, for logits (N, 64, 11)."""
    probabilities = softmax(logits)
    return float(np.mean([ctc_greedy_decode(row).text == text for row, text in zip(probabilities, texts)]))


def train(data_path: str | None, out_dir: Path, lines: int, epochs: int, batch_size: int,
          seed: int, workers: int, learning_rate: float, resume: Path | None = None,
          held_out: int = 4000, style_rate: float = 0.35, elastic_rate: float = 0.0,
          looped_rate: float = 0.0, stemmed_rate: float = 0.0, long_flag_rate: float = 0.0,
          grow: int = 0, cursive_rate: float = 0.0, short_boost: float = 1.0,
          distill_from: Path | None = None, distill_weight: float = 1.0, distill_max_length: int = 2,
          font_dir: Path | None = None, font_copies: int = 10, curled_rate: float = 0.0,
          footless_rate: float = 0.0, round_zero_rate: float = 0.0, flat_top_rate: float = 0.0,
          lifted_bar_rate: float = 0.0, end_mark_rate: float = 0.0, size: str = "small",
          clear_single_digits: bool = False) -> dict:
    """Generate the lines, train, export and write the three artifacts; returns the card.

    With ``resume`` (a ``number_reader.keras``), training continues from that model on
    freshly generated lines (use another seed than the run it came from); its card's
    epochs and training time are added to this run's. With ``elastic_rate`` > 0, that share
    of the training digits also gets an elastically distorted copy (Simard, Steinkraus &
    Platt 2003; :func:`training.augment.elastic_distort`) in the training lines' digit bank:
    more shapes of each digit than MNIST's writers drew. The held-out lines are drawn from
    the bank without those copies, so their score compares with runs that had none. With
    ``looped_rate`` > 0, that share of the 9s and of the 2s also gets a copy drawn with a
    curled tail or a starting loop (:func:`training.augment.add_looped_styles`) in the
    training lines' bank; the held-out lines are again drawn without them. With
    ``stemmed_rate`` > 0, likewise for a copy of that share of the 9s redrawn as a ring on a
    stem (:func:`training.augment.add_stemmed_nines`), and with ``curled_rate`` > 0 for a copy of
    that share redrawn on a leaning, bowed, often curled stem
    (:func:`training.augment.add_curled_nines`). With ``long_flag_rate`` > 0, likewise for
    a copy of that share of the 1s with a long, steep flag (:func:`training.augment.add_long_flagged_ones`),
    with ``cursive_rate`` > 0 for a copy of that share of the 2s and 3s with cursive loops
    (:func:`training.augment.add_cursive_loops`), and with ``footless_rate`` > 0 for a copy of
    that share of the 4s with the stem cut off at the crossbar (:func:`training.augment.add_footless_fours`),
    with ``flat_top_rate`` > 0 for a copy of that share of the 3s with a flat bar and a
    diagonal on top (:func:`training.augment.add_flat_topped_threes`), and with
    ``lifted_bar_rate`` > 0 for a copy of that share of the 5s with the bar apart
    (:func:`training.augment.add_lifted_bar_fives`).
    ``round_zero_rate`` is the share of the training lines whose 0s are written like "o"s
    (:func:`training.number_lines.make_line`), and ``end_mark_rate`` the share closed with a
    cheque's or price's end mark ("-", "=", ".-"); with ``clear_single_digits``, lines of one
    digit get no strike-through and their underline clear of the digit's foot
    (:class:`training.number_lines.LineOptions`); the held-out lines have none of these.
    ``short_boost`` multiplies the weights of
    lengths 1 and 2 in the training lines (:data:`training.number_lines.LENGTH_WEIGHTS`; 3:
    39 % of the lines instead of 17 %), for fine-tunes that must not lose single digits; the
    held-out lines keep the usual lengths.
    With ``grow`` > 0 (and ``resume``), the resumed reader first gets that many dilated
    residual blocks (:func:`grow_reader`) and is trained whole. With ``distill_from`` (a
    ``number_reader.keras``, usually the one resumed), the loss is :func:`distillation_loss`
    with ``distill_weight`` on lines of at most ``distill_max_length`` digits. With
    ``font_dir``, ``font_copies`` distorted copies of each digit of each handwriting font in
    it (:func:`training.font_digits.render_font_digits`) join the training lines' bank (the
    held-out lines are again drawn without them). ``size``: :data:`READER_SIZES` of a reader
    trained anew (a resumed one keeps its own).

    Raises:
        ValueError: ``grow`` without ``resume``, or out of :func:`grow_reader`'s range.
    """
    if grow and resume is None:
        raise ValueError("--grow needs --resume: growth starts from a trained reader")
    import keras
    import tensorflow as tf

    from training.augment import (add_continental_styles, add_curled_nines, add_cursive_loops,
                                  add_flat_topped_threes, add_footless_fours, add_lifted_bar_fives,
                                  add_long_flagged_ones, add_looped_styles, add_stemmed_nines, elastic_distort,
                                  restyled_copies)
    from training.data import load_mnist

    started = time.time()
    mnist = load_mnist(data_path)
    # As the digit classifier's training does: MNIST's American 1s and 7s, plus a continental
    # copy of some (flagged 1s, crossed 7s), which real European numbers are full of.
    continental = restyled_copies(mnist.x_train, mnist.y_train,
                                  add_continental_styles(mnist.x_train, mnist.y_train, rate=style_rate, seed=seed))
    # Hands rare in MNIST, each a copy of a share of one or two digits, in this order:
    # (rate, style, seed offset, what the card says was drawn).
    drawn_styles = (
        # looped 9s and 2s (curled tails, starting loops): cheque writers' hands
        (looped_rate, add_looped_styles, 3, "9s and 2s also drawn looped"),
        # 9s drawn as a ring on a stem (a "P"): the commonest 9 on the cheques
        (stemmed_rate, add_stemmed_nines, 4, "9s also drawn as a ring on a stem"),
        # 9s on a stem that leans either way and curls at its foot: read 8 on the cheques
        (curled_rate, add_curled_nines, 4, "9s also drawn on a curled stem"),
        # 1s with a flag nearly as long as the stem (a "Λ"): read as 11 or 7 on the cheques
        (long_flag_rate, add_long_flagged_ones, 5, "1s also drawn with a long flag"),
        # 2s looped at the bottom corner, 3s whose tail curls back: read as 0 or 9, and 8
        (cursive_rate, add_cursive_loops, 6, "2s and 3s also drawn with cursive loops"),
        # 4s whose stem stops at the crossbar (an "L" and a short stem): read 6 on the cheques
        (footless_rate, add_footless_fours, 9, "4s also drawn with the stem cut at the bar"),
        # 3s with a flat bar and a diagonal on top (a "ʒ"): read 2 in the Danish registers
        (flat_top_rate, add_flat_topped_threes, 10, "3s also drawn with a flat top"),
        # 5s whose bar is a separate stroke, high and to the right: read 3 in the Danish registers
        (lifted_bar_rate, add_lifted_bar_fives, 11, "5s also drawn with the bar apart"),
    )
    styled = [restyled_copies(mnist.x_train, mnist.y_train,
                              draw(mnist.x_train, mnist.y_train, rate=rate, seed=seed + offset))
              for rate, draw, offset, _ in drawn_styles]
    digits = np.concatenate([mnist.x_train, continental[0]])
    labels = np.concatenate([mnist.y_train, continental[1]])
    # Digits of handwriting fonts: other school hands than MNIST's American writers'.
    fonts: tuple[np.ndarray, np.ndarray, list[str]] = (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), [])
    if font_dir is not None:
        from training.font_digits import find_fonts, render_font_digits

        fonts = render_font_digits(find_fonts(font_dir), font_copies, seed=seed + 8)
    train_digits = np.concatenate([digits, *(images for images, _ in styled), fonts[0]])
    train_labels = np.concatenate([labels, *(styled_labels for _, styled_labels in styled), fonts[1]])
    distorted = np.flatnonzero(np.random.default_rng(seed + 1).random(len(digits)) < elastic_rate)
    if len(distorted):
        train_digits = np.concatenate([train_digits, elastic_distort(digits[distorted], seed=seed + 2)])
        train_labels = np.concatenate([train_labels, labels[distorted]])
    length_weights = LENGTH_WEIGHTS * np.where(np.arange(1, MAX_LENGTH + 1) <= 2, short_boost, 1.0)
    options = LineOptions(round_zero_rate=round_zero_rate, end_mark_rate=end_mark_rate,
                          clear_single_digits=clear_single_digits)
    x, y, texts = generate(train_digits, train_labels, lines, seed, workers, length_weights, options)
    x_val, y_val, texts_val = generate(digits, labels, held_out, seed + 7919, workers)
    generated = time.time() - started
    print(f"generated {len(x)} + {len(x_val)} lines in {generated:.0f} s", flush=True)

    loss = ctc_loss
    if distill_from is not None:
        teacher = keras.saving.load_model(distill_from, compile=False)
        y, y_val = _with_teacher(teacher, x, y), _with_teacher(teacher, x_val, y_val)
        loss = distillation_loss(distill_weight, distill_max_length)
        print(f"teacher {distill_from} read the lines in {time.time() - started - generated:.0f} s", flush=True)

    def to_float(images, targets):
        return tf.cast(images, tf.float32)[..., tf.newaxis] / 255.0, targets

    dataset = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(20000, seed=seed)
               .batch(batch_size, drop_remainder=True).map(to_float).prefetch(2))
    val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512).map(to_float)
    earlier: dict = {}
    if resume is not None:
        model = keras.saving.load_model(resume, compile=False)
        card_path = Path(resume).with_suffix(".json")
        if card_path.is_file():
            earlier = json.loads(card_path.read_text(encoding="utf-8"))
        if grow:
            model = grow_reader(model, grow, seed)
    else:
        model = build_reader(seed, size)
    steps = epochs * (len(x) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02,
                                                      warmup_target=None, warmup_steps=0)
    model.compile(optimizer=keras.optimizers.Adam(schedule, clipnorm=5.0), loss=loss)
    x_val_float = x_val.astype(np.float32)[..., np.newaxis] / 255.0

    class ExactMatch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            accuracy = exact_match(self.model.predict(x_val_float, batch_size=512, verbose=0), texts_val)
            logs["val_exact"] = accuracy
            print(f"epoch {epoch + 1}: held-out lines read exactly {accuracy:.2%}", flush=True)

    history = model.fit(dataset, epochs=epochs, validation_data=val_dataset, callbacks=[ExactMatch()], verbose=2,
                        shuffle=False)  # the dataset shuffles itself
    keras_logits = model.predict(x_val_float, batch_size=512, verbose=0)
    accuracy = exact_match(keras_logits, texts_val)

    parity = _write_model(model, out_dir, x_val_float[:1000], keras_logits[:1000])
    card = {
        **_card_header(),
        "training_data": f"{len(x)} synthetic lines of MNIST training digits (training.number_lines), "
                         f"{len(continental[0])} of its 1s and 7s also drawn continental (rate {style_rate}), "
                         + "".join(f"{len(images)} of its {what} (rate {rate}), "
                                   for (images, _), (rate, _, _, what) in zip(styled, drawn_styles))
                         + f"{len(distorted)} digits also elastically distorted (rate {elastic_rate}), "
                         + (f"{len(fonts[0])} digits drawn from {len(fonts[2])} handwriting fonts "
                            f"({font_copies} copies of each digit; training.font_digits), " if fonts[2] else "")
                         + (f"lengths 1 and 2 weighted x{short_boost}, " if short_boost != 1.0 else "")
                         + (f"{round_zero_rate:.0%} of the lines with round zeros, " if round_zero_rate else "")
                         + (f"{end_mark_rate:.0%} of the lines closed with an end mark, " if end_mark_rate else "")
                         + ("no bar through or at the foot of a lone digit, " if clear_single_digits else "")
                         + (f"distilled from {distill_from} (weight {distill_weight}, lines of at most "
                            f"{distill_max_length} digits), " if distill_from is not None else "")
                         + f"seed {seed}; MNIST {mnist.source} sha256 {mnist.sha256[:16]}",
        "earlier_runs": [*earlier.get("earlier_runs", []), {key: earlier[key] for key in RUN_KEYS if key in earlier}]
        if earlier else [],
        **({"grown_by_blocks": grow} if grow else {}),
        **({"size": size} if resume is None else {}),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "parameters": int(model.count_params()),
        "held_out_lines": len(x_val),
        "held_out_exact": round(accuracy, 4),
        "loss_per_epoch": [round(float(value), 4) for value in history.history["loss"]],
        "val_exact_per_epoch": [round(float(value), 4) for value in history.history.get("val_exact", [])],
        "tflite_parity": parity,
        "training_seconds": round(time.time() - started, 1),
        "total_training_seconds": round(time.time() - started + earlier.get("total_training_seconds",
                                                                           earlier.get("training_seconds", 0)), 1),
        "generation_seconds": round(generated, 1),
    }
    with atomic_path(out_dir / READER_CARD) as temporary:
        temporary.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def average_readers(paths: list[Path], out_dir: Path, data_path: str | None, seed: int = 1234,
                    workers: int = 1, held_out: int = 4000) -> dict:
    """Average the weights of readers fine-tuned from one parent and write the three artifacts.

    Fine-tunes of one model on different data stay in one basin of the loss, so the mean of
    their weights reads better than either (a "model soup": Wortsman et al., "Model soups:
    averaging weights of multiple fine-tuned models improves accuracy without increasing
    inference time", ICML 2022; Izmailov et al. 2018 for averages along one run). Batch-norm
    statistics are averaged with the rest. The average costs nothing at serving time.

    Args:
        paths: two or more ``number_reader.keras`` files of one architecture (and, for the
            average to make sense, one parent); each one's ``.json`` card is read if present.
        out_dir: folder for ``number_reader.keras``, ``.tflite`` and ``.json``.
        data_path: MNIST, for the held-out lines (plain and continental training digits, as
            :func:`train` holds out).
        seed: of the held-out lines.
        workers: processes generating them.
        held_out: how many held-out lines to score.

    Returns:
        The card written.

    Raises:
        ValueError: fewer than two paths, or models of different shapes.
        training.export.ExportError: the LiteRT export reads differently from Keras.
    """
    import keras

    from training.augment import add_continental_styles, restyled_copies
    from training.data import load_mnist

    if len(paths) < 2:
        raise ValueError("average at least two readers")
    started = time.time()
    models = [keras.saving.load_model(path, compile=False) for path in paths]
    weights = [model.get_weights() for model in models]
    if any([w.shape for w in each] != [w.shape for w in weights[0]] for each in weights):
        raise ValueError("the readers have different architectures")
    cards = []
    for path in paths:
        card_path = Path(path).with_suffix(".json")
        cards.append(json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {})
    mnist = load_mnist(data_path)
    continental = restyled_copies(mnist.x_train, mnist.y_train,
                                  add_continental_styles(mnist.x_train, mnist.y_train, seed=seed))
    x_val, _, texts_val = generate(np.concatenate([mnist.x_train, continental[0]]),
                                   np.concatenate([mnist.y_train, continental[1]]), held_out, seed + 7919, workers)
    x_val_float = x_val.astype(np.float32)[..., np.newaxis] / 255.0
    member_exact = [round(exact_match(each.predict(x_val_float, batch_size=512, verbose=0), texts_val), 4)
                    for each in models]
    model = models[0]  # takes the mean weights; the others are no longer needed
    model.set_weights([np.mean(np.stack(group), axis=0) for group in zip(*weights)])
    keras_logits = model.predict(x_val_float, batch_size=512, verbose=0)
    parity = _write_model(model, out_dir, x_val_float[:1000], keras_logits[:1000])
    card = {
        **_card_header(),
        "training_data": f"the weights of {len(paths)} readers averaged (a model soup; what each was "
                         "trained on: averaged_from)",
        "averaged_from": [{"file": str(path), **{key: card[key] for key in RUN_KEYS if key in card}}
                          for path, card in zip(paths, cards)],
        "earlier_runs": cards[0].get("earlier_runs", []),
        "parameters": int(model.count_params()),
        "held_out_lines": len(x_val),
        "held_out_exact": round(exact_match(keras_logits, texts_val), 4),
        "held_out_exact_of_each": member_exact,
        "tflite_parity": parity,
        "training_seconds": round(time.time() - started, 1),
        "total_training_seconds": round(sum(card.get("training_seconds", 0) for card in cards)
                                        + cards[0].get("total_training_seconds", 0)
                                        - cards[0].get("training_seconds", 0) + time.time() - started, 1),
    }
    with atomic_path(out_dir / READER_CARD) as temporary:
        temporary.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return card


def _write_model(model, out_dir: Path, lines: np.ndarray, keras_logits: np.ndarray) -> dict:
    """Save ``model`` as ``number_reader.keras`` and its LiteRT export as ``.tflite`` in
    ``out_dir`` (each written atomically), after checking the export on ``lines`` (N, 32, 256,
    1) against ``keras_logits`` (:func:`check_reader_parity`); returns the parity figures.

    Raises:
        training.export.ExportError: the export reads differently (nothing is written then
            but the ``.keras`` file).
    """
    from training.export import tflite_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / READER_KERAS) as temporary:
        model.save(temporary)
    content = tflite_bytes(model)
    parity = check_reader_parity(content, lines, keras_logits)
    with atomic_path(out_dir / READER_TFLITE) as temporary:
        temporary.write_bytes(content)
    return parity


def _card_header() -> dict:
    """The fields every reader card starts with: what the model is and maps, and when."""
    return {
        "name": "number_reader",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input_shape": [LINE_HEIGHT, LINE_WIDTH, 1],
        "output_shape": [TIME_STEPS, READER_CLASSES],
        "output": "logits",
        "class_labels": ["blank", *[str(digit) for digit in range(10)]],
        "max_length": MAX_LENGTH,
    }


def check_reader_parity(content: bytes, lines: np.ndarray, keras_logits: np.ndarray) -> dict:
    """Run the export with LiteRT on ``lines`` (N, 32, 256, 1) and compare with the Keras logits.

    Raises:
        training.export.ExportError: a line reads differently, or a probability differs
            by more than :data:`PARITY_TOLERANCE`.
    """
    from core.reader import NumberReader
    from training.export import ExportError

    reader = NumberReader(content)
    served = np.concatenate([reader.probabilities(lines[start:start + 256]) for start in range(0, len(lines), 256)])
    expected = softmax(keras_logits)
    difference = float(np.abs(served - expected).max())
    same = sum(ctc_greedy_decode(a).text == ctc_greedy_decode(b).text for a, b in zip(served, expected))
    if same != len(lines) or difference > PARITY_TOLERANCE:
        raise ExportError(f"the LiteRT export differs from the Keras model: {len(lines) - same} lines read "
                          f"differently, largest probability difference {difference:.2e}")
    return {"lines": len(lines), "same_reading": same, "max_probability_difference": difference}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the number reader on synthetic lines of MNIST training digits.")
    parser.add_argument("--data", default=None, help="MNIST .npz or IDX folder (default: $DIGITBOT_MNIST or keras)")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="folder for the three files (default: models/)")
    parser.add_argument("--lines", type=int, default=120_000, help="synthetic training lines")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("--resume", type=Path, default=None, help="continue training this number_reader.keras")
    add_style_rate_arguments(parser, ("elastic", "looped", "stemmed", "curled", "long-flag", "cursive", "footless",
                                      "flat-top", "lifted-bar"))
    parser.add_argument("--round-zero-rate", type=share, default=0.0, metavar="SHARE",
                        help="share of the training lines whose 0s are written low and wide, like o's, 0-1")
    parser.add_argument("--end-mark-rate", type=share, default=0.0, metavar="SHARE",
                        help="share of the training lines closed with an end mark (-, =, .-), 0-1")
    parser.add_argument("--clear-single-digits", action="store_true",
                        help="lines of one digit get no strike-through, their underline clear of its foot")
    parser.add_argument("--short-boost", type=float, default=1.0,
                        help="weight lines of 1 and 2 digits this many times as usual (> 0)")
    parser.add_argument("--distill-from", type=Path, default=None, metavar="KERAS",
                        help="a teacher reader whose softmax the loss also follows on short lines")
    parser.add_argument("--distill-weight", type=float, default=1.0, help="weight of the teacher's term (> 0)")
    parser.add_argument("--distill-max-length", type=int, default=2,
                        help="only lines of at most this many digits follow the teacher (1-12)")
    parser.add_argument("--size", choices=sorted(READER_SIZES), default="small",
                        help="the reader's size when trained anew (training.reader.READER_SIZES)")
    parser.add_argument("--grow", type=int, default=0, metavar="BLOCKS",
                        help="with --resume: first add this many dilated residual blocks (1-3) to the reader")
    add_font_arguments(parser)
    parser.add_argument("--average", type=Path, nargs="+", default=None, metavar="KERAS",
                        help="instead of training: average these readers' weights (fine-tunes of one parent)")
    args = parser.parse_args(argv)
    if args.average is not None:
        card = average_readers(args.average, args.out, args.data, seed=args.seed, workers=args.workers)
        print(f"held-out synthetic lines read exactly: {card['held_out_exact']:.2%} "
              f"(each alone: {', '.join(f'{value:.2%}' for value in card['held_out_exact_of_each'])}); "
              f"wrote {args.out / READER_TFLITE}")
        return 0
    if args.grow and args.resume is None:
        parser.error("--grow needs --resume")
    if args.size != "small" and args.resume is not None:
        parser.error("--size is for a reader trained anew; a resumed reader keeps its own")
    if args.short_boost <= 0:
        parser.error("--short-boost must be above 0")
    if args.distill_weight <= 0 or not 1 <= args.distill_max_length <= MAX_LENGTH:
        parser.error("--distill-weight must be above 0 and --distill-max-length 1-12")
    card = train(args.data, args.out, args.lines, args.epochs, args.batch_size, args.seed, args.workers,
                 args.learning_rate, args.resume, elastic_rate=args.elastic_rate,
                 looped_rate=args.looped_rate, stemmed_rate=args.stemmed_rate, long_flag_rate=args.long_flag_rate,
                 grow=args.grow, cursive_rate=args.cursive_rate, short_boost=args.short_boost,
                 distill_from=args.distill_from, distill_weight=args.distill_weight,
                 distill_max_length=args.distill_max_length, font_dir=args.font_dir,
                 font_copies=args.font_copies, curled_rate=args.curled_rate, footless_rate=args.footless_rate,
                 round_zero_rate=args.round_zero_rate, flat_top_rate=args.flat_top_rate,
                 lifted_bar_rate=args.lifted_bar_rate, end_mark_rate=args.end_mark_rate, size=args.size,
                 clear_single_digits=args.clear_single_digits)
    print(f"held-out synthetic lines read exactly: {card['held_out_exact']:.2%}; "
          f"{card['parameters']} parameters; {card['training_seconds'] / 60:.1f} min; "
          f"wrote {args.out / READER_TFLITE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
