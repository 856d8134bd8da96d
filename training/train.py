"""Train the digit CNN on MNIST and write the model and its reports into a models folder."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.atomic import atomic_path, write_json_atomic
from core.config import (
    CLASS_LABELS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATE,
    DEFAULT_SEED,
    DEFAULT_VALIDATION_SIZE,
    IMAGE_SIZE,
    METRICS_FILENAME,
    MODEL_CARD_FILENAME,
    MODEL_FILENAME,
    MODELS_DIR,
    NOT_A_DIGIT_LABEL,
    NUM_CLASSES,
    PROJECT_ROOT,
    TFLITE_FILENAME,
)
from core.preprocessing import to_model_input
from training.augment import AugmentConfig
from training.data import MnistData, load_mnist, split_validation
from training.evaluate import (
    Evaluation,
    evaluate_probabilities,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
)


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run.

    Attributes:
        epochs: maximum epochs (early stopping may end sooner).
        batch_size: images per step.
        learning_rate: peak learning rate of the warm-up + cosine schedule.
        validation_size: training images held out for validation (fixed seed).
        seed: seeds Python, NumPy, TensorFlow and the split.
        max_samples: use at most this many training images (None: all); for smoke runs.
        patience: early-stopping patience in epochs, on validation loss.
        augment: the augmentation ranges, or None for no augmentation.
        style_rate: fraction of the training 1s and 7s added again in continental style
            (flagged 1, crossed 7; :func:`training.augment.add_continental_styles`); 0 = off.
        stemmed_rate: fraction of the training 9s added again redrawn as a ring on a stem
            (:func:`training.augment.add_stemmed_nines`); 0 = off.
        curled_rate: fraction of the training 9s added again on a leaning, curled stem
            (:func:`training.augment.add_curled_nines`); 0 = off.
        looped_rate: fraction of the training 9s and 2s added again with a curled tail or a
            starting loop (:func:`training.augment.add_looped_styles`); 0 = off.
        long_flag_rate: fraction of the training 1s added again with a long, steep flag
            (:func:`training.augment.add_long_flagged_ones`); 0 = off.
        hooked_rate: fraction of the training 7s added again with a hook down from the bar's
            start and mostly a crossbar (:func:`training.augment.add_hooked_sevens`); 0 = off.
        footless_rate: fraction of the training 4s added again with the stem cut off at the
            crossbar (:func:`training.augment.add_footless_fours`); 0 = off.
        flat_top_rate: fraction of the training 3s added again with a flat bar and a diagonal
            on top (:func:`training.augment.add_flat_topped_threes`); 0 = off.
        lifted_bar_rate: fraction of the training 5s added again with the bar apart, high and
            to the right (:func:`training.augment.add_lifted_bar_fives`); 0 = off.
        cursive_rate: fraction of the training 2s and 3s added again with cursive loops (the
            "α"-like 2, the 3 whose tail curls into its bowl; :func:`training.augment.add_cursive_loops`);
            0 = off.
    """

    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    validation_size: int = DEFAULT_VALIDATION_SIZE
    seed: int = DEFAULT_SEED
    max_samples: int | None = None
    patience: int = 6
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    style_rate: float = 0.35
    stemmed_rate: float = 0.0
    curled_rate: float = 0.0
    looped_rate: float = 0.0
    long_flag_rate: float = 0.0
    hooked_rate: float = 0.0
    footless_rate: float = 0.0
    flat_top_rate: float = 0.0
    lifted_bar_rate: float = 0.0
    cursive_rate: float = 0.0


@dataclass
class TrainResult:
    """What a training run produced: the artifacts' paths and the test metrics."""

    model_path: Path
    metrics_path: Path
    metrics: dict


