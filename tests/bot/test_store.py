"""The feedback store: schema and migrations, idempotent feedback, /forgetme, live figures per model version, the export."""

import sqlite3

import numpy as np
import pytest

from bot import store as store_module
from bot.store import (
    DATABASE_FILENAME,
    SCHEMA_VERSION,
    FeedbackStatus,
    FeedbackStore,
    Forgotten,
    StoreError,
    image_to_bytes,
)

ALICE, BOB = 101, 202


def digit_image(seed: int) -> np.ndarray:
    """A float32 (28, 28) image in [0, 1], different for each seed."""
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


def read(store: FeedbackStore, number: str, user_id: int = ALICE, seed: int = 0, version: str = "v1"):
    """Store a reading of ``number`` (confidence 0.9 per digit) by ``user_id``."""
    predictions = [(int(ch), 0.9, digit_image(seed + index)) for index, ch in enumerate(number)]
    return store.record_reading(user_id=user_id, chat_id=user_id, model_version=version, predictions=predictions)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "home" / DATABASE_FILENAME


def test_open_creates_directory_schema_and_wal(path):
    with FeedbackStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    connection = sqlite3.connect(path)
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"readings", "predictions", "feedback"} <= tables
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


def test_migrations_apply_in_order_and_only_once(path, monkeypatch):
    with FeedbackStore.open(path):
        pass
    added = store_module.MIGRATIONS + (("CREATE TABLE notes (id INTEGER PRIMARY KEY)",),)
    monkeypatch.setattr(store_module, "MIGRATIONS", added)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(added))
    with FeedbackStore.open(path) as store:  # the new step only: the old CREATEs would fail if re-run
        assert store.schema_version == len(added)
    with FeedbackStore.open(path) as store:
        assert store.schema_version == len(added)


def test_failed_migration_leaves_the_old_version(path, monkeypatch):
    with FeedbackStore.open(path):
        pass
    broken = store_module.MIGRATIONS + (("CREATE TABLE ok_then (id INTEGER)", "NOT SQL AT ALL"),)
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", len(broken))
    with pytest.raises(StoreError):
        FeedbackStore.open(path)
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert connection.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'ok_then'").fetchone() == (0,)
    connection.close()


