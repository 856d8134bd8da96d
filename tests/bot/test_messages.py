"""Reply texts: pure functions of readings, errors and model reports."""

import dataclasses
import io
from datetime import datetime, timezone

import pytest
from bot_fakes import make_prediction, make_reading

from core.errors import DigitImageError, NoDigitFoundError
from core.results import PhotoReading

from bot import i18n, messages
from bot.stats import ModelReport
from bot.store import LiveStats

EN = i18n.english()


def test_single_confident_digit_names_runner_up():
    reading = PhotoReading(digits=(make_prediction(7, 0.987, runner_up=1),))
    assert messages.format_reading(EN, reading) == "It's a 7 — 98.7 % sure (next: 1 at 1.2 %)"


def test_several_digits_read_as_a_number_with_one_line_each():
    text = messages.format_reading(EN, make_reading("42"))
    assert text.splitlines() == [
        "I read 42",
        "• 4 — 98.7 % sure (next: 5 at 1.2 %)",
        "• 2 — 98.7 % sure (next: 3 at 1.2 %)",
    ]


def test_further_lines_of_writing_are_mentioned_with_the_reading():
    one = dataclasses.replace(make_reading("42"), other_lines=1)
    assert messages.format_reading(EN, one).splitlines()[-1] == (
        "I read one line; this photo has 1 more line of writing. Tap “Read the other line” to read it.")
    two = dataclasses.replace(make_reading("7"), other_lines=2)
    assert messages.format_reading(EN, two).splitlines()[-1] == (
        "I read one line; this photo has 2 more lines of writing. Tap “Read the next line” to read them one by one.")
    russian = messages.format_reading(i18n.get("ru"), dataclasses.replace(make_reading("42"), other_lines=3))
    assert "ещё 3 строки текста" in russian.splitlines()[-1]
    assert f"«{messages.line_button(i18n.get('ru'), 3)}»" in russian.splitlines()[-1]
    assert "line" not in messages.format_reading(EN, make_reading("42"))


def test_low_confidence_single_digit_says_so():
    reading = PhotoReading(digits=(make_prediction(9, 0.55, runner_up=4),))
    text = messages.format_reading(EN, reading)
    assert text.startswith("I think it's a 9, but I'm not sure: only 55.0 % (next: 4 at 40.5 %")
    assert "photo" in text.splitlines()[-1]


def test_low_confidence_digit_in_a_number_is_marked():
    reading = PhotoReading(digits=(make_prediction(1), make_prediction(8, 0.6)))
    lines = messages.format_reading(EN, reading).splitlines()
    assert lines[2].startswith("• 8 ? — 60.0 % sure")
    assert lines[-1].startswith("I'm not sure about the digits marked ?")


def test_percentages_never_claim_certainty():
    assert [messages.format_percent(EN, p) for p in (0.99999, 0.5, 0.0001)] == ["99.9 %", "50.0 %", "<0.1 %"]


def test_image_error_shows_message_and_tip():
    error = NoDigitFoundError()
    assert messages.format_image_error(EN, error) == f"{error.user_message}\n{error.tip}"
    assert messages.format_image_error(EN, DigitImageError()) == "I couldn't read that image."


def test_file_too_big_names_the_size():
    message, tip = messages.image_error_texts(EN, messages.FileTooBigError(25 * 1024 * 1024))
    assert message.startswith("That file is 25.0 MB")
    assert tip


def test_stats_text_lists_accuracy_recall_model_and_count():
    report = ModelReport(
        test_accuracy=0.9912, test_images=10000, recall={d: 0.99 for d in range(10)},
        created_at=datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), parameters=141098, size_bytes=1_700_000,
    )
    text = messages.format_stats(EN, report, photos_read=12, started_at=datetime(2026, 1, 3, tzinfo=timezone.utc))
    assert text.splitlines() == [
        "Test accuracy: 99.12 % on 10,000 MNIST test images",
        "Recall per digit (how often each true digit is read right):",
        "  ".join(f"{d}: 99.0 %" for d in range(10)),
        "Model: trained 2026-01-02 03:04 UTC, 141,098 parameters, 1.6 MB",
        "Photos read since 2026-01-03 00:00 UTC: 12",
    ]


def test_stats_without_report_still_counts_photos():
    text = messages.format_stats(EN, None, photos_read=0, started_at=datetime(2026, 1, 3, tzinfo=timezone.utc))
    assert text.splitlines()[0] == "I have no metrics for the current model."


def test_help_lists_every_command():
    assert all(f"/{command}" in messages.help_text(EN) for command, _ in messages.commands(EN))


def test_empty_reading_says_no_digit_found():
    assert messages.format_reading(EN, PhotoReading(digits=())) == messages.format_image_error(EN, NoDigitFoundError())


def test_eight_takes_an():
    reading = PhotoReading(digits=(make_prediction(8, 0.95, runner_up=3),))
    assert messages.format_reading(EN, reading).startswith("It's an 8 — 95.0 % sure")


