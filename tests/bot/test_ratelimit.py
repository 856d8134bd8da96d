"""Token bucket arithmetic with an injected clock."""

from bot.ratelimit import BotLimits, TokenBucket


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
    assert limits.outgoing_per_second is None and limits.user_burst >= 1000
