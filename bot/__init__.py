"""Telegram side: handlers, the application and the CLI entry point; image work lives in core."""