def git_commit() -> str:
    """The project's current git commit, or "unknown" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    """Versions of Python and the numeric libraries, for the metrics file."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: AugmentConfig | None,
                 sample_weight: np.ndarray | None = None, shuffle: bool = True):
    """A ``tf.data`` pipeline of float32 (B, 28, 28, 1) batches, shuffled and augmented per epoch."""
    import tensorflow as tf

    from training.augment import augment_batch

    tensors = (x, y) if sample_weight is None else (x, y, sample_weight)
    dataset = tf.data.Dataset.from_tensor_slices(tensors)
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def prepare(images, labels, *weights):
        images = tf.cast(images, tf.float32)[..., tf.newaxis] / 255.0
        if augment is not None:
            images = augment_batch(images, augment)
        return (images, labels, *weights)

    return dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def predict_probabilities(model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Softmax probabilities float32 (N, K) of uint8 (N, 28, 28) images, via core's softmax (K = 10 or 11)."""
    from core.classifier import softmax

    logits = model.predict(to_model_input(images), batch_size=batch_size, verbose=0)
    return softmax(logits)


def short_run_ema_momentum(steps: int) -> float:
    """EMA momentum that averages the weights over about the last tenth of a run of ``steps``
    steps, in [0, 0.999] (a fixed 0.999 would keep a short fine-tune close to where it started)."""
    return float(np.clip(1 - 10 / max(steps, 1), 0.0, 0.999))


def fit(data: MnistData, config: TrainConfig, extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        callbacks: list | None = None, verbose: int | str = "auto", initial_model=None,
        ema_momentum: float = 0.999):
    """Train a CNN on ``data`` (plus optional extra weighted samples): a fresh one, or ``initial_model``.

    Args:
        data: MNIST arrays.
        config: hyper-parameters.
        extra: optional ``(images uint8 (K, 28, 28), labels (K,), weights float32 (K,))``
            appended to the training part (for retraining on user samples).
        callbacks: extra Keras callbacks (progress reporting).
        verbose: Keras verbosity; "auto" shows the progress bar on a terminal and one line
            per epoch otherwise.
        initial_model: a built model to fine-tune (compiled anew; its weights are changed
            in place), or None to build a fresh :func:`training.model.build_cnn`.
        ema_momentum: per-step momentum of the weight average the model ends with, in [0, 1).

    Returns:
        ``(model, history_dict, seconds)``.
    """
    import keras

    from training.model import build_cnn, compile_model

    keras.utils.set_random_seed(config.seed)
    x, y = data.x_train, data.y_train
    if config.max_samples is not None and config.max_samples < len(x):
        pick = np.random.default_rng(config.seed).permutation(len(x))[: config.max_samples]
        x, y = x[pick], y[pick]
    x_fit, y_fit, x_val, y_val = split_validation(x, y, config.validation_size, config.seed)
    from training.augment import (add_continental_styles, add_curled_nines, add_flat_topped_threes, add_footless_fours,
                                  add_hooked_sevens, add_lifted_bar_fives, add_long_flagged_ones, add_looped_styles,
                                  add_cursive_loops, add_stemmed_nines, restyled_copies)

    copies = []
    for rate, draw, seed_offset in ((config.style_rate, add_continental_styles, 0),
                                    (config.stemmed_rate, add_stemmed_nines, 4),
                                    (config.curled_rate, add_curled_nines, 4),
                                    (config.looped_rate, add_looped_styles, 5),
                                    (config.long_flag_rate, add_long_flagged_ones, 6),
                                    (config.hooked_rate, add_hooked_sevens, 7),
                                    (config.footless_rate, add_footless_fours, 9),
                                    (config.flat_top_rate, add_flat_topped_threes, 10),
                                    (config.lifted_bar_rate, add_lifted_bar_fives, 11),
                                    (config.cursive_rate, add_cursive_loops, 12)):
        if rate > 0:
            copies.append(restyled_copies(x_fit, y_fit, draw(x_fit, y_fit, rate=rate, seed=config.seed + seed_offset)))
    x_fit = np.concatenate([x_fit, *(images for images, _ in copies)])
    y_fit = np.concatenate([y_fit, *(labels for _, labels in copies)])
    weights = None
    if extra is not None and len(extra[0]):
        weights = np.concatenate([np.ones(len(x_fit), np.float32), extra[2].astype(np.float32)])
        x_fit = np.concatenate([x_fit, extra[0]])
        y_fit = np.concatenate([y_fit, extra[1].astype(np.uint8)])
    train_ds = make_dataset(x_fit, y_fit, config.batch_size, config.seed, config.augment, weights)
    val_ds = make_dataset(x_val, y_val, 512, config.seed, None, shuffle=False)

    steps_per_epoch = int(np.ceil(len(x_fit) / config.batch_size))
    total_steps = max(2, steps_per_epoch * config.epochs)
    warmup = min(steps_per_epoch, total_steps // 4)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10,
        decay_steps=total_steps - warmup,
        alpha=0.01,
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )
    model = compile_model(build_cnn() if initial_model is None else initial_model, schedule,
                          ema_momentum=ema_momentum)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    # Stops a run that no longer improves; the weights kept are the moving average at the
    # end (restoring a "best" raw epoch would throw the average away).
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, verbose=1)
    started = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs,
        shuffle=False,  # train_ds shuffles itself each epoch; Keras warns if asked again
        callbacks=[stop, *(callbacks or [])], verbose=verbose,
    )
    seconds = time.perf_counter() - started
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}, seconds


