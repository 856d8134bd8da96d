"""The playground's web side: the chat page and the JSON endpoints it uses, served beside the Bot API.

Routes (added to :class:`bot.local_api.LocalBotApi`'s HTTP server, so one port serves both):

- ``GET /`` and ``/static/...``: the page (HTML, CSS and JavaScript from ``static/``). The page is in
  the language of the browser (``Accept-Language``) or the one picked in its selector (a cookie),
  and so is the Telegram user it plays: its ``language_code`` is set from it on every page load.
- ``GET /api/updates?after=<seq>&timeout=<s>``: long poll for the chat's events after ``seq``
  (the user's messages, the bot's messages, edits, deletions, chat actions and callback
  answers; see :class:`bot.local_api.ChatEvent`), with the bot's status (polling or not),
  its command menu for this chat, and the server's ``instance`` (it changes on restart).
- ``POST /api/messages``: the user sends ``{"text": ...}`` (JSON), or a ``file`` (multipart):
  images go as photos, re-encoded the way Telegram's apps send them, anything else as a document.
- ``POST /api/callback``: the user taps ``{"message_id": ..., "callback_data": ...}``.
- ``POST /api/language``: the selector picks ``{"language": "<code of bot.i18n.CODES>"}``.
- ``GET /files/<file_id>``: a file from the chat (a photo the bot sent, the user's upload).

POSTs must carry the ``X-Playground`` header: a browser only sends a custom header
cross-origin after a CORS preflight, which this server never grants, so other web pages
the person visits cannot post into the chat.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import mimetypes
import secrets
from pathlib import Path
from typing import Any

import tornado.escape
import tornado.template
import tornado.web

from bot import i18n
from bot.i18n import Language
from bot.local_api import ChatEvent, LocalBotApi

STATIC_DIR = Path(__file__).parent / "static"

#: Telegram's apps send photos as JPEGs of at most this many pixels on the long side.
PHOTO_MAX_SIDE = 1280
#: Upload limit of the page (Telegram's apps accept photos up to 10 MB, files up to 2 GB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Longest a page's long poll is held open, seconds.
MAX_WAIT = 30.0
#: Tells the page when the server was restarted (event numbers start again, the chat is new).
_INSTANCE = secrets.token_hex(6)
#: The cookie that keeps the language picked in the page's selector.
LANGUAGE_COOKIE = "digitbot-language"


def page_texts(lang: Language) -> dict[str, str]:
    """The page's own words in ``lang``, by key: for the HTML template and, as JSON, for ``app.js``.

    ``{placeholders}`` are filled in by the page (``{help}``, ``{stats}``, ``{command}``, ``{error}``).
    """
    return {
        "title": lang.gettext("digitbot playground"),
        "connecting": lang.gettext("connecting…"),
        "language": lang.gettext("Language"),
        "language_title": lang.gettext("The language of your Telegram app: the bot speaks it unless you "
                                       "choose another with /language"),
        "badge": lang.gettext("playground · no Telegram"),
        "badge_title": lang.gettext("The real bot, running on this machine against a local Bot API server"),
        "conversation": lang.gettext("Conversation with digitbot"),
        "about": lang.gettext("About the playground"),
        "intro_title": lang.gettext("digitbot reads handwritten digits"),
        "intro": lang.gettext("This is the real bot, running on your machine. Write a digit or a number on paper, "
                              "take a photo and send it: attach it with the clip, drop it here, paste it, or on a "
                              "phone take it with the camera button."),
        # Translators: {help} and {stats} become the commands /help and /stats.
        "intro_commands": lang.gettext("Type {help} for photo tips and {stats} for the model's accuracy."),
        "start": lang.gettext("Start"),
        "commands": lang.gettext("Bot commands"),
        "attach_title": lang.gettext("Send a photo or an image file"),
        "attach": lang.gettext("Send a photo"),
        "camera": lang.gettext("Take a photo"),
        "placeholder": lang.gettext("Message or /command"),
        "message": lang.gettext("Message"),
        "send": lang.gettext("Send"),
        "send_title": lang.gettext("Send (Enter)"),
        "drop": lang.gettext("Drop the photo to send it"),
        "ok": lang.gettext("OK"),
        "disconnected": lang.gettext("disconnected: is digitbot playground still running?"),
        "you": lang.gettext("You"),
        "bot": lang.gettext("Bot"),
        "your_photo": lang.gettext("Your photo"),
        "bot_photo": lang.gettext("Photo from the bot"),
        "file": lang.gettext("file"),
        "unsupported": lang.gettext("(unsupported message)"),
        "edited": lang.gettext("edited"),
        "buttons": lang.gettext("Buttons"),
        "not_available": lang.gettext("Not available in the playground"),
        # Translators: the tooltip of a command in a message; {command} is like /help.
        "send_command": lang.gettext("Send {command}"),
        "typing": lang.gettext("typing…"),
        "online": lang.gettext("bot · online"),
        "starting": lang.gettext("starting…"),
        # Translators: {error} says why, e.g. "HTTP 500".
        "not_sent": lang.gettext("Not sent: {error}"),
    }


def render_page(lang: Language) -> bytes:
    """The chat page (``static/index.html``, a tornado template) in ``lang``."""
    texts = page_texts(lang)
    commands = html.escape(texts["intro_commands"]).format(help="<code>/help</code>", stats="<code>/stats</code>")
    template = tornado.template.Template((STATIC_DIR / "index.html").read_text(encoding="utf-8"),
                                         name="index.html", autoescape="xhtml_escape")
    return template.generate(lang=lang, t=texts, intro_commands=commands, languages=i18n.supported(),
                             json_encode=tornado.escape.json_encode)


def telegram_language_code(lang: Language) -> str:
    """The ``language_code`` Telegram reports for a user of an app in ``lang``: ``"ru"``, ``"pt-br"``."""
    return lang.tag.lower()


def telegram_photo(data: bytes) -> bytes | None:
    """Re-encode an image as Telegram's apps send a photo: upright (EXIF orientation applied),
    RGB, at most :data:`PHOTO_MAX_SIDE` pixels on the long side, JPEG.

    Returns:
        The JPEG bytes, or None if Pillow cannot read ``data`` as an image.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=87)
            return buffer.getvalue()
    except Exception:
        return None


