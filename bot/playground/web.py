"""The playground's web side: the chat page and the JSON endpoints it uses, served beside the Bot API.

Routes (added to :class:`bot.local_api.LocalBotApi`'s HTTP server, so one port serves both):

- ``GET /`` and ``/static/...``: the page (plain HTML, CSS and JavaScript from ``static/``).
- ``GET /api/updates?after=<seq>&timeout=<s>``: long poll for the chat's events after ``seq``
  (the user's messages, the bot's messages, edits, deletions, chat actions and callback
  answers; see :class:`bot.local_api.ChatEvent`), with the bot's status (polling or not),
  its command menu for this chat, and the server's ``instance`` (it changes on restart).
- ``POST /api/messages``: the user sends ``{"text": ...}`` (JSON), or a ``file`` (multipart):
  images go as photos, re-encoded the way Telegram's apps send them, anything else as a document.
- ``POST /api/callback``: the user taps ``{"message_id": ..., "callback_data": ...}``.
- ``GET /files/<file_id>``: a file from the chat (a photo the bot sent, the user's upload).

POSTs must carry the ``X-Playground`` header: a browser only sends a custom header
cross-origin after a CORS preflight, which this server never grants, so other web pages
the person visits cannot post into the chat.
"""

from __future__ import annotations

import asyncio
import io
import json
import mimetypes
import secrets
from pathlib import Path
from typing import Any

import tornado.web

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
        (r"/", _PageHandler),
        (r"/static/(.*)", _StaticHandler, {"path": str(STATIC_DIR)}),
        (r"/api/updates", _UpdatesHandler, options),
        (r"/api/messages", _SendHandler, options),
        (r"/api/callback", _CallbackHandler, options),
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
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'",
        )
        self.finish((STATIC_DIR / "index.html").read_bytes())


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


class _FileHandler(_Handler):
    def get(self, file_id: str) -> None:
        stored = self.api.file(file_id)
        if stored is None:
            raise tornado.web.HTTPError(404, "no such file")
        self.set_header("Content-Type", _sniff(stored.data))
        self.set_header("Cache-Control", "private, max-age=86400, immutable")
        self.finish(stored.data)


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"
