"""Train the shipped classifier: an ensemble of CNNs with a "not a digit" output, saved as one model.

Each member is a :func:`training.model.build_cnn` with 11 outputs (digits 0-9 and
:data:`core.config.NOT_A_DIGIT`), trained on the MNIST training digits plus synthetic
non-digits (:mod:`training.nondigits`). Members differ in seed, width and augmentation
(some see part of their digits elastically distorted, Simard et al. 2003), which is what
makes an ensemble more accurate and better calibrated than its members (Lakshminarayanan
et al. 2017; Ovadia et al. 2019). :func:`training.model.build_ensemble` joins them into one
Keras model whose output is the log of the members' mean probability, exported to
``.tflite`` for serving.

Usage::

    python -m training.ensemble --data ../shared/data/mnist.npz [--out models] [--epochs 12]
                                [--warm-start models/digit_cnn.keras]

or, to fine-tune each member of a trained ensemble on today's training data (new
handwriting styles, say) for a few epochs instead of training anew::

    python -m training.ensemble --data ../shared/data/mnist.npz --fine-tune models/digit_cnn.keras
                                --epochs 2 [--stemmed-rate 0.35] [--looped-rate 0.35] --out /tmp/tuned
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.config import DEFAULT_SEED, MODELS_DIR, NOT_A_DIGIT, NUM_OUTPUTS
from training.augment import add_style_rate_arguments
from training.data import MnistData, load_mnist
from training.font_digits import add_font_arguments


@dataclass(frozen=True)
class MemberSpec:
    """How one member is trained.

    Attributes:
        seed: seeds its initial weights, data order and augmentation.
        width: filters of its first block (see :func:`training.model.build_cnn`).
        elastic_fraction: share of its training digits replaced by an elastically distorted
            copy, in [0, 1].
        warm_start: when True and a warm-start model is given, the member starts from that
            trained 10-class model (widened to 11 outputs) and is fine-tuned for
            :data:`WARM_EPOCHS` instead of trained from scratch.
        epochs: epochs from scratch for this member (None: the run's ``--epochs``).
    """

    seed: int
    width: int = 32
    elastic_fraction: float = 0.0
    warm_start: bool = False
    epochs: int | None = None


#: The shipped recipe: three members differing in seed, width and augmentation (the third
#: trains for fewer epochs: what this 2-core machine's training budget left room for).
DEFAULT_MEMBERS = (
    MemberSpec(seed=DEFAULT_SEED, width=32, elastic_fraction=0.0, warm_start=True),
    MemberSpec(seed=DEFAULT_SEED + 1, width=32, elastic_fraction=0.5),
    MemberSpec(seed=DEFAULT_SEED + 2, width=40, elastic_fraction=0.3, epochs=10),
)
#: Synthetic non-digits added to each member's training data (about one digit class's worth
#: and a half) and, drawn from the *test* digits, held out to measure the "not a digit" output.
NON_DIGIT_TRAIN = 8000
NON_DIGIT_TEST = 2000
DEFAULT_EPOCHS = 12
WARM_EPOCHS = 3
#: The drawn styles (:data:`training.augment.STYLE_RATE_HELP`) a run can add copies of, each with
#: its ``--<style>-rate``.
STYLES = ("stemmed", "looped", "curled", "long-flag", "hooked", "footless", "flat-top", "lifted-bar", "cursive")
#: Peak learning rate of a warm start or a fine-tune (a quarter of a fresh run's).
FINE_TUNE_LEARNING_RATE = 5e-4


def reference_classifier(path: Path | None):
    """A probability function from a saved Keras model (for filtering look-alike non-digits), or None."""
    if path is None or not Path(path).is_file():
        return None
    from core.classifier import softmax
    from core.preprocessing import to_model_input
    from training.model import load_keras_model

    model = load_keras_model(path)  # the shipped model is itself an ensemble
    return lambda images: softmax(model.predict(to_model_input(images), batch_size=512, verbose=0))


def non_digit_sets(data: MnistData, reference, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` uint8 (K, 28, 28) non-digits: from training digits, and from test digits."""
    from training.nondigits import make_non_digits

    train = make_non_digits(data.x_train, NON_DIGIT_TRAIN, seed=seed, reference=reference)
    test = make_non_digits(data.x_test, NON_DIGIT_TEST, seed=seed + 1, reference=reference)
    return train, test


def train_member(spec: MemberSpec, data: MnistData, non_digits: np.ndarray, epochs: int,
                 warm_start: Path | None = None, verbose: int | str = 2, initial_model=None,
                 stemmed_rate: float = 0.0, looped_rate: float = 0.0, curled_rate: float = 0.0,
                 long_flag_rate: float = 0.0, hooked_rate: float = 0.0, footless_rate: float = 0.0,
                 flat_top_rate: float = 0.0, lifted_bar_rate: float = 0.0, cursive_rate: float = 0.0,
                 font_digits: tuple[np.ndarray, np.ndarray] | None = None):
    """Train one member; returns ``(model, history, seconds)``.

    Args:
        spec: the member's recipe.
        data: MNIST (the test set is not used).
        non_digits: uint8 (K, 28, 28), added with label :data:`NOT_A_DIGIT`.
        epochs: epochs from scratch or of the fine-tune (a warm-started member gets
            :data:`WARM_EPOCHS`).
        warm_start: a trained 10-class ``.keras`` model for members with ``warm_start``.
        initial_model: this member already trained (11 outputs), to fine-tune for ``epochs``
            at :data:`FINE_TUNE_LEARNING_RATE`; its weights are changed in place.
        stemmed_rate: share of the 9s also drawn as a ring on a stem
            (:attr:`training.train.TrainConfig.stemmed_rate`), in [0, 1].
        looped_rate: share of the 9s and 2s also drawn looped
            (:attr:`training.train.TrainConfig.looped_rate`), in [0, 1].
        curled_rate: share of the 9s also drawn on a leaning, curled stem
            (:attr:`training.train.TrainConfig.curled_rate`), in [0, 1].
        long_flag_rate: share of the 1s also drawn with a long, steep flag
            (:attr:`training.train.TrainConfig.long_flag_rate`), in [0, 1].
        hooked_rate: share of the 7s also drawn with a hook and mostly a crossbar
            (:attr:`training.train.TrainConfig.hooked_rate`), in [0, 1].
        footless_rate: share of the 4s also drawn with the stem cut off at the crossbar
            (:attr:`training.train.TrainConfig.footless_rate`), in [0, 1].
        flat_top_rate: share of the 3s also drawn with a flat bar and a diagonal on top
            (:attr:`training.train.TrainConfig.flat_top_rate`), in [0, 1].
        lifted_bar_rate: share of the 5s also drawn with the bar apart, high and to the right
            (:attr:`training.train.TrainConfig.lifted_bar_rate`), in [0, 1].
        cursive_rate: share of the 2s and 3s also drawn with cursive loops
            (:attr:`training.train.TrainConfig.cursive_rate`), in [0, 1].
        font_digits: ``(images uint8 (K, 28, 28), labels (K,) in 0-9)`` drawn from handwriting
            fonts (:func:`training.font_digits.render_font_digits`), added to the training digits.
    """
    import keras

    from training.augment import elastic_distort
    from training.model import build_cnn, load_keras_model, widen_classifier
    from training.train import TrainConfig, fit, short_run_ema_momentum

    keras.utils.set_random_seed(spec.seed)
    x_train = data.x_train
    if spec.elastic_fraction > 0:
        rng = np.random.default_rng(spec.seed)
        chosen = np.flatnonzero(rng.random(len(x_train)) < spec.elastic_fraction)
        x_train = x_train.copy()
        x_train[chosen] = elastic_distort(x_train[chosen], seed=spec.seed)
    member_data = replace(data, x_train=x_train)
    extra = (non_digits, np.full(len(non_digits), NOT_A_DIGIT, np.uint8), np.ones(len(non_digits), np.float32))
    if font_digits is not None and len(font_digits[0]):
        extra = (np.concatenate([extra[0], font_digits[0]]), np.concatenate([extra[1], font_digits[1].astype(np.uint8)]),
                 np.ones(len(extra[0]) + len(font_digits[0]), np.float32))
    config = TrainConfig(epochs=epochs, seed=spec.seed, stemmed_rate=stemmed_rate,
                         looped_rate=looped_rate, curled_rate=curled_rate, long_flag_rate=long_flag_rate,
                         hooked_rate=hooked_rate, footless_rate=footless_rate, flat_top_rate=flat_top_rate,
                         lifted_bar_rate=lifted_bar_rate, cursive_rate=cursive_rate)
    if initial_model is not None:
        config = replace(config, learning_rate=FINE_TUNE_LEARNING_RATE)
        steps = epochs * int(np.ceil((len(x_train) + len(extra[0])) / config.batch_size))
        return fit(member_data, config, extra=extra, initial_model=initial_model, verbose=verbose,
                   ema_momentum=short_run_ema_momentum(steps))
    if spec.warm_start and warm_start is not None:
        base = load_keras_model(warm_start)
        model = widen_classifier(base, NUM_OUTPUTS)
        config = replace(config, epochs=WARM_EPOCHS, learning_rate=5e-4)
    else:
        model = build_cnn(num_classes=NUM_OUTPUTS, width=spec.width)
    return fit(member_data, config, extra=extra, initial_model=model, verbose=verbose)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="MNIST .npz or IDX folder")
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the artifacts go")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="epochs per member from scratch")
    parser.add_argument("--warm-start", type=Path, default=None,
                        help="a trained 10-class .keras model the first member is fine-tuned from")
    parser.add_argument("--members", type=int, default=len(DEFAULT_MEMBERS), help="how many of the recipe's members")
    parser.add_argument("--work", type=Path, default=None, help="folder for each member's checkpoint")
    parser.add_argument("--fine-tune", type=Path, default=None,
                        help="a trained ensemble .keras whose members are fine-tuned for --epochs instead")
    add_style_rate_arguments(parser, STYLES)
    add_font_arguments(parser)
    args = parser.parse_args(argv)

    from training.model import build_ensemble

    data = load_mnist(args.data)
    work = args.work or (args.out / ".ensemble-work")
    work.mkdir(parents=True, exist_ok=True)
    cached = work / "non_digits.npz"
    if cached.is_file():  # a resumed run trains its remaining members on the same non-digits
        with np.load(cached) as archive:
            train_nd, test_nd = archive["train"], archive["test"]
    else:
        reference = reference_classifier(args.fine_tune or args.warm_start or (MODELS_DIR / "digit_cnn.keras"))
        train_nd, test_nd = non_digit_sets(data, reference)
        np.savez_compressed(cached, train=train_nd, test=test_nd)
    from training.model import load_keras_model

    font_digits, font_record = None, None
    if args.font_dir is not None:
        from training.font_digits import find_fonts, render_font_digits

        images, labels, used = render_font_digits(find_fonts(args.font_dir), args.font_copies, seed=DEFAULT_SEED)
        font_digits = (images, labels)
        font_record = {"fonts": len(used), "copies": args.font_copies}
        print(f"{len(images)} digits drawn from {len(used)} handwriting fonts", flush=True)
    starts = [None] * args.members
    if args.fine_tune is not None:
        shipped = load_keras_model(args.fine_tune)
        starts = [shipped.get_layer(f"member_{index}") for index in range(args.members)]
    members, histories, total = [], [], 0.0
    for index, (spec, start) in enumerate(zip(DEFAULT_MEMBERS[: args.members], starts)):
        checkpoint = work / (f"member_{index}.keras" if start is None else f"member_{index}_fine_tuned.keras")
        if checkpoint.is_file():
            print(f"member {index}: reusing {checkpoint}", flush=True)
            members.append(load_keras_model(checkpoint))
            histories.append({})
            continue
        started = time.perf_counter()
        epochs = args.epochs if start is not None else spec.epochs or args.epochs
        model, history, seconds = train_member(spec, data, train_nd, epochs, args.warm_start, initial_model=start,
                                               font_digits=font_digits, **style_rates(args))
        model.save(checkpoint)
        members.append(model)
        histories.append(history)
        total += seconds
        print(f"member {index}: {spec} trained in {time.perf_counter() - started:.0f} s", flush=True)
    ensemble = build_ensemble(members)
    ensemble.save(work / "ensemble.keras")
    write_ensemble_artifacts(ensemble, members, data, test_nd, histories, total, args, font_record)
    return 0


