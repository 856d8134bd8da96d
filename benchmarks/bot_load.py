"""Load test of the bot: simulated users send 1280x960 JPEG photos through the local Bot API server.

The bot runs as a child process through ``bot.main.run_bot`` (the production path: PTB's
``run_polling``), pointed at a :class:`bot.local_api.LocalBotApi` served by this process on
loopback. For each concurrency level, that many users each send photos one after another;
the script prints replies per second, p50/p99 latency from the update being queued to the
reply reaching the server, the bot process's peak RSS, and CPU per photo of the bot and of
this process (the local Bot API server and the simulated users, which share the machine).

Usage::

    python benchmarks/bot_load.py [--model models/digit_cnn.keras] [--photos-per-level 200]
        [--levels 1 10 50] [--telegram-limits] [--set FIELD=VALUE ...] [--per-thread]

By default the bot runs with ``BotLimits.unlimited()``: the 30 messages/s outgoing cap that
protects a real bot from Telegram's flood limits would otherwise be what is measured.
``--telegram-limits`` keeps the production limits. ``--per-thread`` also prints, for each level,
the bot's CPU per photo by thread name (Linux only): the event loop (``MainThread``), the
photo workers, the database thread and the libraries' own threads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import DEFAULT_MODEL_PATH  # noqa: E402

from bot.local_api import LocalBotApi  # noqa: E402

TOKEN = "424242:benchmark-token-not-a-secret"
TARGETS = "targets: p50 <= 60 ms at 1 user; >= 40 photos/s with p99 <= 2 s at 50 users; RSS <= 1 GB"


def make_photos(count: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """``count`` distinct 1280x960 JPEGs of one or two script digits on noisy paper: ``(digits, jpeg)``."""
    rng = np.random.default_rng(seed)
    photos = []
    for index in range(count):
        text = str(rng.integers(0, 10)) if index % 2 else f"{rng.integers(1, 10)}{rng.integers(0, 10)}"
        paper = np.full((960, 1280, 3), 230, np.uint8) + rng.integers(0, 20, (960, 1280, 1), dtype=np.uint8)
        origin = (int(rng.integers(200, 500)), int(rng.integers(450, 650)))
        cv2.putText(paper, " ".join(text), origin, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 10, (30, 30, 40), 24, cv2.LINE_AA)
        photos.append((text, cv2.imencode(".jpg", paper, [cv2.IMWRITE_JPEG_QUALITY, 88])[1].tobytes()))
    return photos


#: Prepended to the bot's code with ``--per-thread``: gives each Python thread its name at the OS
#: level (Linux ``prctl(PR_SET_NAME)``), so ``/proc/<pid>/task/*/stat`` tells the threads apart.
_NAME_OS_THREADS = (
    "import ctypes, threading; _prctl = ctypes.CDLL(None).prctl; _run = threading.Thread.run; "
    "threading.Thread.run = lambda self: (_prctl(15, self.name[:15].encode(), 0, 0, 0), _run(self))[1]; "
    "_prctl(15, b'MainThread', 0, 0, 0); "
)


def start_bot(api: LocalBotApi, model: Path, telegram_limits: bool, home: Path, limit_overrides: dict[str, str],
              name_threads: bool = False) -> subprocess.Popen:
    """Start ``run_bot`` in a child process polling ``api``, its state (feedback database) in ``home``.

    ``limit_overrides`` replaces fields of the :class:`bot.ratelimit.BotLimits` used (values as
    Python literals, e.g. ``{"inference_workers": "1"}``).
    """
    env = dict(
        os.environ,
        TELEGRAM_BOT_TOKEN=TOKEN,
        DIGITBOT_HOME=str(home),
        TELEGRAM_BASE_URL=api.base_url,
        TELEGRAM_BASE_FILE_URL=api.base_file_url,
        DIGITBOT_MODEL=str(model),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    limits = "BotLimits()" if telegram_limits else "BotLimits.unlimited()"
    if limit_overrides:
        fields = ", ".join(f"{name}={value}" for name, value in limit_overrides.items())
        limits = f"dataclasses.replace({limits}, {fields})"
    code = (
        (_NAME_OS_THREADS if name_threads else "")
        + "import dataclasses; from core.config import load_settings; from bot.main import run_bot; "
        f"from bot.ratelimit import BotLimits; run_bot(load_settings(), limits={limits})"
    )
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


async def wait_until_polling(api: LocalBotApi, bot: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the bot has registered its commands and is polling."""
    deadline = time.monotonic() + timeout
    while "getUpdates" not in api.requests:
        if bot.poll() is not None:
            raise RuntimeError(f"bot exited with {bot.returncode}:\n{bot.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError("bot did not start polling")
        await asyncio.sleep(0.2)


async def run_level(api: LocalBotApi, photos: list[tuple[str, bytes]], users: int, total: int,
                    first_user: int, rss: "RssSampler") -> dict:
    """``users`` simulated users send ``total`` photos between them; returns throughput and latencies."""
    latencies: list[float] = []
    wrong = 0
    per_user = max(1, total // users)

    async def user(user_id: int) -> None:
        nonlocal wrong
        for index in range(per_user):
            digits, jpeg = photos[(user_id * 7 + index) % len(photos)]
            sent = time.perf_counter()
            api.send_photo(user_id, jpeg, width=1280, height=960)
            (reply,) = await api.next_messages(user_id, timeout=60)
            latencies.append(reply.sent_at - sent)
            if digits not in reply.text.splitlines()[0]:
                wrong += 1

    cpu_before = sum(rss.process.cpu_times()[:2])
    own_cpu_before = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(user(first_user + index) for index in range(users)))
    elapsed = time.perf_counter() - started
    cpu_ms = (sum(rss.process.cpu_times()[:2]) - cpu_before) * 1000
    own_cpu_ms = (time.process_time() - own_cpu_before) * 1000
    latencies.sort()
    return {
        "users": users,
        "photos": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "not_read_as_drawn": wrong,
        "rss_mb": rss.peak / 2**20,
        "bot_cpu_ms_per_photo": cpu_ms / max(1, len(latencies)),
        "server_cpu_ms_per_photo": own_cpu_ms / max(1, len(latencies)),
    }


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each thread of ``pid`` so far, summed by thread name (Linux).

    Also ``"page faults"``: the process's minor page faults so far (a count, not seconds).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        name = name.rstrip("0123456789").rstrip("_-") or name  # digitbot-cpu_0, digitbot-cpu_1 -> digitbot-cpu
        fields = stat[stat.rindex(")") + 2 :].split()
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
        totals["page faults"] = totals.get("page faults", 0.0) + int(fields[7])
    return totals


class RssSampler:
    """Samples a process's resident memory every 50 ms and keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._task: asyncio.Task | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.05)

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


async def main(args: argparse.Namespace) -> int:
    # A throwaway home: the simulated users' readings must not land in a real feedback database.
    with tempfile.TemporaryDirectory(prefix="digitbot-load-") as home:
        return await measure(args, Path(home))


async def measure(args: argparse.Namespace, home: Path) -> int:
    """Start the bot with its state in ``home``, load it at each level, print the figures."""
    photos = make_photos(40)
    async with LocalBotApi(TOKEN, thumbnails=False) as api:
        overrides = dict(setting.split("=", 1) for setting in args.set)
        bot = start_bot(api, args.model, args.telegram_limits, home, overrides, name_threads=args.per_thread)
        try:
            await wait_until_polling(api, bot)
            rss = RssSampler(bot.pid)
            rss.start()
            idle = psutil.Process(bot.pid).memory_info().rss / 2**20
            print(f"bot pid {bot.pid}, model {args.model}, RSS after start {idle:.0f} MB")
            await run_level(api, photos, 2, 10, first_user=900_000, rss=rss)  # warm-up
            print(f"{'users':>5} {'photos':>6} {'photos/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS MB':>11} {'misread':>7} {'bot CPU ms/photo':>16} {'server CPU ms/photo':>19}")
            for level, users in enumerate(args.levels):
                before = thread_cpu_seconds(bot.pid) if args.per_thread else {}
                result = await run_level(api, photos, users, args.photos_per_level, first_user=(level + 1) * 10_000,
                                         rss=rss)
                print(f"{result['users']:>5} {result['photos']:>6} {result['per_second']:>9.1f} "
                      f"{result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} {result['rss_mb']:>11.0f} "
                      f"{result['not_read_as_drawn']:>7} {result['bot_cpu_ms_per_photo']:>16.1f} "
                      f"{result['server_cpu_ms_per_photo']:>19.1f}")
                if args.per_thread:
                    after = thread_cpu_seconds(bot.pid)
                    faults = (after.pop("page faults") - before.pop("page faults")) / result["photos"]
                    spent = {name: (after[name] - before.get(name, 0.0)) * 1000 / result["photos"] for name in after}
                    print("      bot CPU ms/photo by thread: " + ", ".join(
                        f"{name} {ms:.1f}" for name, ms in sorted(spent.items(), key=lambda item: -item[1]) if ms >= 0.05)
                        + f"; {faults:.0f} page faults/photo")
            rss.stop()
            print(TARGETS)
            print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
        finally:
            bot.terminate()  # SIGTERM: run_polling shuts down cleanly
            try:
                bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
        print(f"bot exited with {bot.returncode} after SIGTERM")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--photos-per-level", type=int, default=200)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--telegram-limits", action="store_true", help="keep the production rate limits")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a BotLimits field for the bot, e.g. --set inference_workers=1")
    parser.add_argument("--per-thread", action="store_true", help="also print the bot's CPU per photo by thread")
    sys.exit(asyncio.run(main(parser.parse_args())))
