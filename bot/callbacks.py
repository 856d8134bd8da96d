"""Inline buttons and their callback data: ``"<action>:<argument>"``, one regex per action.

Telegram allows 64 bytes of callback data. Each action owns a short prefix; handlers are
registered per prefix (``CallbackQueryHandler(pattern=...)``), so new actions slot in
without touching existing ones:

- ``saw:<photo id>``: "What I saw" (the id of the photo in the chat's cache); ``saw:<photo
  id>-<line>`` for the reading of another line of writing of that photo (see ``line``);
- ``line:<photo id>-<line>``: read another line of writing of a photo with several: ``line``
  0 is the line read first, 1 to n the others, top to bottom
  (``core.classifier.Classifier.read_photo``'s ``line``);
- ``right:<reading id>``, ``wrong:<reading id>``: feedback on a reading (its id in the
  feedback store);
- ``fix:<reading id>-<labels>``: a keypad tap; ``labels`` are the true digits chosen so far,
  left to right, the tapped one last (at most 16 digits, ``core.preprocessing.MAX_DIGITS``);
- ``back:<reading id>``: leave the keypad for the Right/Wrong buttons;
- ``lang:<code>``: /language's choice (a code of ``bot.i18n.CODES``, or ``auto`` to follow
  Telegram's language again).

The feedback flow is stateless: everything a tap needs is in its callback data or the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n, messages
from bot.i18n import Language

#: "What I saw": send the preprocessing steps of a reading. Argument: the photo's id in the chat cache.
SAW = "saw"
#: "Read the other line": read another line of writing of the photo. Argument: ``"<photo id>-<line>"``.
LINE = "line"
#: "Right": the reading is correct. Argument: the stored reading's id.
RIGHT = "right"
#: "Wrong": show the keypad for the first digit. Argument: the stored reading's id.
WRONG = "wrong"
#: A keypad digit. Argument: ``"<reading id>-<labels so far>"``, see :func:`parse_fix`.
FIX = "fix"
#: Back from the keypad to Right/Wrong. Argument: the stored reading's id.
BACK = "back"
#: /language's buttons. Argument: a language's code, or :data:`FOLLOW_TELEGRAM`.
LANGUAGE = "lang"
#: The /language argument that drops the user's choice.
FOLLOW_TELEGRAM = "auto"


def callback_data(action: str, argument: str) -> str:
    """Build callback data ``"<action>:<argument>"``.

    Raises:
        ValueError: the result is longer than Telegram's 64 bytes.
    """
    data = f"{action}:{argument}"
    if len(data.encode()) > 64:
        raise ValueError(f"callback data {data!r} is longer than 64 bytes")
    return data


def pattern(action: str, argument: str = r"[\w-]+") -> re.Pattern[str]:
    """The regex matching one action's callback data; group 1 is the argument (matching ``argument``)."""
    return re.compile(rf"^{re.escape(action)}:({argument})$")


def saw_button(lang: Language, photo_id: str, line: int = 0) -> InlineKeyboardButton:
    """The "What I saw" button for a photo in the chat's cache (for its ``line``-th line of
    writing, when not the line read first)."""
    return InlineKeyboardButton(messages.saw_button(lang),
                                callback_data=callback_data(SAW, f"{photo_id}-{line}" if line else photo_id))


def line_button(lang: Language, photo_id: str, line: int, other_lines: int) -> InlineKeyboardButton:
    """The button that reads the next line of writing of a photo in the chat's cache.

    Args:
        line: the line the reply shows (0: the line read first; 1 to ``other_lines``: the others).
        other_lines: how many lines besides the one read first the photo has, >= 1. The button
            reads line ``line + 1``, and after the last one line 0 again.
    """
    next_line = (line + 1) % (other_lines + 1)
    return InlineKeyboardButton(messages.line_button(lang, other_lines),
                                callback_data=callback_data(LINE, f"{photo_id}-{next_line}"))


def parse_photo_line(argument: str) -> tuple[str, int]:
    """``"3fa2b1c0-2"`` -> ``("3fa2b1c0", 2)``; ``"3fa2b1c0"`` -> ``("3fa2b1c0", 0)``: a
    "What I saw" or "Read the other line" button's photo id and line."""
    photo_id, _, line = argument.partition("-")
    return photo_id, int(line) if line.isdigit() else 0


def saw_button_of(markup: InlineKeyboardMarkup | None) -> InlineKeyboardButton | None:
    """The "What I saw" button in a message's keyboard, or None."""
    return next((button for button in kept_buttons_of(markup) if button.callback_data.startswith(f"{SAW}:")),
                None)


def kept_buttons_of(markup: InlineKeyboardMarkup | None) -> list[InlineKeyboardButton]:
    """The buttons of a message's keyboard that stay as they are when the keyboard changes
    (feedback, the keypad): "What I saw" and "Read the other line", in their order."""
    kept = (f"{SAW}:", f"{LINE}:")
    return [button for row in (markup.inline_keyboard if markup else ()) for button in row
            if isinstance(button.callback_data, str) and button.callback_data.startswith(kept)]