def non_digit_scores(model, data: MnistData, test_non_digits: np.ndarray) -> dict:
    """How the "not a digit" output behaves on held-out data: JSON-ready figures.

    ``non_digit_recall``: share of the held-out synthetic non-digits (drawn from MNIST *test*
    digits) called "not a digit"; ``digits_rejected``: share of the MNIST test digits called
    "not a digit" (each one an error).
    """
    from training.train import predict_probabilities

    on_non_digits = predict_probabilities(model, test_non_digits).argmax(axis=1)
    on_digits = predict_probabilities(model, data.x_test).argmax(axis=1)
    return {"non_digit_recall": round(float((on_non_digits == NOT_A_DIGIT).mean()), 6),
            "non_digit_test_images": int(len(test_non_digits)),
            "digits_rejected": round(float((on_digits == NOT_A_DIGIT).mean()), 6)}


def style_rates(args: argparse.Namespace) -> dict[str, float]:
    """The drawn-style shares of :data:`STYLES` given on the command line, as keyword arguments of
    :func:`train_member` and :class:`training.train.TrainConfig` (``{"stemmed_rate": 0.0, ...}``)."""
    names = [f"{style.replace('-', '_')}_rate" for style in STYLES]
    return {name: getattr(args, name) for name in names}


def write_ensemble_artifacts(ensemble, members: list, data: MnistData, test_non_digits: np.ndarray,
                             histories: list[dict], seconds: float, args: argparse.Namespace,
                             font_record: dict | None = None) -> None:
    """Evaluate the ensemble and each member, then write every artifact (and the .tflite) into ``args.out``;
    ``font_record`` (``{"fonts", "copies"}``) says which font digits the members saw, if any."""
    from training.train import TrainConfig, predict_probabilities, write_artifacts

    member_accuracy = [round(float((predict_probabilities(member, data.x_test).argmax(axis=1) == data.y_test).mean()), 6)
                       for member in members]
    extra = {
        "ensemble": {
            "members": [dict(spec.__dict__, test_accuracy=accuracy)
                        for spec, accuracy in zip(DEFAULT_MEMBERS, member_accuracy)],
            "epochs": args.epochs,
            "warm_start": str(args.warm_start) if args.warm_start else None,
            "fine_tuned_from": str(args.fine_tune) if args.fine_tune else None,
            **style_rates(args),
            "font_digits": font_record,
            "non_digit_train_images": NON_DIGIT_TRAIN,
            **non_digit_scores(ensemble, data, test_non_digits),
        },
    }
    trained = [index for index, h in enumerate(histories) if h]
    history = histories[trained[-1]] if trained else {}
    heading = (f"member {trained[-1] + 1} of {len(histories)}, the last trained "
               f"({'fine-tuned' if args.fine_tune else 'trained'} for {len(history.get('loss', []))} epochs)"
               if trained else None)
    # The members' shared recipe, so metrics.json's top-level rates and learning rate are the ones trained with.
    config = TrainConfig(epochs=args.epochs, **style_rates(args))
    if args.fine_tune:
        config = replace(config, learning_rate=FINE_TUNE_LEARNING_RATE)
    result = write_artifacts(ensemble, data, config, history, seconds, args.out, extra_metrics=extra,
                             curves_heading=heading)
    print(f"ensemble MNIST test accuracy {result.metrics['test_accuracy']:.4%} "
          f"(members {member_accuracy}); {extra['ensemble']}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
