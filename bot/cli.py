"""The ``digitbot`` command: one entry point, a thin subcommand per job, heavy imports deferred."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def _quiet_tensorflow() -> None:
    # TensorFlow prints C++ start-up notices to stderr unless told otherwise.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


DEFAULT_EPOCHS = 30  # --single; the ensemble's members default to training.ensemble.DEFAULT_EPOCHS


def cmd_train(args: argparse.Namespace) -> int:
    """Train on MNIST and write the model and its reports (the ensemble, or one CNN with --single)."""
    _quiet_tensorflow()
    from training.data import DatasetError

    if not args.single:
        from training.ensemble import DEFAULT_EPOCHS as ENSEMBLE_EPOCHS
        from training.ensemble import main as train_ensemble

        argv = ["--out", str(args.out), "--epochs", str(args.epochs or ENSEMBLE_EPOCHS)]
        argv += ["--data", str(args.data)] if args.data else []
        argv += ["--warm-start", str(args.warm_start)] if args.warm_start else []
        try:
            return train_ensemble(argv)
        except DatasetError as exc:
            print(f"digitbot train: {exc}", file=sys.stderr)
            return 2
    from training.train import TrainConfig, train

    config = TrainConfig(epochs=args.epochs or DEFAULT_EPOCHS, batch_size=args.batch_size, seed=args.seed,
                         max_samples=args.max_samples)
    try:
        result = train(args.data, args.out, config)
    except DatasetError as exc:
        print(f"digitbot train: {exc}", file=sys.stderr)
        return 2
    metrics = result.metrics
    print(
        f"test accuracy {metrics['test_accuracy']:.2%} ({metrics['test_errors']} errors in "
        f"{metrics['test_images']:,}), {metrics['epochs_run']} epochs in {metrics['training_seconds'] / 60:.1f} min, "
        f"{metrics['parameters']:,} parameters, model {metrics['model_size_bytes'] / 1e6:.2f} MB -> {result.model_path}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a saved model on the MNIST test set."""
    _quiet_tensorflow()
    from training.data import DatasetError
    from training.train import evaluate_saved_model

    if not Path(args.model).is_file():
        print(f"digitbot evaluate: {args.model}: no such model file", file=sys.stderr)
        return 2
    try:
        evaluation, data = evaluate_saved_model(args.model, args.data, args.report_dir)
    except DatasetError as exc:
        print(f"digitbot evaluate: {exc}", file=sys.stderr)
        return 2
    print(f"model {args.model} on {data.source} ({int(evaluation.support.sum()):,} test images)")
    print(f"accuracy {evaluation.accuracy:.2%}   loss {evaluation.loss:.4f}")
    print("digit  precision  recall     f1  support")
    for digit in range(len(evaluation.support)):
        print(f"{digit:>5}  {evaluation.precision[digit]:>9.2%}  {evaluation.recall[digit]:>6.2%}  "
              f"{evaluation.f1[digit]:>5.2%}  {evaluation.support[digit]:>7}")
    if args.report_dir:
        print(f"plots written to {args.report_dir}")
    return 0


def _format_reading(reading, every_line: bool = False) -> str:
    """One reading as ``predict`` prints it; ``every_line``: the other lines are printed too,
    so they are not flagged as unread."""
    parts = []
    for prediction in reading.digits:
        runners = ", ".join(f"{digit} {probability:.1%}" for digit, probability in prediction.top3[1:])
        parts.append(f"{prediction.digit} ({prediction.confidence:.1%}; next: {runners})")
    flag = "  [low confidence]" if reading.low_confidence else ""
    if reading.runner_up:
        flag += (f"  [the line reader and the digits disagree: {reading.number} {reading.confidence:.1%} likely, "
                 f"{reading.runner_up} {reading.runner_up_confidence:.1%}]")
    if reading.line_reader_read_nothing:
        flag += "  [the line reader read no digit here: perhaps no digit at all]"
    if reading.other_lines and not every_line:
        flag += f"  [{reading.other_lines} more line(s) of writing not read; --every-line reads them]"
    return f"{reading.number}  {' '.join(parts)}{flag}"


def _picture_name(path: Path, taken: set[str]) -> str:
    """``<stem>.steps.png`` for ``path``, or ``<stem>-2.steps.png`` (-3, ...) when an earlier
    file of this run had the same stem (``a/photo.jpg`` and ``b/photo.jpg``); adds it to ``taken``."""
    name, number = f"{path.stem}.steps.png", 1
    while name in taken:
        number += 1
        name = f"{path.stem}-{number}.steps.png"
    taken.add(name)
    return name


