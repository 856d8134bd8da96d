"""Handlers called directly with fake updates, a fake context and a FakeClassifier."""

import re
from unittest.mock import patch

from bot_fakes import digit_photo, make_callback_update, make_message_update

from core.errors import NoDigitFoundError

from bot import callbacks, handlers, i18n, messages
from bot.context import get_services, recall_photo

EN = i18n.english()


async def test_photo_is_read_from_its_largest_size(context, fake_classifier):
    update = make_message_update(photo_sizes=[1000, 90000])
    context.file_bytes = digit_photo("7")
    await handlers.on_photo(update, context)
    context.bot.get_file.assert_awaited_once_with("p1")
    text = update.effective_message.reply_text.await_args.args[0]
    assert text.startswith("It's a 7 — ")
    assert get_services(context).photos_read == 1


async def test_reply_button_points_at_the_remembered_photo(context):
    update = make_message_update(photo_sizes=[5000])
    context.file_bytes = digit_photo("7")
    await handlers.on_photo(update, context)
    markup = update.effective_message.reply_text.await_args.kwargs["reply_markup"]
    button = callbacks.saw_button_of(markup)
    assert button.text == messages.saw_button(EN)
    photo_id = callbacks.pattern(callbacks.SAW).match(button.callback_data).group(1)
    assert recall_photo(context, photo_id).file_id == "p0"


async def test_unreadable_photo_gets_error_message_and_tip(context, fake_classifier):
    context.file_bytes = b"junk"
    fake_classifier.expect(b"junk", NoDigitFoundError())
    update = make_message_update(photo_sizes=[4])
    await handlers.on_photo(update, context)
    update.effective_message.reply_text.assert_awaited_once()
    assert update.effective_message.reply_text.await_args.args == (messages.format_image_error(EN, NoDigitFoundError()),)
    # "What I saw" is offered for a photo read as no digit: it shows the ink found and why.
    markup = update.effective_message.reply_text.await_args.kwargs["reply_markup"]
    assert [[button.text for button in row] for row in markup.inline_keyboard] == [[messages.saw_button(EN)]]
    photo_id = callbacks.pattern(callbacks.SAW).match(markup.inline_keyboard[0][0].callback_data).group(1)
    assert recall_photo(context, photo_id) is not None
    assert get_services(context).photos_read == 0


async def test_a_corrupt_photo_gets_no_what_i_saw_button(context):
    context.file_bytes = b"\xff\xd8 not really a jpeg"
    update = make_message_update(photo_sizes=[4])
    await handlers.on_photo(update, context)
    assert update.effective_message.reply_text.await_args.kwargs["reply_markup"] is None


async def test_document_over_20_mb_is_not_downloaded(context):
    update = make_message_update(document={"file_id": "d", "file_size": 21 * 1024 * 1024, "mime_type": "image/png"})
    await handlers.on_image_document(update, context)
    context.bot.get_file.assert_not_awaited()
    assert update.effective_message.reply_text.await_args.args[0].startswith("That file is 21.0 MB")


async def test_what_i_saw_sends_the_steps_picture(context):
    context.file_bytes = digit_photo("7")
    first = make_message_update(photo_sizes=[5000])
    await handlers.on_photo(first, context)
    data = callbacks.saw_button_of(first.effective_message.reply_text.await_args.kwargs["reply_markup"]).callback_data
    press = make_callback_update(data)
    context.match = re.match(callbacks.pattern(callbacks.SAW), data)
    with patch.object(handlers, "steps_png", return_value=(b"\x89PNG steps", messages.saw_caption(EN))) as steps:
        await handlers.on_saw(press, context)
    steps.assert_called_once()
    press.callback_query.answer.assert_awaited_once_with()
    press.effective_chat.send_photo.assert_awaited_once_with(b"\x89PNG steps", caption=messages.saw_caption(EN))


async def test_what_i_saw_after_expiry_answers_gracefully(context):
    press = make_callback_update("saw:deadbeef")
    context.match = re.match(callbacks.pattern(callbacks.SAW), press.callback_query.data)
    await handlers.on_saw(press, context)
    press.callback_query.answer.assert_awaited_once_with(messages.saw_expired(EN), show_alert=True)
    press.effective_chat.send_photo.assert_not_awaited()


async def test_remembered_photos_are_bounded_per_chat(context):
    context.file_bytes = digit_photo("7")
    keep = get_services(context).limits.readings_kept_per_chat
    for index in range(keep + 5):
        await handlers.read_and_reply(make_message_update(), context, handlers.RememberedPhoto(f"f{index}"))
    assert len(context.chat_data["readings"]) == keep


async def test_stats_without_picture_sends_only_text(context, tmp_path):
    update = make_message_update()
    await handlers.on_stats(update, context)
    assert "Test accuracy: 99.00 %" in update.effective_message.reply_text.await_args.args[0]
    update.effective_message.reply_photo.assert_not_awaited()


async def test_error_handler_logs_update_id_and_apologises(context, caplog):
    from bot.errors import error_handler

    update = make_message_update(update_id=77)
    context.error = RuntimeError("boom")
    await error_handler(update, context)
    assert "Update 77 caused an error" in caplog.text and "boom" in caplog.text
    context.bot.send_message.assert_awaited_once_with(42, messages.something_went_wrong(EN))
