"""The feedback store: every reading the bot answered and what users said about it, in SQLite.

One file, ``<DIGITBOT_HOME>/feedback.sqlite3``, in WAL mode with foreign keys on. Four tables:

- ``readings``: one row per photo read (time UTC, user id, chat id, model version);
- ``predictions``: one row per digit of a reading (position left to right, predicted digit,
  confidence, and the 28x28 image the model saw as 784 uint8 bytes, white ink on black);
  never the user's photo;
- ``feedback``: at most one row per prediction (the true label, and whether the user
  confirmed the answer or corrected it);
- ``languages``: the language each user chose with /language (users who never chose have no
  row: the bot follows their Telegram settings).

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` lists the steps from
an empty file to the current schema, and :meth:`FeedbackStore.open` applies the missing ones.

The store is synchronous and thread-safe (one connection behind a lock): the bot calls it
from a dedicated database thread (``BotServices.run_db``), never from the event loop.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.config import IMAGE_SIZE

#: The database file's name inside ``DIGITBOT_HOME``.
DATABASE_FILENAME = "feedback.sqlite3"

#: Schema steps, in order: ``MIGRATIONS[i]`` takes ``user_version`` i to i + 1.
#: Append new steps; never edit one that has shipped.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # AUTOINCREMENT: ids are never reused, so a button of a forgotten reading can never
        # point at a newer one.
        """CREATE TABLE readings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            model_version TEXT NOT NULL
        )""",
        "CREATE INDEX readings_by_user ON readings (user_id)",
        """CREATE TABLE predictions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            reading_id INTEGER NOT NULL REFERENCES readings (id) ON DELETE CASCADE,
            position INTEGER NOT NULL CHECK (position >= 0),
            digit INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9),
            confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            image BLOB NOT NULL CHECK (length(image) = 784),
            UNIQUE (reading_id, position)
        )""",
        """CREATE TABLE feedback (
            prediction_id INTEGER PRIMARY KEY REFERENCES predictions (id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            confirmed INTEGER NOT NULL CHECK (confirmed IN (0, 1))
        )""",
    ),
    # /stats reads the feedback on the model now serving: reach its readings without a full scan.
    ("CREATE INDEX readings_by_model_version ON readings (model_version)",),
    # /language: the language a user chose (a code of bot.i18n.CODES), until /forgetme.
    (
        """CREATE TABLE languages (
            user_id INTEGER PRIMARY KEY,
            language TEXT NOT NULL,
            chosen_at TEXT NOT NULL
        )""",
    ),
)

#: The schema version this code reads and writes.
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(RuntimeError):
    """The database cannot be opened, read or written (wraps ``sqlite3.Error``), or is too new."""


class FeedbackStatus(enum.Enum):
    """What :meth:`FeedbackStore.record_feedback` did."""

    STORED = "stored"  #: the feedback was saved
    DUPLICATE = "duplicate"  #: the reading already had feedback; nothing changed
    MISSING = "missing"  #: no such reading (never stored, or forgotten); nothing changed
    NOT_OWNER = "not_owner"  #: someone other than the photo's sender answered; nothing changed


@dataclass(frozen=True)
class Forgotten:
    """What :meth:`FeedbackStore.forget_user` deleted.

    Attributes:
        readings: how many photo readings (with their digits and feedback).
        language: whether a choice of language was deleted too.
    """

    readings: int = 0
    language: bool = False


@dataclass(frozen=True)
class StoredReading:
    """A reading as stored.

    Attributes:
        reading_id: its id (goes into the buttons' callback data).
        user_id, chat_id: who sent the photo, and where.
        model_version: ``Classifier.version`` of the model that read it.
        digits: the predicted digits, left to right, each 0-9.
        prediction_ids: the predictions' ids, same order.
        labels: the true digits from feedback, same order, or None while there is none.
    """

    reading_id: int
    user_id: int
    chat_id: int
    model_version: str
    digits: tuple[int, ...]
    prediction_ids: tuple[int, ...]
    labels: tuple[int, ...] | None = None

    @property
    def number(self) -> str:
        """The predicted digits as text, e.g. ``"427"``."""
        return "".join(map(str, self.digits))


@dataclass(frozen=True)
class LiveStats:
    """What users said about the bot's answers, for /stats.

    Attributes:
        model_version: the ``Classifier.version`` whose readings the figures cover, or None
            for every version.
        confirmed_answers: readings whose every digit users confirmed.
        corrected_answers: readings where users corrected at least one digit.
        digits_checked: digits with feedback.
        digits_right: of those, digits the bot had read right.
        confusions: the commonest mistakes as ``(true digit, predicted digit, count)``,
            most frequent first.
        digits_checked_all_versions, digits_right_all_versions: the same two counts over
            every model version (equal to the above when ``model_version`` is None).
    """

    model_version: str | None = None
    confirmed_answers: int = 0
    corrected_answers: int = 0
    digits_checked: int = 0
    digits_right: int = 0
    confusions: tuple[tuple[int, int, int], ...] = ()
    digits_checked_all_versions: int = 0
    digits_right_all_versions: int = 0

    @property
    def accuracy(self) -> float | None:
        """Share of checked digits read right, in [0, 1]; None before any feedback."""
        return self.digits_right / self.digits_checked if self.digits_checked else None

    @property
    def accuracy_all_versions(self) -> float | None:
        """As :attr:`accuracy`, over every model version."""
        checked = self.digits_checked_all_versions
        return self.digits_right_all_versions / checked if checked else None

    @property
    def other_versions_checked(self) -> bool:
        """True when readings of other model versions than :attr:`model_version` have feedback too."""
        return self.digits_checked_all_versions > self.digits_checked


def image_to_bytes(image: np.ndarray) -> bytes:
    """Pack what the model saw into 784 bytes.

    Args:
        image: float (28, 28), white ink on black, values in [0, 1] (``DigitPrediction.image``).

    Returns:
        784 bytes, row-major uint8 = round(value * 255).

    Raises:
        ValueError: the image is not 28x28.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected a (28, 28) image, got {image.shape}")
    return np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8).tobytes()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class FeedbackStore:
    """Readings, predictions and feedback in one SQLite file. Build it with :meth:`open`.

    Every method may be called from any thread (calls are serialised); each write is one
    transaction, so a crash never leaves half a reading. Errors from SQLite surface as
    :class:`StoreError`.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike) -> "FeedbackStore":
        """Open (creating it and its directory if needed) and migrate the database at ``path``.

        Args:
            path: the database file, usually ``settings.home / DATABASE_FILENAME``.

        Raises:
            StoreError: the file cannot be opened or migrated, or its schema is newer than
                this code (:data:`SCHEMA_VERSION`).
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are begun explicitly in _transaction().
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"{path}: cannot open the feedback database ({error})") from error
        store = cls(connection, path)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA foreign_keys = ON")
            # Safe with WAL: a crash never corrupts the file; commits skip an fsync.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA secure_delete = ON")  # /forgetme overwrites the deleted rows' bytes
            store._migrate()
        except BaseException:
            connection.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._connection.close()

    def __enter__(self) -> "FeedbackStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; rolled back on any error, sqlite errors become StoreError."""
        with self._lock:
            connection = self._connection
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise StoreError(f"{self.path}: {error}") from error

    @property
    def schema_version(self) -> int:
        """The database's ``PRAGMA user_version``."""
        with self._transaction(write=False) as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self._transaction() as connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {version} is newer than this digitbot's ({SCHEMA_VERSION})"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    connection.execute(statement)
                # user_version is part of the transaction: a failed step leaves the old version.
                connection.execute(f"PRAGMA user_version = {number + 1}")

    # ----------------------------------------------------------------- writing

    def record_reading(
        self,
        *,
        user_id: int,
        chat_id: int,
        model_version: str,
        predictions: Sequence[tuple[int, float, np.ndarray]],
    ) -> StoredReading:
        """Store one photo's reading.

        Args:
            user_id, chat_id: Telegram ids of the sender and the chat.
            model_version: ``Classifier.version``.
            predictions: per digit, left to right: ``(digit 0-9, confidence in [0, 1],
                image float (28, 28) in [0, 1] white on black)``; at least one.

        Returns:
            The stored reading, without feedback.

        Raises:
            ValueError: no predictions, or an image that is not 28x28.
            StoreError: the write failed (nothing is stored).
        """
        if not predictions:
            raise ValueError("a reading needs at least one prediction")
        rows = [(int(digit), float(confidence), image_to_bytes(image))
                for digit, confidence, image in predictions]
        with self._transaction() as connection:
            reading_id = connection.execute(
                "INSERT INTO readings (created_at, user_id, chat_id, model_version) VALUES (?, ?, ?, ?)",
                (_now(), user_id, chat_id, model_version),
            ).lastrowid
            prediction_ids = tuple(
                connection.execute(
                    "INSERT INTO predictions (reading_id, position, digit, confidence, image)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (reading_id, position, digit, confidence, image),
                ).lastrowid
                for position, (digit, confidence, image) in enumerate(rows)
            )
        return StoredReading(reading_id, user_id, chat_id, model_version,
                             tuple(digit for digit, _, _ in rows), prediction_ids)

    def record_feedback(
        self, reading_id: int, user_id: int, labels: Sequence[int] | None = None
    ) -> tuple[FeedbackStatus, StoredReading | None]:
        """Store what the photo's sender says the digits really are, once per reading.

        Args:
            reading_id: the reading answered.
            user_id: who answered; only the photo's sender may.
            labels: the true digits, left to right, one per predicted digit; None confirms
                the reading as read. A label equal to the prediction counts as a confirmation.

        Returns:
            ``(status, reading)``: ``reading`` is the reading with its labels as now stored,
            or None when it is :attr:`FeedbackStatus.MISSING`. A second answer for the same
            reading (a double tap, a replayed update) is :attr:`FeedbackStatus.DUPLICATE`
            and changes nothing.

        Raises:
            ValueError: ``labels`` has the wrong length or a value outside 0-9.
            StoreError: the write failed (nothing is stored).
        """
        with self._transaction() as connection:
            reading = self._reading(connection, reading_id)
            if reading is None:
                return FeedbackStatus.MISSING, None
            if reading.user_id != user_id:
                return FeedbackStatus.NOT_OWNER, reading
            if reading.labels is not None:
                return FeedbackStatus.DUPLICATE, reading
            labels = reading.digits if labels is None else tuple(int(label) for label in labels)
            if len(labels) != len(reading.digits) or not all(0 <= label <= 9 for label in labels):
                raise ValueError(f"expected {len(reading.digits)} labels in 0-9, got {labels!r}")
            now = _now()
            connection.executemany(
                "INSERT INTO feedback (prediction_id, created_at, label, confirmed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (prediction_id) DO NOTHING",
                [
                    (prediction_id, now, label, int(label == digit))
                    for prediction_id, label, digit in zip(reading.prediction_ids, labels, reading.digits)
                ],
            )
        return FeedbackStatus.STORED, replace(reading, labels=tuple(labels))

    def forget_user(self, user_id: int) -> Forgotten:
        """Delete every reading, prediction, image and feedback of ``user_id``, and their choice of language.

        Returns:
            What was deleted.

        Raises:
            StoreError: the delete failed (nothing is deleted).
        """
        with self._transaction() as connection:
            deleted = connection.execute("DELETE FROM readings WHERE user_id = ?", (user_id,)).rowcount
            language = connection.execute("DELETE FROM languages WHERE user_id = ?", (user_id,)).rowcount
        if deleted or language:
            # WAL keeps old pages until a checkpoint: write them back so the data leaves the log.
            with self._lock:
                try:
                    self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error as error:
                    raise StoreError(f"{self.path}: {error}") from error
        return Forgotten(readings=deleted, language=bool(language))

    def set_language(self, user_id: int, language: str | None) -> None:
        """Store the language ``user_id`` chose (a code such as ``"de"``), or with None forget it.

        Raises:
            StoreError: the write failed (the earlier choice stays).
        """
        with self._transaction() as connection:
            if language is None:
                connection.execute("DELETE FROM languages WHERE user_id = ?", (user_id,))
            else:
                connection.execute(
                    "INSERT INTO languages (user_id, language, chosen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (user_id) DO UPDATE SET language = excluded.language, chosen_at = excluded.chosen_at",
                    (user_id, language, _now()),
                )

    # ----------------------------------------------------------------- reading

    @staticmethod
    def _reading(connection: sqlite3.Connection, reading_id: int) -> StoredReading | None:
        head = connection.execute(
            "SELECT user_id, chat_id, model_version FROM readings WHERE id = ?", (reading_id,)
        ).fetchone()
        if head is None:
            return None
        rows = connection.execute(
            "SELECT p.id, p.digit, f.label FROM predictions p LEFT JOIN feedback f ON f.prediction_id = p.id "
            "WHERE p.reading_id = ? ORDER BY p.position",
            (reading_id,),
        ).fetchall()
        labels = tuple(label for _, _, label in rows)
        return StoredReading(
            reading_id=reading_id,
            user_id=head[0],
            chat_id=head[1],
            model_version=head[2],
            digits=tuple(digit for _, digit, _ in rows),
            prediction_ids=tuple(prediction_id for prediction_id, _, _ in rows),
            labels=None if any(label is None for label in labels) else labels,
        )

    def language_of(self, user_id: int) -> str | None:
        """The language code ``user_id`` chose with /language, or None if they never chose one.

        Raises:
            StoreError: the read failed.
        """
        with self._transaction(write=False) as connection:
            row = connection.execute("SELECT language FROM languages WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else row[0]

    def reading(self, reading_id: int) -> StoredReading | None:
        """The reading ``reading_id`` with its feedback, or None if there is none (or it was forgotten).

        Raises:
            StoreError: the read failed.
        """
        with self._transaction(write=False) as connection:
            return self._reading(connection, reading_id)

    def live_stats(self, model_version: str | None = None, top_confusions: int = 3) -> LiveStats:
        """Figures from user feedback on the readings of one model version, or of all of them.

        Everything is read in one transaction, so the per-version figures and the
        all-versions totals always agree.

        Args:
            model_version: a ``Classifier.version``; None counts every stored reading.
            top_confusions: how many of the commonest mistakes to return.

        Raises:
            StoreError: the read failed.
        """
        # The digits with feedback, as (reading_id, predicted digit, true label, confirmed);
        # filtered by version through readings_by_model_version.
        checked = (
            "SELECT p.reading_id, p.digit, f.label, f.confirmed"
            " FROM feedback f JOIN predictions p ON p.id = f.prediction_id"
        )
        parameters: tuple[str, ...] = ()
        if model_version is not None:
            checked += " JOIN readings r ON r.id = p.reading_id WHERE r.model_version = ?"
            parameters = (model_version,)
        with self._transaction(write=False) as connection:
            answers = connection.execute(
                f"WITH checked AS ({checked})"
                " SELECT SUM(wrong = 0), SUM(wrong > 0), SUM(digits), SUM(digits - wrong) FROM ("
                "  SELECT SUM(confirmed = 0) AS wrong, COUNT(*) AS digits FROM checked GROUP BY reading_id)",
                parameters,
            ).fetchone()
            confusions = connection.execute(
                f"WITH checked AS ({checked})"
                " SELECT label, digit, COUNT(*) AS n FROM checked WHERE confirmed = 0"
                " GROUP BY label, digit ORDER BY n DESC, label, digit LIMIT ?",
                (*parameters, top_confusions),
            ).fetchall()
            everything = connection.execute("SELECT COUNT(*), SUM(confirmed) FROM feedback").fetchone()
        return LiveStats(
            model_version=model_version,
            confirmed_answers=answers[0] or 0,
            corrected_answers=answers[1] or 0,
            digits_checked=answers[2] or 0,
            digits_right=answers[3] or 0,
            confusions=tuple((label, digit, count) for label, digit, count in confusions),
            digits_checked_all_versions=everything[0] or 0,
            digits_right_all_versions=everything[1] or 0,
        )

    def export_labelled_samples(self, path: str | os.PathLike) -> int:
        """Write every digit that has feedback to an ``.npz`` file, for retraining.

        The file is written to a temporary file beside ``path`` and renamed over it, so
        readers never see a partial file. Arrays (N = number of labelled digits, in
        prediction-id order, i.e. oldest first):

        - ``images``: uint8 (N, 28, 28), white ink on black, 0-255: exactly the 28x28 input
          the model saw, scaled back from [0, 1] (MNIST's layout);
        - ``labels``: int64 (N,), the true digit 0-9 (for a confirmation, the predicted digit);
        - ``prediction_ids``: int64 (N,), the predictions' ids in this store;
        - ``confirmed``: bool (N,), True where the user confirmed the answer ("Right"),
          False where they corrected it.

        With no feedback yet, the arrays are empty (N = 0) and the file is still written.

        Args:
            path: where to write, e.g. ``"feedback.npz"`` (used exactly as given; no suffix
                is added). Its directory must exist.

        Returns:
            N, the number of samples written.

        Raises:
            StoreError: the database read failed.
            OSError: the file cannot be written (no partial file is left behind).
        """
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                "SELECT p.id, p.image, f.label, f.confirmed FROM feedback f"
                " JOIN predictions p ON p.id = f.prediction_id ORDER BY p.id"
            ).fetchall()
        count = len(rows)
        images = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.uint8)
        images = images.reshape(count, IMAGE_SIZE, IMAGE_SIZE)
        arrays = {
            "images": images,
            "labels": np.array([row[2] for row in rows], dtype=np.int64),
            "prediction_ids": np.array([row[0] for row in rows], dtype=np.int64),
            "confirmed": np.array([bool(row[3]) for row in rows], dtype=bool),
        }
        # Private (0600, users' digits) and flushed to disk before it replaces the old export.
        with atomic_path(Path(path), mode=None, durable=True) as temporary, open(temporary, "wb") as file:
            np.savez(file, **arrays)
        return count