def cmd_predict(args: argparse.Namespace) -> int:
    """Read the digits in image files."""
    _quiet_tensorflow()
    from core.classifier import Classifier, ModelLoadError
    from core.errors import DigitImageError, NoDigitFoundError

    try:
        classifier = Classifier.from_path(args.model)
    except ModelLoadError as exc:
        print(f"digitbot predict: {exc}", file=sys.stderr)
        return 2
    if args.show is not None:
        try:
            args.show.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # e.g. --show names an existing file, or a read-only place
            print(f"digitbot predict: --show needs a folder for the pictures: cannot use {args.show} "
                  f"({exc.strerror or exc})", file=sys.stderr)
            return 2
    failures = 0
    pictures: set[str] = set()
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            failures += 1
            message = f"cannot read the file ({exc.strerror or exc})"
            print(json.dumps({"file": name, "error": message}) if args.json else f"{name}: {message}")
            continue
        try:
            reading, segmentation = classifier.read_photo_with_steps(data)
        except DigitImageError as exc:
            failures += 1
            reason = exc.reason_text if isinstance(exc, NoDigitFoundError) else ""
            message = " ".join(filter(None, [exc.user_message, reason, exc.tip]))
            found = {"file": name, "error": message}
            if isinstance(exc, NoDigitFoundError):
                found["reason"] = exc.reason or None
                if args.show:  # the photo, its ink and why nothing was read
                    from core.visualize import render_no_digit_png

                    target = args.show / _picture_name(path, pictures)
                    target.write_bytes(render_no_digit_png(data, exc))
                    found["steps_png"] = str(target)
            shown = f"  (steps: {found['steps_png']})" if "steps_png" in found else ""
            print(json.dumps(found) if args.json else f"{name}: {message}{shown}")
            continue
        every_line = args.every_line and reading.other_lines > 0
        _print_reading(args, name, path, reading, segmentation, pictures, line=0 if every_line else None)
        for line in range(1, reading.other_lines + 1 if every_line else 1):
            try:
                other, other_segmentation = classifier.read_photo_with_steps(data, line)
            except NoDigitFoundError as exc:  # nothing read on that line (a word, a tick)
                message = " ".join(filter(None, [exc.user_message, exc.reason_text]))
                print(json.dumps({"file": name, "line": line, "error": message}) if args.json
                      else f"{name} [line {line + 1} of {reading.other_lines + 1}]: {message}")
                continue
            _print_reading(args, name, path, other, other_segmentation, pictures, line=line)
    return 1 if failures == len(args.files) else 0


def _print_reading(args: argparse.Namespace, name: str, path: Path, reading, segmentation, pictures: set[str],
                   line: int | None = None) -> None:
    """Print one reading of ``predict`` (a JSON object with ``--json``) and write its picture
    with ``--show``. ``line``: which line of writing it is, with ``--every-line`` (0 the one
    read first), None otherwise."""
    picture = {}
    if args.show:
        from core.visualize import render_steps_png

        named = path if not line else path.with_name(f"{path.stem}.line{line + 1}{path.suffix}")
        target = args.show / _picture_name(named, pictures)
        target.write_bytes(render_steps_png(reading, segmentation))
        picture = {"steps_png": str(target)}
    if args.json:
        print(json.dumps({"file": name, **({"line": line} if line is not None else {}), **reading.to_dict(),
                          **picture}))
    else:
        shown = f"  (steps: {picture['steps_png']})" if picture else ""
        where = f" [line {line + 1} of {reading.other_lines + 1}]" if line is not None else ""
        print(f"{name}{where}: {_format_reading(reading, every_line=line is not None)}{shown}")


def _print_retrain_progress(event: dict) -> None:
    kind = event.get("event")
    if kind == "start":
        print(f"retraining {event['base']} for {event['epochs']} epoch(s) on {event['mnist_samples']:,} MNIST images "
              f"+ {event['user_samples']:,} user samples (weight {event['user_weight']:g}); "
              f"{event['user_holdout']:,} user samples held out", flush=True)
    elif kind == "epoch":
        val = event.get("val_accuracy")
        print(f"epoch {event['epoch']}/{event['epochs']}: validation accuracy "
              f"{'-' if val is None else f'{val:.2%}'}, about {event['eta_seconds']} s left", flush=True)
    elif kind == "evaluating":
        print("evaluating the candidate beside the active model", flush=True)