def test_live_stats_lines():
    assert messages.format_live_stats(EN, LiveStats()) == ["No feedback yet: tap ✅ Right or ❌ Wrong under my answers."]
    live = LiveStats(confirmed_answers=1, corrected_answers=2, digits_checked=4, digits_right=1,
                     confusions=((1, 7, 2), (4, 9, 1)), digits_checked_all_versions=4, digits_right_all_versions=1)
    assert messages.format_live_stats(EN, live) == [
        "Feedback from users: 1 answer confirmed, 2 corrected",
        "Live accuracy: 25.0 % of 4 digits checked",
        "Most common mix-ups: 1 read as 7 (2×), 4 read as 9 (1×)",
    ]
    text = messages.format_stats(EN, None, photos_read=3, started_at=datetime(2026, 1, 3, tzinfo=timezone.utc), live=live)
    assert text.splitlines()[-3] == "Feedback from users: 1 answer confirmed, 2 corrected"


def test_live_stats_name_the_serving_version_and_compare_with_all_versions():
    only_this = LiveStats(model_version="v3", confirmed_answers=2, corrected_answers=1, digits_checked=3,
                          digits_right=2, confusions=((1, 7, 1),),
                          digits_checked_all_versions=3, digits_right_all_versions=2)
    assert messages.format_live_stats(EN, only_this) == [
        "Feedback from users on this model (v3): 2 answers confirmed, 1 corrected",
        "Live accuracy: 66.7 % of 3 digits checked",
        "Most common mix-ups: 1 read as 7 (1×)",
    ]
    with_older = dataclasses.replace(only_this, digits_checked_all_versions=1204, digits_right_all_versions=1100)
    assert messages.format_live_stats(EN, with_older) == [
        *messages.format_live_stats(EN, only_this),
        "All model versions: 91.4 % of 1,204 digits checked",
    ]
    text = messages.format_stats(EN, None, photos_read=3, started_at=datetime(2026, 1, 3, tzinfo=timezone.utc),
                                 live=with_older)
    assert text.splitlines()[-4:] == messages.format_live_stats(EN, with_older)


def test_live_stats_before_any_feedback_on_the_serving_version():
    nothing = LiveStats(model_version="v3")
    assert messages.format_live_stats(EN, nothing) == [
        "No feedback on this model (v3) yet: tap ✅ Right or ❌ Wrong under my answers.",
    ]
    older_only = LiveStats(model_version="v3", digits_checked_all_versions=1, digits_right_all_versions=1)
    assert messages.format_live_stats(EN, older_only) == [
        "No feedback on this model (v3) yet: tap ✅ Right or ❌ Wrong under my answers.",
        "All model versions: 100.0 % of 1 digit checked",
    ]


def test_keypad_prompt_is_replaced_and_stripped():
    reading = "I read 42\n• 4 — 99.0 % sure (next: 9 at 0.9 %)\n• 2 — 98.0 % sure (next: 7 at 1.0 %)"
    first = messages.with_prompt(reading, messages.keypad_prompt(EN, 0, "42"))
    second = messages.with_prompt(first, messages.keypad_prompt(EN, 1, "42"))
    assert second == reading + "\n\n👉 Digit 2 of 2 (I read 2): which is it?"
    assert messages.strip_prompt(second) == messages.strip_prompt(reading) == reading


def test_feedback_and_forget_texts():
    assert messages.format_feedback_done(EN, "42", "42") == "✅ Confirmed, thanks!"
    assert messages.format_feedback_done(EN, "42", "47") == "✏️ Corrected: 42 → 47, thanks!"
    assert messages.format_forgotten(EN, 0) == messages.format_forgotten(EN, 0)
    assert messages.format_forgotten(EN, 1) == "Done: I deleted everything I had stored about you (1 photo reading)."
    assert "/forgetme" in messages.help_text(EN) and "never your photo" in messages.help_text(EN)


def test_model_versions_show_training_date_status_and_the_active_one():
    from datetime import datetime, timezone
    from pathlib import Path

    from core.registry import ModelVersion

    utc = timezone.utc
    versions = [
        ModelVersion("v1", 1, Path("v1"), "initial", created_at=datetime(2026, 11, 23, 14, 0, tzinfo=utc),
                     trained_at=datetime(2026, 11, 22, 7, 15, tzinfo=utc), test_accuracy=0.996),
        ModelVersion("v2", 2, Path("v2"), "rejected", created_at=datetime(2026, 11, 24, 9, 30, tzinfo=utc),
                     test_accuracy=0.9931, user_accuracy=0.9, user_holdout=40),
    ]
    text = messages.format_model_versions(EN, versions, active="v1")
    lines = text.splitlines()
    assert lines[1] == "   v2: MNIST 99.31 %, user samples 90.00 % of 40, trained 2026-11-24 09:30 UTC, retrained, not promoted"
    assert lines[2] == "▶ v1: MNIST 99.60 %, trained 2026-11-22 07:15 UTC, first model"
    assert len(lines) == 3  # without keep_rejected, no word on retention
    lines = messages.format_model_versions(EN, versions, active="v1", keep_rejected=2).splitlines()
    assert lines[3] == ("Of the versions not promoted, each retrain keeps the newest 2 (and the one in use) "
                        "and deletes older ones.")
    assert len(messages.format_model_versions(EN, versions[:1], active="v1", keep_rejected=2).splitlines()) == 2