def build_metrics(model, evaluation: Evaluation, data: MnistData, config: TrainConfig, history: dict,
                  seconds: float, model_size: int) -> dict:
    """The contents of ``metrics.json`` (see README: "The shipped model")."""
    return {
        "test_accuracy": round(evaluation.accuracy, 6),
        "test_loss": round(evaluation.loss, 6),
        "test_images": int(evaluation.support.sum()),
        "test_errors": int((evaluation.predictions != data.y_test).sum()),
        "per_class": evaluation.per_class(),
        "confusion_matrix": evaluation.confusion_matrix.tolist(),
        "training_seconds": round(seconds, 1),
        "epochs_run": len(history.get("loss", [])),
        "epochs_requested": config.epochs,
        "best_val_accuracy": round(max(history.get("val_accuracy", [0.0])), 6),
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "seed": config.seed,
        "style_rate": config.style_rate,
        "stemmed_rate": config.stemmed_rate,
        "curled_rate": config.curled_rate,
        "looped_rate": config.looped_rate,
        "long_flag_rate": config.long_flag_rate,
        "hooked_rate": config.hooked_rate,
        "footless_rate": config.footless_rate,
        "flat_top_rate": config.flat_top_rate,
        "lifted_bar_rate": config.lifted_bar_rate,
        "cursive_rate": config.cursive_rate,
        "training_images": int(min(len(data.x_train), config.max_samples or len(data.x_train))),
        "parameters": int(model.count_params()),
        "model_file": MODEL_FILENAME,
        "model_size_bytes": model_size,
        "data_source": data.source,
        "data_sha256": data.sha256,
        "git_commit": git_commit(),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "history": history,
    }


def model_card(metrics: dict, num_outputs: int = NUM_CLASSES, temperature: float = 1.0) -> dict:
    """The small JSON beside the model that ``core`` checks when it loads the model.

    Args:
        metrics: the contents of ``metrics.json``.
        num_outputs: the model's logits per image: 10, or 11 with "not a digit".
        temperature: divides the logits before the softmax when serving (> 0; 1.0 = none),
            fitted on held-out real digits by ``benchmarks.calibration``.
    """
    labels = list(CLASS_LABELS) + ([NOT_A_DIGIT_LABEL] if num_outputs > NUM_CLASSES else [])
    return {
        "format": "digitbot-model/1",
        "input_shape": [IMAGE_SIZE, IMAGE_SIZE, 1],
        "input_range": [0.0, 1.0],
        "polarity": "white ink on black",
        "output": "logits",
        "class_labels": labels,
        "temperature": temperature,
        "test_accuracy": metrics["test_accuracy"],
        "parameters": metrics["parameters"],
        "data_sha256": metrics["data_sha256"],
        "git_commit": metrics["git_commit"],
        "created_at": metrics["created_at"],
    }


