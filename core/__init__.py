"""Digit reading: photo bytes in, digits out. No Telegram, no training code, no network."""