def _image(size: tuple[int, int], fmt: str, mode: str = "L") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, 255).save(buffer, format=fmt)
    return buffer.getvalue()


#: Bytes that ``core`` refuses, one for each of its ways of saying why.
UNREADABLE = {
    "empty": b"",
    "not an image": b"%PDF-1.4 not a picture",
    "cut off": _image((64, 64), "JPEG")[:-200],
    "unsupported format": _image((64, 64), "PPM"),
    "too many pixels": _image((10_000, 7_000), "PNG", "1"),
    "too small": _image((4, 4), "PNG"),
    "no digit": _image((200, 200), "PNG"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_image_errors_from_core_say_the_same_in_english_and_differ_in_other_languages(case):
    from core.preprocessing import preprocess_bytes

    with pytest.raises(DigitImageError) as raised:
        preprocess_bytes(UNREADABLE[case])
    error = raised.value
    said = " ".join(filter(None, [error.user_message, getattr(error, "reason_text", "")]))
    assert messages.format_image_error(EN, error) == f"{said}\n{error.tip}"
    for code in ("ru", "es", "de", "pt_BR"):
        message, tip = messages.image_error_texts(i18n.get(code), error)
        assert message and tip and message != error.user_message and tip != error.tip


@pytest.mark.parametrize("reason", list(NoDigitFoundError.REASONS))
def test_why_no_digit_was_read_is_said_in_every_language(reason):
    english = messages.no_digit_reason(EN, reason)
    assert english == NoDigitFoundError.REASONS[reason]  # as core says it (digitbot predict, the picture)
    assert messages.format_image_error(EN, NoDigitFoundError(reason=reason)).splitlines()[0] == (
        f"I couldn't find a handwritten digit in that picture. {english}")
    translated = {messages.no_digit_reason(i18n.get(code), reason) for code in ("ru", "es", "de", "pt_BR")}
    assert len(translated) == 4 and english not in translated and "" not in translated
    # The advice fits the reason (a tiny digit: come closer) and is core's, in English.
    error = NoDigitFoundError(reason=reason)
    assert messages.image_error_texts(EN, error)[1] == error.tip
    assert (error.tip != NoDigitFoundError.default_tip) == (reason in NoDigitFoundError.TIPS)
    tips = {messages.image_error_texts(i18n.get(code), error)[1] for code in ("ru", "es", "de", "pt_BR")}
    assert len(tips) == 4 and error.tip not in tips


def test_no_reason_adds_nothing():
    assert messages.no_digit_reason(EN, "") == messages.no_digit_reason(EN, "unknown") == ""


def test_readers_disagreeing_give_the_other_reading_as_runner_up():
    reading = dataclasses.replace(make_reading("42"), method="line", line_text="42", runner_up="412",
                                  runner_up_confidence=0.31, number_confidence=0.69)
    lines = messages.format_reading(EN, reading).splitlines()
    assert lines[0] == "I read 42"
    assert lines[-1] == ("Reading digit by digit and reading the whole line gave different answers: 42 is 69.0 % "
                         "likely, 412 31.0 %.")
    spanish = messages.format_reading(i18n.get("es"), reading)
    assert "42 es probable en un 69,0 %, 412 en un 31,0 %" in spanish and "línea entera" in spanish
    for code in ("de", "pt_BR", "ru"):
        translated = messages.format_reading(i18n.get(code), reading).splitlines()[-1]
        assert "42" in translated and "412" in translated and "69,0" in translated and "31,0" in translated


def test_readers_agreeing_add_nothing():
    reading = dataclasses.replace(make_reading("42"), method="both", line_text="42")
    assert "different answers" not in messages.format_reading(EN, reading)
    assert "no digit there" not in messages.format_reading(EN, reading)


def test_a_reading_the_line_reader_found_no_digit_in_says_so_in_every_language():
    silent = dataclasses.replace(make_reading("1"), method="digits", line_text="")
    not_run = dataclasses.replace(make_reading("1"), method="digits", line_text=None)  # no number reader installed
    sentence = "Reading the whole line found no digit there, so it may be no digit at all."
    assert messages.format_reading(EN, silent).splitlines()[-1] == sentence
    assert sentence not in messages.format_reading(EN, not_run)
    translated = {messages.format_reading(i18n.get(code), silent).splitlines()[-1] for code in ("de", "es", "pt_BR", "ru")}
    assert len(translated) == 4 and sentence not in translated