#: The buttons kept under every keyboard of a reading: one ("What I saw"), a row of them, or none.
KeptButtons = InlineKeyboardButton | Sequence[InlineKeyboardButton] | None


def _with_saw(rows: list[list[InlineKeyboardButton]], saw: KeptButtons) -> InlineKeyboardMarkup | None:
    kept = [saw] if isinstance(saw, InlineKeyboardButton) else list(saw or ())
    rows = rows + ([kept] if kept else [])
    return InlineKeyboardMarkup(rows) if rows else None


def feedback_keyboard(lang: Language, reading_id: int | None,
                      saw: KeptButtons) -> InlineKeyboardMarkup | None:
    """Right/Wrong (when the reading is stored, ``reading_id`` not None) above "What I saw" (and
    "Read the other line"; any of :data:`KeptButtons`)."""
    rows = []
    if reading_id is not None:
        rows.append([
            InlineKeyboardButton(messages.right_button(lang), callback_data=callback_data(RIGHT, str(reading_id))),
            InlineKeyboardButton(messages.wrong_button(lang), callback_data=callback_data(WRONG, str(reading_id))),
        ])
    return _with_saw(rows, saw)


#: Each action's regex; group 1 is the argument.
PATTERNS: dict[str, re.Pattern[str]] = {
    SAW: pattern(SAW),
    LINE: pattern(LINE, r"[0-9a-f]+-[0-9]+"),
    RIGHT: pattern(RIGHT, r"[0-9]+"),
    WRONG: pattern(WRONG, r"[0-9]+"),
    FIX: pattern(FIX, r"[0-9]+-[0-9]+"),
    BACK: pattern(BACK, r"[0-9]+"),
    LANGUAGE: pattern(LANGUAGE),
}

#: The feedback flow's actions: cheap taps (a database look-up each) that come in runs, one per digit
#: of a correction, so they have a rate limit of their own (``bot.ratelimit.Allowance.TAPS``).
FEEDBACK_ACTIONS = (RIGHT, WRONG, FIX, BACK)


def is_feedback(data: str | None) -> bool:
    """True when callback data is a well-formed feedback tap: Right, Wrong, a keypad digit or Back."""
    return data is not None and any(PATTERNS[action].match(data) for action in FEEDBACK_ACTIONS)


def reading_keyboard(lang: Language, photo_id: str, reading_id: int | None = None, line: int = 0,
                     other_lines: int = 0) -> InlineKeyboardMarkup:
    """The buttons under a reading: Right/Wrong if it is stored, then "What I saw" and, when
    the photo has ``other_lines`` > 0 more lines of writing, "Read the other line" (the reply
    shows line ``line``, see :func:`line_button`)."""
    kept = [saw_button(lang, photo_id, line)]
    if other_lines:
        kept.append(line_button(lang, photo_id, line, other_lines))
    return feedback_keyboard(lang, reading_id, kept)


def keypad(lang: Language, reading_id: int, labels: str, saw: KeptButtons) -> InlineKeyboardMarkup:
    """Digits 0-9 for the next digit after ``labels`` (the true digits chosen so far), Back, "What I saw".

    Raises:
        ValueError: ``labels`` is not digits.
    """
    if not re.fullmatch(r"[0-9]*", labels):
        raise ValueError(f"labels must be digits, got {labels!r}")
    digits = [
        InlineKeyboardButton(str(digit), callback_data=callback_data(FIX, f"{reading_id}-{labels}{digit}"))
        for digit in range(10)
    ]
    back = InlineKeyboardButton(messages.back_button(lang), callback_data=callback_data(BACK, str(reading_id)))
    return _with_saw([digits[:5], digits[5:], [back]], saw)


def parse_fix(argument: str) -> tuple[int, str] | None:
    """``"12-47"`` -> ``(12, "47")``: a keypad tap's reading id and labels; None if malformed."""
    match = re.fullmatch(r"([0-9]+)-([0-9]+)", argument)
    return (int(match.group(1)), match.group(2)) if match else None


def language_keyboard(lang: Language, chosen: bool) -> InlineKeyboardMarkup:
    """/language's buttons: each language by its own name, two a row, then "as in Telegram".

    The language in use is marked ✅ when the user chose it, else the "as in Telegram" button is.

    Args:
        lang: the language in use (the last button's label is in it).
        chosen: whether the user chose ``lang`` (False: it follows Telegram's settings).
    """
    def label(text: str, marked: bool) -> str:
        return f"✅ {text}" if marked else text

    buttons = [
        InlineKeyboardButton(label(language.name, chosen and language.code == lang.code),
                             callback_data=callback_data(LANGUAGE, language.code))
        for language in i18n.supported()
    ]
    rows = [buttons[index:index + 2] for index in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(label(messages.language_follow_telegram_button(lang), not chosen),
                                      callback_data=callback_data(LANGUAGE, FOLLOW_TELEGRAM))])
    return InlineKeyboardMarkup(rows)
