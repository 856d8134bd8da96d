"""Filters that tell whether a message in a group is meant for this bot.

In a private chat everything is for the bot. In a group (privacy mode off, or the bot an
admin, so it sees every message) it acts only when addressed: a mention of its @username,
a reply to one of its messages, or a command naming it (``/read@digitbot``).

PTB's ``filters.Mention`` is not enough here: it looks at ``text`` entities only (a photo's
mention is in its caption), compares usernames case-sensitively (Telegram's are not), and
needs the username when the filter is built, whereas the bot learns it from ``getMe`` when
the application starts. These filters ask ``message.get_bot()`` at check time, as PTB's
``CommandHandler`` does for ``/command@botname``.
"""

from __future__ import annotations

from telegram import Message, MessageEntity
from telegram.ext import filters

#: Commands a photo's caption may carry without naming the bot (``/read`` is ours alone).
CAPTION_COMMANDS = frozenset({"read"})


def _entities(message: Message) -> dict[MessageEntity, str]:
    """The message's mention, text mention and command entities with their text, from text or caption."""
    types = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION, MessageEntity.BOT_COMMAND]
    if message.text is not None:
        return message.parse_entities(types)
    if message.caption is not None:
        return message.parse_caption_entities(types)
    return {}


def _username(message: Message) -> str:
    """The bot's @username, lower-cased (Telegram's usernames are case-insensitive); "" before getMe."""
    return (message.get_bot().username or "").lower()


def mentions_bot(message: Message) -> bool:
    """True if the text or caption names the bot: ``@username``, a text mention, or ``/command@username``."""
    bot = message.get_bot()
    username = _username(message)
    for entity, text in _entities(message).items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == username:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot.id:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and text.partition("@")[2].lower() == username:
            return True
    return False


def has_caption_command(message: Message) -> bool:
    """True if the caption carries one of :data:`CAPTION_COMMANDS` without another bot's name."""
    if message.caption is None:
        return False
    username = _username(message)
    for entity, text in _entities(message).items():
        if entity.type == MessageEntity.BOT_COMMAND:
            command, _, target = text[1:].partition("@")
            if command.lower() in CAPTION_COMMANDS and target.lower() in ("", username):
                return True
    return False


def replies_to_bot(message: Message) -> bool:
    """True if the message answers one of the bot's own messages."""
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == message.get_bot().id


def leading_command_target(message: Message) -> str | None:
    """The bot a message's leading command names (``"otherbot"`` for ``/start@otherbot``), ``""`` for a
    bare command, None when the message does not start with a command."""
    entities = message.entities
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return None
    return message.parse_entity(entities[0]).partition("@")[2].lower()


def command_for_bot(message: Message) -> bool:
    """True if the message starts with a command that names the bot (``/foo@username``)."""
    return leading_command_target(message) == _username(message)


def command_not_for_others(message: Message) -> bool:
    """True if the message starts with a bare command or one naming the bot, not another bot."""
    return leading_command_target(message) in ("", _username(message))


def image_of(message: Message | None) -> Message | None:
    """``message`` if it holds a photo or an image file, else None."""
    if message is None:
        return None
    if message.photo or (message.document is not None and (message.document.mime_type or "").startswith("image/")):
        return message
    return None


class _Check(filters.MessageFilter):
    """A message filter from a predicate on the message."""

    __slots__ = ("_predicate",)

    def __init__(self, predicate, name: str) -> None:
        super().__init__(name=name)
        self._predicate = predicate

    def filter(self, message: Message) -> bool:
        return self._predicate(message)


#: Names the bot in its text or caption (``@username``, text mention, ``/command@username``).
MENTIONS_BOT = _Check(mentions_bot, "MENTIONS_BOT")
#: A reply to one of the bot's messages.
REPLIES_TO_BOT = _Check(replies_to_bot, "REPLIES_TO_BOT")
#: A caption with ``/read`` (or ``/read@username``).
CAPTION_COMMAND = _Check(has_caption_command, "CAPTION_COMMAND")
#: Starts with a command naming the bot, e.g. ``/foo@username``.
COMMAND_FOR_BOT = _Check(command_for_bot, "COMMAND_FOR_BOT")
#: Starts with a bare command or one naming the bot (``/help``, ``/help@username``).
COMMAND_NOT_FOR_OTHERS = _Check(command_not_for_others, "COMMAND_NOT_FOR_OTHERS")
#: A reply to a photo or image file.
REPLY_TO_IMAGE = filters.REPLY & _Check(lambda message: image_of(message.reply_to_message) is not None,
                                        "REPLY_TO_IMAGE")

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS
#: Messages the bot answers: everything in a private chat; in groups only what addresses it.
ADDRESSED = PRIVATE | MENTIONS_BOT | REPLIES_TO_BOT | CAPTION_COMMAND
#: Group messages that ask the bot to read the photo they reply to (``@username`` in the reply).
READ_REPLIED_PHOTO = GROUPS & MENTIONS_BOT & REPLY_TO_IMAGE & ~filters.PHOTO & ~filters.Document.ALL & ~filters.COMMAND
#: Updates the rate limit counts: everything but group messages the bot ignores (a chatty
#: member must not run out of allowance, nor be told to slow down, for talk not meant for it).
#: Bare commands count: CommandHandler answers ``/help`` in a group, as Telegram intends.
COUNTED_MESSAGES = ADDRESSED | COMMAND_NOT_FOR_OTHERS
