"""Every text the bot sends, as constants and pure formatting functions."""

from __future__ import annotations

from datetime import datetime, timezone

from core.errors import DigitImageError, NoDigitFoundError
from core.registry import INITIAL, PROMOTED, REJECTED, ModelVersion
from core.results import DigitPrediction, PhotoReading

from bot.stats import ModelReport
from bot.store import FeedbackStatus, LiveStats

#: The command menu registered with ``set_my_commands``: ``(command, description)``.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "How to take a good photo, and the commands"),
    ("stats", "How accurate the model is, and its confusion matrix"),
    ("model", "The model versions, and which one is active"),
    ("forgetme", "Delete everything I stored about you"),
)

#: The command menu in group chats (``BotCommandScopeAllGroupChats``): /read first, no /start.
GROUP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("read", "Reply to a photo with /read and I'll read it"),
    *(command for command in COMMANDS if command[0] != "start"),
)

#: Commands only admins (``DIGITBOT_ADMIN_IDS``) may use; listed in /help for them only.
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("retrain", "Retrain on MNIST and users' corrections; promoted only if it is no worse"),
    ("rollback", "Switch back to the previous model version, or to /rollback VERSION"),
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
    "In a group I only speak when asked: mention me in a photo's caption, reply to one of my "
    "messages with a photo, or reply to someone's photo with /read.\n"
    "\n"
    "Commands:\n"
    + "\n".join(f"/{command} — {description}" for command, description in COMMANDS)
)

START = "Hi! " + HELP

ADMIN_HELP = HELP + "\n\nAdmin commands:\n" + "\n".join(
    f"/{command} — {description}" for command, description in ADMIN_COMMANDS
)

SEND_A_PHOTO = "Send me a photo of a handwritten digit or number and I'll read it. (/help for tips)"

READ_WHAT = (
    "Reply to a photo of handwritten digits with /read and I'll read it. "
    "In a group you can also mention me in the photo's caption."
)