def test_version_1_database_migrates_keeping_its_rows(path):
    """A database written before the model-version index (schema 1) gains it on open, data intact."""
    path.parent.mkdir(parents=True)
    connection = sqlite3.connect(path)
    for statement in store_module.MIGRATIONS[0]:
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.execute("INSERT INTO readings VALUES (1, '2026-01-01T00:00:00.000+00:00', ?, ?, 'v1')", (ALICE, ALICE))
    connection.execute("INSERT INTO predictions VALUES (1, 1, 0, 7, 0.9, ?)", (image_to_bytes(digit_image(0)),))
    connection.execute("INSERT INTO feedback VALUES (1, '2026-01-01T00:00:01.000+00:00', 1, 0)")
    connection.commit()
    connection.close()
    with FeedbackStore.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        indexes = {name for (name,) in store._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'readings'")}
        assert "readings_by_model_version" in indexes
        assert store.reading(1).labels == (1,)
        live = store.live_stats("v1")
        assert (live.corrected_answers, live.digits_checked, live.confusions) == (1, 1, ((1, 7, 1),))
        assert read(store, "3").reading_id == 2  # and it takes new readings


def test_database_from_a_newer_version_is_refused(path):
    with FeedbackStore.open(path):
        pass
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(StoreError, match="newer"):
        FeedbackStore.open(path)


def test_reading_is_stored_with_its_digits_and_images(path):
    with FeedbackStore.open(path) as store:
        stored = read(store, "427", seed=5)
        again = store.reading(stored.reading_id)
        image = store._connection.execute(
            "SELECT image FROM predictions WHERE id = ?", (stored.prediction_ids[1],)).fetchone()[0]
    assert again == stored
    assert (again.digits, again.number, again.labels, again.model_version) == ((4, 2, 7), "427", None, "v1")
    assert image == image_to_bytes(digit_image(6))
    assert np.abs(np.frombuffer(image, np.uint8).reshape(28, 28) / 255 - digit_image(6)).max() <= 0.5 / 255 + 1e-6


def test_image_must_be_28_by_28(path):
    with FeedbackStore.open(path) as store:
        with pytest.raises(ValueError):
            store.record_reading(user_id=ALICE, chat_id=ALICE, model_version="v1",
                                 predictions=[(1, 0.9, np.zeros((27, 28)))])
        with pytest.raises(ValueError):
            store.record_reading(user_id=ALICE, chat_id=ALICE, model_version="v1", predictions=[])
        assert store.live_stats().digits_checked == 0
        assert store._connection.execute("SELECT COUNT(*) FROM readings").fetchone() == (0,)


def test_feedback_is_stored_once_and_survives_reopening(path):
    with FeedbackStore.open(path) as store:
        stored = read(store, "71")
        status, reading = store.record_feedback(stored.reading_id, ALICE, [1, 1])
        assert (status, reading.labels) == (FeedbackStatus.STORED, (1, 1))
        # A double tap or a replayed update: nothing changes, whatever it says.
        assert store.record_feedback(stored.reading_id, ALICE, [7, 7])[0] is FeedbackStatus.DUPLICATE
        assert store.record_feedback(stored.reading_id, ALICE)[0] is FeedbackStatus.DUPLICATE
    with FeedbackStore.open(path) as store:
        assert store.reading(stored.reading_id).labels == (1, 1)
        rows = store._connection.execute("SELECT label, confirmed FROM feedback ORDER BY prediction_id").fetchall()
    assert rows == [(1, 0), (1, 1)]


def test_feedback_refusals_change_nothing(path):
    with FeedbackStore.open(path) as store:
        stored = read(store, "5")
        assert store.record_feedback(stored.reading_id, BOB)[0] is FeedbackStatus.NOT_OWNER
        assert store.record_feedback(stored.reading_id + 1, ALICE) == (FeedbackStatus.MISSING, None)
        with pytest.raises(ValueError):
            store.record_feedback(stored.reading_id, ALICE, [5, 5])
        with pytest.raises(ValueError):
            store.record_feedback(stored.reading_id, ALICE, [10])
        assert store.reading(stored.reading_id).labels is None
        assert store.record_feedback(stored.reading_id, ALICE)[0] is FeedbackStatus.STORED


def test_forget_user_deletes_only_their_rows_and_ids_are_not_reused(path):
    with FeedbackStore.open(path) as store:
        alice = [read(store, "12"), read(store, "3")]
        bob = read(store, "4", user_id=BOB)
        store.record_feedback(alice[0].reading_id, ALICE, [1, 7])
        store.record_feedback(bob.reading_id, BOB)
        assert store.forget_user(ALICE) == Forgotten(readings=2, language=False)
        assert store.forget_user(ALICE) == Forgotten(readings=0, language=False)
        assert [store.reading(r.reading_id) for r in alice] == [None, None]
        assert store.reading(bob.reading_id).labels == (4,)
        counts = [store._connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                  for table in ("readings", "predictions", "feedback")]
        assert counts == [1, 1, 1]
        assert store.record_feedback(alice[1].reading_id, ALICE) == (FeedbackStatus.MISSING, None)
        # Bob's reading was the newest; a new one must not take a forgotten id.
        assert read(store, "9").reading_id > bob.reading_id


def test_language_choice_is_kept_replaced_and_forgotten(path):
    with FeedbackStore.open(path) as store:
        assert store.language_of(ALICE) is None
        store.set_language(ALICE, "ru")
        store.set_language(BOB, "de")
        store.set_language(ALICE, "es")
        assert (store.language_of(ALICE), store.language_of(BOB)) == ("es", "de")
        store.set_language(BOB, None)  # "as in Telegram"
        assert store.language_of(BOB) is None
        assert store.forget_user(ALICE) == Forgotten(readings=0, language=True)
        assert store.language_of(ALICE) is None
    with FeedbackStore.open(path) as store:  # a choice survives a restart; a forgotten one stays gone
        store.set_language(BOB, "pt_BR")
    with FeedbackStore.open(path) as store:
        assert (store.language_of(ALICE), store.language_of(BOB)) == (None, "pt_BR")


def test_live_stats_count_answers_digits_and_confusions(path):
    with FeedbackStore.open(path) as store:
        assert store.live_stats().accuracy is None
        store.record_feedback(read(store, "7").reading_id, ALICE)  # confirmed
        store.record_feedback(read(store, "7").reading_id, ALICE, [1])  # 1 read as 7
        store.record_feedback(read(store, "77").reading_id, ALICE, [1, 7])  # 1 read as 7, 7 right
        store.record_feedback(read(store, "49").reading_id, ALICE, [9, 4])  # two mistakes
        read(store, "0")  # no feedback: not counted
        live = store.live_stats(top_confusions=2)
    assert (live.confirmed_answers, live.corrected_answers) == (1, 3)
    assert (live.digits_checked, live.digits_right) == (6, 2)
    assert live.accuracy == pytest.approx(2 / 6)
    assert live.confusions == ((1, 7, 2), (4, 9, 1))


def feedback_on_two_versions(store: FeedbackStore) -> None:
    """v1: 3 answers, 4 digits, 1 right (confusions 1->7 twice, 4->9); v2: 2 answers, 3 digits, 2 right (3->8)."""
    store.record_feedback(read(store, "7", version="v1").reading_id, ALICE, [1])
    store.record_feedback(read(store, "7", version="v1").reading_id, ALICE, [1])
    store.record_feedback(read(store, "49", version="v1").reading_id, ALICE, [4, 4])
    store.record_feedback(read(store, "5", version="v2").reading_id, ALICE)
    store.record_feedback(read(store, "18", version="v2").reading_id, ALICE, [1, 3])
    read(store, "0", version="v2")  # no feedback: not counted


def test_live_stats_of_one_version_count_only_its_readings(path):
    with FeedbackStore.open(path) as store:
        feedback_on_two_versions(store)
        old, new, every = store.live_stats("v1"), store.live_stats("v2"), store.live_stats()
        unused = store.live_stats("v3")
    assert (old.model_version, old.confirmed_answers, old.corrected_answers) == ("v1", 0, 3)
    assert (old.digits_checked, old.digits_right, old.confusions) == (4, 1, ((1, 7, 2), (4, 9, 1)))
    assert (new.model_version, new.confirmed_answers, new.corrected_answers) == ("v2", 1, 1)
    assert (new.digits_checked, new.digits_right, new.confusions) == (3, 2, ((3, 8, 1),))
    assert new.accuracy == pytest.approx(2 / 3)
    assert (every.model_version, every.digits_checked, every.digits_right) == (None, 7, 3)
    assert every.confusions == ((1, 7, 2), (3, 8, 1), (4, 9, 1))
    assert (unused.digits_checked, unused.accuracy, unused.confusions) == (0, None, ())
    # Every result also carries the all-versions totals, for comparison.
    for live in (old, new, every, unused):
        assert (live.digits_checked_all_versions, live.digits_right_all_versions) == (7, 3)
        assert live.accuracy_all_versions == pytest.approx(3 / 7)
    assert (old.other_versions_checked, unused.other_versions_checked, every.other_versions_checked) == (
        True, True, False)


def test_live_stats_of_a_version_read_in_one_transaction_through_the_index(path):
    with FeedbackStore.open(path) as store:
        feedback_on_two_versions(store)
        statements = []
        store._connection.set_trace_callback(statements.append)
        store.live_stats("v2")
        store._connection.set_trace_callback(None)
        assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
        assert "BEGIN" not in statements[1:] and len(statements) > 3
        filtered = [sql for sql in statements if "model_version" in sql]
        assert filtered and all("'v2'" in sql for sql in filtered)
        plans = ["\n".join(row[3] for row in store._connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
                 for sql in filtered]
    for plan in plans:
        assert "USING COVERING INDEX readings_by_model_version (model_version=?)" in plan, plan
        assert "SCAN r" not in plan and "SCAN f" not in plan and "SCAN p" not in plan, plan


def test_export_labelled_samples_format(path, tmp_path):
    with FeedbackStore.open(path) as store:
        confirmed = read(store, "3", seed=10)
        corrected = read(store, "58", seed=20)
        read(store, "6", seed=30)  # no feedback: not exported
        store.record_feedback(confirmed.reading_id, ALICE)
        store.record_feedback(corrected.reading_id, ALICE, [5, 3])
        target = tmp_path / "out" / "feedback.npz"
        target.parent.mkdir()
        assert store.export_labelled_samples(target) == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["feedback.npz"]  # no temporary left behind
    with np.load(target) as archive:
        assert sorted(archive.files) == ["confirmed", "images", "labels", "prediction_ids"]
        images, labels = archive["images"], archive["labels"]
        ids, flags = archive["prediction_ids"], archive["confirmed"]
    assert (images.dtype, images.shape) == (np.uint8, (3, 28, 28))
    assert (labels.dtype, ids.dtype, flags.dtype) == (np.int64, np.int64, np.bool_)
    assert labels.tolist() == [3, 5, 3]
    assert flags.tolist() == [True, True, False]
    assert ids.tolist() == [*confirmed.prediction_ids, *corrected.prediction_ids]
    expected = [digit_image(10), digit_image(20), digit_image(21)]
    assert all(np.array_equal(image, np.rint(want * 255).astype(np.uint8)) for image, want in zip(images, expected))


def test_export_with_no_feedback_writes_empty_arrays(path, tmp_path):
    with FeedbackStore.open(path) as store:
        read(store, "1")
        assert store.export_labelled_samples(str(tmp_path / "empty.npz")) == 0
    with np.load(tmp_path / "empty.npz") as archive:
        assert archive["images"].shape == (0, 28, 28) and archive["images"].dtype == np.uint8
        assert archive["labels"].shape == (0,) and archive["confirmed"].dtype == np.bool_


def test_export_failure_leaves_the_old_file(path, tmp_path, monkeypatch):
    target = tmp_path / "feedback.npz"
    target.write_bytes(b"previous export")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    with FeedbackStore.open(path) as store:
        store.record_feedback(read(store, "2").reading_id, ALICE)
        monkeypatch.setattr(np, "savez", fail)
        with pytest.raises(OSError):
            store.export_labelled_samples(target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir() if p.name != "home"] == ["feedback.npz"]


def test_store_is_usable_from_another_thread(path):
    from concurrent.futures import ThreadPoolExecutor

    with FeedbackStore.open(path) as store, ThreadPoolExecutor(2) as pool:
        readings = list(pool.map(lambda seed: read(store, "8", seed=seed), range(20)))
    assert len({r.reading_id for r in readings}) == 20
