"""``digitbot playground``: the real bot, the local Bot API server and a web chat page, in one process.

Try the bot without Telegram: :func:`run_playground` starts
:class:`bot.local_api.LocalBotApi` on localhost with the chat page's routes
(:mod:`bot.playground.web`), and runs the unchanged bot against it, configured as for
Telegram through ``TELEGRAM_BASE_URL``/``TELEGRAM_BASE_FILE_URL`` with a throwaway token.
The person at the page is a Telegram user of their own and one of the bot's admins.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from telegram.ext import Application

from core.config import ConfigError, Settings, load_settings

from bot.app import build_application
from bot.context import PhotoClassifier
from bot.local_api import LocalBotApi
from bot.main import running
from bot.playground.web import chat_routes

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8080

#: Flags for driving the page in headless Chromium on a machine without internet access
#: (the browser test and docs/screenshot.py): without the networking ones Chromium keeps
#: trying to reach Google's services and stalls.
HEADLESS_CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: The playground user's Telegram id (any positive id works; a private chat's id is the user's).
USER_ID = 100001
#: The bot's id: the first half of the throwaway token.
BOT_ID = 7000000001


@dataclass
class Playground:
    """A running playground.

    Attributes:
        api: the local Bot API server, also serving the page.
        application: the bot, polling ``api``.
        settings: the bot's settings.
        url: the page's address.
    """

    api: LocalBotApi
    application: Application
    settings: Settings
    url: str


def playground_settings(api: LocalBotApi, environ: Mapping[str, str] | None = None) -> Settings:
    """The bot's settings for the playground: ``environ`` plus the server's URLs, its token and
    the playground user among the admins.

    ``DIGITBOT_HOME``, ``DIGITBOT_MODEL`` and the other variables are honoured as by ``digitbot run``.

    Raises:
        core.config.ConfigError: a variable in ``environ`` is malformed.
    """
    environ = os.environ if environ is None else environ
    admins = ",".join(filter(None, (environ.get("DIGITBOT_ADMIN_IDS", "").strip(), str(USER_ID))))
    return load_settings(
        {
            **environ,
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_BASE_URL": api.base_url,
            "TELEGRAM_BASE_FILE_URL": api.base_file_url,
            "DIGITBOT_ADMIN_IDS": admins,
        }
    )


def throwaway_token() -> str:
    """A new random bot token, ``"<BOT_ID>:<secret>"``, valid only for this run's local server."""
    return f"{BOT_ID}:{secrets.token_urlsafe(24)}"


def _user_first_name() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no login name (some containers)
        return "You"
    return name.capitalize() if name and name != "root" else "You"


@asynccontextmanager
async def serving(
    classifier: PhotoClassifier,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[Playground]:
    """Serve the page and the Bot API and run the bot, inside the current event loop.

    Args:
        classifier: the loaded model.
        host, port: where the page (and the Bot API) listen; port 0 picks a free one.
        token: the bot's token (default: a new :func:`throwaway_token`).
        environ: environment for :func:`playground_settings` (default ``os.environ``).

    Raises:
        OSError: the port cannot be bound (e.g. it is in use).
        core.config.ConfigError: a malformed environment variable.
    """
    async with LocalBotApi(
        token or throwaway_token(), host=host, port=port, routes=chat_routes(USER_ID)
    ) as api:
        api.set_user(USER_ID, _user_first_name())
        settings = playground_settings(api, environ)
        settings.home.mkdir(parents=True, exist_ok=True)
        async with running(build_application(settings, classifier), poll_timeout=10) as application:
            page_host = api.base_url.split("/")[2].rsplit(":", 1)[0]  # loopback when listening everywhere
            yield Playground(api, application, settings, f"http://{page_host}:{api.port}/")


def run_playground(*, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> int:
    """Load the model, start the playground, print its URL and serve until Ctrl-C or SIGTERM.

    Returns:
        The exit status: 0 after a clean stop, 2 if it cannot start.
    """
    from core.classifier import ModelLoadError
    from core.registry import RegistryError

    from bot.log import configure_logging
    from bot.main import load_active_classifier

    def fail(message: str) -> int:
        print(f"digitbot playground: {message}", file=sys.stderr)
        return 2

    try:
        settings = load_settings(require_token=False)
        _check_port(host, port)  # before the model takes seconds to load
    except ConfigError as error:
        return fail(str(error))
    except OSError as error:
        return fail(f"cannot listen on {host}:{port} ({error.strerror or error}); try another --port")
    print(f"Loading the active model of {settings.registry_dir} ...", flush=True)
    try:  # the model `digitbot run` would serve: the registry's active version
        classifier = load_active_classifier(settings)
    except (ModelLoadError, RegistryError) as error:
        return fail(str(error))

    async def serve() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        token = throwaway_token()
        configure_logging(token, level=logging.INFO)
        for name in ("telegram", "tornado"):
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            async with serving(classifier, host=host, port=port, token=token) as playground:
                print(f"digitbot playground is running: open {playground.url} in your browser.", flush=True)
                print(
                    f"State is kept in {playground.settings.home.resolve()}. Press Ctrl-C to stop.",
                    flush=True,
                )
                await stop.wait()
                print("Stopping ...", flush=True)
        except OSError as error:
            return fail(f"cannot listen on {host}:{port} ({error.strerror or error}); try another --port")
        except ConfigError as error:
            return fail(str(error))
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        print("Stopped.", flush=True)
        return 0

    return asyncio.run(serve())


def _check_port(host: str, port: int) -> None:
    """Raise ``OSError`` if ``host:port`` cannot be bound (e.g. another program listens there)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        probe.bind((host, port))
