"""Logging set-up for the bot: quiet HTTP client logs and a filter that redacts the bot token."""

from __future__ import annotations

import logging

REDACTED = "[REDACTED]"

#: Loggers that write request URLs (which contain the token) at INFO.
_CHATTY_LOGGERS = ("httpx", "httpcore")


class TokenRedactingFilter(logging.Filter):
    """Replace every occurrence of the bot token (and its secret half) in a record with ``[REDACTED]``.

    The filter renders the record's message once, redacts it and stores the result back as
    ``record.msg`` with no ``args``; a traceback is pre-formatted into ``record.exc_text`` and
    redacted too, so every handler sharing the record sees the clean text.

    Args:
        token: the bot token, ``"<id>:<secret>"``.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        secret = token.partition(":")[2]
        # The full token first, so the secret half never leaves "<id>:" behind it.
        self._secrets = tuple(s for s in (token, secret) if len(s) >= 8)

    def redact(self, text: str) -> str:
        """Return ``text`` with the token and its secret half replaced by ``[REDACTED]``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always keep it (returns True)."""
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_token_filter(token: str, logger: logging.Logger | None = None) -> TokenRedactingFilter:
    """Add a :class:`TokenRedactingFilter` to every handler of ``logger`` (default: the root logger).

    Filters sit on handlers, not loggers, because a logger's filters do not see records
    propagated from its children (``httpx``, ``telegram.ext`` ...). Installing twice for the
    same token is harmless: a handler gets at most one filter per token.

    Returns:
        The filter, so tests and callers can remove it again.
    """
    logger = logger or logging.getLogger()
    token_filter = TokenRedactingFilter(token)
    for handler in logger.handlers:
        if not any(
            isinstance(existing, TokenRedactingFilter) and existing._secrets == token_filter._secrets
            for existing in handler.filters
        ):
            handler.addFilter(token_filter)
    return token_filter


def configure_logging(token: str, level: int = logging.INFO) -> TokenRedactingFilter:
    """Set up logging for the bot process: a root handler, quiet HTTP logs, token redaction.

    ``logging.basicConfig`` only adds a handler when the root logger has none, so calling this
    under pytest (whose capture handlers are already installed) just adds the filter.

    Args:
        token: the bot token to keep out of every log line.
        level: the root logger's level.

    Returns:
        The installed filter.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return install_token_filter(token)
