"""Process set-up done by ``run_bot`` before serving."""

import sys

import pytest

from bot.main import keep_freed_memory_for_reuse


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_malloc_thresholds_are_raised_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert keep_freed_memory_for_reuse() is True
    assert keep_freed_memory_for_reuse() is True  # idempotent
