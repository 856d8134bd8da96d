"""An in-memory Telegram Bot API server on loopback, for end-to-end tests, benchmarks and the playground.

It speaks real HTTP with the Bot API's JSON shapes (``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": 400, "description": "Bad Request: ..."}``), so the real
``telegram.ext.Application`` runs against it unchanged: point ``base_url`` at
:attr:`LocalBotApi.base_url` and ``base_file_url`` at :attr:`LocalBotApi.base_file_url`.
A wrong token gets ``401 Unauthorized`` and an unknown method ``404 Not Found``, as from Telegram.
It is a faithful subset: what it implements behaves as Telegram documents it, with
Telegram's error descriptions; what it lacks is refused with 404 rather than faked.

Supported Bot API methods (names are case-insensitive, parameters as query, form fields,
multipart or JSON) in private chats, whose id is the user's id, and in groups made with
:meth:`LocalBotApi.create_group` (negative ids, several members; the bot sees every message,
as with privacy mode off or as an admin):

- ``getMe``
- ``getUpdates`` with ``offset`` (a positive one confirms earlier updates, a negative one
  keeps only the last ``-offset``), ``limit`` and long-polling ``timeout`` (at most 50 s)
- ``getFile`` (refuses files above 20 MB like Telegram), and downloads from
  ``/file/bot<token>/<file_path>``
- ``sendMessage``, ``sendPhoto`` (multipart upload or an existing ``file_id``), both with
  ``reply_markup`` and ``reply_parameters`` (or ``reply_to_message_id``): the sent message
  carries ``reply_to_message``, and a reply to a missing message is refused unless
  ``allow_sending_without_reply``; and ``sendChatAction``
- ``editMessageText``, ``editMessageCaption``, ``editMessageReplyMarkup`` (edited messages
  carry ``edit_date``; an edit that changes nothing is refused with "message is not modified"),
  ``deleteMessage``
- ``answerCallbackQuery``
- ``setMyCommands``, ``getMyCommands``, ``deleteMyCommands``, per ``scope`` and ``language_code``
- ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``: while a webhook is set, ``getUpdates``
  is refused (409 Conflict) and each update is POSTed to the webhook URL as JSON, one at a
  time and in order, with the ``X-Telegram-Bot-Api-Secret-Token`` header; an update the
  webhook does not answer with 2xx is retried (the failure shows in ``getWebhookInfo``).
  Unlike Telegram, plain ``http://`` and any port are accepted for a loopback webhook URL.

Texts and captions: ``parse_mode=HTML`` is parsed into ``entities`` (Telegram's tag subset;
other tags are "can't parse entities" errors), explicit ``entities`` are kept, and
``bot_command``, ``mention`` and ``url`` entities are detected as Telegram does, in the bot's
texts and in users' texts and captions alike; entity offsets count UTF-16 code units. ``Markdown``/``MarkdownV2`` are not parsed: such text is stored as sent.
Photos get one size (plus a 320-pixel thumbnail for photos users send), not Telegram's four.

The test side, on the same event loop: :meth:`LocalBotApi.send_photo`,
:meth:`~LocalBotApi.send_document`, :meth:`~LocalBotApi.send_text`,
:meth:`~LocalBotApi.send_command` and :meth:`~LocalBotApi.press_button` act as a user
(:meth:`~LocalBotApi.set_user` names one), in their private chat or, given ``chat_id``, in a group,
optionally as a reply (``reply_to``); :meth:`~LocalBotApi.next_messages` awaits the bot's
replies in a chat, :meth:`~LocalBotApi.next_edit` the next edit of a message and
:meth:`~LocalBotApi.callback_answer` the answer to a button press; :meth:`~LocalBotApi.events` and :meth:`~LocalBotApi.wait_events` give a
chat's whole history as a client shows it (messages both ways, edits, deletions, chat actions,
callback answers); :meth:`~LocalBotApi.fail_next` makes the next requests fail with HTTP 500.
Extra tornado ``routes`` share the server: the playground's chat page
(:mod:`bot.playground.web`) is built on these controls.

Example::

    async with LocalBotApi(token) as api:
        settings = Settings(token=token, base_url=api.base_url, base_file_url=api.base_file_url)
        async with running(build_application(settings, classifier)):
            api.send_photo(user_id=1, data=jpeg_bytes)
            (reply,) = await api.next_messages(chat_id=1)
"""

from __future__ import annotations

import asyncio
import html.parser
import io
import itertools
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web

logger = logging.getLogger(__name__)

#: Telegram lets bots download files up to this size.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
#: Telegram's longest allowed getUpdates timeout, seconds.
MAX_POLL_TIMEOUT = 50.0

_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


