"""Per-user rate limits: token buckets with an injected clock, and which allowance ``limit_rate`` spends."""

from dataclasses import replace

import pytest
from bot_fakes import make_callback_update, make_message_update
from telegram.ext import ApplicationHandlerStop

from core.preprocessing import MAX_DIGITS

from bot import handlers, i18n, messages
from bot.context import get_services
from bot.ratelimit import Allowance, BotLimits, TokenBucket

EN = i18n.english()

#: One of each feedback tap: Right, Wrong, two keypad digits, Back.
FEEDBACK_TAPS = ("right:7", "wrong:7", "fix:7-4", "fix:7-42", "back:7")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill():
    clock = Clock()
    bucket = TokenBucket(capacity=3, rate=0.5, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    clock.now = 1.0  # half a token back: still not enough
    assert bucket.try_take() is False
    clock.now = 2.0
    assert bucket.try_take() is True


def test_refill_never_exceeds_capacity():
    clock = Clock()
    bucket = TokenBucket(capacity=2, rate=10, clock=clock)
    clock.now = 100.0
    assert [bucket.try_take() for _ in range(3)] == [True, True, False]


def test_spending_again_clears_the_warning():
    clock = Clock()
    bucket = TokenBucket(capacity=1, rate=1, clock=clock)
    bucket.try_take()
    bucket.warned = True
    clock.now = 1.0
    assert bucket.try_take() is True and bucket.warned is False


def test_unlimited_limits_disable_throttling():
    limits = BotLimits.unlimited()
    assert limits.outgoing_per_second is None
    assert min(limits.user_burst, limits.user_per_second, limits.tap_burst, limits.tap_per_second) >= 1000


def test_each_allowance_gets_a_bucket_of_its_own_size():
    limits = BotLimits(user_burst=3, user_per_second=0.25, tap_burst=40, tap_per_second=4.0)
    updates, taps = limits.bucket(Allowance.UPDATES), limits.bucket(Allowance.TAPS)
    assert (updates.capacity, updates.rate, updates.tokens) == (3, 0.25, 3)
    assert (taps.capacity, taps.rate, taps.tokens) == (40, 4.0, 40)


def test_default_taps_cover_correcting_the_longest_number():
    limits = BotLimits()
    assert limits.tap_burst >= 1 + MAX_DIGITS  # Wrong, then a keypad digit for each digit read
    assert limits.tap_burst > limits.user_burst and limits.tap_per_second > limits.user_per_second


# ----------------------------------------------------------------- limit_rate


@pytest.fixture
def limits(context) -> BotLimits:
    """The default bursts without refill, so a slow test machine cannot hand out extra tokens."""
    services = get_services(context)
    services.limits = replace(services.limits, user_per_second=0.0, tap_per_second=0.0)
    return services.limits


def feedback_taps(count: int) -> list:
    """``count`` fake feedback taps, cycling through :data:`FEEDBACK_TAPS`."""
    return [make_callback_update(FEEDBACK_TAPS[index % len(FEEDBACK_TAPS)]) for index in range(count)]


async def passed(updates: list, context) -> list[bool]:
    """Run ``limit_rate`` on each update in turn: True where it let the update through."""
    outcomes = []
    for update in updates:
        try:
            await handlers.limit_rate(update, context)
            outcomes.append(True)
        except ApplicationHandlerStop:
            outcomes.append(False)
    return outcomes


@pytest.mark.parametrize(
    ("data", "allowance"),
    [
        *((data, Allowance.TAPS) for data in FEEDBACK_TAPS),
        ("saw:0a1b2c3d", Allowance.UPDATES),  # draws a picture on a worker thread
        ("fix:7-4x", Allowance.UPDATES),  # malformed: not a feedback tap
        ("vote:7", Allowance.UPDATES),  # a button no handler knows
    ],
)
def test_feedback_taps_have_an_allowance_of_their_own(data, allowance):
    assert handlers.allowance_of(make_callback_update(data)) is allowance


def test_messages_spend_the_updates_allowance():
    assert handlers.allowance_of(make_message_update(photo_sizes=[5000])) is Allowance.UPDATES


async def test_rate_limit_warns_once_then_drops_silently(context, limits):
    burst = [make_message_update() for _ in range(limits.user_burst)]
    assert await passed(burst, context) == [True] * limits.user_burst
    warned, dropped = make_message_update(), make_message_update()
    assert await passed([warned, dropped], context) == [False, False]
    warned.effective_message.reply_text.assert_awaited_once_with(messages.slow_down(EN))
    dropped.effective_message.reply_text.assert_not_awaited()


async def test_photos_do_not_use_up_feedback_taps(context, limits):
    photos = [make_message_update(photo_sizes=[5000]) for _ in range(limits.user_burst + 1)]
    assert await passed(photos, context) == [True] * limits.user_burst + [False]
    saw = make_callback_update("saw:0a1b2c3d")
    assert await passed([saw], context) == [False]  # "What I saw" is work: it spends the photos' allowance
    saw.callback_query.answer.assert_not_awaited()  # ... and the flood was warned about already
    assert await passed(feedback_taps(limits.tap_burst), context) == [True] * limits.tap_burst


async def test_feedback_taps_do_not_use_up_photos(context, limits):
    assert await passed(feedback_taps(limits.tap_burst + 1), context) == [True] * limits.tap_burst + [False]
    photos = [make_message_update(photo_sizes=[5000]) for _ in range(limits.user_burst)]
    assert await passed(photos, context) == [True] * limits.user_burst
    for photo in photos:
        photo.effective_message.reply_text.assert_not_awaited()


async def test_a_flood_of_taps_is_limited_with_one_warning(context, limits):
    taps = feedback_taps(limits.tap_burst + 3)
    assert await passed(taps, context) == [True] * limits.tap_burst + [False] * 3
    for tap in taps[: limits.tap_burst]:
        tap.callback_query.answer.assert_not_awaited()  # let through: their handlers answer them
    warned, *dropped = taps[limits.tap_burst:]
    warned.callback_query.answer.assert_awaited_once_with(messages.slow_down_taps(EN))
    for tap in dropped:
        tap.callback_query.answer.assert_not_awaited()
