"""Every text the bot sends, as constants and pure formatting functions."""

from __future__ import annotations

from datetime import datetime, timezone

from core.errors import DigitImageError, NoDigitFoundError
from core.results import DigitPrediction, PhotoReading

from bot.stats import ModelReport
from bot.store import FeedbackStatus, LiveStats

#: The command menu registered with ``set_my_commands``: ``(command, description)``.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "How to take a good photo, and the commands"),
    ("stats", "How accurate the model is, and its confusion matrix"),
    ("forgetme", "Delete everything I stored about you"),
)

HELP = (
    "I read handwritten digits from photos. ✍️📷\n"
    "\n"
    "Write a digit, or a number of a few digits, on paper and send me a photo of it. "
    "I'll tell you what I read and how sure I am.\n"
    "\n"
    "For a good photo:\n"
    "• dark pen or marker on plain white paper;\n"
    "• fill a good part of the picture with the writing;\n"
    "• even light, no strong shadows;\n"
    "• leave a little space between digits.\n"
    "\n"
    "You can send it as a photo or as an image file. Tap “What I saw” under my answer "
    "to see how I cut the picture up, and “Right” or “Wrong” to tell me how I did.\n"
    "\n"
    "I keep the small 28×28 digit images I read (never your photo) and your answers, "
    "to learn from them. /forgetme deletes them.\n"
    "\n"
    "Commands:\n"
    + "\n".join(f"/{command} — {description}" for command, description in COMMANDS)
)

START = "Hi! " + HELP

SEND_A_PHOTO = "Send me a photo of a handwritten digit or number and I'll read it. (/help for tips)"

NOT_AN_IMAGE_DOCUMENT = (
    "That file isn't a picture I can read. Please send a photo (or a JPEG/PNG image) "
    "of digits written on paper."
)

SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a moment."


def format_admin_error_alert(update_id: int | None, error_type: str, where: str | None, suppressed: int) -> str:
    """The admins' alert about an unexpected error: ids and places only, no user data, no token.

    Args:
        update_id: the update being handled, None for an error outside an update.
        error_type: the exception's class name.
        where: ``path:line in function`` in the bot's code, if known.
        suppressed: earlier errors not alerted because an alert had just gone out.
    """
    lines = [f"⚠️ Unexpected error ({error_type}) " + (f"in update {update_id}" if update_id is not None
                                                      else "outside an update")]
    if where:
        lines.append(f"at {where}")
    if suppressed:
        lines.append(f"{suppressed} more error(s) since the last alert.")
    lines.append("Details are in the bot's log.")
    return "\n".join(lines)

SLOW_DOWN = "You're sending a lot at once! Please wait a few seconds before the next photo. ⏳"

SAW_BUTTON = "What I saw"

SAW_EXPIRED = "I no longer have that photo. Please send it again."

SAW_CAPTION = "What I saw: your photo, the ink I found, the boxes I cut, and each 28×28 digit I read."

RIGHT_BUTTON = "✅ Right"
WRONG_BUTTON = "❌ Wrong"
BACK_BUTTON = "↩️ Back"

#: Toasts (``answerCallbackQuery`` texts) for the feedback buttons.
FEEDBACK_THANKS = "Thanks! 🙏"
FEEDBACK_DUPLICATE = "You already told me about this one. Thanks!"
FEEDBACK_MISSING = "I no longer have this reading (it may have been deleted with /forgetme)."
FEEDBACK_NOT_YOURS = "Only the person who sent the photo can answer this one."
FEEDBACK_UNAVAILABLE = "Sorry, I can't save that right now. Please try again later."
FEEDBACK_OUTDATED = "These buttons are out of date. Please send the photo again."
#: The toast when a feedback tap changes nothing, by what the store said.
FEEDBACK_REFUSALS = {
    FeedbackStatus.DUPLICATE: FEEDBACK_DUPLICATE,
    FeedbackStatus.MISSING: FEEDBACK_MISSING,
    FeedbackStatus.NOT_OWNER: FEEDBACK_NOT_YOURS,
}

#: Starts the keypad's question appended to a reading's text; :func:`strip_prompt` removes it.
PROMPT_MARK = "\n\n👉 "

