"""Per-user rate limiting of incoming updates: two small token buckets for each user."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Callable


class Allowance(enum.Enum):
    """Which of a user's token buckets an update spends from.

    Attributes:
        UPDATES: everything but feedback taps: photos, files, commands, text, the "What I saw"
            button (work for the bot: downloads, the model, drawing), so a small burst and a
            slow refill.
        TAPS: feedback taps (Right, Wrong, a keypad digit, Back): a database look-up each, and they
            come in runs (a correction is one tap per digit), so a bucket of their own.
    """

    UPDATES = "updates"
    TAPS = "taps"


@dataclass(frozen=True)
class BotLimits:
    """Tunable limits of the bot; the defaults suit a public bot on Telegram.

    Attributes:
        user_burst: updates a user may send at once before being slowed down (feedback taps
            excepted, see ``tap_burst``).
        user_per_second: how fast a user's allowance refills, updates per second.
        tap_burst: feedback taps (Right, Wrong, keypad digits, Back) a user may send at once
            before being slowed down; 30 covers the correction of the longest number the bot
            reads (Wrong, then a keypad digit for each of ``core.preprocessing.MAX_DIGITS``, 16)
            with room to spare.
        tap_per_second: how fast a user's allowance of feedback taps refills, taps per second.
        concurrent_updates: updates handled at the same time (PTB's ``concurrent_updates``).
        outgoing_per_second: overall cap on outgoing messages (PTB's ``AIORateLimiter``,
            Telegram's flood limit is about 30/s); None disables outgoing rate limiting,
            e.g. against the local Bot API server.
        inference_workers: threads running image decoding and the model.
        connection_pool_size: HTTP connections (kept alive) to the Bot API for everything but
            getUpdates (PTB's ``connection_pool_size``). httpcore checks every pooled connection
            (a system call for each idle one) on every request, so PTB's default of 256 cost
            about 1.5 ms of event-loop CPU per photo at 50 users; requests beyond the pool wait
            for a free connection (PTB's pool timeout).
        readings_kept_per_chat: readings per chat whose "What I saw" button still works.
    """

    user_burst: int = 10
    user_per_second: float = 0.5
    tap_burst: int = 30
    tap_per_second: float = 2.0
    concurrent_updates: int = 64
    outgoing_per_second: float | None = 30.0
    inference_workers: int = 2
    connection_pool_size: int = 16
    readings_kept_per_chat: int = 20

    @classmethod
    def unlimited(cls) -> "BotLimits":
        """Limits for load tests and the local server: no per-user or outgoing throttling."""
        return cls(user_burst=1_000_000, user_per_second=1_000_000.0,
                   tap_burst=1_000_000, tap_per_second=1_000_000.0, outgoing_per_second=None)

    def bucket(self, allowance: Allowance) -> "TokenBucket":
        """A full token bucket for one user's ``allowance``."""
        if allowance is Allowance.TAPS:
            return TokenBucket(self.tap_burst, self.tap_per_second)
        return TokenBucket(self.user_burst, self.user_per_second)


@dataclass
class TokenBucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second, one spent per update.

    Attributes:
        capacity: the most tokens the bucket holds (the allowed burst).
        rate: tokens added per second.
        clock: monotonic time source in seconds (injectable for tests).
        warned: set when the user was told to slow down; cleared when a token is spent again,
            so a flooding user gets one warning, not one per message.
    """

    capacity: float
    rate: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)
    warned: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    def try_take(self) -> bool:
        """Spend one token if there is one. Returns True if the update may proceed."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.warned = False
            return True
        return False