NOT_AN_IMAGE_DOCUMENT = (
    "That file isn't a picture I can read. Please send a photo (or a JPEG, PNG, HEIC, WebP or GIF image) "
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
#: The same, as the toast for a button tap.
SLOW_DOWN_TAPS = "Lots of taps at once! Please wait a few seconds, then tap again. ⏳"

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
FEEDBACK_NOT_YOURS = "Only the person who sent this photo can tell me if I got it right. Send your own and I'll read it too! 🙂"
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


STATS_SURE = ("When I say I'm 90 % sure or more, I'm right {right:.1f} % of the time "
              "(measured on {count:,} real handwritten digits I was never tuned on).")


def format_stats(
    report: ModelReport | None, photos_read: int, started_at: datetime, live: LiveStats | None = None
) -> str:
    """The /stats text: model quality and size, training date, photos read since start, live feedback.

    Args:
        report: the active model's metrics, or None when it has none.
        photos_read: photos successfully read since the bot started.
        started_at: when the bot started (timezone-aware).
        live: figures from users' feedback on the model now serving (``FeedbackStore.live_stats``
            of its version), or None to leave them out (no store).
    """
    lines = []
    if report is None:
        lines.append(STATS_NO_MODEL_REPORT)
    else:
        if report.test_accuracy is not None:
            images = f" on {report.test_images:,} MNIST test images" if report.test_images else ""
            lines.append(f"Test accuracy: {report.test_accuracy * 100:.2f} %{images}")
        if report.sure_right is not None and report.sure_count:
            lines.append(STATS_SURE.format(right=report.sure_right * 100, count=report.sure_count))
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
    """The /stats lines about users' feedback: answers confirmed and corrected, live accuracy, confusions.

    The figures are those of ``live.model_version`` (the model now serving), named in the
    first line; when other versions have feedback too, a last line gives the accuracy over
    all of them, for comparison. Before any feedback on this model, the first line says so.
    """
    model = "" if live.model_version is None else f" on this model ({live.model_version})"
    if live.digits_checked == 0:
        lines = [f"No feedback{model} yet: tap ✅ Right or ❌ Wrong under my answers."]
    else:
        lines = [
            f"Feedback from users{model}: {_plural(live.confirmed_answers, 'answer')} confirmed, "
            f"{live.corrected_answers:,} corrected",
            f"Live accuracy: {live.accuracy * 100:.1f} % of {_plural(live.digits_checked, 'digit')} checked",
        ]
        if live.confusions:
            lines.append(
                "Most common mix-ups: "
                + ", ".join(f"{true} read as {predicted} ({count}×)"
                            for true, predicted, count in live.confusions)
            )
    if live.other_versions_checked:
        lines.append(
            f"All model versions: {live.accuracy_all_versions * 100:.1f} % "
            f"of {_plural(live.digits_checked_all_versions, 'digit')} checked"
        )
    return lines


ADMIN_ONLY = "Sorry, only the bot's admins can do that."

RETRAIN_STARTING = "🛠 Retraining: collecting the samples and starting…"

RETRAIN_ALREADY_RUNNING = "A retrain is already running. Its status message shows how far it is."

RETRAIN_NO_RESULT = "the training process ended without a result"

ROLLBACK_WHILE_RETRAINING = "A retrain is running; roll back after it has finished."

ROLLBACK_NOTHING_OLDER = "There is no older usable version to roll back to. /model lists the versions."


def format_duration(seconds: float) -> str:
    """A rough duration for people: ``"40 s"``, ``"3 min 10 s"``, ``"1 h 5 min"``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if minutes < 10 and rest else f"{minutes} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min"


def _accuracy(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f} %"


def format_retrain_progress(start: dict, event: dict, last_epoch: dict | None = None) -> str:
    """The status message while a retrain runs.

    Args:
        start: the retrain's ``start`` event (base version, sample counts), or {} before it.
        event: the latest progress event (``start``, ``step``, ``epoch`` or ``evaluating``).
        last_epoch: the latest ``epoch`` event, whose validation accuracy stays on show.
    """
    lines = ["🛠 Retraining"]
    if start:
        lines[0] += (f" from {start['base']}: {start['mnist_samples']:,} MNIST images + "
                     f"{start['user_samples']:,} user samples")
        if start["user_samples"]:
            lines[0] += f" (each counted {start['user_weight']:g}×)"
        lines.append(f"{start['user_holdout']:,} user samples held out to judge the result.")
    kind = event.get("event")
    if kind == "start":
        lines.append(f"Epoch 1 of {event['epochs']} under way…")
    if last_epoch:
        lines.append(f"Epoch {last_epoch['epoch']} of {last_epoch['epochs']} done: validation accuracy "
                     f"{_accuracy(last_epoch.get('val_accuracy'))}.")
    if kind == "step":
        lines.append(f"Epoch {event['epoch']} of {event['epochs']} under way: "
                     f"{event['fraction'] * 100:.0f} % of the run done.")
    elif kind == "evaluating":
        lines.append("Training done; comparing the new model with the active one…")
    if kind in ("step", "epoch") and event.get("eta_seconds") is not None and event["fraction"] < 1:
        lines.append(f"About {format_duration(event['eta_seconds'])} left.")
    return "\n".join(lines)


def format_retrain_result(done: dict) -> str:
    """The final status: promoted or not, with the before/after figures (``done`` event of the retrain)."""
    before, after = done["before"], done["after"]
    if done["promoted"]:
        lines = [f"✅ New model {done['version']} promoted: I'm using it now (was {done['base']})."]
    else:
        lines = [f"❌ New model {done['version']} not promoted: I keep using {done['base']}."]
    lines.append(f"MNIST test accuracy: {_accuracy(before['mnist_accuracy'])} → {_accuracy(after['mnist_accuracy'])}")
    if after.get("user_holdout"):
        lines.append(f"Held-out user samples ({after['user_holdout']:,}): "
                     f"{_accuracy(before['user_accuracy'])} → {_accuracy(after['user_accuracy'])}")
    else:
        lines.append("Held-out user samples: none yet.")
    lines.append("Rule: MNIST may drop by at most 0.1 point, the user samples not at all.")
    lines.append(f"Took {format_duration(done['seconds'])}.")
    if done.get("pruned"):
        lines.append(f"Deleted old rejected versions to save space: {', '.join(done['pruned'])}.")
    return "\n".join(lines)


def format_retrain_failed(reason: str) -> str:
    """The status when a retrain could not finish; the active model is unchanged."""
    return f"⚠️ The retrain failed: {reason}\nThe active model is unchanged."


def format_retrain_exit(returncode: int) -> str:
    """Why a retrain process ended without a result, from its exit status."""
    if returncode < 0:
        return f"the training process was stopped (signal {-returncode})"
    return f"the training process exited with status {returncode} (see retrain.log in the bot's home)"


def format_confusion_caption(version: str) -> str:
    """Caption of a new version's confusion matrix."""
    return f"Confusion matrix of {version} on the MNIST test set: rows true digits, columns answers."


def format_model_versions(versions: list[ModelVersion], active: str | None, keep_rejected: int | None = None) -> str:
    """/model: one line per version, newest first, the active one marked.

    Args:
        versions: the registry's versions, oldest first.
        active: the active version's name, or None.
        keep_rejected: how many rejected versions a retrain keeps; when given and some are
            listed, a last line says that older ones are deleted.
    """
    if not versions:
        return "No model versions are registered yet."
    labels = {INITIAL: "first model", PROMOTED: "retrained", REJECTED: "retrained, not promoted"}
    lines = ["Model versions (▶ = in use):"]
    for version in reversed(versions):
        parts = [f"MNIST {_accuracy(version.test_accuracy)}"]
        if version.user_holdout:
            parts.append(f"user samples {_accuracy(version.user_accuracy)} of {version.user_holdout:,}")
        trained = version.trained_at or version.created_at
        if trained:
            parts.append(f"trained {trained:%Y-%m-%d %H:%M} UTC")
        parts.append(labels.get(version.status, version.status))
        mark = "▶" if version.name == active else "  "
        lines.append(f"{mark} {version.name}: " + ", ".join(parts))
    if keep_rejected is not None and any(version.status == REJECTED for version in versions):
        lines.append(f"Of the versions not promoted, each retrain keeps the newest {keep_rejected} "
                     "(and the one in use) and deletes older ones.")
    return "\n".join(lines)


def format_rolled_back(version: ModelVersion) -> str:
    """After /rollback: which version is now in use."""
    return f"Switched to {version.name} (MNIST {_accuracy(version.test_accuracy)}). I'm using it now."


def format_already_active(name: str) -> str:
    """/rollback to the version already in use."""
    return f"{name} is already the model in use."


def format_unknown_version(detail: str) -> str:
    """/rollback to a version that does not exist."""
    return f"I can't switch to that: {detail}. /model lists the versions."
