"""Feedback buttons, /forgetme and the live /stats figures, through the handlers with a real store."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from bot_fakes import FakeClassifier, digit_photo, make_callback_update, make_message_update
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest

from bot import callbacks, handlers, i18n, messages
from bot.context import get_services, recall_photo
from bot.store import FeedbackStatus, StoreError

EN = i18n.english()

USER = 42  # the fake updates' user and private chat

HANDLERS = {
    callbacks.SAW: handlers.on_saw,
    callbacks.RIGHT: handlers.on_right,
    callbacks.WRONG: handlers.on_wrong,
    callbacks.FIX: handlers.on_fix,
    callbacks.BACK: handlers.on_back,
}


@dataclass
class Shown:
    """The bot's reply as the user sees it: text and keyboard, updated by each edit."""

    text: str
    markup: InlineKeyboardMarkup | None

    def buttons(self) -> dict[str, str]:
        """``{label: callback_data}`` of every button."""
        rows = self.markup.inline_keyboard if self.markup else ()
        return {button.text: button.callback_data for row in rows for button in row}


async def send_photo(context, fake_classifier, number: str) -> Shown:
    """The user sends a photo that reads as ``number``; returns the reply."""
    context.file_bytes = digit_photo(number)
    fake_classifier.expect(context.file_bytes, number)
    update = make_message_update(photo_sizes=[5000])
    await handlers.on_photo(update, context)
    call = update.effective_message.reply_text.await_args
    return Shown(call.args[0], call.kwargs["reply_markup"])


async def press(context, shown: Shown, label: str, user_id: int = USER):
    """Tap the button ``label`` of ``shown``; applies the bot's edit, if any, to ``shown``. Returns the update."""
    data = shown.buttons()[label]
    context.match = callbacks.PATTERNS[data.split(":")[0]].match(data)
    update = make_callback_update(data, text=shown.text, reply_markup=shown.markup, user_id=user_id)
    await HANDLERS[data.split(":")[0]](update, context)
    edit = update.callback_query.edit_message_text.await_args
    if edit is not None:
        shown.text, shown.markup = edit.args[0], edit.kwargs["reply_markup"]
    return update


def toast(update) -> str | None:
    """The text of the query's answer (None for a silent answer)."""
    call = update.callback_query.answer.await_args
    return call.args[0] if call.args else None


