"""Retrain: fine-tune the active model on MNIST plus users' labelled samples, gate it, register it.

Run as a separate process (the bot does, for /retrain)::

    python -m training.retrain --home state [--data mnist.npz] [--user-samples samples.npz]
                               [--epochs 3] [--max-samples 20000]

Progress goes to stdout as JSON lines, one object per line, ``"event"`` naming it:
``start`` (sample counts, epochs), ``step`` and ``epoch`` (progress, validation accuracy,
``eta_seconds``), ``evaluating``, then ``done`` (the version, the gate's decision, the
before/after figures) or ``error`` (``"kind"``: ``"busy"``, ``"data"`` or ``"crash"``).
Everything else (TensorFlow and Keras chatter, logs) goes to stderr.

After registering the candidate it deletes old rejected versions beyond the newest
``--keep-rejected`` (``core.registry``'s retention; ``done`` lists them under ``"pruned"``).

Exit status: 0 when a candidate was evaluated and registered (promoted or not), 2 for bad
data or settings, 3 when another retrain holds the registry's lock, 1 for anything else.
The active model only changes by the registry's atomic pointer switch at the very end, so
killing this process at any moment leaves it untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from core.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_KEEP_REJECTED,
    DEFAULT_MODEL_PATH,
    DEFAULT_RETRAIN_EPOCHS,
    DEFAULT_RETRAIN_LEARNING_RATE,
    DEFAULT_SEED,
    IMAGE_SIZE,
    NOT_A_DIGIT,
    NUM_CLASSES,
    REGISTRY_DIRNAME,
    ConfigError,
    load_settings,
)
from core.registry import PROMOTED, REJECTED, ModelRegistry, ModelVersion, RegistryBusyError, RegistryError
from training.data import DatasetError, MnistData, load_mnist, load_npz_arrays

logger = logging.getLogger(__name__)

#: The most MNIST test accuracy a candidate may lose and still be promoted: 0.1 percentage point.
MAX_MNIST_DROP = 0.001
#: Share of the user samples in held-out evaluation (by a stable hash of the prediction id).
HOLDOUT_FRACTION = 0.2
#: Share of the training loss the user samples should carry, and the cap on one sample's weight.
USER_SHARE = 0.1
MAX_USER_WEIGHT = 20.0
#: Seconds between ``step`` progress events within an epoch.
STEP_EVENT_SECONDS = 5.0

Progress = Callable[[dict], None]


# ---------------------------------------------------------------------- the promotion gate

@dataclass(frozen=True)
class Scores:
    """A model's accuracy on the two sets the gate looks at.

    Attributes:
        mnist_accuracy: on the MNIST test set, in [0, 1].
        user_accuracy: on the held-out user samples, in [0, 1]; None when there are none.
        user_holdout: how many held-out user samples there are.
    """

    mnist_accuracy: float
    user_accuracy: float | None = None
    user_holdout: int = 0


@dataclass(frozen=True)
class GateDecision:
    """Whether a candidate is promoted, and why (or why not), in plain words."""

    promote: bool
    reasons: tuple[str, ...]


def promotion_gate(before: Scores, after: Scores, max_mnist_drop: float = MAX_MNIST_DROP) -> GateDecision:
    """Decide whether the candidate (``after``) may replace the active model (``before``).

    Promoted only if the MNIST test accuracy drops by at most ``max_mnist_drop`` (0.001 =
    0.1 percentage point) and the accuracy on the held-out user samples does not fall
    (skipped when there are no held-out user samples). Both scores must come from the
    same test set and the same held-out samples.
    """
    tolerance = 1e-9  # accuracies are ratios of counts; do not let float noise decide
    reasons = []
    drop = before.mnist_accuracy - after.mnist_accuracy
    mnist_ok = drop <= max_mnist_drop + tolerance
    reasons.append(
        f"MNIST test accuracy {before.mnist_accuracy:.2%} -> {after.mnist_accuracy:.2%} "
        f"({'within' if mnist_ok else 'more than'} the allowed {max_mnist_drop * 100:.1f} point drop)"
    )
    user_ok = True
    if before.user_accuracy is None or after.user_accuracy is None:
        reasons.append("no held-out user samples to compare on")
    else:
        user_ok = after.user_accuracy >= before.user_accuracy - tolerance
        reasons.append(
            f"held-out user samples {before.user_accuracy:.2%} -> {after.user_accuracy:.2%} "
            f"({'not lower' if user_ok else 'lower'})"
        )
    return GateDecision(promote=mnist_ok and user_ok, reasons=tuple(reasons))


# ---------------------------------------------------------------------- user samples

@dataclass(frozen=True)
class UserSamples:
    """Digits users labelled (corrected or confirmed), as the feedback store exports them.

    Attributes:
        images: uint8 (N, 28, 28), white ink on black, 0-255: the model input scaled to 0-255.
        labels: uint8 (N,), 0-9.
        prediction_ids: int64 (N,), the store's ids (they decide the stable held-out split).
        confirmed: bool (N,), True when the user confirmed the reading, False when corrected.
    """

    images: np.ndarray
    labels: np.ndarray
    prediction_ids: np.ndarray
    confirmed: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> "UserSamples":
        """The samples where ``mask`` (bool (N,)) is True."""
        return UserSamples(self.images[mask], self.labels[mask], self.prediction_ids[mask], self.confirmed[mask])

    @classmethod
    def empty(cls) -> "UserSamples":
        """No samples."""
        return cls(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros(0, np.uint8),
                   np.zeros(0, np.int64), np.zeros(0, bool))


def load_user_samples(path: str | Path | None) -> UserSamples:
    """Read an export of ``FeedbackStore.export_labelled_samples``; None or a missing file = none.

    The .npz holds ``images`` uint8 (N, 28, 28), ``labels`` int (N,) in 0-9,
    ``prediction_ids`` int (N,) and ``confirmed`` bool (N,).

    Raises:
        DatasetError: the file is not such an archive; the message names the file and the problem.
    """
    if path is None or not Path(path).is_file():
        return UserSamples.empty()
    arrays = load_npz_arrays(path, ("images", "labels", "prediction_ids", "confirmed"), "a feedback export")
    images, labels = arrays["images"], arrays["labels"]
    count = len(labels)
    if images.dtype != np.uint8 or images.shape != (count, IMAGE_SIZE, IMAGE_SIZE):
        raise DatasetError(f"{path}: images are {images.dtype} {images.shape}, expected uint8 ({count}, 28, 28)")
    if any(len(arrays[key]) != count for key in ("prediction_ids", "confirmed")):
        raise DatasetError(f"{path}: labels, prediction_ids and confirmed differ in length")
    if count and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise DatasetError(f"{path}: labels range from {labels.min()} to {labels.max()}, expected 0 to 9")
    return UserSamples(images, labels.astype(np.uint8), arrays["prediction_ids"].astype(np.int64),
                       arrays["confirmed"].astype(bool))


def holdout_mask(prediction_ids: np.ndarray, fraction: float = HOLDOUT_FRACTION) -> np.ndarray:
    """bool (N,): which samples are held out for the gate, by a stable hash of their id.

    A sample is held out in every retrain or in none, so no model is ever trained on a
    sample it is later judged on; each digit class gets about ``fraction`` of its samples.
    """
    def unit(identifier: int) -> float:
        digest = hashlib.blake2b(str(int(identifier)).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    return np.array([unit(identifier) < fraction for identifier in prediction_ids], dtype=bool)


def user_sample_weight(mnist_count: int, user_count: int, share: float = USER_SHARE,
                       cap: float = MAX_USER_WEIGHT) -> float:
    """The loss weight of each user sample, so that together they carry about ``share`` of the loss.

    Never below 1 (a user sample counts at least as much as an MNIST one) nor above ``cap``
    (a handful of samples must not be learnt by heart). E.g. 300 samples beside 55,000
    MNIST images: 20 (the cap), about 10 % of the loss.
    """
    if user_count == 0:
        return 1.0
    return float(np.clip(share / (1 - share) * mnist_count / user_count, 1.0, cap))


# ---------------------------------------------------------------------- the run

@dataclass
class RetrainConfig:
    """Budget and hyper-parameters of one retrain, and how many rejected versions it leaves.

    Attributes:
        epochs: epochs of fine-tuning, at least 1.
        max_samples: MNIST training images used at most (None: all 60,000).
        learning_rate: peak learning rate (warm-up then cosine decay), low for fine-tuning.
        batch_size: images per step.
        seed: seeds the sampling, the split and TensorFlow.
        keep_rejected: rejected versions kept after registering the candidate (the newest;
            see ``ModelRegistry.prune_rejected``), at least 1.
    """

    epochs: int = DEFAULT_RETRAIN_EPOCHS
    max_samples: int | None = None
    learning_rate: float = DEFAULT_RETRAIN_LEARNING_RATE
    batch_size: int = DEFAULT_BATCH_SIZE
    seed: int = DEFAULT_SEED
    keep_rejected: int = DEFAULT_KEEP_REJECTED


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain produced: the registered candidate, the gate's view of it, the versions it deleted."""

    version: ModelVersion
    base: ModelVersion
    before: Scores
    after: Scores
    decision: GateDecision
    seconds: float
    pruned: tuple[str, ...] = ()


