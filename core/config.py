"""The one place that knows file names, model constants and environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_FILENAME = "digit_cnn.keras"
#: Every model version's serving export sits beside its ``.keras`` file with this suffix.
TFLITE_SUFFIX = ".tflite"
TFLITE_FILENAME = "digit_cnn.tflite"
MODEL_CARD_FILENAME = "digit_cnn.json"
METRICS_FILENAME = "metrics.json"
DEFAULT_MODEL_PATH = MODELS_DIR / MODEL_FILENAME

#: Side of the square image the network reads, in pixels (as MNIST).
IMAGE_SIZE = 28
#: Side of the box the digit is fitted into before centring (LeCun et al., MNIST).
DIGIT_BOX = 20
NUM_CLASSES = 10
CLASS_LABELS = tuple(range(NUM_CLASSES))
#: Index of the classifier's "not a digit" output, after the ten digits: a mark that
#: segmentation proposed but that is no single digit (a fragment, two touching digits, a
#: line piece, a tick, a blob). Models without it (10 outputs) are still served.
NOT_A_DIGIT = NUM_CLASSES
NOT_A_DIGIT_LABEL = "not a digit"
#: Outputs of the shipped model: the ten digits and "not a digit".
NUM_OUTPUTS = NUM_CLASSES + 1

#: Environment variable naming the MNIST data (a Keras-layout .npz or a folder of IDX files).
MNIST_ENV = "DIGITBOT_MNIST"
#: Environment variable naming the number readers' ``.tflite`` files (:mod:`core.reader`),
#: several separated by ``os.pathsep`` (an ensemble, the first read first), or ``off`` to read
#: photos with the per-digit path alone; unset: :data:`DEFAULT_READER_PATHS`.
READER_ENV = "DIGITBOT_NUMBER_READER"
#: The shipped number readers: an ensemble of two, scored together (see
#: ``core.classifier.Classifier``; the second is read only where the first disagrees with the
#: per-digit reading).
DEFAULT_READER_PATHS = (MODELS_DIR / "number_reader.tflite", MODELS_DIR / "number_reader_2.tflite")

# Training defaults; the CLIs may override them.
DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 128
DEFAULT_VALIDATION_SIZE = 5000
DEFAULT_SEED = 1234
DEFAULT_LEARNING_RATE = 2e-3

#: Folder under ``DIGITBOT_HOME`` holding the model versions (see ``core.registry``).
REGISTRY_DIRNAME = "models"
# Retraining defaults (fine-tuning the active model); DIGITBOT_RETRAIN_* and the CLI override them.
DEFAULT_RETRAIN_EPOCHS = 3
DEFAULT_RETRAIN_LEARNING_RATE = 3e-4
RETRAIN_EPOCHS_ENV = "DIGITBOT_RETRAIN_EPOCHS"
RETRAIN_MAX_SAMPLES_ENV = "DIGITBOT_RETRAIN_MAX_SAMPLES"
#: Rejected model versions a retrain keeps (the newest ones) besides the rollback targets and
#: the active version; older rejected ones are deleted (``core.registry``). At least 1.
DEFAULT_KEEP_REJECTED = 3
RETRAIN_KEEP_REJECTED_ENV = "DIGITBOT_RETRAIN_KEEP_REJECTED"


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def reader_paths_from_env(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The number readers named by ``DIGITBOT_NUMBER_READER`` (paths separated by ``os.pathsep``,
    empty parts ignored): an empty tuple when it is ``off`` (or ``none``, ``0``, ``false``), the
    shipped :data:`DEFAULT_READER_PATHS` when it is unset or empty."""
    environ = os.environ if environ is None else environ
    value = environ.get(READER_ENV, "").strip()
    if value.lower() in ("off", "none", "0", "false"):
        return ()
    paths = tuple(Path(part.strip()).expanduser() for part in value.split(os.pathsep) if part.strip())
    return paths or DEFAULT_READER_PATHS