FORGOTTEN = "Done: I deleted everything I had stored about you ({readings})."
NOTHING_TO_FORGET = "I have nothing stored about you."
FORGET_UNAVAILABLE = "Sorry, I can't reach my records right now, so nothing was deleted. Please try again later."

STATS_NO_MODEL_REPORT = "I have no metrics for the current model."

CONFUSION_MATRIX_CAPTION = (
    "Confusion matrix on the MNIST test set: rows are the true digits, columns what I answered."
)

#: Telegram bots may download files of at most this many bytes.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

FILE_TOO_BIG = "That file is {size}: Telegram only lets me download files up to 20 MB."
FILE_TOO_BIG_TIP = "Send it as a photo (Telegram shrinks it for you) or as a smaller image."


def format_percent(probability: float) -> str:
    """Format a probability in [0, 1] as ``"98.7 %"``; never claims 100 % or 0 %.

    Examples:
        >>> format_percent(0.9871)
        '98.7 %'
        >>> format_percent(0.99999)
        '99.9 %'
        >>> format_percent(0.00001)
        '<0.1 %'
    """
    if probability < 0.0005:
        return "<0.1 %"
    return f"{min(probability, 0.999) * 100:.1f} %"


def format_size(num_bytes: int) -> str:
    """Format a byte count for people: ``"1.6 MB"``, ``"512 kB"``, ``"12 bytes"``."""
    if num_bytes >= 1024 * 1024:
        return f"{num_bytes / (1024 * 1024):.1f} MB"
    if num_bytes >= 1024:
        return f"{num_bytes / 1024:.0f} kB"
    return f"{num_bytes} bytes"


def _article(digit: int) -> str:
    """``"an"`` before 8 ("an eight"), ``"a"`` before the other digits."""
    return "an" if digit == 8 else "a"


def _runners_up(prediction: DigitPrediction) -> str:
    """``"next: 1 at 0.9 %"``, adding the third guess only when it is at least 1 %."""
    guesses = [
        f"{digit} at {format_percent(probability)}"
        for rank, (digit, probability) in enumerate(prediction.top3[1:])
        if rank == 0 or probability >= 0.01
    ]
    return "next: " + ", ".join(guesses) if guesses else "nothing else came close"


def format_digit(prediction: DigitPrediction) -> str:
    """One digit with its confidence and runners-up: ``"7 — 98.7 % sure (next: 1 at 0.9 %)"``."""
    mark = " ?" if prediction.low_confidence else ""
    return (
        f"{prediction.digit}{mark} — {format_percent(prediction.confidence)} sure "
        f"({_runners_up(prediction)})"
    )


def format_reading(reading: PhotoReading) -> str:
    """The reply to a photo: the number, each digit's confidence and runners-up.

    A low-confidence reading says so plainly and suggests a better photo.

    Args:
        reading: the digits, left to right (the classifier raises rather than return none;
            an empty reading still gets the "no digit found" answer).
    """
    if not reading.digits:
        return format_image_error(NoDigitFoundError())
    if len(reading.digits) == 1:
        (prediction,) = reading.digits
        if prediction.low_confidence:
            return (
                f"I think it's {_article(prediction.digit)} {prediction.digit}, but I'm not sure: only "
                f"{format_percent(prediction.confidence)} ({_runners_up(prediction)}).\n"
                "A closer, sharper photo in even light would help."
            )
        return f"It's {_article(prediction.digit)} {format_digit(prediction)}"
    lines = [f"I read {reading.number}"]
    lines += [f"• {format_digit(prediction)}" for prediction in reading.digits]
    if reading.low_confidence:
        lines.append(
            "I'm not sure about the digits marked ?. "
            "A closer, sharper photo in even light would help."
        )
    return "\n".join(lines)


def format_image_error(error: DigitImageError) -> str:
    """The reply when a picture cannot be read: the error's friendly message and its tip."""
    return f"{error.user_message}\n{error.tip}" if error.tip else error.user_message


def format_file_too_big(num_bytes: int) -> tuple[str, str]:
    """``(user_message, tip)`` for a file above Telegram's 20 MB bot download limit."""
    return FILE_TOO_BIG.format(size=format_size(num_bytes)), FILE_TOO_BIG_TIP


