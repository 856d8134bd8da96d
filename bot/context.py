"""Typed access to what handlers share: the classifier, the feedback store, the worker threads, per-chat
readings, each user's language."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Protocol, TypeVar

from telegram.ext import ContextTypes

from core.config import Settings
from core.results import PhotoReading

from bot import i18n
from bot.i18n import Language
from bot.ratelimit import Allowance, BotLimits, TokenBucket
from bot.store import FeedbackStore, StoreError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SERVICES_KEY = "services"
_READINGS_KEY = "readings"
_BUCKET_KEYS = {Allowance.UPDATES: "rate_bucket", Allowance.TAPS: "tap_bucket"}
#: ``user_data`` key of the user's /language choice as last read from the store (None: no choice).
_LANGUAGE_KEY = "language"


class PhotoClassifier(Protocol):
    """What the bot needs from ``core.classifier.Classifier`` (fakes in tests implement it too)."""

    path: Any
    card: dict

    @property
    def version(self) -> str:
        """A short identifier of the loaded model, stored with every reading."""
        ...

    def read_photo(self, data: bytes, line: int = 0) -> PhotoReading:
        """Read the digits in a photo (its ``line``-th line of writing: 0 the one chosen, 1 to
        ``PhotoReading.other_lines`` the others); raises ``core.errors.DigitImageError`` subclasses."""
        ...

    def read_photo_with_steps(self, data: bytes, line: int = 0) -> tuple[PhotoReading, Any]:
        """As :meth:`read_photo`, also returning ``core.preprocessing.Segmentation``."""
        ...


@dataclass
class BotServices:
    """Long-lived objects of one running bot, kept in ``application.bot_data``.

    Attributes:
        settings: the bot's settings.
        classifier: the loaded model, shared by all updates.
        limits: rate limits and pool sizes.
        executor: threads for CPU-bound work (decoding, segmentation, the model, drawing),
            so the event loop keeps serving other users meanwhile.
        started_at: when the services were created (UTC).
        photos_read: photos read successfully since start.
        store: the feedback database, opened in ``post_init``; while it is None, readings
            get no feedback buttons.
        db_executor: the one thread that talks to the database, so a slow disk never
            blocks the event loop and database calls never wait behind the model.
    """

    settings: Settings
    classifier: PhotoClassifier
    limits: BotLimits
    executor: ThreadPoolExecutor
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    photos_read: int = 0
    store: FeedbackStore | None = None
    db_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="digitbot-db")
    )

    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the worker threads and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(function, *args))

    async def run_db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` (a :class:`FeedbackStore` call) on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db_executor, functools.partial(function, *args, **kwargs))


def get_services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    """The :class:`BotServices` stored by ``build_application``."""
    return context.bot_data[_SERVICES_KEY]


def is_admin(settings: Settings, user: Any) -> bool:
    """True when ``user`` (a ``telegram.User`` or None) is listed in ``DIGITBOT_ADMIN_IDS``."""
    return user is not None and user.id in settings.admin_ids


def get_classifier(context: ContextTypes.DEFAULT_TYPE) -> PhotoClassifier:
    """The classifier loaded once at start-up."""
    return get_services(context).classifier


def store_services(bot_data: dict, services: BotServices) -> None:
    """Put ``services`` where :func:`get_services` finds them."""
    bot_data[_SERVICES_KEY] = services


@dataclass(frozen=True)
class RememberedPhoto:
    """A photo the bot read, kept so "What I saw" can fetch it again from Telegram.

    Attributes:
        file_id: Telegram's id of the picture (downloadable again with ``getFile``).
        file_size: its size in bytes, if Telegram told.
    """

    file_id: str
    file_size: int | None = None


def remember_photo(context: ContextTypes.DEFAULT_TYPE, photo: RememberedPhoto) -> str:
    """Keep ``photo`` in the chat's bounded cache and return a short id to put in a button.

    The oldest entries fall out once the chat holds ``limits.readings_kept_per_chat``;
    ids are random so a button from before a restart never points at another photo.
    """
    readings: OrderedDict[str, RememberedPhoto] = context.chat_data.setdefault(_READINGS_KEY, OrderedDict())
    reading_id = secrets.token_hex(4)
    readings[reading_id] = photo
    while len(readings) > get_services(context).limits.readings_kept_per_chat:
        readings.popitem(last=False)
    return reading_id


def recall_photo(context: ContextTypes.DEFAULT_TYPE, reading_id: str) -> RememberedPhoto | None:
    """The photo behind a button's reading id, or None if it has expired from the cache."""
    readings: OrderedDict[str, RememberedPhoto] = context.chat_data.get(_READINGS_KEY, OrderedDict())
    photo = readings.get(reading_id)
    if photo is not None:
        readings.move_to_end(reading_id)
    return photo


def forget_photos(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop the chat's cache of photos (their Telegram file ids) kept for "What I saw"."""
    context.chat_data.pop(_READINGS_KEY, None)


def get_rate_bucket(
    context: ContextTypes.DEFAULT_TYPE, allowance: Allowance = Allowance.UPDATES
) -> TokenBucket:
    """The current user's token bucket for ``allowance``, created full on first use."""
    key = _BUCKET_KEYS[allowance]
    bucket = context.user_data.get(key)
    if bucket is None:
        bucket = context.user_data[key] = get_services(context).limits.bucket(allowance)
    return bucket


async def chosen_language(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> str | None:
    """The language code the user chose with /language, or None: from ``user_data``, read from
    the store once per user and process.

    A store that cannot be read counts as no choice this time (logged) and is asked again next time.
    """
    if _LANGUAGE_KEY in context.user_data:
        return context.user_data[_LANGUAGE_KEY]
    services = get_services(context)
    if services.store is None:
        return None
    try:
        choice = await services.run_db(services.store.language_of, user_id)
    except StoreError:
        logger.exception("Could not read the language of user %s; following their Telegram settings", user_id)
        return None
    context.user_data[_LANGUAGE_KEY] = choice
    return choice


def remember_language(context: ContextTypes.DEFAULT_TYPE, choice: str | None) -> None:
    """Note in ``user_data`` the language the user just chose (or None, no choice), as now stored."""
    context.user_data[_LANGUAGE_KEY] = choice


def forget_language(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop the user's language from ``user_data`` (after /forgetme); the store is asked again next time."""
    context.user_data.pop(_LANGUAGE_KEY, None)


async def get_language(update: Any, context: ContextTypes.DEFAULT_TYPE) -> Language:
    """The language to answer ``update`` in: the sender's /language choice, else their Telegram
    ``language_code`` (``bot.i18n.from_language_code``), else English.

    Never raises: a missing user, an unknown stored code or an unreadable store give the next
    best language.
    """
    user = getattr(update, "effective_user", None)
    if user is None:
        return i18n.english()
    chosen = i18n.find(await chosen_language(context, user.id))
    return chosen or i18n.from_language_code(getattr(user, "language_code", None))