def mnist_path_from_env(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return the MNIST path named by ``DIGITBOT_MNIST``, or None when it is unset or empty."""
    environ = os.environ if environ is None else environ
    value = environ.get(MNIST_ENV, "").strip()
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """Validated bot settings, built by :func:`load_settings` from an environment mapping.

    Attributes:
        token: the Telegram bot token (secret; never logged).
        base_url: Bot API base URL passed to python-telegram-bot, or None for Telegram's.
        base_file_url: Bot API file base URL, or None for Telegram's.
        admin_ids: Telegram user ids allowed to run admin commands.
        home: directory for the bot's state (database, model versions); created on demand.
        model_path: the .keras model registered as the first version when the model
            registry under ``home`` is empty (``DIGITBOT_MODEL``, else the shipped model);
            once the registry has an active version, that version is served.
        mnist_path: MNIST data for retraining, or None.
        retrain_epochs: epochs of a retrain (``DIGITBOT_RETRAIN_EPOCHS``), at least 1.
        retrain_max_samples: MNIST training images a retrain uses at most
            (``DIGITBOT_RETRAIN_MAX_SAMPLES``), or None for all of them.
        retrain_keep_rejected: rejected model versions kept after a retrain, newest first
            (``DIGITBOT_RETRAIN_KEEP_REJECTED``), at least 1; older rejected ones are deleted.
    """

    token: str = field(repr=False)
    base_url: str | None = None
    base_file_url: str | None = None
    admin_ids: frozenset[int] = frozenset()
    home: Path = Path("state")
    model_path: Path = DEFAULT_MODEL_PATH
    mnist_path: Path | None = None
    retrain_epochs: int = DEFAULT_RETRAIN_EPOCHS
    retrain_max_samples: int | None = None
    retrain_keep_rejected: int = DEFAULT_KEEP_REJECTED

    @property
    def registry_dir(self) -> Path:
        """Where the model versions live: ``home/models``."""
        return self.home / REGISTRY_DIRNAME


def _parse_admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"DIGITBOT_ADMIN_IDS must be comma-separated Telegram user ids; {part!r} is not one"
            ) from None
    return frozenset(ids)


def _positive_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def load_settings(environ: Mapping[str, str] | None = None, *, require_token: bool = True) -> Settings:
    """Read and validate the bot's settings from ``environ`` (default: ``os.environ``).

    Args:
        environ: the environment variables.
        require_token: False for commands that never talk to Telegram (``digitbot
            retrain``); the token is then "" when unset.

    Raises:
        ConfigError: a required variable is missing or a value is malformed; the message
            names the variable and never contains the token.
    """
    environ = os.environ if environ is None else environ
    token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token and require_token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token "
            "(or try `digitbot playground`, which needs no token)"
        )
    if token and (":" not in token or any(ch.isspace() for ch in token)):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token ('<id>:<secret>')")
    base_url = environ.get("TELEGRAM_BASE_URL", "").strip() or None
    base_file_url = environ.get("TELEGRAM_BASE_FILE_URL", "").strip() or None
    for name, value in (("TELEGRAM_BASE_URL", base_url), ("TELEGRAM_BASE_FILE_URL", base_file_url)):
        if value is not None and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    home = Path(environ.get("DIGITBOT_HOME", "").strip() or "state").expanduser()
    model_raw = environ.get("DIGITBOT_MODEL", "").strip()
    model_path = Path(model_raw).expanduser() if model_raw else DEFAULT_MODEL_PATH
    if model_raw and not model_path.is_file():
        raise ConfigError(f"DIGITBOT_MODEL points to {model_path}, which is not a file")
    return Settings(
        token=token,
        base_url=base_url,
        base_file_url=base_file_url,
        admin_ids=_parse_admin_ids(environ.get("DIGITBOT_ADMIN_IDS", "")),
        home=home,
        model_path=model_path,
        mnist_path=mnist_path_from_env(environ),
        retrain_epochs=_positive_int(environ, RETRAIN_EPOCHS_ENV) or DEFAULT_RETRAIN_EPOCHS,
        retrain_max_samples=_positive_int(environ, RETRAIN_MAX_SAMPLES_ENV),
        retrain_keep_rejected=_positive_int(environ, RETRAIN_KEEP_REJECTED_ENV) or DEFAULT_KEEP_REJECTED,
    )
