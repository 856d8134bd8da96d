"""Which messages address the bot: private chats always; groups only by mention, reply, or a command naming it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from bot_fakes import TOKEN, make_message_update
from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop

from bot import addressing, handlers, i18n, messages
from bot.local_api import LocalBotApi, SentMessage

EN = i18n.english()

GROUP, ALICE, BOB = -100777, 2001, 2002
BOT = SimpleNamespace(id=int(TOKEN.split(":")[0]), username=LocalBotApi.bot_username)
AT_BOT = "@" + LocalBotApi.bot_username


@pytest.fixture
def api() -> LocalBotApi:
    """The local server's users' side only (its messages are Bot API dicts; nothing is served)."""
    server = LocalBotApi(TOKEN)
    server.create_group(GROUP, "Test group", supergroup=True)
    return server


def update_of(message: dict) -> Update:
    """A real PTB ``Update`` of a message as the server delivers it, bound to a bot named like the local one."""
    update = Update(1, message=Message.de_json(message, None))
    update.message.set_bot(BOT)
    if update.message.reply_to_message is not None:
        update.message.reply_to_message.set_bot(BOT)
    return update


def passes(message_filter, message: dict) -> bool:
    return bool(message_filter.check_update(update_of(message)))


def bot_message(api: LocalBotApi, chat_id: int) -> SentMessage:
    """A text message from the bot in ``chat_id``, as if it had answered there."""
    return api._record(chat_id, "sendMessage", {"text": "It's a 7"}, text="It's a 7")


def test_everything_in_a_private_chat_is_addressed(api):
    assert passes(addressing.ADDRESSED, api.send_text(ALICE, "hello"))
    assert passes(addressing.ADDRESSED, api.send_photo(ALICE, b"not decoded"))


@pytest.mark.parametrize("text, addressed", [
    ("hello everyone", False),
    (f"{AT_BOT} hi", True),
    (f"hey {AT_BOT.upper()}", True),  # usernames are case-insensitive
    ("ping @someone_else", False),
    (f"mail me at x{AT_BOT}.com", False),  # not a mention: part of a word
    (f"/start{AT_BOT}", True),
    ("/start@otherbot", False),
    ("/start", False),  # bare: CommandHandler answers our own commands, nothing else does
])
def test_group_text_is_addressed_only_by_mention_or_a_command_naming_the_bot(api, text, addressed):
    assert passes(addressing.ADDRESSED, api.send_text(ALICE, text, chat_id=GROUP)) is addressed


@pytest.mark.parametrize("caption, addressed", [
    (None, False),
    ("our holiday", False),
    (f"{AT_BOT} what is it?", True),
    ("/read", True),
    (f"/read{AT_BOT}", True),
    ("/read@otherbot", False),
    ("/start", False),
])
def test_group_photo_is_addressed_by_its_caption(api, caption, addressed):
    assert passes(addressing.ADDRESSED, api.send_photo(ALICE, b"x", caption=caption, chat_id=GROUP)) is addressed


def test_group_reply_to_the_bot_is_addressed_but_not_a_reply_to_someone_else(api):
    assert passes(addressing.ADDRESSED, api.send_text(ALICE, "thanks", chat_id=GROUP, reply_to=bot_message(api, GROUP)))
    other = api.send_text(BOB, "hi", chat_id=GROUP)
    assert not passes(addressing.ADDRESSED, api.send_text(ALICE, "hi Bob", chat_id=GROUP, reply_to=other))


def test_text_mention_of_the_bot_addresses_it(api):
    entity = {"type": "text_mention", "offset": 0, "length": 5, "user": {"id": BOT.id, "is_bot": True,
                                                                        "first_name": "digitbot"}}
    message = api.send_text(ALICE, "robot, read this", chat_id=GROUP)
    message["entities"] = [entity]
    assert passes(addressing.ADDRESSED, message)


def test_only_commands_naming_the_bot_are_for_it(api):
    assert passes(addressing.COMMAND_FOR_BOT, api.send_command(ALICE, f"foo{AT_BOT}", chat_id=GROUP))
    assert not passes(addressing.COMMAND_FOR_BOT, api.send_command(ALICE, "foo", chat_id=GROUP))
    assert not passes(addressing.COMMAND_FOR_BOT, api.send_command(ALICE, "start@otherbot", chat_id=GROUP))


def test_a_mention_in_reply_to_a_photo_in_a_group_asks_to_read_it(api):
    photo = api.send_photo(BOB, b"x", chat_id=GROUP)
    assert passes(addressing.READ_REPLIED_PHOTO, api.send_text(ALICE, AT_BOT, chat_id=GROUP, reply_to=photo))
    assert not passes(addressing.READ_REPLIED_PHOTO, api.send_text(ALICE, "nice", chat_id=GROUP, reply_to=photo))
    text = api.send_text(BOB, "hi", chat_id=GROUP)
    assert not passes(addressing.READ_REPLIED_PHOTO, api.send_text(ALICE, AT_BOT, chat_id=GROUP, reply_to=text))
    private = api.send_photo(ALICE, b"x")
    assert not passes(addressing.READ_REPLIED_PHOTO, api.send_text(ALICE, AT_BOT, reply_to=private))


def test_rate_limit_counts_only_what_the_bot_may_answer(api):
    assert not passes(addressing.COUNTED_MESSAGES, api.send_text(ALICE, "chatter", chat_id=GROUP))
    assert not passes(addressing.COUNTED_MESSAGES, api.send_command(ALICE, "start@otherbot", chat_id=GROUP))
    assert passes(addressing.COUNTED_MESSAGES, api.send_command(ALICE, "help", chat_id=GROUP))
    assert passes(addressing.COUNTED_MESSAGES, api.send_text(ALICE, AT_BOT, chat_id=GROUP))
    assert passes(addressing.COUNTED_MESSAGES, api.send_text(ALICE, "chatter"))


async def test_group_chatter_does_not_use_up_the_rate_limit(api, context):
    burst = handlers.get_services(context).limits.user_burst
    for index in range(burst * 3):
        await handlers.limit_rate(update_of(api.send_text(ALICE, f"message {index}", chat_id=GROUP)), context)
    for _ in range(burst):  # the whole allowance is still there
        await handlers.limit_rate(make_message_update(photo_sizes=[5000]), context)
    with pytest.raises(ApplicationHandlerStop):
        await handlers.limit_rate(make_message_update(photo_sizes=[5000]), context)


async def test_read_reads_the_replied_photo_for_its_sender(context, store, fake_classifier):
    update = make_message_update(text="/read")
    photo = update.effective_message.reply_to_message = make_message_update(photo_sizes=[100, 5000]).effective_message
    photo.from_user = SimpleNamespace(id=77)
    context.file_bytes = b"jpeg"
    fake_classifier.expect(b"jpeg", "7")
    await handlers.on_read(update, context)
    context.bot.get_file.assert_awaited_once_with("p1")  # the replied photo's largest size
    update.effective_message.reply_text.assert_not_awaited()
    (answer,), _ = photo.reply_text.await_args  # the answer quotes the photo
    assert answer.startswith("It's a 7")
    assert store.reading(1).user_id == 77  # Bob's photo: Bob may correct it and /forgetme it


async def test_read_without_a_replied_photo_explains(context):
    update = make_message_update(text="/read")
    await handlers.on_read(update, context)
    update.effective_message.reply_text.assert_awaited_once_with(messages.read_what(EN))
    context.bot.get_file.assert_not_awaited()