def write_artifacts(model, data: MnistData, config: TrainConfig, history: dict, seconds: float,
                    out_dir: Path, evaluation: Evaluation | None = None,
                    extra_metrics: dict | None = None, temperature: float = 1.0,
                    curves_heading: str | None = None) -> TrainResult:
    """Evaluate on the test set and write every artifact into ``out_dir``, each atomically.

    Files: ``digit_cnn.keras``, ``digit_cnn.tflite`` (what serving runs, checked against the
    Keras model on the whole test set: same argmax, probabilities within 1e-4),
    ``digit_cnn.json`` (model card), ``metrics.json``, ``confusion_matrix.png``,
    ``training_curves.png``, ``misclassified.png``. Reports and the export are written
    first and the ``.keras`` model last, so an interrupted run leaves the previous model
    file intact (never a partial one).

    Args:
        evaluation: the model's scores on ``data``'s test set if already computed.
        extra_metrics: more keys for ``metrics.json`` (e.g. a retrain's before/after figures).
        temperature: the serving temperature recorded in the model card.
        curves_heading: a line above the training curves saying whose they are, or None.

    Raises:
        training.export.ExportError: the ``.tflite`` export failed or disagrees with the model.
    """
    from training.export import check_parity, write_tflite

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if evaluation is None:
        evaluation = evaluate_probabilities(predict_probabilities(model, data.x_test), data.y_test)
    model_target = out_dir / MODEL_FILENAME
    with atomic_path(model_target) as temporary:
        model.save(temporary)
        model_size = temporary.stat().st_size
        metrics = build_metrics(model, evaluation, data, config, history, seconds, model_size)
        metrics.update(extra_metrics or {})
        plot_confusion_matrix(evaluation.confusion_matrix, out_dir / "confusion_matrix.png")
        plot_training_curves(history, out_dir / "training_curves.png", curves_heading)
        plot_misclassified(data.x_test, data.y_test, evaluation, out_dir / "misclassified.png")
        lite = write_tflite(model, out_dir / TFLITE_FILENAME)
        metrics["tflite"] = {"file": TFLITE_FILENAME, "size_bytes": lite.stat().st_size,
                             "parity": check_parity(model, lite, data.x_test)}
        write_json_atomic(out_dir / METRICS_FILENAME, metrics)
        write_json_atomic(out_dir / MODEL_CARD_FILENAME,
                          model_card(metrics, int(model.output_shape[-1]), temperature))
    return TrainResult(model_path=model_target, metrics_path=out_dir / METRICS_FILENAME, metrics=metrics)


def train(data_path: str | Path | None = None, out_dir: str | Path = MODELS_DIR,
          config: TrainConfig | None = None) -> TrainResult:
    """Load MNIST, train, evaluate on the test set and write the artifacts.

    Args:
        data_path: MNIST .npz or IDX folder (else ``$DIGITBOT_MNIST``, else the Keras download).
        out_dir: where the artifacts go (default: the project's ``models/``).
        config: hyper-parameters (default: :class:`TrainConfig`).

    Raises:
        training.data.DatasetError: the data cannot be read.
    """
    config = config or TrainConfig()
    data = load_mnist(data_path)
    model, history, seconds = fit(data, config)
    return write_artifacts(model, data, config, history, seconds, Path(out_dir))


def evaluate_saved_model(model_path: str | Path, data_path: str | Path | None = None,
                         report_dir: Path | None = None) -> tuple[Evaluation, MnistData]:
    """Evaluate a saved ``.keras`` model on the MNIST test set; optionally write its plots."""
    from training.model import load_keras_model

    data = load_mnist(data_path)
    model = load_keras_model(model_path)
    evaluation = evaluate_probabilities(predict_probabilities(model, data.x_test), data.y_test)
    if report_dir is not None:
        plot_confusion_matrix(evaluation.confusion_matrix, Path(report_dir) / "confusion_matrix.png")
        plot_misclassified(data.x_test, data.y_test, evaluation, Path(report_dir) / "misclassified.png")
    return evaluation, data