def chat_routes(user_id: int) -> list[tuple]:
    """The page's tornado routes for a chat of ``user_id`` with the bot.

    The handlers find the server as ``self.application.settings["api"]``; see :func:`attach`.
    """
    options = {"user_id": user_id}
    return [
        (r"/", _PageHandler, options),
        (r"/static/(.*)", _StaticHandler, {"path": str(STATIC_DIR)}),
        (r"/api/updates", _UpdatesHandler, options),
        (r"/api/messages", _SendHandler, options),
        (r"/api/callback", _CallbackHandler, options),
        (r"/api/language", _LanguageHandler, options),
        (r"/files/([\w-]+)", _FileHandler),
    ]


def event_json(api: LocalBotApi, event: ChatEvent) -> dict:
    """An event for the page: its Bot API data plus ``photo_url``/``document_url`` to show files."""
    data: dict[str, Any] = dict(event.data)
    if event.kind in ("message", "edited_message"):
        if data.get("photo"):
            data["photo_url"] = f"/files/{data['photo'][-1]['file_id']}"
        document = data.get("document")
        if (
            document
            and str(document.get("mime_type", "")).startswith("image/")
            and api.file(document["file_id"])
        ):
            data["document_url"] = f"/files/{document['file_id']}"
    return {"seq": event.seq, "kind": event.kind, "data": data}


class _Handler(tornado.web.RequestHandler):
    """Common parts: the API server, JSON replies, the anti-CSRF header on POSTs."""

    def initialize(self, user_id: int | None = None) -> None:
        self.api: LocalBotApi = self.application.settings["api"]
        self.user_id = user_id

    def prepare(self) -> None:
        if self.request.method == "POST" and "X-Playground" not in self.request.headers:
            raise tornado.web.HTTPError(403, "missing X-Playground header")

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def reply(self, body: dict, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.reply({"ok": False, "description": self._reason}, status_code)


class _PageHandler(_Handler):
    def get(self) -> None:
        picked = self.get_cookie(LANGUAGE_COOKIE)
        lang = i18n.find(picked) or i18n.from_accept_language(self.request.headers.get("Accept-Language"))
        # The person at the page is a Telegram user whose app speaks the page's language.
        self.api.set_user_language(self.user_id, telegram_language_code(lang))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Language", lang.tag)
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'",
        )
        self.finish(render_page(lang))


