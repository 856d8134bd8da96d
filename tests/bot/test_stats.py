"""The model report behind /stats."""

import json

from bot_fakes import write_metrics

from bot import i18n
from bot.stats import confusion_matrix_png, load_model_report


def test_report_reads_metrics_json(tmp_path):
    report = load_model_report(write_metrics(tmp_path, accuracy=0.987))
    assert report.test_accuracy == 0.987
    assert report.recall[9] == 0.99
    assert report.created_at.year == 2026 and report.created_at.utcoffset().total_seconds() == 0
    assert (report.parameters, report.size_bytes, len(report.confusion_matrix)) == (141098, 1700000, 10)


def test_report_falls_back_on_the_model_card(tmp_path):
    report = load_model_report(tmp_path / "digit_cnn.keras", {"test_accuracy": 0.5, "created_at": "2026-02-03T04:05:06"})
    assert (report.test_accuracy, report.recall, report.created_at.tzinfo is not None) == (0.5, {}, True)


def test_no_metrics_and_no_card_means_no_report(tmp_path):
    assert load_model_report(tmp_path / "digit_cnn.keras") is None


def test_malformed_metrics_are_ignored(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    assert load_model_report(tmp_path / "digit_cnn.keras", {"test_accuracy": 0.9}).test_accuracy == 0.9


def test_picture_is_drawn_from_metrics_in_the_users_language_once(tmp_path):
    model_path = write_metrics(tmp_path)
    (tmp_path / "confusion_matrix.png").write_bytes(b"\x89PNG shipped")  # English only: drawn instead
    report = load_model_report(model_path)
    english = confusion_matrix_png(model_path, report)
    german = confusion_matrix_png(model_path, report, i18n.get("de"))
    assert english.startswith(b"\x89PNG") and german.startswith(b"\x89PNG") and english != german
    assert confusion_matrix_png(model_path, report, i18n.get("de")) is german  # drawn once per language


def test_shipped_picture_without_a_matrix_in_metrics(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9}))
    (tmp_path / "confusion_matrix.png").write_bytes(b"\x89PNG shipped")
    model_path = tmp_path / "digit_cnn.keras"
    assert confusion_matrix_png(model_path, load_model_report(model_path), i18n.get("ru")) == b"\x89PNG shipped"


def test_malformed_matrix_falls_back_on_the_shipped_picture(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"confusion_matrix": [[1, "x"], [2]]}))
    (tmp_path / "confusion_matrix.png").write_bytes(b"\x89PNG shipped")
    model_path = tmp_path / "digit_cnn.keras"
    assert confusion_matrix_png(model_path, load_model_report(model_path)) == b"\x89PNG shipped"


def test_no_picture_without_matrix(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9}))
    model_path = tmp_path / "digit_cnn.keras"
    assert confusion_matrix_png(model_path, load_model_report(model_path)) is None


def test_report_says_how_often_confident_answers_are_right(tmp_path):
    from datetime import datetime, timezone

    from bot.messages import format_stats

    model_path = write_metrics(tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    metrics["calibration"] = {"check_served": {"said_90_right": 0.9931, "said_90_count": 697}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    report = load_model_report(model_path)
    assert (report.sure_right, report.sure_count) == (0.9931, 697)
    text = format_stats(i18n.english(), report, 3, datetime(2026, 12, 4, tzinfo=timezone.utc))
    assert "When I say I'm 90 % sure or more, I'm right 99.3 % of the time (measured on 697 real" in text
    assert "90 % sure" not in format_stats(i18n.english(), load_model_report(write_metrics(tmp_path / "plain")), 3,
                                           datetime(2026, 12, 4, tzinfo=timezone.utc))