def format_stats(
    report: ModelReport | None, photos_read: int, started_at: datetime, live: LiveStats | None = None
) -> str:
    """The /stats text: model quality and size, training date, photos read since start, live feedback.

    Args:
        report: the active model's metrics, or None when it has none.
        photos_read: photos successfully read since the bot started.
        started_at: when the bot started (timezone-aware).
        live: figures from users' feedback, or None to leave them out (no store).
    """
    lines = []
    if report is None:
        lines.append(STATS_NO_MODEL_REPORT)
    else:
        if report.test_accuracy is not None:
            images = f" on {report.test_images:,} MNIST test images" if report.test_images else ""
            lines.append(f"Test accuracy: {report.test_accuracy * 100:.2f} %{images}")
        if report.recall:
            lines.append("Recall per digit (how often each true digit is read right):")
            lines.append(
                "  ".join(f"{digit}: {recall * 100:.1f} %" for digit, recall in sorted(report.recall.items()))
            )
        details = []
        if report.created_at:
            details.append(f"trained {report.created_at:%Y-%m-%d %H:%M} UTC")
        if report.parameters:
            details.append(f"{report.parameters:,} parameters")
        if report.size_bytes:
            details.append(format_size(report.size_bytes))
        if details:
            lines.append("Model: " + ", ".join(details))
    since = started_at.astimezone(timezone.utc)
    lines.append(f"Photos read since {since:%Y-%m-%d %H:%M} UTC: {photos_read:,}")
    if live is not None:
        lines += format_live_stats(live)
    return "\n".join(lines)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 photo"``, ``"2 photos"``, ``"1,234 photos"``."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def keypad_prompt(position: int, predicted: str) -> str:
    """The keypad's question for digit ``position`` (0-based) of the ``predicted`` number.

    Examples:
        >>> keypad_prompt(0, "7")
        'Which digit is it?'
        >>> keypad_prompt(1, "427")
        'Digit 2 of 3 (I read 2): which is it?'
    """
    if len(predicted) == 1:
        return "Which digit is it?"
    return f"Digit {position + 1} of {len(predicted)} (I read {predicted[position]}): which is it?"


def with_prompt(text: str, prompt: str) -> str:
    """A reading's text with the keypad's question below it (replacing any earlier question)."""
    return strip_prompt(text) + PROMPT_MARK + prompt


def strip_prompt(text: str) -> str:
    """A reading's text without the keypad's question, if it has one."""
    return text.split(PROMPT_MARK, 1)[0]


def format_feedback_done(predicted: str, labels: str) -> str:
    """The line added under a reading once the user answered.

    Examples:
        >>> format_feedback_done("7", "7")
        '✅ Confirmed, thanks!'
        >>> format_feedback_done("7", "1")
        '✏️ Corrected: 7 → 1, thanks!'
    """
    if predicted == labels:
        return "✅ Confirmed, thanks!"
    return f"✏️ Corrected: {predicted} → {labels}, thanks!"


def format_forgotten(readings: int) -> str:
    """The /forgetme answer after deleting ``readings`` stored photo readings."""
    if readings == 0:
        return NOTHING_TO_FORGET
    return FORGOTTEN.format(readings=_plural(readings, "photo reading"))


def format_live_stats(live: LiveStats) -> list[str]:
    """The /stats lines about users' feedback: answers confirmed and corrected, live accuracy, confusions."""
    if live.digits_checked == 0:
        return ["No feedback yet: tap ✅ Right or ❌ Wrong under my answers."]
    lines = [
        f"Feedback from users: {_plural(live.confirmed_answers, 'answer')} confirmed, "
        f"{live.corrected_answers:,} corrected",
        f"Live accuracy: {live.accuracy * 100:.1f} % of {_plural(live.digits_checked, 'digit')} checked",
    ]
    if live.confusions:
        lines.append(
            "Most common mix-ups: "
            + ", ".join(f"{true} read as {predicted} ({count}×)"
                        for true, predicted, count in live.confusions)
        )
    return lines