class _StaticHandler(tornado.web.StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")  # the page changes with the package


class _UpdatesHandler(_Handler):
    async def get(self) -> None:
        try:
            after = int(self.get_query_argument("after", "0") or 0)
            timeout = max(0.0, min(MAX_WAIT, float(self.get_query_argument("timeout", "25") or 0)))
        except ValueError:
            raise tornado.web.HTTPError(400, "after and timeout must be numbers") from None
        events = await self.api.wait_events(self.user_id, after, timeout)
        self.reply(
            {
                "ok": True,
                "events": [event_json(self.api, event) for event in events],
                "bot": {"online": self.api.bot_is_polling, "commands": self.api.commands_for(self.user_id)},
                "closing": self.api.closing,
                "instance": _INSTANCE,
            }
        )


class _SendHandler(_Handler):
    async def post(self) -> None:
        upload = self.request.files.get("file")
        if upload:
            message = await self._send_file(upload[0])
        else:
            try:
                text = str(json.loads(self.request.body or b"{}").get("text", "")).strip()
            except ValueError:
                raise tornado.web.HTTPError(400, "body is not JSON") from None
            if not text:
                raise tornado.web.HTTPError(400, "empty message")
            if text.startswith("/") and len(text) > 1:
                command, _, args = text[1:].partition(" ")
                message = self.api.send_command(self.user_id, command, args.strip())
            else:
                message = self.api.send_text(self.user_id, text)
        self.reply({"ok": True, "message_id": message["message_id"]})

    async def _send_file(self, upload: dict) -> dict:
        data, name = upload["body"], upload.get("filename") or "file"
        if len(data) > MAX_UPLOAD_BYTES:
            raise tornado.web.HTTPError(413, "file too large")
        mime_type = upload.get("content_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
        # Decoding a 12-megapixel phone photo takes a while: keep the event loop (and the bot) free.
        photo = await asyncio.to_thread(telegram_photo, data) if mime_type.startswith("image/") else None
        if photo is not None:
            return self.api.send_photo(self.user_id, photo)
        return self.api.send_document(self.user_id, data, file_name=name, mime_type=mime_type)


class _CallbackHandler(_Handler):
    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
            message_id, data = int(body["message_id"]), str(body["callback_data"])
        except (ValueError, KeyError, TypeError):
            raise tornado.web.HTTPError(400, "need message_id and callback_data") from None
        message = self.api.message(self.user_id, message_id)
        if message is None:
            raise tornado.web.HTTPError(404, "no such message")
        try:
            query_id = self.api.press_button(self.user_id, message, data)
        except ValueError:
            raise tornado.web.HTTPError(400, "the message has no such button") from None
        self.reply({"ok": True, "callback_query_id": query_id})


class _LanguageHandler(_Handler):
    def post(self) -> None:
        try:
            code = json.loads(self.request.body or b"{}").get("language")
        except (ValueError, AttributeError):
            raise tornado.web.HTTPError(400, "body is not a JSON object") from None
        lang = i18n.find(code)
        if lang is None:
            raise tornado.web.HTTPError(400, f"language must be one of {', '.join(i18n.CODES)}")
        self.api.set_user_language(self.user_id, telegram_language_code(lang))
        self.set_cookie(LANGUAGE_COOKIE, lang.code, path="/", samesite="Strict", expires_days=365)
        self.reply({"ok": True, "language": lang.code})


class _FileHandler(_Handler):
    def get(self, file_id: str) -> None:
        stored = self.api.file(file_id)
        if stored is None:
            raise tornado.web.HTTPError(404, "no such file")
        self.set_header("Content-Type", _sniff(stored.data))
        self.set_header("Cache-Control", "private, max-age=86400, immutable")
        self.finish(stored.data)


#: The ISO base media ("ftyp") brands of HEIF images (iPhone photos: "heic") and of AVIF.
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
                b"mif1": "image/heif", b"msf1": "image/heif", b"avif": "image/avif", b"avis": "image/avif"}


def _sniff(data: bytes) -> str:
    """The Content-Type of a stored file, from its first bytes (the name a user gave may lie)."""
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[data[8:12]]
    # A BMP's DIB header, of one of the known sizes, follows its 14-byte file header.
    if data.startswith(b"BM") and int.from_bytes(data[14:18], "little") in (12, 40, 52, 56, 108, 124):
        return "image/bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"
