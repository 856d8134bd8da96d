"""What serving with LiteRT needs besides the models: the softmax, and quiet start-up.

Both model runners (:mod:`core.classifier`, :mod:`core.reader`) use these.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
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


@dataclass
class LoadedModel:
    """A LiteRT interpreter ready to run, and its single input's and output's details.

    Attributes:
        interpreter: ``ai_edge_litert.interpreter.Interpreter``, tensors allocated, run once.
        input_index, output_index: tensor indices for ``set_tensor`` / ``get_tensor``.
        input_shape, output_shape: the shapes without the batch dimension.
    """

    interpreter: object
    input_index: int
    output_index: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


def default_num_threads() -> int:
    """LiteRT's CPU threads when none are asked for: up to 2 (this project's machines have 2
    cores; on them a batch of 4 number lines takes 2.2 ms on 2 threads against 4.1 ms on one)."""
    return min(2, os.cpu_count() or 1)


def load_interpreter(model_content: bytes, num_threads: int | None = None) -> LoadedModel:
    """Start a LiteRT interpreter on a ``.tflite`` file's bytes and run it once: the first
    run creates the XNNPACK delegate (which announces itself on stderr, silenced here the
    first time), so the first user does not pay for its set-up.

    Args:
        model_content: the ``.tflite`` file's bytes.
        num_threads: CPU threads, >= 1; None: :func:`default_num_threads`.

    Raises:
        ValueError, RuntimeError: LiteRT cannot load or run the model (callers turn these
            into their own load errors).
    """
    from ai_edge_litert.interpreter import Interpreter

    with native_stderr_silenced():
        interpreter = Interpreter(model_content=model_content, num_threads=num_threads or default_num_threads())
        interpreter.allocate_tensors()
        interpreter.invoke()
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    return LoadedModel(interpreter, input_detail["index"], output_detail["index"],
                       tuple(int(size) for size in input_detail["shape"][1:]),
                       tuple(int(size) for size in output_detail["shape"][1:]))