def cmd_retrain(args: argparse.Namespace) -> int:
    """Fine-tune the active model version, gate it, register it, promote it if it passes."""
    _quiet_tensorflow()
    from core.config import ConfigError
    from core.registry import ModelRegistry, RegistryBusyError
    from training.data import DatasetError
    from training.retrain import config_from_args, retrain

    try:
        registry_dir, seed_model, data_path, config = config_from_args(args)
        result = retrain(ModelRegistry(registry_dir), data_path, args.user_samples, config, seed_model,
                         _print_retrain_progress)
    except (ConfigError, DatasetError, RegistryBusyError) as exc:
        print(f"digitbot retrain: {exc}", file=sys.stderr)
        return 3 if isinstance(exc, RegistryBusyError) else 2
    verdict = "promoted (now active)" if result.decision.promote else f"not promoted; {result.base.name} stays active"
    print(f"{result.version.name}: {verdict}")
    for reason in result.decision.reasons:
        print(f"  {reason}")
    print(f"  {result.seconds / 60:.1f} min; reports in {result.version.path}")
    if result.pruned:
        print(f"  deleted old rejected versions: {', '.join(result.pruned)} (the newest "
              f"{config.keep_rejected} rejected are kept)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Telegram bot (long polling, or a webhook server)."""
    _quiet_tensorflow()
    from core.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"digitbot run: {exc}", file=sys.stderr)
        return 2
    if args.webhook_url and not args.port:
        print("digitbot run: --webhook-url needs --port", file=sys.stderr)
        return 2
    from bot.main import run_bot

    run_bot(settings, webhook_url=args.webhook_url, port=args.port, listen=args.listen)
    return 0


def cmd_playground(args: argparse.Namespace) -> int:
    """Try the bot without Telegram: a chat page on localhost talking to the real bot."""
    _quiet_tensorflow()
    from bot.playground import run_playground

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"digitbot playground: listening on {args.host}: anyone who can reach this machine can use the "
              "chat and the local Bot API", file=sys.stderr)
    return run_playground(host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``digitbot`` and its subcommands."""
    from core.config import DEFAULT_EPOCHS, DEFAULT_MODEL_PATH, DEFAULT_SEED, MODELS_DIR
    from training.retrain import add_retrain_options  # numpy only; TensorFlow loads when a retrain runs

    parser = argparse.ArgumentParser(prog="digitbot", description="Read handwritten digits from photos.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data_help = "MNIST .npz or folder of IDX files (default: $DIGITBOT_MNIST, else the Keras download)"
    train = commands.add_parser("train", help="train the ensemble (or one CNN) on MNIST and write models/")
    train.add_argument("--data", type=Path, help=data_help)
    train.add_argument("--epochs", type=int, default=None,
                       help=f"epochs per member from scratch (default 12; with --single {DEFAULT_EPOCHS})")
    train.add_argument("--single", action="store_true",
                       help="one 10-class CNN, as shipped before the ensemble (no 'not a digit' output)")
    train.add_argument("--warm-start", type=Path, help="ensemble: fine-tune the first member from this 10-class .keras")
    train.add_argument("--out", type=Path, default=MODELS_DIR, help="output folder (default: models/)")
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--seed", type=int, default=DEFAULT_SEED)
    train.add_argument("--max-samples", type=int, help="--single: train on at most N images (quick trials)")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a model on the MNIST test set")
    evaluate.add_argument("--data", type=Path, help=data_help)
    evaluate.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    evaluate.add_argument("--report-dir", type=Path, help="also write confusion_matrix.png and misclassified.png here")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser("predict", help="read the digits in image files")
    predict.add_argument("files", nargs="+", metavar="FILE")
    predict.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    predict.add_argument("--json", action="store_true", help="one JSON object per line per file")
    predict.add_argument("--show", type=Path, metavar="DIR", help="write a picture of the steps per file into DIR")
    predict.add_argument("--every-line", action="store_true",
                         help="in a photo with several lines of writing, read each (the one chosen first)")
    predict.set_defaults(handler=cmd_predict)

    retrain = commands.add_parser("retrain", help="fine-tune the active model on MNIST + user samples; "
                                  "promote it only if it is no worse")
    retrain.add_argument("--data", type=Path, help=data_help)
    retrain.add_argument("--user-samples", type=Path, metavar="NPZ", help="labelled user samples "
                         "(an export of the feedback store)")
    add_retrain_options(retrain)
    retrain.set_defaults(handler=cmd_retrain)

    run = commands.add_parser("run", help="start the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook-url", help="public HTTPS URL for Telegram's webhook (default: long polling)")
    run.add_argument("--port", type=int, help="port of the webhook server")
    run.add_argument("--listen", default="0.0.0.0", help="address of the webhook server")
    run.set_defaults(handler=cmd_run)

    playground = commands.add_parser(
        "playground", help="try the bot without Telegram: a local chat page talking to the real bot"
    )
    playground.add_argument("--port", type=int, default=8080, help="port of the page (default 8080)")
    playground.add_argument("--host", default="127.0.0.1",
                            help="address to listen on (default 127.0.0.1; 0.0.0.0 to open it from a phone on your network)")
    playground.set_defaults(handler=cmd_playground)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``digitbot`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``digitbot predict --json *.jpg | head``): stop
        # quietly, as Unix tools do. Python would otherwise print a traceback while flushing
        # stdout at exit, so stdout is pointed at /dev/null first (as the Python docs advise).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command killed by it


if __name__ == "__main__":
    sys.exit(main())