def _scores(model, data: MnistData, holdout: UserSamples):
    """``(Scores, MNIST test Evaluation)`` of a Keras model."""
    from training.evaluate import evaluate_probabilities
    from training.train import predict_probabilities

    evaluation = evaluate_probabilities(predict_probabilities(model, data.x_test), data.y_test)
    user_accuracy = None
    if len(holdout):
        predictions = predict_probabilities(model, holdout.images).argmax(axis=1)
        user_accuracy = float((predictions == holdout.labels).mean())
    return Scores(evaluation.accuracy, user_accuracy, len(holdout)), evaluation


def _with_non_digits(extra: tuple[np.ndarray, np.ndarray, np.ndarray], model, data: MnistData,
                     mnist_count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add synthetic non-digits (:mod:`training.nondigits`) to a retrain's extra samples, so
    fine-tuning keeps the "not a digit" output: as many as the original recipe's share of
    the MNIST images trained on, filtered by the model being fine-tuned."""
    from training.ensemble import NON_DIGIT_TRAIN
    from training.nondigits import make_non_digits
    from training.train import predict_probabilities

    count = max(1, round(NON_DIGIT_TRAIN * mnist_count / 60000))
    non_digits = make_non_digits(data.x_train, count, seed=seed,
                                 reference=lambda images: predict_probabilities(model, images))
    images, labels, weights = extra
    return (np.concatenate([images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE), non_digits]),
            np.concatenate([labels.astype(np.uint8), np.full(count, NOT_A_DIGIT, np.uint8)]),
            np.concatenate([weights.astype(np.float32), np.ones(count, np.float32)]))


def _temperature(version: ModelVersion) -> float:
    """The serving temperature in a version's model card (1.0 when it names none or is unreadable)."""
    from core.classifier import ModelLoadError, read_model_card

    try:
        return float(read_model_card(version.model_path).get("temperature", 1.0))
    except (ModelLoadError, TypeError, ValueError):
        return 1.0


def _progress_callback(progress: Progress, epochs: int):
    """A Keras callback turning training into ``step``/``epoch`` progress events with an ETA."""
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = self.last_event = time.monotonic()
            self.steps = self.params.get("steps") or 1
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def _eta(self, done_fraction: float) -> float:
            elapsed = time.monotonic() - self.started
            return elapsed / max(done_fraction, 1e-6) * (1 - done_fraction)

        def on_train_batch_end(self, batch, logs=None):
            now = time.monotonic()
            if now - self.last_event < STEP_EVENT_SECONDS:
                return
            self.last_event = now
            done = (self.epoch + (batch + 1) / self.steps) / epochs
            progress({"event": "step", "epoch": self.epoch + 1, "epochs": epochs, "step": batch + 1,
                      "steps": self.steps, "fraction": round(done, 4), "eta_seconds": round(self._eta(done))})

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            done = (epoch + 1) / epochs
            progress({"event": "epoch", "epoch": epoch + 1, "epochs": epochs, "fraction": round(done, 4),
                      "accuracy": logs.get("accuracy"), "val_accuracy": logs.get("val_accuracy"),
                      "eta_seconds": round(self._eta(done))})

    return ProgressCallback()


def retrain(registry: ModelRegistry, data_path: str | Path | None = None, user_samples_path: str | Path | None = None,
            config: RetrainConfig | None = None, seed_model: Path = DEFAULT_MODEL_PATH,
            progress: Progress = lambda event: None) -> RetrainResult:
    """Fine-tune the active version, evaluate it beside the active one, register it, promote it if it passes.

    Train set: MNIST's training images (at most ``config.max_samples``, minus a validation
    part, plus continental-style 1s and 7s as in ``training.train``) and the user samples
    outside the held-out part, weighted by :func:`user_sample_weight`. Both models are
    scored on the MNIST test set and the held-out user samples; :func:`promotion_gate`
    decides. The candidate is registered either way (``status`` promoted or rejected), with
    its metrics (a ``retrain`` entry holds the before/after figures) and confusion matrix,
    and is activated only when promoted. Then, still under the lock, rejected versions
    beyond the newest ``config.keep_rejected`` are deleted (never the active version nor the
    base); a failure there is logged and does not fail the retrain.

    Args:
        registry: the model versions; the active one (set up from ``seed_model`` if the
            registry is empty) is the starting point.
        data_path: MNIST (.npz or IDX folder), else ``$DIGITBOT_MNIST``, else the Keras download.
        user_samples_path: an export of the feedback store, or None.
        config: budget and hyper-parameters.
        progress: called with each progress event (a JSON-ready dict).

    Raises:
        core.registry.RegistryBusyError: another retrain holds the lock.
        training.data.DatasetError: MNIST or the user samples cannot be read.
    """
    from training.model import load_keras_model
    from training.train import TrainConfig, fit, short_run_ema_momentum, write_artifacts

    config = config or RetrainConfig()
    if config.keep_rejected < 1:  # say so now, not after an hour of training
        raise ValueError(f"keep_rejected must be at least 1, got {config.keep_rejected}")
    started = time.monotonic()
    with registry.retrain_lock():
        registry.clean_debris()
        base = registry.ensure_active(seed_model)
        data = load_mnist(data_path)
        users = load_user_samples(user_samples_path)
        held_out = holdout_mask(users.prediction_ids)
        holdout, train_users = users.subset(held_out), users.subset(~held_out)
        mnist_count = min(len(data.x_train), config.max_samples or len(data.x_train))
        weight = user_sample_weight(mnist_count, len(train_users))
        progress({"event": "start", "base": base.name, "epochs": config.epochs, "mnist_samples": mnist_count,
                  "user_samples": len(train_users), "user_holdout": len(holdout), "user_weight": round(weight, 2)})

        model = load_keras_model(base.model_path)
        before, _ = _scores(model, data, holdout)
        train_config = TrainConfig(epochs=config.epochs, batch_size=config.batch_size,
                                   learning_rate=config.learning_rate, seed=config.seed,
                                   max_samples=config.max_samples)
        extra = (train_users.images, train_users.labels, np.full(len(train_users), weight, np.float32))
        if model.output_shape[-1] > NUM_CLASSES:
            extra = _with_non_digits(extra, model, data, mnist_count, config.seed)
        steps = math.ceil(mnist_count / config.batch_size) * config.epochs
        ema_momentum = short_run_ema_momentum(steps)
        model, history, seconds = fit(data, train_config, extra, callbacks=[_progress_callback(progress, config.epochs)],
                                      verbose=0, initial_model=model, ema_momentum=ema_momentum)

        progress({"event": "evaluating"})
        after, evaluation = _scores(model, data, holdout)
        decision = promotion_gate(before, after)
        summary = {
            "base": base.name,
            "before": asdict(before),
            "after": asdict(after),
            "promoted": decision.promote,
            "reasons": list(decision.reasons),
            "user_samples": {"train": len(train_users), "holdout": len(holdout), "weight": weight,
                             "corrected": int((~users.confirmed).sum()), "confirmed": int(users.confirmed.sum())},
            "config": asdict(config),
        }
        with registry.candidate() as directory:
            write_artifacts(model, data, train_config, history, seconds, directory, evaluation=evaluation,
                            extra_metrics={"retrain": summary}, temperature=_temperature(base))
            version = registry.commit(directory, status=PROMOTED if decision.promote else REJECTED,
                                      parent=base.name, activate=decision.promote)
        pruned = _prune(registry, config.keep_rejected, base)
    return RetrainResult(version, base, before, after, decision, time.monotonic() - started, pruned)


def _prune(registry: ModelRegistry, keep_rejected: int, base: ModelVersion) -> tuple[str, ...]:
    """Delete old rejected versions (the caller holds the lock); the names deleted, () if that failed.

    The base is kept: the bot switches back to it if it cannot load a promoted candidate.
    """
    try:
        return tuple(registry.prune_rejected(keep_rejected, keep=(base.name,)))
    except (OSError, RegistryError):  # the candidate is registered; disk space can wait for the next run
        logger.warning("Could not delete old rejected model versions", exc_info=True)
        return ()


def result_event(result: RetrainResult) -> dict:
    """The ``done`` progress event: JSON-ready figures for the bot's report."""
    return {
        "event": "done",
        "version": result.version.name,
        "base": result.base.name,
        "promoted": result.decision.promote,
        "reasons": list(result.decision.reasons),
        "before": asdict(result.before),
        "after": asdict(result.after),
        "model_path": str(result.version.model_path),
        "confusion_matrix": str(result.version.confusion_matrix_path),
        "seconds": round(result.seconds, 1),
        "pruned": list(result.pruned),
    }


# ---------------------------------------------------------------------- the command

def _claim_stdout() -> TextIO:
    """Keep the real stdout for progress lines and send file descriptor 1 to stderr.

    Keras, TensorFlow and C libraries print to stdout; the parent must only see JSON there.
    """
    stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return stream


def add_retrain_options(parser: argparse.ArgumentParser) -> None:
    """The options :func:`config_from_args` reads, shared by ``python -m training.retrain`` and
    ``digitbot retrain`` (``--data`` and ``--user-samples`` are each command's own)."""
    parser.add_argument("--home", type=Path, help="the bot's state folder (default: $DIGITBOT_HOME, else state)")
    parser.add_argument("--epochs", type=int, help="epochs (default: $DIGITBOT_RETRAIN_EPOCHS, else "
                        f"{DEFAULT_RETRAIN_EPOCHS})")
    parser.add_argument("--max-samples", type=int, help="MNIST training images at most (default: "
                        "$DIGITBOT_RETRAIN_MAX_SAMPLES, else all)")
    parser.add_argument("--learning-rate", type=float, default=DEFAULT_RETRAIN_LEARNING_RATE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--seed-model", type=Path, help="model registered first if the registry is empty "
                        "(default: $DIGITBOT_MODEL, else the shipped model)")
    parser.add_argument("--keep-rejected", type=int, metavar="N",
                        help="rejected versions kept (the newest; older ones are deleted; default: "
                        f"$DIGITBOT_RETRAIN_KEEP_REJECTED, else {DEFAULT_KEEP_REJECTED})")


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m training.retrain``; defaults come from the environment (core.config)."""
    parser = argparse.ArgumentParser(prog="python -m training.retrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="MNIST .npz or IDX folder (default: $DIGITBOT_MNIST)")
    parser.add_argument("--user-samples", type=Path, help="feedback export .npz (absent or empty: none)")
    add_retrain_options(parser)
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N")
    return parser


def config_from_args(args: argparse.Namespace, environ=None) -> tuple[Path, Path, Path | None, RetrainConfig]:
    """``(registry folder, seed model, MNIST path, RetrainConfig)`` from options, else the environment.

    Raises:
        core.config.ConfigError: an environment value or an option is malformed.
    """
    settings = load_settings(environ, require_token=False)
    epochs = args.epochs if args.epochs is not None else settings.retrain_epochs
    max_samples = args.max_samples if args.max_samples is not None else settings.retrain_max_samples
    keep_rejected = args.keep_rejected if args.keep_rejected is not None else settings.retrain_keep_rejected
    if epochs < 1 or keep_rejected < 1 or (max_samples is not None and max_samples < 1):
        raise ConfigError("--epochs, --max-samples and --keep-rejected must be at least 1")
    home = args.home if args.home is not None else settings.home
    config = RetrainConfig(epochs=epochs, max_samples=max_samples, learning_rate=args.learning_rate, seed=args.seed,
                           keep_rejected=keep_rejected)
    return (home / REGISTRY_DIRNAME, args.seed_model or settings.model_path,
            args.data or settings.mnist_path, config)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m training.retrain``; returns the exit status (see the module doc)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    progress_stream = _claim_stdout()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def emit(event: dict) -> None:
        progress_stream.write(json.dumps(event) + "\n")
        progress_stream.flush()

    args = build_parser().parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    try:
        registry_dir, seed_model, data_path, config = config_from_args(args)
        result = retrain(ModelRegistry(registry_dir), data_path, args.user_samples, config, seed_model, emit)
    except (ConfigError, DatasetError) as exc:
        emit({"event": "error", "kind": "data", "message": str(exc)})
        return 2
    except RegistryBusyError as exc:
        emit({"event": "error", "kind": "busy", "message": str(exc)})
        return 3
    except Exception as exc:
        emit({"event": "error", "kind": "crash", "message": f"{type(exc).__name__}: {exc}"})
        raise
    emit(result_event(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
