"""The token never reaches a log line, whatever logger or traceback carries it."""

import logging

import pytest
from bot_fakes import TOKEN

from bot.log import REDACTED, TokenRedactingFilter, configure_logging, install_token_filter

SECRET = TOKEN.split(":")[1]


@pytest.fixture
def redacted_caplog(caplog):
    """caplog at DEBUG with the token filter on the root handlers (removed afterwards)."""
    caplog.set_level(logging.DEBUG)
    token_filter = install_token_filter(TOKEN)
    yield caplog
    for handler in logging.getLogger().handlers:
        handler.removeFilter(token_filter)


def test_url_with_token_in_args_is_redacted(redacted_caplog):
    logging.getLogger("httpx").warning("HTTP Request: POST %s", f"http://127.0.0.1/bot{TOKEN}/getMe")
    assert redacted_caplog.messages == [f"HTTP Request: POST http://127.0.0.1/bot{REDACTED}/getMe"]


def test_secret_half_alone_is_redacted(redacted_caplog):
    logging.getLogger("telegram.ext").info("secret is " + SECRET)
    assert SECRET not in redacted_caplog.text and REDACTED in redacted_caplog.text


def test_traceback_is_redacted(redacted_caplog):
    try:
        raise RuntimeError(f"cannot reach /bot{TOKEN}/getUpdates")
    except RuntimeError:
        logging.getLogger("bot").exception("polling failed")
    assert "RuntimeError" in redacted_caplog.text
    assert TOKEN not in redacted_caplog.text and SECRET not in redacted_caplog.text


def test_configure_logging_quietens_httpx_and_installs_once(caplog):
    first = configure_logging(TOKEN)
    second = configure_logging(TOKEN)
    try:
        assert logging.getLogger("httpx").level == logging.WARNING
        handler = logging.getLogger().handlers[0]
        assert sum(isinstance(f, TokenRedactingFilter) for f in handler.filters) == 1
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(first)
            handler.removeFilter(second)