class BotApiError(Exception):
    """A Bot API error answer: HTTP ``status`` and Telegram's ``description``."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass
class StoredFile:
    """A file known to the server, sent by a user or uploaded by the bot.

    Attributes:
        file_id, file_unique_id: Telegram-style identifiers.
        file_path: where it is downloaded from, relative to the file base URL.
        data: the bytes.
        file_size: the size Telegram reports; may exceed ``len(data)`` to simulate huge files.
    """

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int

    def as_file(self) -> dict:
        """The Bot API ``File`` object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class SentMessage:
    """A message the bot sent (and possibly edited later).

    Attributes:
        chat_id, message_id: where it is.
        method: ``"sendMessage"`` or ``"sendPhoto"``.
        text: the text, or the caption of a photo.
        photo: the uploaded photo's bytes for ``sendPhoto``, else None.
        reply_markup: the inline keyboard as sent (a dict), or None.
        sent_at: ``time.perf_counter()`` when the server received it.
        payload: the message's Bot API fields beyond the common ones (``text``, ``entities``,
            ``photo``, ``caption``, ``reply_markup``).
        date, edit_date: Unix times of sending and of the last edit (None if never edited).
        edits: how many times the bot edited it (text or keyboard).
    """

    chat_id: int
    message_id: int
    method: str
    text: str = ""
    photo: bytes | None = None
    reply_markup: dict | None = None
    sent_at: float = field(default_factory=time.perf_counter)
    payload: dict = field(default_factory=dict, repr=False)
    date: int = field(default_factory=lambda: int(time.time()))
    edit_date: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """The inline buttons as ``(label, callback_data)``, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(button["text"], button.get("callback_data", "")) for row in rows for button in row]


@dataclass(frozen=True)
class ChatEvent:
    """One thing that happened in a chat, as a chat client would show it.

    Attributes:
        seq: position in the server's event log, increasing from 1 across all chats.
        chat_id: the chat.
        kind: ``"message"`` (new, from the user or the bot; ``data`` is the Bot API
            ``Message``), ``"edited_message"`` (``data`` is the whole edited ``Message``),
            ``"deleted_message"`` (``data`` is ``{"message_id": ...}``), ``"chat_action"``
            (``{"action": "typing"}`` ...) or ``"callback_answer"`` (``{"callback_query_id",
            "text", "show_alert"}``).
        data: as described for ``kind``; a snapshot taken when it happened.
    """

    seq: int
    chat_id: int
    kind: str
    data: dict


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's ``answerCallbackQuery`` for a button press."""

    callback_query_id: str
    text: str | None
    show_alert: bool


