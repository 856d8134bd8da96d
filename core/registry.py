"""Model versions under ``DIGITBOT_HOME/models``: register, list, activate, roll back (file operations only).

Layout of the registry folder::

    models/
      ACTIVE                       the active version's name, e.g. "v3" (replaced atomically)
      v1/ v2/ v3/ ...              complete versions, each with digit_cnn.keras (trained, fine-tuned
                                   by retrains), digit_cnn.tflite (its export, served by LiteRT),
                                   digit_cnn.json (model card), metrics.json, confusion_matrix.png,
                                   version.json
      .candidate-<pid>-<hex>/      a version being built; renamed to vN only once complete
      .pruned-vN-<hex>/            a version being deleted; renamed away from vN before removal
      .retrain.lock                flock'ed by the process that is retraining

A directory named ``vN`` only ever appears by renaming a complete candidate, and only ever
disappears by being renamed to a ``.pruned-`` name before its files are removed, so a
process killed while building or deleting leaves a dot-directory that listings ignore and
:meth:`ModelRegistry.clean_debris` removes; the active version changes only by replacing
``ACTIVE`` (temporary file + ``os.replace``), so readers see the old or the new name, never
half of one. No TensorFlow here: the bot loads the active version with ``core.classifier``.

Retention (:meth:`ModelRegistry.prune_rejected`, run after each retrain): initial and
promoted versions are all kept (they are rollback targets), and so is the active version
whatever its status; of the other rejected versions only the newest
``DEFAULT_KEEP_REJECTED`` (3) are kept. The newest version is never deleted, so version
numbers (max + 1) are never handed out twice.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from core.atomic import write_json_atomic, write_text_atomic
from core.config import DEFAULT_KEEP_REJECTED, METRICS_FILENAME, MODEL_CARD_FILENAME, MODEL_FILENAME, TFLITE_FILENAME

logger = logging.getLogger(__name__)

ACTIVE_FILENAME = "ACTIVE"
VERSION_FILENAME = "version.json"
CONFUSION_MATRIX_FILENAME = "confusion_matrix.png"
LOCK_FILENAME = ".retrain.lock"
CANDIDATE_PREFIX = ".candidate-"
PRUNED_PREFIX = ".pruned-"

#: ``status`` of a version: the model the registry started from, a retrain that passed the
#: promotion gate, or one that did not (kept for its figures; only activated on request).
INITIAL, PROMOTED, REJECTED = "initial", "promoted", "rejected"

_VERSION_NAME = re.compile(r"^v(\d+)$")
_REPORT_FILES = (METRICS_FILENAME, CONFUSION_MATRIX_FILENAME, "training_curves.png", "misclassified.png")


class RegistryError(RuntimeError):
    """The registry cannot do what was asked; the message says why, in words fit for an admin."""


class UnknownVersionError(RegistryError):
    """No complete version has that name."""


class RegistryBusyError(RegistryError):
    """Another process holds the retrain lock."""


@dataclass(frozen=True)
class ModelVersion:
    """One complete model version.

    Attributes:
        name: ``"v<number>"``.
        number: 1, 2, ...: the order versions were registered in.
        path: its directory.
        status: :data:`INITIAL`, :data:`PROMOTED` or :data:`REJECTED`.
        created_at: when it was registered (UTC), or None if unrecorded.
        trained_at: when its training finished (UTC; ``created_at`` of its ``metrics.json``),
            or None if unrecorded.
        test_accuracy: MNIST test accuracy in [0, 1] from ``metrics.json``, or None.
        user_accuracy: accuracy in [0, 1] on the held-out user samples at its retrain, or None.
        user_holdout: how many held-out user samples that was measured on (0 if none).
        parent: the version it was fine-tuned from, or None.
        source: where an imported model came from (a path), or None.
    """

    name: str
    number: int
    path: Path
    status: str = INITIAL
    created_at: datetime | None = None
    trained_at: datetime | None = None
    test_accuracy: float | None = None
    user_accuracy: float | None = None
    user_holdout: int = 0
    parent: str | None = None
    source: str | None = None

    @property
    def model_path(self) -> Path:
        """The ``.keras`` file (what retraining fine-tunes)."""
        return self.path / MODEL_FILENAME

    @property
    def tflite_path(self) -> Path:
        """The ``.tflite`` export of the same model (what serving runs with LiteRT)."""
        return self.path / TFLITE_FILENAME

    @property
    def confusion_matrix_path(self) -> Path:
        """Its confusion matrix on the MNIST test set (may be missing for imported models)."""
        return self.path / CONFUSION_MATRIX_FILENAME


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        logger.warning("Unreadable %s; ignoring it", path, exc_info=True)
        return {}
    return value if isinstance(value, dict) else {}


def parse_utc_time(value: object) -> datetime | None:
    """An ISO 8601 time from a JSON file as an aware UTC datetime (naive = UTC); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _optional_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def version_number(name: str) -> int | None:
    """``"v3"``, ``"V3"`` or ``"3"`` -> 3; anything else -> None."""
    match = _VERSION_NAME.match(name.strip().lower()) or re.match(r"^(\d+)$", name.strip())
    return int(match.group(1)) if match else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ModelRegistry:
    """The model versions in one folder (``Settings.registry_dir``). Cheap to create.

    Every method reads the folder afresh, so several processes (the bot, a retrain, the CLI)
    can share it; the only state an object keeps is whether it holds the retrain lock.
    Methods raise ``OSError`` when the folder cannot be read or written.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock_depth = 0  # > 0 while this object holds the retrain lock (see retrain_lock)

    # ------------------------------------------------------------------ reading

    def _load(self, directory: Path) -> ModelVersion | None:
        match = _VERSION_NAME.match(directory.name)
        if not match or not directory.is_dir():
            return None
        if not (directory / MODEL_FILENAME).is_file():
            logger.warning("Model version %s has no %s; ignoring it", directory, MODEL_FILENAME)
            return None
        info = _read_json(directory / VERSION_FILENAME)
        metrics = _read_json(directory / METRICS_FILENAME)
        after = (metrics.get("retrain") or {}).get("after") or {}
        return ModelVersion(
            name=directory.name,
            number=int(match.group(1)),
            path=directory,
            status=str(info.get("status", INITIAL)),
            created_at=parse_utc_time(info.get("created_at")),
            trained_at=parse_utc_time(metrics.get("created_at")),
            test_accuracy=_optional_float(metrics.get("test_accuracy")),
            user_accuracy=_optional_float(after.get("user_accuracy")),
            user_holdout=int(after.get("user_holdout") or 0),
            parent=info.get("parent"),
            source=info.get("source"),
        )

    def versions(self) -> list[ModelVersion]:
        """The complete versions, oldest first (candidates being built are not listed)."""
        if not self.root.is_dir():
            return []
        found = (self._load(child) for child in self.root.iterdir())
        return sorted((version for version in found if version is not None), key=lambda v: v.number)

    def get(self, name: str) -> ModelVersion:
        """The version called ``name`` (``"v3"``, ``"3"``).

        Raises:
            UnknownVersionError: there is no complete version of that name.
        """
        number = version_number(name)
        version = None if number is None else self._load(self.root / f"v{number}")
        if version is None:
            raise UnknownVersionError(f"there is no model version {name!r}")
        return version

    def _pointer(self) -> str | None:
        """What ``ACTIVE`` says right now (stripped), or None when there is no ``ACTIVE``."""
        try:
            return (self.root / ACTIVE_FILENAME).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def active(self) -> ModelVersion | None:
        """The version ``ACTIVE`` names, or None when there is none (or it names no complete version)."""
        name = self._pointer()
        if name is None:
            return None
        try:
            return self.get(name)
        except UnknownVersionError:
            logger.warning("%s names %r, which is not a complete version", self.root / ACTIVE_FILENAME, name)
            return None

    def previous(self) -> ModelVersion | None:
        """The version to roll back to: the newest non-rejected version older than the active one."""
        active = self.active()
        if active is None:
            return None
        older = [v for v in self.versions() if v.number < active.number and v.status != REJECTED]
        return older[-1] if older else None

    # ------------------------------------------------------------------ changing

    def activate(self, name: str) -> ModelVersion:
        """Make ``name`` the active version by replacing ``ACTIVE`` atomically.

        Raises:
            UnknownVersionError: no complete version has that name.
        """
        version = self.get(name)
        write_text_atomic(self.root / ACTIVE_FILENAME, version.name + "\n")
        logger.info("Active model version is now %s", version.name)
        return version

    @contextmanager
    def candidate(self) -> Iterator[Path]:
        """Yield a fresh, empty directory to build a version in; it is removed if the block raises.

        Pass it to :meth:`commit` inside the block. A process killed meanwhile leaves it
        behind as a dot-directory, ignored by listings and removed by :meth:`clean_debris`.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        directory = self.root / f"{CANDIDATE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        directory.mkdir()
        try:
            yield directory
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def commit(self, candidate: Path, *, status: str, parent: str | None = None,
               source: str | None = None, activate: bool = False) -> ModelVersion:
        """Write ``version.json`` into a complete candidate and rename it to the next free ``vN``.

        Args:
            candidate: a directory from :meth:`candidate` holding at least ``digit_cnn.keras``
                and its export ``digit_cnn.tflite`` (the pair is registered together).
            status: :data:`INITIAL`, :data:`PROMOTED` or :data:`REJECTED`.
            parent: the version it was derived from.
            source: where an imported model came from.
            activate: also make it the active version (after the rename).

        Raises:
            RegistryError: the candidate has no model file or no ``.tflite`` export.
        """
        for name in (MODEL_FILENAME, TFLITE_FILENAME):
            if not (candidate / name).is_file():
                raise RegistryError(f"{candidate} has no {name}; not registering it")
        info = {
            "status": status,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "parent": parent,
            "source": source,
        }
        write_json_atomic(candidate / VERSION_FILENAME, info)
        number = max((v.number for v in self.versions()), default=0) + 1
        while True:
            target = self.root / f"v{number}"
            try:
                os.rename(candidate, target)  # fails if another process took this number meanwhile
                break
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR):
                    raise
                number += 1
        self._stamp_card(target)
        version = self.get(target.name)
        logger.info("Registered model version %s (%s)", version.name, status)
        return self.activate(version.name) if activate else version

    @staticmethod
    def _stamp_card(directory: Path) -> None:
        # The card's "version" becomes Classifier.version: what logs and stored readings name.
        # A process killed before this line leaves a card without it (the creation time is used).
        card_path = directory / MODEL_CARD_FILENAME
        card = _read_json(card_path)
        if card:
            card["version"] = directory.name
            write_json_atomic(card_path, card)

    def import_model(self, model_path: Path, *, status: str = INITIAL, activate: bool = False) -> ModelVersion:
        """Register a copy of a trained model and the reports beside it as a new version.

        Copies ``model_path`` as ``digit_cnn.keras`` and its ``.tflite`` export beside it
        (``<stem>.tflite``) as ``digit_cnn.tflite``, its card (``<stem>.json`` or
        ``digit_cnn.json``) and, when present, ``metrics.json`` and the report PNGs.

        Raises:
            RegistryError: ``model_path`` is not a file, or has no ``.tflite`` export beside it
                (``python -m training.export MODEL.keras`` writes one).
        """
        model_path = Path(model_path)
        if not model_path.is_file():
            raise RegistryError(f"{model_path}: no model file to register")
        export = model_path.with_suffix(".tflite")
        if not export.is_file():
            raise RegistryError(f"{model_path}: no {export.name} beside it to serve "
                                f"(write one with `python -m training.export {model_path}`)")
        with self.candidate() as directory:
            shutil.copyfile(model_path, directory / MODEL_FILENAME)
            shutil.copyfile(export, directory / TFLITE_FILENAME)
            for card in (model_path.with_suffix(".json"), model_path.parent / MODEL_CARD_FILENAME):
                if card.is_file():
                    shutil.copyfile(card, directory / MODEL_CARD_FILENAME)
                    break
            for name in _REPORT_FILES:
                if (model_path.parent / name).is_file():
                    shutil.copyfile(model_path.parent / name, directory / name)
            return self.commit(directory, status=status, source=str(model_path.resolve()), activate=activate)

    def ensure_active(self, seed_model: Path) -> ModelVersion:
        """The active version, setting one up on first use.

        With no valid ``ACTIVE``: the newest non-rejected version is activated if there is
        one, else ``seed_model`` (the shipped model, or ``DIGITBOT_MODEL``) is imported as
        ``v1`` and activated.

        Raises:
            RegistryError: the registry is empty and ``seed_model`` is not a file.
        """
        active = self.active()
        if active is not None:
            return active
        usable = [v for v in self.versions() if v.status != REJECTED]
        if usable:
            return self.activate(usable[-1].name)
        return self.import_model(Path(seed_model), status=INITIAL, activate=True)

    def prune_rejected(self, keep_rejected: int = DEFAULT_KEEP_REJECTED, keep: Iterable[str] = ()) -> list[str]:
        """Delete the rejected versions beyond the newest ``keep_rejected``, under the retrain lock.

        Kept whatever their age: every initial or promoted version (rollback targets), the
        version ``ACTIVE`` names (an admin may have activated a rejected one on purpose; the
        pointer is read again just before and just after each deletion, so a switch made
        after the listing is honoured), the versions named in ``keep`` and the newest version
        of all (so :meth:`commit`, which numbers max + 1, never reuses a number). Of the
        other rejected versions the newest ``keep_rejected`` stay; older ones are deleted.

        Each is first renamed to a hidden ``.pruned-vN-<hex>`` directory (so it is either a
        complete version or absent from :meth:`versions`, never half deleted), then removed;
        what a crash leaves behind :meth:`clean_debris` removes.

        Args:
            keep_rejected: rejected versions to keep besides the active one, at least 1.
            keep: names of versions to keep as well (e.g. a retrain's base, which the bot
                switches back to if it cannot load the new version).

        Returns:
            The names deleted, oldest first.

        Raises:
            ValueError: ``keep_rejected`` is below 1.
            RegistryBusyError: another process holds the retrain lock (the lock is taken
                here unless this object already holds it).
        """
        if keep_rejected < 1:
            raise ValueError(f"keep_rejected must be at least 1, got {keep_rejected}")
        deleted: list[str] = []
        with self.retrain_lock():
            versions = self.versions()
            if not versions:
                return deleted
            spared = {version_number(name) for name in (*keep, self._pointer() or "")}
            rejected = [v for v in versions if v.status == REJECTED and v.number not in spared]
            # Oldest first; the newest keep_rejected (>= 1) stay, so the newest version of all,
            # rejected or not, is never among those deleted.
            for version in rejected[:-keep_rejected]:
                if self._delete_unless_active(version):
                    deleted.append(version.name)
        if deleted:
            logger.info("Deleted %d old rejected model version(s) from %s: %s (the newest %d rejected are kept)",
                        len(deleted), self.root, ", ".join(deleted), keep_rejected)
        return deleted

    def _delete_unless_active(self, version: ModelVersion) -> bool:
        """Rename ``version`` out of the listing and remove it, unless ``ACTIVE`` names it; True if deleted."""
        if version_number(self._pointer() or "") == version.number:
            logger.info("Keeping model version %s: it is the active one", version.name)
            return False
        debris = self.root / f"{PRUNED_PREFIX}{version.name}-{secrets.token_hex(4)}"
        try:
            os.rename(version.path, debris)
        except OSError:
            logger.warning("Could not delete model version %s", version.name, exc_info=True)
            return False
        if version_number(self._pointer() or "") == version.number:
            # Activated between the look and the rename (activations outside the lock only
            # pick non-rejected versions, but the pointer has the last word): put it back.
            os.rename(debris, version.path)
            logger.info("Keeping model version %s: it became the active one", version.name)
            return False
        shutil.rmtree(debris, ignore_errors=True)
        if debris.exists():
            logger.warning("Could not remove all of %s; the next clean-up will", debris)
        return True

    def clean_debris(self) -> list[Path]:
        """Remove what killed processes left: candidates of dead processes, half-deleted
        versions, temporary pointer files.

        Returns:
            The paths removed.
        """
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for child in self.root.iterdir():
            if child.name.startswith(CANDIDATE_PREFIX) and child.is_dir():
                pid = child.name[len(CANDIDATE_PREFIX):].split("-", 1)[0]
                if pid.isdigit() and _pid_alive(int(pid)):
                    continue  # another process is still building it
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
            elif child.name.startswith(PRUNED_PREFIX) and child.is_dir():
                shutil.rmtree(child, ignore_errors=True)  # already out of the listing: nobody reads it
                removed.append(child)
            elif child.name.startswith(f".{ACTIVE_FILENAME}.") and child.is_file():
                child.unlink(missing_ok=True)
                removed.append(child)
        if removed:
            logger.info("Removed %d leftover file(s) of interrupted runs from %s", len(removed), self.root)
        return removed

    @contextmanager
    def retrain_lock(self) -> Iterator[None]:
        """Hold the registry's retrain lock for the block (released by the OS if the process dies).

        Re-entrant for the same object (a retrain holding it may call :meth:`prune_rejected`);
        another object, even in the same process, is refused while it is held.

        Raises:
            RegistryBusyError: another process (or registry object) holds the lock.
        """
        if self._lock_depth:
            # flock belongs to an open file: opening the lock file again would be refused.
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILENAME, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RegistryBusyError("another retrain is running on this model registry") from None
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)