async def test_reply_has_right_wrong_and_what_i_saw_and_is_stored(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    assert [[b.text for b in row] for row in shown.markup.inline_keyboard] == [
        [messages.right_button(EN), messages.wrong_button(EN)], [messages.saw_button(EN)]]
    reading_id = int(shown.buttons()[messages.right_button(EN)].split(":")[1])
    stored = store.reading(reading_id)
    assert (stored.user_id, stored.chat_id, stored.model_version, stored.digits) == (USER, USER, "fake", (7,))
    assert all(len(data.encode()) <= 64 for data in shown.buttons().values())


async def test_right_confirms_and_edits_the_reply(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    original, saw = shown.text, shown.buttons()[messages.saw_button(EN)]
    update = await press(context, shown, messages.right_button(EN))
    assert toast(update) == messages.feedback_thanks(EN)
    assert shown.text == original + "\n\n✅ Confirmed, thanks!"
    assert shown.buttons() == {messages.saw_button(EN): saw}
    assert store.live_stats().confirmed_answers == 1


async def test_wrong_then_a_digit_stores_the_correction(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    original = shown.text
    await press(context, shown, messages.wrong_button(EN))
    assert shown.text == original + messages.PROMPT_MARK + "Which digit is it?"
    assert list(shown.buttons()) == [*map(str, range(10)), messages.back_button(EN), messages.saw_button(EN)]
    assert store.live_stats().digits_checked == 0  # nothing stored before the digit is chosen
    update = await press(context, shown, "1")
    assert toast(update) == messages.feedback_thanks(EN)
    assert shown.text == original + "\n\n✏️ Corrected: 7 → 1, thanks!"
    assert list(shown.buttons()) == [messages.saw_button(EN)]
    live = store.live_stats()
    assert (live.corrected_answers, live.confusions) == (1, ((1, 7, 1),))


async def test_multi_digit_number_is_corrected_digit_by_digit(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "427")
    original = shown.text
    await press(context, shown, messages.wrong_button(EN))
    assert shown.text.endswith("Digit 1 of 3 (I read 4): which is it?")
    await press(context, shown, "4")
    assert shown.text == original + messages.PROMPT_MARK + "Digit 2 of 3 (I read 2): which is it?"
    await press(context, shown, "1")
    assert shown.text.endswith("Digit 3 of 3 (I read 7): which is it?")
    await press(context, shown, "7")
    assert shown.text == original + "\n\n✏️ Corrected: 427 → 417, thanks!"
    live = store.live_stats()
    assert (live.corrected_answers, live.digits_checked, live.digits_right) == (1, 3, 2)


async def test_back_leaves_the_keypad_without_storing(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "42")
    original, buttons = shown.text, shown.buttons()
    await press(context, shown, messages.wrong_button(EN))
    await press(context, shown, "4")
    await press(context, shown, messages.back_button(EN))
    assert (shown.text, shown.buttons()) == (original, buttons)
    assert store.live_stats().digits_checked == 0


async def test_second_press_changes_nothing(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    stale = Shown(shown.text, shown.markup)  # the keyboard as a slow client still shows it
    await press(context, shown, messages.wrong_button(EN))
    await press(context, shown, "1")
    for label in (messages.right_button(EN), messages.wrong_button(EN)):
        update = await press(context, Shown(stale.text, stale.markup), label)
        assert toast(update) == messages.feedback_refusal(EN, FeedbackStatus.DUPLICATE)
        update.callback_query.edit_message_text.assert_not_awaited()
    live = store.live_stats()
    assert (live.confirmed_answers, live.corrected_answers, live.digits_checked) == (0, 1, 1)


async def test_press_after_forgetme_is_answered_and_stores_nothing(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    await handlers.on_forget_me(make_message_update(text="/forgetme"), context)
    update = await press(context, shown, messages.right_button(EN))
    assert toast(update) == messages.feedback_missing(EN)
    update.callback_query.edit_message_text.assert_not_awaited()
    assert store.live_stats().digits_checked == 0


async def test_only_the_sender_may_answer(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    for label in (messages.right_button(EN), messages.wrong_button(EN)):
        update = await press(context, shown, label, user_id=USER + 1)
        assert toast(update) == messages.feedback_refusal(EN, FeedbackStatus.NOT_OWNER)
        update.callback_query.edit_message_text.assert_not_awaited()
    assert store.live_stats().digits_checked == 0


async def test_keypad_tap_with_too_many_digits_is_outdated(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "7")
    reading_id = shown.buttons()[messages.right_button(EN)].split(":")[1]
    forged = Shown(shown.text, callbacks.keypad(EN, int(reading_id), "1", None))
    update = await press(context, forged, "2")  # "fix:<id>-12" for a one-digit reading
    assert toast(update) == messages.feedback_outdated(EN)
    assert store.live_stats().digits_checked == 0


async def test_unchanged_edit_from_a_double_tap_is_not_an_error(context, fake_classifier):
    shown = await send_photo(context, fake_classifier, "42")
    data = shown.buttons()[messages.wrong_button(EN)]
    context.match = callbacks.PATTERNS[callbacks.WRONG].match(data)
    update = make_callback_update(data, text=shown.text, reply_markup=shown.markup)
    update.callback_query.edit_message_text.side_effect = BadRequest("Message is not modified: specified new ...")
    await handlers.on_wrong(update, context)  # does not raise
    update.callback_query.edit_message_text.side_effect = BadRequest("Message to edit not found")
    with pytest.raises(BadRequest):
        await handlers.on_wrong(update, context)


async def test_forgetme_deletes_the_users_readings_and_photo_cache(context, fake_classifier, store):
    shown = await send_photo(context, fake_classifier, "12")
    await press(context, shown, messages.right_button(EN))
    await send_photo(context, fake_classifier, "3")
    photo_id = shown.buttons()[messages.saw_button(EN)].split(":")[1]
    assert recall_photo(context, photo_id) is not None
    update = make_message_update(text="/forgetme")
    await handlers.on_forget_me(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(
        "Done: I deleted everything I had stored about you (2 photo readings).")
    assert store._connection.execute("SELECT COUNT(*) FROM predictions").fetchone() == (0,)
    assert recall_photo(context, photo_id) is None
    again = make_message_update(text="/forgetme")
    await handlers.on_forget_me(again, context)
    again.effective_message.reply_text.assert_awaited_once_with(messages.format_forgotten(EN, 0))


async def stats_lines(context) -> list[str]:
    """The lines of the /stats text."""
    update = make_message_update(text="/stats")
    await handlers.on_stats(update, context)
    return update.effective_message.reply_text.await_args.args[0].splitlines()


async def test_stats_shows_live_figures(context, fake_classifier):
    shown = await send_photo(context, fake_classifier, "7")
    await press(context, shown, messages.wrong_button(EN))
    await press(context, shown, "1")
    await press(context, await send_photo(context, fake_classifier, "3"), messages.right_button(EN))
    assert (await stats_lines(context))[-3:] == [
        "Feedback from users on this model (fake): 1 answer confirmed, 1 corrected",
        "Live accuracy: 50.0 % of 2 digits checked",
        "Most common mix-ups: 1 read as 7 (1×)",
    ]


async def test_stats_after_a_model_switch_show_the_new_models_figures(context, fake_classifier):
    shown = await send_photo(context, fake_classifier, "7")  # read by "fake"
    await press(context, shown, messages.wrong_button(EN))
    await press(context, shown, "1")
    fake_classifier.version = "v2"  # as after /rollback or a promoted /retrain
    assert (await stats_lines(context))[-2:] == [
        "No feedback on this model (v2) yet: tap ✅ Right or ❌ Wrong under my answers.",
        "All model versions: 0.0 % of 1 digit checked",
    ]
    await press(context, await send_photo(context, fake_classifier, "3"), messages.right_button(EN))
    assert (await stats_lines(context))[-3:] == [
        "Feedback from users on this model (v2): 1 answer confirmed, 0 corrected",
        "Live accuracy: 100.0 % of 1 digit checked",
        "All model versions: 50.0 % of 2 digits checked",
    ]


async def test_reading_is_stored_under_the_model_that_read_it(context, fake_classifier, store):
    """A model swapped in while a photo is being read does not take over that reading."""
    newer = FakeClassifier()
    newer.version = "v2"
    read_photo = fake_classifier.read_photo

    def read_then_swap(data):
        reading = read_photo(data)
        get_services(context).classifier = newer  # a /rollback lands while the reply is on its way
        return reading

    fake_classifier.read_photo = read_then_swap
    shown = await send_photo(context, fake_classifier, "7")
    reading_id = int(shown.buttons()[messages.right_button(EN)].split(":")[1])
    assert store.reading(reading_id).model_version == "fake"


async def test_store_failure_still_answers_without_feedback_buttons(context, fake_classifier, store, monkeypatch):
    def broken(**kwargs):
        raise StoreError("disk I/O error")

    monkeypatch.setattr(store, "record_reading", broken)
    shown = await send_photo(context, fake_classifier, "7")
    assert shown.text.startswith("It's a 7")
    assert list(shown.buttons()) == [messages.saw_button(EN)]
    assert get_services(context).photos_read == 1


async def test_without_a_store_there_are_no_feedback_buttons(context, fake_classifier):
    get_services(context).store = None
    shown = await send_photo(context, fake_classifier, "7")
    assert list(shown.buttons()) == [messages.saw_button(EN)]
    update = make_message_update(text="/forgetme")
    await handlers.on_forget_me(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.forget_unavailable(EN))


def test_callback_data_fits_telegrams_64_bytes_for_the_longest_number():
    from core.preprocessing import MAX_DIGITS

    keypad = callbacks.keypad(EN, 2**63 - 1, "9" * (MAX_DIGITS - 1), callbacks.saw_button(EN, "deadbeef"))
    data = [button.callback_data for row in keypad.inline_keyboard for button in row]
    assert max(len(item.encode()) for item in data) <= 64
    assert callbacks.parse_fix(data[3].split(":", 1)[1]) == (2**63 - 1, "9" * (MAX_DIGITS - 1) + "3")