class _Broadcast:
    """Wake every waiter on a change; usable from synchronous code on the loop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class LocalBotApi:
    """The fake Bot API server and its test controls. Use as ``async with LocalBotApi(token) as api``.

    A user's private chat id equals their user id, as on Telegram; groups (:meth:`create_group`)
    have negative ids.

    Args:
        token: the one bot token the server accepts.
        host: address to listen on (keep it loopback).
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        thumbnails: give photos a 320-pixel thumbnail before the full size, as Telegram does
            (costs a Pillow resize per photo).
        routes: more tornado routes served by the same HTTP server (the playground's chat page);
            they must not start with ``/bot`` or ``/file/``.

    Attributes:
        requests: names of the Bot API methods called, in order.
        commands: the last ``setMyCommands`` list for the default scope and language.
        callback_answers: every ``answerCallbackQuery``, in order.
    """

    def __init__(
        self, token: str, *, host: str = "127.0.0.1", port: int = 0, thumbnails: bool = True,
        routes: list | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.thumbnails = thumbnails
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.requests: list[str] = []
        self.callback_answers: list[CallbackAnswer] = []
        self._extra_routes = list(routes or [])
        self._commands: dict[tuple[str, str], list[dict]] = {}
        self._events: list[ChatEvent] = []
        self._new_event = _Broadcast()
        self._polls_open = 0
        self._last_poll = 0.0
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._messages: dict[int, list[SentMessage]] = {}
        self._unread: dict[int, int] = {}
        self._users: dict[int, dict] = {}
        self._groups: dict[int, dict] = {}
        self._user_messages: dict[tuple[int, int], dict] = {}  # (chat id, message id): what users sent
        self._open_queries: dict[str, int] = {}
        self._failures: list[tuple[int, frozenset[str] | None]] = []
        self._new_update = _Broadcast()
        self._new_message = _Broadcast()
        self._closing = False
        self._server: tornado.httpserver.HTTPServer | None = None
        self._webhook: dict | None = None  # setWebhook's parameters while a webhook is set
        self._webhook_error: tuple[int, str] | None = None  # (Unix time, message) of the last failed delivery
        self._webhook_task: asyncio.Task | None = None
        #: Seconds before a failed webhook delivery is retried (Telegram backs off longer).
        self.webhook_retry_delay = 0.5

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Bind and start serving; afterwards :attr:`port` holds the real port."""
        routes = [
            (r"/bot([^/]+)/([A-Za-z]+)/?", _MethodHandler, {"api": self}),
            (r"/file/bot([^/]+)/(.+)", _FileHandler, {"api": self}),
            *self._extra_routes,
        ]
        # Access logs would contain the token in the URL path: keep them off.
        application = tornado.web.Application(routes, log_function=lambda handler: None, api=self)
        self._server = tornado.httpserver.HTTPServer(application, max_body_size=64 * 1024 * 1024)
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self._closing = False

    async def stop(self) -> None:
        """Stop serving and release pending long polls."""
        self._closing = True
        self._new_update.notify()
        self._new_event.notify()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        await self._stop_webhook_delivery()

    async def __aenter__(self) -> "LocalBotApi":
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (PTB appends the token): ``http://127.0.0.1:<port>/bot``."""
        return f"http://{self._connect_host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url``: ``http://127.0.0.1:<port>/file/bot``."""
        return f"http://{self._connect_host}:{self.port}/file/bot"

    @property
    def _connect_host(self) -> str:
        # A server listening on every interface is reached over loopback.
        return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(self.host, self.host)

    @property
    def closing(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._closing

    @property
    def bot_is_polling(self) -> bool:
        """Whether a ``getUpdates`` call is open now or ended within the last few seconds."""
        return self._polls_open > 0 or time.monotonic() - self._last_poll < 3.0

    @property
    def commands(self) -> list[dict]:
        """The last ``setMyCommands`` list for the default scope and no language."""
        return self._commands.get(("default", ""), [])

    def commands_for(self, user_id: int, chat_id: int | None = None) -> list[dict]:
        """The command menu user ``user_id`` sees in their private chat (or in group ``chat_id``),
        resolved as Telegram does.

        The narrowest scope that has commands wins: ``chat`` (this chat), then
        ``all_private_chats`` (``all_group_chats`` in a group), then ``default``; the user's
        language before no language. Menus are registered per two-letter language, so a
        ``pt-br`` user sees the ``pt`` menu.
        """
        language = str(self._user(user_id).get("language_code") or "").lower().replace("_", "-").split("-")[0]
        chat_id = user_id if chat_id is None else chat_id
        this_chat = json.dumps({"type": "chat", "chat_id": chat_id}, sort_keys=True)
        scopes = (this_chat, "all_group_chats" if chat_id in self._groups else "all_private_chats", "default")
        for scope in scopes:
            for code in (language, ""):
                if (scope, code) in self._commands:
                    return self._commands[(scope, code)]
        return []

    # ----------------------------------------------------------------- acting as users

    def set_user(self, user_id: int, first_name: str, *, last_name: str | None = None,
                 username: str | None = None, language_code: str = "en") -> dict:
        """Name user ``user_id`` (default: "User <id>"). Returns the Bot API ``User``."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def create_group(self, chat_id: int, title: str, *, supergroup: bool = False) -> dict:
        """Make a group chat the bot is a member of; any user may then write in it. Returns the Bot API ``Chat``.

        Args:
            chat_id: negative, as Telegram's group ids are (supergroups: ``-100`` followed by digits).
            title: the group's name.
            supergroup: type ``"supergroup"`` rather than ``"group"``.

        Raises:
            ValueError: ``chat_id`` is not negative, or not a supergroup id for a supergroup.
        """
        if chat_id >= 0 or (supergroup and not str(chat_id).startswith("-100")):
            raise ValueError(f"{chat_id} is not a Telegram {'supergroup' if supergroup else 'group'} id")
        self._groups[chat_id] = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        return dict(self._groups[chat_id])

    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                  reply_to: dict | SentMessage | None = None) -> dict:
        """User ``user_id`` sends a text message (mentions, commands and URLs get their entities).

        Args:
            chat_id: a group made with :meth:`create_group`; default the user's private chat.
            reply_to: the message this one replies to (a ``Message`` a ``send_*`` method returned,
                or one of the bot's), in the same chat.

        Returns:
            The Bot API ``Message``.
        """
        return self._user_message(user_id, {"text": text}, chat_id, reply_to)

    def send_command(self, user_id: int, command: str, args: str = "", *, chat_id: int | None = None,
                     reply_to: dict | SentMessage | None = None) -> dict:
        """User sends ``/command args`` (with the ``bot_command`` entity Telegram adds); ``command``
        may name a bot (``"start@otherbot"``). ``chat_id`` and ``reply_to`` as for :meth:`send_text`."""
        text = f"/{command.lstrip('/')}" + (f" {args}" if args else "")
        return self._user_message(user_id, {"text": text}, chat_id, reply_to)

    def send_photo(
        self, user_id: int, data: bytes, *, caption: str | None = None, width: int | None = None,
        height: int | None = None, chat_id: int | None = None, reply_to: dict | SentMessage | None = None,
    ) -> dict:
        """User sends ``data`` as a photo. Sizes are read from the image unless given.

        ``photo`` lists a thumbnail first (when enabled and the image decodes) and the
        full picture last, as Telegram does. The caption gets ``caption_entities`` (mentions,
        commands, URLs). ``chat_id`` and ``reply_to`` as for :meth:`send_text`.
        """
        sizes = []
        decoded = _image_size(data)
        full_width, full_height = width or decoded[0], height or decoded[1]
        if self.thumbnails and decoded != (0, 0) and max(decoded) > 320:
            thumbnail = _thumbnail(data, 320)
            if thumbnail is not None:
                small = self._store(thumbnail[0], "photos", "jpg")
                sizes.append(self._photo_size(small, thumbnail[1], thumbnail[2]))
        stored = self._store(data, "photos", "jpg")
        sizes.append(self._photo_size(stored, full_width, full_height))
        fields: dict[str, Any] = {"photo": sizes}
        if caption:
            fields["caption"] = caption
        return self._user_message(user_id, fields, chat_id, reply_to)

    def send_document(
        self, user_id: int, data: bytes, *, file_name: str, mime_type: str, file_size: int | None = None,
        caption: str | None = None, chat_id: int | None = None, reply_to: dict | SentMessage | None = None,
    ) -> dict:
        """User sends a file. ``file_size`` may claim more than ``len(data)`` to simulate huge files.
        ``caption``, ``chat_id`` and ``reply_to`` as for :meth:`send_photo`."""
        stored = self._store(data, "documents", _EXTENSIONS.get(mime_type, "bin"), file_size)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.file_size,
        }
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
        return self._user_message(user_id, fields, chat_id, reply_to)

    def press_button(self, user_id: int, message: SentMessage, callback_data: str | None = None) -> str:
        """User taps an inline button of ``message`` (default: its first button).

        Returns:
            The callback query id (see :attr:`callback_answers`).

        Raises:
            ValueError: the message has no such button.
        """
        available = [data for _, data in message.buttons]
        data = callback_data if callback_data is not None else (available[0] if available else None)
        if data is None or data not in available:
            raise ValueError(f"message {message.message_id} has no button {callback_data!r}")
        query_id = str(next(self._query_ids))
        self._open_queries[query_id] = message.chat_id
        self._push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "message": self._bot_message_dict(message),
                    "chat_instance": str(message.chat_id),
                    "data": data,
                }
            }
        )
        return query_id

    def fail_next(self, count: int = 1, *, status: int = 500, methods: set[str] | None = None) -> None:
        """Answer the next ``count`` matching API requests with an error instead of serving them.

        Args:
            count: how many requests fail.
            status: HTTP status and ``error_code``.
            methods: only requests for these methods (case-insensitive) fail; None means any.
        """
        wanted = None if methods is None else frozenset(m.lower() for m in methods)
        self._failures.extend([(status, wanted)] * count)

    # ----------------------------------------------------------------- observing the bot

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Everything the bot sent to ``chat_id``, oldest first."""
        return list(self._messages.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """The bot's message ``message_id`` in ``chat_id`` (as last edited), or None."""
        for message in self._messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def file(self, file_id: str) -> StoredFile | None:
        """A stored file by its ``file_id``, or None."""
        return self._files.get(file_id)

    def events(self, chat_id: int, after: int = 0) -> list[ChatEvent]:
        """The chat's events (the user's messages and everything the bot did) with ``seq > after``."""
        return [event for event in self._events if event.seq > after and event.chat_id == chat_id]

    async def wait_events(self, chat_id: int, after: int = 0, timeout: float = 25.0) -> list[ChatEvent]:
        """Like :meth:`events`, but wait up to ``timeout`` seconds for one (long polling).

        Returns an empty list on timeout or when the server stops.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(chat_id, after)
            remaining = deadline - time.monotonic()
            if found or remaining <= 0 or self._closing:
                return found
            await self._new_event.wait(remaining)

    async def next_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[SentMessage]:
        """Wait for the next ``count`` messages the bot sends to ``chat_id`` that were not yet returned.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds; the message says how many.
        """
        deadline = time.monotonic() + timeout
        while True:
            sent = self._messages.get(chat_id, [])
            start = self._unread.get(chat_id, 0)
            if len(sent) - start >= count:
                self._unread[chat_id] = start + count
                return sent[start : start + count]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"chat {chat_id}: waited {timeout} s for {count} message(s), got {len(sent) - start}: "
                    f"{[message.text[:60] for message in sent[start:]]}"
                )
            await self._new_message.wait(remaining)

    def _log_event(self, chat_id: int, kind: str, data: dict) -> None:
        self._events.append(ChatEvent(len(self._events) + 1, chat_id, kind, data))
        self._new_event.notify()
    async def next_edit(self, message: SentMessage, timeout: float = 10.0) -> SentMessage:
        """Wait until the bot edits ``message`` once more than it had when called; returns it, edited.

        Call it right after the action that causes the edit, before awaiting anything else.

        Raises:
            TimeoutError: no edit within ``timeout`` seconds.
        """
        wanted = message.edits + 1
        await self._wait_until(lambda: message.edits >= wanted, timeout,
                               lambda: f"message {message.message_id} was not edited within {timeout} s")
        return message

    async def callback_answer(self, query_id: str, timeout: float = 10.0) -> CallbackAnswer:
        """Wait for the bot's ``answerCallbackQuery`` to the press ``query_id`` and return it.

        Raises:
            TimeoutError: no answer within ``timeout`` seconds.
        """
        def answer() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers if a.callback_query_id == query_id), None)

        await self._wait_until(lambda: answer() is not None, timeout,
                               lambda: f"callback query {query_id} was not answered within {timeout} s")
        return answer()

    async def _wait_until(self, done, timeout: float, describe) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(describe())
            await self._new_message.wait(remaining)

    def set_user_language(self, user_id: int, language_code: str) -> None:
        """Set the ``language_code`` (e.g. ``"pt-br"``) of user ``user_id``, as their Telegram app reports it."""
        self._user(user_id)["language_code"] = language_code

    # ----------------------------------------------------------------- internals: users and files

    def _user(self, user_id: int) -> dict:
        if user_id not in self._users:
            self._users[user_id] = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}",
                                    "language_code": "en"}
        return self._users[user_id]

    def _chat(self, chat_id: int) -> dict:
        if chat_id in self._groups:
            return dict(self._groups[chat_id])
        user = self._user(chat_id)
        return {"id": chat_id, "type": "private", "first_name": user["first_name"]}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _user_message(self, user_id: int, fields: dict, chat_id: int | None = None,
                      reply_to: dict | SentMessage | None = None) -> dict:
        """A message from ``user_id`` in ``chat_id`` (default their private chat), as Telegram delivers it."""
        chat_id = user_id if chat_id is None else chat_id
        if chat_id < 0 and chat_id not in self._groups:
            raise ValueError(f"no group {chat_id}: create it with create_group()")
        for text_field, entities_field in (("text", "entities"), ("caption", "caption_entities")):
            if text_field in fields:
                _, entities = _formatted_text(fields, text_field, entities_field)
                fields = _without_empty({**fields, entities_field: entities})
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": self._user(user_id),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            replied = self._bot_message_dict(reply_to) if isinstance(reply_to, SentMessage) else reply_to
            if replied["chat"]["id"] != chat_id:
                raise ValueError(f"message {replied['message_id']} is not in chat {chat_id}")
            message["reply_to_message"] = _without_reply(replied)
        self._user_messages[(chat_id, message["message_id"])] = message
        self._push_update({"message": message})
        self._log_event(chat_id, "message", message)
        return message

    def _push_update(self, body: dict) -> None:
        self._updates.append({"update_id": next(self._update_ids), **body})
        self._new_update.notify()

    def _store(self, data: bytes, folder: str, extension: str, file_size: int | None = None) -> StoredFile:
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"local-file-{number}",
            file_unique_id=f"u{number}",
            file_path=f"{folder}/file_{number}.{extension}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _photo_size(stored: StoredFile, width: int, height: int) -> dict:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width,
                "height": height, "file_size": stored.file_size}

    #: The bot's username (``getMe``); mention it as ``@digitbot_local_bot``.
    bot_username = "digitbot_local_bot"

    def _bot_user(self) -> dict:
        # Group messages all reach the bot: as with privacy mode off (can_read_all_group_messages).
        return {"id": self.bot_id, "is_bot": True, "first_name": "digitbot (local)",
                "username": self.bot_username, "can_join_groups": True,
                "can_read_all_group_messages": True, "supports_inline_queries": False}

    def _bot_message_dict(self, message: SentMessage) -> dict:
        edited = {} if message.edit_date is None else {"edit_date": message.edit_date}
        return {"message_id": message.message_id, "from": self._bot_user(), "chat": self._chat(message.chat_id),
                "date": message.date, **edited, **message.payload}

    # ----------------------------------------------------------------- internals: the Bot API

    async def dispatch(self, token: str, method: str, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, dict]:
        """Serve one API call. Returns ``(http_status, json_body)``; never raises."""
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        self.requests.append(method)
        name = method.lower()
        for index, (status, methods) in enumerate(self._failures):
            if methods is None or name in methods:
                del self._failures[index]
                return status, {"ok": False, "error_code": status, "description": "Internal Server Error"}
        handler = getattr(self, f"_api_{name}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        try:
            result = await handler(params, files)
        except BotApiError as error:
            return error.status, {"ok": False, "error_code": error.status, "description": error.description}
        except Exception:  # a bug here must surface as a 500, with no URL (token) in the log
            logger.exception("Local Bot API: %s failed", method)
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return 200, {"ok": True, "result": result}

    def file_bytes(self, token: str, file_path: str) -> bytes | None:
        """The bytes behind a download path, or None (wrong token or unknown path)."""
        stored = self._files_by_path.get(file_path)
        return stored.data if token == self.token and stored is not None else None

    def _known_chat(self, params: dict) -> int:
        chat_id = _int(params, "chat_id")
        if chat_id not in self._users and chat_id not in self._groups:
            raise BotApiError(400, "Bad Request: chat not found")
        return chat_id

    def _replied(self, chat_id: int, params: dict) -> dict | None:
        """The message a ``send*`` call replies to (``reply_parameters`` or ``reply_to_message_id``),
        as its ``reply_to_message``; None for no reply, or a missing one when that is allowed.

        Raises:
            BotApiError: the message is missing and ``allow_sending_without_reply`` is not set.
        """
        reply = _json(params, "reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        message_id = int(message_id)
        target = int(reply.get("chat_id", chat_id))
        found = self._user_messages.get((target, message_id))
        if found is None:
            sent = self.message(target, message_id)
            found = None if sent is None else self._bot_message_dict(sent)
        if found is None:
            if reply.get("allow_sending_without_reply") in (True, "true") or _flag(params, "allow_sending_without_reply"):
                return None
            raise BotApiError(400, "Bad Request: message to be replied not found")
        return _without_reply(found)

    def _record(self, chat_id: int, method: str, payload: dict, text: str = "", photo: bytes | None = None,
                reply_markup: dict | None = None) -> dict:
        message = SentMessage(chat_id=chat_id, message_id=self._next_message_id(chat_id), method=method,
                              text=text, photo=photo, reply_markup=reply_markup, payload=payload)
        self._messages.setdefault(chat_id, []).append(message)
        self._new_message.notify()
        result = self._bot_message_dict(message)
        self._log_event(chat_id, "message", result)
        return result

    def _find_message(self, params: dict, not_found: str = _EDIT_NOT_FOUND) -> SentMessage:
        message = self.message(self._known_chat(params), _int(params, "message_id"))
        if message is None:
            raise BotApiError(400, not_found)
        return message

    def _edited(self, message: SentMessage, payload: dict) -> dict:
        """Apply an edit (``payload``: the message's fields after it; an inline keyboard not re-sent
        is gone, as on Telegram) and add ``edit_date``; Telegram refuses an edit that changes nothing."""
        if "reply_to_message" in message.payload:  # an edit keeps what the message replies to
            payload = {**payload, "reply_to_message": message.payload["reply_to_message"]}
        if payload == message.payload:
            raise BotApiError(400, _NOT_MODIFIED)
        message.payload = payload
        message.text = payload.get("text", payload.get("caption", ""))
        message.reply_markup = payload.get("reply_markup")
        message.edit_date = int(time.time())
        message.edits += 1
        self._new_message.notify()
        result = self._bot_message_dict(message)
        self._log_event(message.chat_id, "edited_message", result)
        return result

    async def _api_getme(self, params: dict, files: dict) -> dict:
        return self._bot_user()

    async def _api_setwebhook(self, params: dict, files: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:  # an empty URL removes the webhook, as deleteWebhook does
            return await self._api_deletewebhook(params, files)
        _check_webhook_url(url)
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = _int(params, "max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise BotApiError(400, "Bad Request: bad webhook: max_connections must be between 1 and 100")
        if _flag(params, "drop_pending_updates"):
            self._updates = []
        self._webhook = {"url": url, "secret_token": None if secret is None else str(secret),
                         "max_connections": max_connections, "allowed_updates": _json(params, "allowed_updates")}
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_to_webhook())
        self._new_update.notify()
        return True

    async def _api_deletewebhook(self, params: dict, files: dict) -> bool:
        if _flag(params, "drop_pending_updates"):
            self._updates = []
        self._webhook = None
        self._new_update.notify()  # the delivery task sees it and ends
        return True

    async def _api_getwebhookinfo(self, params: dict, files: dict) -> dict:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
        if self._webhook is not None:
            info["url"] = self._webhook["url"]
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["allowed_updates"]:
                info["allowed_updates"] = self._webhook["allowed_updates"]
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    @property
    def webhook_url(self) -> str | None:
        """The URL set with ``setWebhook``, or None while the bot has no webhook."""
        return None if self._webhook is None else self._webhook["url"]

    async def _deliver_to_webhook(self) -> None:
        """While a webhook is set: POST the pending updates to it in order, each until it is accepted."""
        client = tornado.httpclient.AsyncHTTPClient()
        while self._webhook is not None and not self._closing:
            if not self._updates:
                await self._new_update.wait(MAX_POLL_TIMEOUT)
                continue
            webhook, update = self._webhook, self._updates[0]
            allowed = webhook["allowed_updates"]
            if allowed and not any(kind in update for kind in allowed):
                self._updates.pop(0)  # Telegram does not send what the bot did not ask for
                continue
            headers = {"Content-Type": "application/json"}
            if webhook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
            response = await client.fetch(webhook["url"], method="POST", body=json.dumps(update), headers=headers,
                                          raise_error=False, request_timeout=10.0, follow_redirects=False)
            if 200 <= response.code < 300:
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                continue
            problem = f"{response.code} {response.reason}" if response.code != 599 else str(response.error)
            self._webhook_error = (int(time.time()), f"Wrong response from the webhook: {problem}")
            await asyncio.sleep(self.webhook_retry_delay)

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _api_setmycommands(self, params: dict, files: dict) -> bool:
        commands = _json(params, "commands") or []
        if len(commands) > 100:
            raise BotApiError(400, "Bad Request: too many commands specified")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self._commands[_command_scope(params)] = commands
        return True

    async def _api_getmycommands(self, params: dict, files: dict) -> list:
        return self._commands.get(_command_scope(params), [])

    async def _api_deletemycommands(self, params: dict, files: dict) -> bool:
        self._commands.pop(_command_scope(params), None)
        return True

    async def _api_getupdates(self, params: dict, files: dict) -> list:
        if self._webhook is not None:
            raise BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                   "use deleteWebhook to delete the webhook first")
        offset = _int(params, "offset", 0)
        limit = max(1, min(100, _int(params, "limit", 100)))
        timeout = min(MAX_POLL_TIMEOUT, float(params.get("timeout") or 0))
        if offset > 0:  # confirms every update before ``offset``
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif offset < 0:  # the last -offset updates; earlier ones are forgotten
            self._updates = self._updates[offset:]
        deadline = time.monotonic() + timeout
        self._polls_open += 1
        try:
            while not self._updates and not self._closing and time.monotonic() < deadline:
                await self._new_update.wait(deadline - time.monotonic())
        finally:
            self._polls_open -= 1
            self._last_poll = time.monotonic()
        return self._updates[:limit]

    async def _api_getfile(self, params: dict, files: dict) -> dict:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise BotApiError(400, "Bad Request: file is too big")
        return stored.as_file()

    async def _api_sendmessage(self, params: dict, files: dict) -> dict:
        chat_id = self._known_chat(params)
        text, entities = _formatted_text(params, "text", "entities")
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise BotApiError(400, "Bad Request: message is too long")
        markup = _json(params, "reply_markup")
        payload = _without_empty({"text": text, "entities": entities, "reply_markup": markup,
                                  "reply_to_message": self._replied(chat_id, params)})
        return self._record(chat_id, "sendMessage", payload, text=text, reply_markup=markup)

    async def _api_sendphoto(self, params: dict, files: dict) -> dict:
        chat_id = self._known_chat(params)
        value = params.get("photo")
        if isinstance(value, str) and value.startswith("attach://"):
            value = files.get(value.removeprefix("attach://"))
        elif "photo" in files:
            value = files["photo"]
        if isinstance(value, str):
            known = self._files.get(value)
            if known is None:
                raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            data = known.data
        elif isinstance(value, bytes) and value:
            data = value
        else:
            raise BotApiError(400, "Bad Request: there is no photo in the request")
        caption, caption_entities = _formatted_text(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise BotApiError(400, "Bad Request: message caption is too long")
        width, height = _image_size(data)
        if (width, height) == (0, 0):
            raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        stored = self._store(data, "photos", "jpg")
        markup = _json(params, "reply_markup")
        payload = _without_empty({"photo": [self._photo_size(stored, width, height)], "caption": caption,
                                  "caption_entities": caption_entities, "reply_markup": markup,
                                  "reply_to_message": self._replied(chat_id, params)})
        return self._record(chat_id, "sendPhoto", payload, text=caption, photo=data, reply_markup=markup)

    async def _api_sendchataction(self, params: dict, files: dict) -> bool:
        chat_id = self._known_chat(params)
        action = str(params.get("action", ""))
        if action not in _CHAT_ACTIONS:
            raise BotApiError(400, "Bad Request: wrong parameter action in request")
        self._log_event(chat_id, "chat_action", {"action": action})
        return True

    async def _api_editmessagetext(self, params: dict, files: dict) -> dict:
        message = self._find_message(params)
        if "text" not in message.payload:
            raise BotApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = _formatted_text(params, "text", "entities")
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = _json(params, "reply_markup")
        payload = _without_empty({"text": text, "entities": entities, "reply_markup": markup})
        return self._edited(message, payload)

    async def _api_editmessagecaption(self, params: dict, files: dict) -> dict:
        message = self._find_message(params)
        if "text" in message.payload:
            raise BotApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, caption_entities = _formatted_text(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise BotApiError(400, "Bad Request: message caption is too long")
        media = {key: value for key, value in message.payload.items()
                 if key not in ("caption", "caption_entities", "reply_markup")}
        payload = _without_empty({**media, "caption": caption, "caption_entities": caption_entities,
                                  "reply_markup": _json(params, "reply_markup")})
        return self._edited(message, payload)

    async def _api_editmessagereplymarkup(self, params: dict, files: dict) -> dict:
        message = self._find_message(params)
        payload = {key: value for key, value in message.payload.items() if key != "reply_markup"}
        payload["reply_markup"] = _json(params, "reply_markup")
        return self._edited(message, _without_empty(payload))

    async def _api_deletemessage(self, params: dict, files: dict) -> bool:
        message = self._find_message(params, not_found="Bad Request: message to delete not found")
        self._messages[message.chat_id].remove(message)
        self._log_event(message.chat_id, "deleted_message", {"message_id": message.message_id})
        return True

    async def _api_answercallbackquery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_queries:
            raise BotApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        chat_id = self._open_queries.pop(query_id)
        show_alert = params.get("show_alert") in (True, "true", "True", "1")
        answer = CallbackAnswer(query_id, params.get("text"), show_alert)
        self.callback_answers.append(answer)
        self._log_event(chat_id, "callback_answer",
                        {"callback_query_id": query_id, "text": answer.text, "show_alert": show_alert})
        self._new_message.notify()
        return True


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)

_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}


def _without_empty(fields: dict) -> dict:
    """Drop fields that are None or empty: the Bot API leaves them out of a ``Message``."""
    return {name: value for name, value in fields.items() if value not in (None, "", [], {})}


def _without_reply(message: dict) -> dict:
    """A message as another's ``reply_to_message``: Telegram leaves out its own ``reply_to_message``."""
    return {name: value for name, value in message.items() if name != "reply_to_message"}


def _command_scope(params: dict) -> tuple[str, str]:
    """The key of a command list: its scope (type, or the whole scope as JSON when it names a chat)
    and its language code."""
    scope = _json(params, "scope") or {"type": "default"}
    key = scope["type"] if set(scope) == {"type"} else json.dumps(scope, sort_keys=True)
    return key, str(params.get("language_code") or "")


def _int(params: dict, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BotApiError(400, f"Bad Request: invalid {name}") from None


def _flag(params: dict, name: str) -> bool:
    """A boolean parameter: JSON ``true`` or the form values Telegram accepts."""
    return params.get(name) in (True, "true", "True", "1", 1)


def _check_webhook_url(url: str) -> None:
    """Refuse a webhook URL as Telegram would, except that loopback URLs may be plain HTTP on any port."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    if parts.scheme != "https":
        raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if (parts.port or 443) not in (80, 88, 443, 8443):
        raise BotApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _json(params: dict, name: str) -> Any:
    """A JSON-valued parameter: form fields carry it as a JSON string, JSON bodies as a value."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise BotApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _utf16_length(text: str) -> int:
    """Length in UTF-16 code units: the unit of Bot API entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _formatted_text(params: dict, text_field: str, entities_field: str) -> tuple[str, list[dict]]:
    """A message text (or caption) and its entities, as Telegram stores them.

    ``parse_mode=HTML`` is parsed into entities; explicit ``entities`` are kept; ``Markdown``
    and ``MarkdownV2`` are not parsed here (the text is kept as sent). Bot commands and URLs
    in the text get ``bot_command``/``url`` entities, as Telegram detects them.
    """
    text = str(params.get(text_field) or "")
    parse_mode = str(params.get("parse_mode") or "")
    if parse_mode.upper() == "HTML":
        text, entities = _parse_html(text)
    else:
        entities = list(_json(params, entities_field) or [])
    for entity in _detected_entities(text):
        end = entity["offset"] + entity["length"]
        if not any(other["offset"] < end and entity["offset"] < other["offset"] + other["length"]
                   for other in entities):
            entities.append(entity)
    return text, sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


_DETECTED = re.compile(
    r"(?P<bot_command>(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@\w+)?)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{2,32}(?!\w))"  # @username: 2-32 characters, as Telegram finds them
    r"|(?P<url>https?://[^\s<>\"]+[^\s<>\".,;:!?)\]])"
)


def _detected_entities(text: str) -> list[dict]:
    entities = []
    for match in _DETECTED.finditer(text):
        entities.append({"type": match.lastgroup, "offset": _utf16_length(text[: match.start()]),
                         "length": _utf16_length(match.group())})
    return entities


_HTML_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "code": "code", "pre": "pre", "a": "text_link", "blockquote": "blockquote", "span": "spoiler",
}


class _TelegramHtml(html.parser.HTMLParser):
    """Telegram's HTML subset to plain text and entities; other tags are an error, as from Telegram."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict] = []
        self._open: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        kind = _HTML_ENTITY_TYPES.get(tag)
        if kind is None or (tag == "span" and values.get("class") != "tg-spoiler"):
            raise BotApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        entity: dict[str, Any] = {"type": kind, "offset": _utf16_length(self.text)}
        if tag == "a":
            entity["url"] = values.get("href") or ""
        elif tag == "blockquote" and "expandable" in values:
            entity["type"] = "expandable_blockquote"
        elif tag == "code" and self._open and self._open[-1][0] == "pre":
            language = (values.get("class") or "").removeprefix("language-")
            if language != (values.get("class") or ""):
                self._open[-1][1]["language"] = language
            entity = {}  # <pre><code> is one pre entity
        self._open.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise BotApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        _, entity = self._open.pop()
        if entity:
            entity["length"] = _utf16_length(self.text) - entity["offset"]
            if entity["length"]:
                self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse_html(text: str) -> tuple[str, list[dict]]:
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser._open:
        tag = parser._open[-1][0]
        raise BotApiError(
            400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )
    return parser.text, parser.entities


def _image_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of an image, or ``(0, 0)`` if Pillow cannot open it."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        return 0, 0


def _thumbnail(data: bytes, side: int) -> tuple[bytes, int, int] | None:
    """A JPEG at most ``side`` pixels on its long side, with its size; None if it cannot be made."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGB")
            image.thumbnail((side, side))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
            return buffer.getvalue(), image.width, image.height
    except Exception:
        return None


class _MethodHandler(tornado.web.RequestHandler):
    """``/bot<token>/<method>``: parse parameters (query, form, multipart or JSON) and dispatch."""

    def initialize(self, api: LocalBotApi) -> None:
        self.api = api

    async def get(self, token: str, method: str) -> None:
        params: dict[str, Any] = {name: values[-1].decode() for name, values in self.request.query_arguments.items()}
        params.update({name: values[-1].decode() for name, values in self.request.body_arguments.items()})
        if self.request.headers.get("Content-Type", "").startswith("application/json") and self.request.body:
            try:
                params.update(json.loads(self.request.body))
            except ValueError:
                self._reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid JSON"})
                return
        files = {name: parts[-1]["body"] for name, parts in self.request.files.items()}
        self._reply(*await self.api.dispatch(token, method, params, files))

    post = get

    def _reply(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


class _FileHandler(tornado.web.RequestHandler):
    """``/file/bot<token>/<file_path>``: the raw bytes of a stored file."""

    def initialize(self, api: LocalBotApi) -> None:
        self.api = api

    def get(self, token: str, file_path: str) -> None:
        data = self.api.file_bytes(token, file_path)
        if data is None:
            self.set_status(404)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}))
            return
        self.set_header("Content-Type", "application/octet-stream")
        self.finish(data)
