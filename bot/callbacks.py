"""Inline buttons and their callback data: ``"<action>:<argument>"``, one regex per action.

Telegram allows 64 bytes of callback data. Each action owns a short prefix; handlers are
registered per prefix (``CallbackQueryHandler(pattern=...)``), so new actions (e.g. the
feedback buttons ``"right:<id>"``/``"wrong:<id>"``) slot in without touching existing ones.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import messages

#: "What I saw": send the preprocessing steps of a reading. Argument: the reading id.
SAW = "saw"


def callback_data(action: str, argument: str) -> str:
    """Build callback data ``"<action>:<argument>"``.

    Raises:
        ValueError: the result is longer than Telegram's 64 bytes.
    """
    data = f"{action}:{argument}"
    if len(data.encode()) > 64:
        raise ValueError(f"callback data {data!r} is longer than 64 bytes")
    return data


def pattern(action: str) -> re.Pattern[str]:
    """The regex matching one action's callback data; group 1 is the argument."""
    return re.compile(rf"^{re.escape(action)}:([\w-]+)$")


def reading_keyboard(reading_id: str) -> InlineKeyboardMarkup:
    """The buttons under a reading: one row, "What I saw"."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(messages.SAW_BUTTON, callback_data=callback_data(SAW, reading_id))]]
    )
