"""What serving with LiteRT needs besides the models: the softmax, and quiet start-up.

Both model runners (:mod:`core.classifier`, :mod:`core.reader`) use these.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis: float32, same shape, rows sum to 1.

    This is the only place in the project that turns logits into probabilities.
    """
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


_delegate_announced = False


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, the first time in the process:
    LiteRT's C++ runtime prints an "INFO: Created TensorFlow Lite XNNPACK delegate" line
    once, when its first interpreter runs, and no Python logging setting reaches it. Later
    loads (a hot swap on a worker thread while others log) leave stderr alone."""
    global _delegate_announced
    if _delegate_announced:
        yield
        return
    _delegate_announced = True
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
